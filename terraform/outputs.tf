output "region" {
  description = "AWS region (the chart's aws.region)."
  value       = var.region
}

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${aws_eks_cluster.this.name}"
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider that IRSA roles trust."
  value       = aws_iam_openid_connect_provider.eks.arn
}

output "vpc_id" {
  description = "VPC ID (the AWS Load Balancer Controller's --aws-vpc-id: with IMDS hop limit 1 it cannot discover it)."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Private subnets (nodes, internal load balancers)."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "Public subnets (internet-facing load balancers, NAT)."
  value       = aws_subnet.public[*].id
}

output "bucket_name" {
  description = "Artifact bucket (the chart's aws.s3Bucket)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "bucket_kms_key_arn" {
  description = "KMS key of the artifact bucket."
  value       = aws_kms_key.s3.arn
}

output "operator_role_arn" {
  description = "IRSA role of the operator's service account."
  value       = aws_iam_role.irsa["operator"].arn
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role for the cluster-autoscaler (kube-system/cluster-autoscaler), which scales the GPU groups up from 0."
  value       = aws_iam_role.irsa["cluster-autoscaler"].arn
}

output "aws_load_balancer_controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller (the eks.amazonaws.com/role-arn of its chart's serviceAccount), or null without enable_aws_load_balancer_controller."
  value       = var.enable_aws_load_balancer_controller ? aws_iam_role.irsa["aws-load-balancer-controller"].arn : null
}

output "vpc_cidr" {
  description = "CIDR block of the VPC (the chart's networkPolicy.apiServer.cidrs on EKS: the control plane's interfaces are in the private subnets)."
  value       = var.vpc_cidr
}

output "public_subnet_cidrs" {
  description = "CIDR blocks of the public subnets, which hold only internet-facing load balancers and NAT (the chart's networkPolicy.workloads.ingressCidrs for internet-facing ALBs)."
  value       = local.public_subnet_cidrs
}

output "trainer_role_arns" {
  description = "IRSA role of the trainer service account, per training namespace."
  value       = { for ns in var.training_namespaces : ns => aws_iam_role.irsa["trainer-${ns}"].arn }
}

output "inference_role_arns" {
  description = "IRSA role of the inference service account, per training namespace."
  value       = { for ns in var.training_namespaces : ns => aws_iam_role.irsa["inference-${ns}"].arn }
}

output "ecr_repository_urls" {
  description = "ECR repository URLs, by image (operator, trainer, inference)."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "image_registry" {
  description = "Registry prefix of the images (the chart's image.registry): <registry>/<prefix>, to which the chart appends operator, trainer or inference."
  value       = "${local.ecr_registry}/${var.ecr_repository_prefix}"
}

output "helm_values" {
  description = "A values.yaml fragment for the Lathe chart: terraform output -raw helm_values > lathe-values.yaml"
  value = yamlencode({
    aws = {
      region   = var.region
      s3Bucket = aws_s3_bucket.artifacts.bucket
    }
    image = {
      registry = "${local.ecr_registry}/${var.ecr_repository_prefix}"
    }
    # Where the API server is for the operator's NetworkPolicy (used only with networkPolicy.enabled):
    # the EKS control plane's network interfaces live in the private subnets.
    networkPolicy = {
      apiServer = {
        cidrs = local.private_subnet_cidrs
      }
    }
    operator = {
      serviceAccount = {
        name = var.operator_service_account
        annotations = {
          "eks.amazonaws.com/role-arn" = aws_iam_role.irsa["operator"].arn
        }
      }
    }
    # roleArn is set when there is exactly one training namespace; roleArnByNamespace always.
    trainer = {
      serviceAccount = merge(
        {
          name               = var.trainer_service_account
          roleArnByNamespace = { for ns in var.training_namespaces : ns => aws_iam_role.irsa["trainer-${ns}"].arn }
        },
        { for k, v in { roleArn = aws_iam_role.irsa["trainer-${var.training_namespaces[0]}"].arn } : k => v if length(var.training_namespaces) == 1 },
      )
    }
    inference = {
      serviceAccount = merge(
        {
          name               = var.inference_service_account
          roleArnByNamespace = { for ns in var.training_namespaces : ns => aws_iam_role.irsa["inference-${ns}"].arn }
        },
        { for k, v in { roleArn = aws_iam_role.irsa["inference-${var.training_namespaces[0]}"].arn } : k => v if length(var.training_namespaces) == 1 },
      )
    }
  })
}
