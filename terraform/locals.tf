locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix

  # Explicit zones win; otherwise the first az_count available zones of the region.
  azs      = length(var.availability_zones) > 0 ? var.availability_zones : slice(sort(data.aws_availability_zones.available.names), 0, var.az_count)
  az_count = length(local.azs)

  # /16 by default: public subnets get /24s (load balancers and NAT only), private subnets /19s
  # (nodes and, with the VPC CNI, every pod's IP address).
  public_subnet_cidrs  = [for i in range(local.az_count) : cidrsubnet(var.vpc_cidr, 8, i)]
  private_subnet_cidrs = [for i in range(local.az_count) : cidrsubnet(var.vpc_cidr, 3, i + 1)]

  nat_gateway_count = var.single_nat_gateway ? 1 : local.az_count

  bucket_name = coalesce(var.bucket_name, "${var.name}-artifacts-${local.account_id}-${var.region}")

  # The OIDC issuer without its scheme, the prefix of the condition keys IRSA trust policies use.
  oidc_issuer = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")

  # Every IRSA identity: one IAM role per (namespace, service account), so each trust policy names
  # exactly one service account (irsa.tf). Trainer and inference roles exist once per training
  # namespace. Keys are role-name suffixes.
  irsa_fixed_identities = {
    operator = {
      kind            = "operator"
      namespace       = var.operator_namespace
      service_account = var.operator_service_account
    }
    vpc-cni = {
      kind            = "vpc-cni"
      namespace       = "kube-system"
      service_account = "aws-node"
    }
    # The GPU groups start at 0 nodes: something must scale them up when a GPU pod is pending.
    cluster-autoscaler = {
      kind            = "cluster-autoscaler"
      namespace       = "kube-system"
      service_account = "cluster-autoscaler"
    }
  }
  # Optional controllers: a role only when asked for (the identity decides whether the role exists).
  irsa_optional_identities = var.enable_aws_load_balancer_controller ? {
    aws-load-balancer-controller = {
      kind            = "aws-load-balancer-controller"
      namespace       = var.aws_load_balancer_controller_namespace
      service_account = var.aws_load_balancer_controller_service_account
    }
  } : {}
  irsa_trainer_identities = {
    for ns in var.training_namespaces : "trainer-${ns}" => {
      kind            = "trainer"
      namespace       = ns
      service_account = var.trainer_service_account
    }
  }
  irsa_inference_identities = {
    for ns in var.training_namespaces : "inference-${ns}" => {
      kind            = "inference"
      namespace       = ns
      service_account = var.inference_service_account
    }
  }
  irsa_identities = merge(local.irsa_fixed_identities, local.irsa_optional_identities, local.irsa_trainer_identities, local.irsa_inference_identities)

  ecr_repositories = {
    operator  = "${var.ecr_repository_prefix}/operator"
    trainer   = "${var.ecr_repository_prefix}/trainer"
    inference = "${var.ecr_repository_prefix}/inference"
  }
  ecr_registry = "${local.account_id}.dkr.ecr.${var.region}.${local.dns_suffix}"
}
