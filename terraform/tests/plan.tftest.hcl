# terraform test with a mocked aws provider: no credentials, no network. It evaluates every
# expression of the configuration (for_each keys, conditionals, the helm_values output) for a few
# variable sets, which `terraform validate` cannot. Needs the provider's schema, so it runs from
# validate.sh, only where the locally built provider is cached.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{}"
    }
  }
  mock_resource "aws_eks_cluster" {
    defaults = {
      identity = [{ oidc = [{ issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE" }] }]
    }
  }
  # Mocked ARNs must be ARNs: other resources validate the ones they are given.
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = {
      arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }
  mock_resource "aws_launch_template" {
    defaults = {
      id = "lt-0123456789abcdef0"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mock"
    }
  }
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access == false && aws_eks_cluster.this.vpc_config[0].endpoint_private_access == true
    error_message = "The API endpoint must be private by default."
  }
  assert {
    condition     = toset(keys(aws_iam_role.irsa)) == toset(["operator", "vpc-cni", "cluster-autoscaler", "trainer-ml", "inference-ml"])
    error_message = "Default IRSA roles: operator, vpc-cni, cluster-autoscaler, trainer-ml, inference-ml."
  }
  assert {
    condition     = alltrue([for lt in aws_launch_template.node : lt.metadata_options[0].http_tokens == "required" && lt.metadata_options[0].http_put_response_hop_limit == 1])
    error_message = "Every launch template must require IMDSv2 with hop limit 1."
  }
  assert {
    condition     = toset([for t in aws_eks_node_group.gpu["gpu-spot"].taint : "${t.key}=${t.value}:${t.effect}"]) == toset(["nvidia.com/gpu=true:NO_SCHEDULE", "lathe.dev/spot=true:NO_SCHEDULE"])
    error_message = "The spot GPU group must carry the GPU and spot taints."
  }
  assert {
    condition     = [for t in aws_eks_node_group.gpu["gpu-ondemand"].taint : "${t.key}=${t.value}:${t.effect}"] == ["nvidia.com/gpu=true:NO_SCHEDULE"]
    error_message = "The on-demand GPU group must carry the GPU taint only."
  }
  assert {
    condition     = aws_eks_node_group.gpu["gpu-spot"].capacity_type == "SPOT" && aws_eks_node_group.gpu["gpu-ondemand"].capacity_type == "ON_DEMAND"
    error_message = "Capacity types."
  }
  assert {
    condition     = alltrue([for g in aws_eks_node_group.gpu : g.scaling_config[0].min_size == 0 && g.scaling_config[0].desired_size == 0])
    error_message = "GPU groups start and idle at 0 nodes."
  }
  assert {
    condition     = length(aws_subnet.private) == 3 && length(aws_subnet.public) == 3 && length(aws_nat_gateway.this) == 1 && length(aws_flow_log.this) == 0
    error_message = "3 AZs, one NAT gateway, no flow logs by default."
  }
  assert {
    condition     = aws_s3_bucket.artifacts.bucket == "lathe-artifacts-123456789012-us-east-1"
    error_message = "Default bucket name."
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.artifacts.block_public_acls && aws_s3_bucket_public_access_block.artifacts.block_public_policy && aws_s3_bucket_public_access_block.artifacts.ignore_public_acls && aws_s3_bucket_public_access_block.artifacts.restrict_public_buckets
    error_message = "Public access must be fully blocked."
  }
}

run "aws_load_balancer_controller_role" {
  command = apply

  variables {
    enable_aws_load_balancer_controller = true
  }

  assert {
    condition     = contains(keys(aws_iam_role.irsa), "aws-load-balancer-controller") && length(aws_iam_role.irsa) == 6
    error_message = "enable_aws_load_balancer_controller adds exactly the controller's IRSA role."
  }
  assert {
    condition     = aws_iam_role.irsa["aws-load-balancer-controller"].tags["lathe.dev/service-account"] == "kube-system/aws-load-balancer-controller"
    error_message = "The controller's role is for kube-system/aws-load-balancer-controller."
  }
  assert {
    condition     = aws_iam_role_policy.irsa["aws-load-balancer-controller"].name == "lathe-aws-load-balancer-controller"
    error_message = "The controller's role carries its policy."
  }
  assert {
    condition     = output.aws_load_balancer_controller_role_arn == aws_iam_role.irsa["aws-load-balancer-controller"].arn
    error_message = "The role ARN is an output for the controller's chart."
  }
}

run "aws_load_balancer_controller_off_by_default" {
  command = apply

  assert {
    condition     = !contains(keys(aws_iam_role.irsa), "aws-load-balancer-controller") && output.aws_load_balancer_controller_role_arn == null
    error_message = "No controller role, and a null output, unless enabled."
  }
  assert {
    condition     = yamldecode(output.helm_values).networkPolicy.apiServer.cidrs == [for s in aws_subnet.private : s.cidr_block]
    error_message = "helm_values: the API server's CIDRs for the operator's NetworkPolicy are the private subnets."
  }
}

run "aws_load_balancer_controller_service_account_must_be_exact" {
  command = plan

  variables {
    enable_aws_load_balancer_controller          = true
    aws_load_balancer_controller_service_account = "*"
  }

  expect_failures = [var.aws_load_balancer_controller_service_account]
}

run "two_namespaces_public_endpoint_nat_per_az" {
  command = plan

  variables {
    training_namespaces                  = ["ml", "research"]
    cluster_endpoint_public_access_cidrs = ["203.0.113.0/24"]
    single_nat_gateway                   = false
    enable_flow_logs                     = true
    az_count                             = 2
  }

  assert {
    condition     = length(aws_iam_role.irsa) == 7 && contains(keys(aws_iam_role.irsa), "trainer-research") && contains(keys(aws_iam_role.irsa), "inference-research")
    error_message = "One trainer and one inference role per training namespace."
  }
  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access == true && aws_eks_cluster.this.vpc_config[0].public_access_cidrs == toset(["203.0.113.0/24"])
    error_message = "Listed CIDRs open the public endpoint to those CIDRs only."
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 2 && length(aws_subnet.private) == 2 && length(aws_flow_log.this) == 1
    error_message = "One NAT gateway per AZ, flow logs on."
  }
}

run "helm_values_render" {
  command = apply

  variables {
    training_namespaces = ["ml"]
  }

  assert {
    condition     = yamldecode(output.helm_values).aws.s3Bucket == "lathe-artifacts-123456789012-us-east-1" && yamldecode(output.helm_values).aws.region == "us-east-1"
    error_message = "helm_values: aws.region and aws.s3Bucket."
  }
  assert {
    condition     = yamldecode(output.helm_values).operator.serviceAccount.annotations["eks.amazonaws.com/role-arn"] == aws_iam_role.irsa["operator"].arn
    error_message = "helm_values: the operator's role annotation."
  }
  assert {
    condition     = yamldecode(output.helm_values).trainer.serviceAccount.roleArn == aws_iam_role.irsa["trainer-ml"].arn && yamldecode(output.helm_values).inference.serviceAccount.roleArnByNamespace["ml"] == aws_iam_role.irsa["inference-ml"].arn
    error_message = "helm_values: trainer and inference role ARNs."
  }
  assert {
    condition     = yamldecode(output.helm_values).image.registry == "123456789012.dkr.ecr.us-east-1.amazonaws.com/lathe"
    error_message = "helm_values: image.registry."
  }
}

run "multi_namespace_helm_values_have_no_single_role" {
  command = apply

  variables {
    training_namespaces = ["ml", "research"]
  }

  assert {
    condition     = !can(yamldecode(output.helm_values).trainer.serviceAccount.roleArn) && length(yamldecode(output.helm_values).trainer.serviceAccount.roleArnByNamespace) == 2
    error_message = "With several namespaces only roleArnByNamespace is rendered."
  }
}

run "open_endpoint_is_rejected" {
  command = plan

  variables {
    cluster_endpoint_public_access_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.cluster_endpoint_public_access_cidrs]
}
