# ---- identity and placement ----------------------------------------------------------------------

variable "region" {
  description = "AWS region for every resource (the chart's aws.region)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like us-east-1."
  }
}

variable "name" {
  description = "Name of the EKS cluster; also the prefix of every IAM role, KMS alias, log group and (by default) the bucket."
  type        = string
  default     = "lathe"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lower-case letters, digits and '-', starting with a letter (it prefixes IAM role names, which are limited to 64 characters)."
  }
}

variable "tags" {
  description = "Extra tags for every resource (merged into the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# ---- network -------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR block of the VPC. A /16 leaves room for /19 private subnets: with the VPC CNI every pod takes an address from them."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) <= 16, false)
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of size /16 or larger."
  }
}

variable "az_count" {
  description = "Number of availability zones (2 or 3) when availability_zones is empty. Each zone gets one public and one private subnet."
  type        = number
  default     = 3

  validation {
    condition     = contains([2, 3], var.az_count)
    error_message = "az_count must be 2 or 3."
  }
}

variable "availability_zones" {
  description = "Exact availability zone names to use (2 or 3), e.g. to avoid a zone without the GPU instance types you need. Empty (default): the first az_count available zones."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones))
    error_message = "availability_zones must be empty or list 2 or 3 distinct zone names."
  }
}

variable "single_nat_gateway" {
  description = "true (default, cheaper): one NAT gateway for all private subnets; an outage of its AZ cuts the others' egress. false: one NAT gateway per AZ."
  type        = bool
  default     = true
}

variable "enable_flow_logs" {
  description = "Send VPC flow logs (all traffic) to a KMS-encrypted CloudWatch log group."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the control-plane and flow-log CloudWatch log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, ...)."
  }
}

# ---- EKS -----------------------------------------------------------------------------------------

variable "kubernetes_version" {
  description = "EKS Kubernetes version (minor), e.g. 1.34."
  type        = string
  default     = "1.34"

  validation {
    condition     = can(regex("^1\\.(2[89]|3[0-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version such as 1.34 (1.28 or later)."
  }
}

variable "cluster_support_type" {
  description = "EKS upgrade policy: STANDARD (default) lets the cluster be auto-upgraded at the end of standard support; EXTENDED keeps it and costs about 6x more per control-plane hour."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXTENDED"], var.cluster_support_type)
    error_message = "cluster_support_type must be STANDARD or EXTENDED."
  }
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public Kubernetes API endpoint. Empty (default): the public endpoint is off and the API is reachable only from inside the VPC (or peered networks/VPN). The private endpoint is always on."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.cluster_endpoint_public_access_cidrs : can(cidrhost(c, 0))])
    error_message = "cluster_endpoint_public_access_cidrs must be valid IPv4 CIDR blocks."
  }

  validation {
    condition     = !contains(var.cluster_endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "The API endpoint must not be open to the world: list the office/VPN/CI CIDR blocks instead of 0.0.0.0/0."
  }
}

variable "cluster_admin_principal_arns" {
  description = "IAM principal ARNs (roles or users) given cluster-admin through EKS access entries, in addition to whoever runs terraform apply."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", a))])
    error_message = "cluster_admin_principal_arns must be IAM ARNs."
  }
}

variable "addon_versions" {
  description = "Pinned versions of the managed add-ons (vpc-cni, coredns, kube-proxy, eks-pod-identity-agent). A missing key uses EKS's default version for the cluster's Kubernetes version."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.addon_versions) : contains(["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"], k)])
    error_message = "addon_versions keys must be among vpc-cni, coredns, kube-proxy, eks-pod-identity-agent."
  }
}

# ---- node groups ---------------------------------------------------------------------------------

variable "system_instance_types" {
  description = "Instance types of the CPU system node group (operator, CoreDNS, device plugin, controllers)."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.system_instance_types) > 0
    error_message = "system_instance_types must name at least one instance type."
  }
}

variable "system_node_count" {
  description = "Sizes of the system node group."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 2, desired = 2, max = 4 }

  validation {
    condition     = var.system_node_count.min >= 1 && var.system_node_count.min <= var.system_node_count.desired && var.system_node_count.desired <= var.system_node_count.max
    error_message = "system_node_count needs 1 <= min <= desired <= max."
  }
}

variable "gpu_ami_type" {
  description = "EKS-optimized GPU AMI type for both GPU node groups (NVIDIA driver and container toolkit preinstalled)."
  type        = string
  default     = "AL2023_x86_64_NVIDIA"

  validation {
    condition     = contains(["AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA"], var.gpu_ami_type)
    error_message = "gpu_ami_type must be an NVIDIA AMI type: AL2023_x86_64_NVIDIA, AL2023_ARM_64_NVIDIA, BOTTLEROCKET_x86_64_NVIDIA or BOTTLEROCKET_ARM_64_NVIDIA."
  }
}

variable "gpu_ondemand_instance_types" {
  description = "Instance types of the on-demand GPU node group."
  type        = list(string)
  default     = ["g5.xlarge"]

  validation {
    condition     = length(var.gpu_ondemand_instance_types) > 0
    error_message = "gpu_ondemand_instance_types must name at least one instance type."
  }
}

variable "gpu_spot_instance_types" {
  description = "Instance types of the spot GPU node group. Several types with the same GPU count diversify spot capacity pools."
  type        = list(string)
  default     = ["g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.2xlarge"]

  validation {
    condition     = length(var.gpu_spot_instance_types) > 0
    error_message = "gpu_spot_instance_types must name at least one instance type."
  }
}

variable "gpu_ondemand_max_size" {
  description = "Maximum nodes of the on-demand GPU group. Its minimum and initial size are 0: idle GPUs cost nothing."
  type        = number
  default     = 2

  validation {
    condition     = var.gpu_ondemand_max_size >= 1
    error_message = "gpu_ondemand_max_size must be at least 1."
  }
}

variable "gpu_spot_max_size" {
  description = "Maximum nodes of the spot GPU group. Its minimum and initial size are 0."
  type        = number
  default     = 4

  validation {
    condition     = var.gpu_spot_max_size >= 1
    error_message = "gpu_spot_max_size must be at least 1."
  }
}

variable "gpu_min_size" {
  description = "Minimum size of both GPU node groups. Keep 0 so GPU nodes exist only while a cluster autoscaler (or you) scales them up."
  type        = number
  default     = 0

  validation {
    condition     = var.gpu_min_size >= 0
    error_message = "gpu_min_size must not be negative."
  }
}

variable "node_disk_size_gib" {
  description = "Root volume size (gp3, encrypted) of system nodes and GPU nodes, in GiB. GPU images and model caches are large."
  type        = object({ system = number, gpu = number })
  default     = { system = 50, gpu = 200 }

  validation {
    condition     = var.node_disk_size_gib.system >= 20 && var.node_disk_size_gib.gpu >= 50
    error_message = "node_disk_size_gib needs system >= 20 and gpu >= 50."
  }
}

# ---- workloads and their identities --------------------------------------------------------------

variable "operator_namespace" {
  description = "Namespace the Helm chart installs the operator into."
  type        = string
  default     = "lathe-system"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$", var.operator_namespace))
    error_message = "operator_namespace must be a DNS label of at most 30 characters."
  }
}

variable "operator_service_account" {
  description = "Service account of the operator (the chart's operator.serviceAccount.name)."
  type        = string
  default     = "lathe-operator"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.operator_service_account))
    error_message = "operator_service_account must be a DNS label."
  }
}

variable "training_namespaces" {
  description = "Namespaces where TrainingRuns and InferenceServices run. Each gets its own trainer role and inference role, each trusted only by one service account in that namespace."
  type        = list(string)
  default     = ["ml"]

  validation {
    condition     = length(var.training_namespaces) > 0 && length(distinct(var.training_namespaces)) == length(var.training_namespaces)
    error_message = "training_namespaces must list at least one namespace, without duplicates."
  }

  validation {
    condition     = alltrue([for ns in var.training_namespaces : can(regex("^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$", ns))])
    error_message = "Each training namespace must be a DNS label of at most 30 characters (it is part of IAM role names)."
  }
}

variable "trainer_service_account" {
  description = "Service account the operator gives training pods, in each training namespace."
  type        = string
  default     = "lathe-trainer"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.trainer_service_account))
    error_message = "trainer_service_account must be a DNS label."
  }
}

variable "inference_service_account" {
  description = "Service account the operator gives model-server pods, in each training namespace."
  type        = string
  default     = "lathe-inference"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.inference_service_account))
    error_message = "inference_service_account must be a DNS label."
  }
}

# ---- S3 ------------------------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the artifact bucket. Default: <name>-artifacts-<account id>-<region> (globally unique)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 characters of a-z, 0-9, '.', '-')."
  }
}

variable "bucket_force_destroy" {
  description = "Let terraform destroy delete a bucket that still holds objects. Off by default: the bucket is the durable history of every run."
  type        = bool
  default     = false
}

variable "dataset_bucket_arns" {
  description = "ARNs of extra S3 buckets trainers may read datasets from (read-only, whole bucket). The artifact bucket's datasets/ prefix is always readable."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.dataset_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", a))])
    error_message = "dataset_bucket_arns must be bucket ARNs such as arn:aws:s3:::ml-data (no key path, no wildcard)."
  }
}

variable "dataset_kms_key_arns" {
  description = "ARNs of KMS keys that encrypt the extra dataset buckets (trainers get kms:Decrypt on them through S3 only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.dataset_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", a))])
    error_message = "dataset_kms_key_arns must be KMS key ARNs (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed (progress.json is overwritten throughout training, so versions pile up)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "checkpoint_expiration_days" {
  description = "Days after which intermediate checkpoint objects (everything the trainer writes under checkpoints/, tagged lathe.dev/retention=checkpoint at upload) expire. Final weights (checkpoint/), progress.json, metadata.json and run.json are never tagged and never expire. A TrainingRun suspended for longer than this has no checkpoint left to resume from and starts over."
  type        = number
  default     = 30

  validation {
    condition     = var.checkpoint_expiration_days >= 1
    error_message = "checkpoint_expiration_days must be at least 1."
  }
}

variable "models_intelligent_tiering_days" {
  description = "Days after which objects under models/ move to S3 Intelligent-Tiering (cheaper for weights nobody reads, no retrieval fee)."
  type        = number
  default     = 30

  validation {
    condition     = var.models_intelligent_tiering_days >= 0
    error_message = "models_intelligent_tiering_days must not be negative."
  }
}

variable "incomplete_multipart_upload_days" {
  description = "Days after which incomplete multipart uploads (a trainer killed mid-upload) are aborted and their parts deleted."
  type        = number
  default     = 7

  validation {
    condition     = var.incomplete_multipart_upload_days >= 1
    error_message = "incomplete_multipart_upload_days must be at least 1."
  }
}

# ---- ECR -----------------------------------------------------------------------------------------

variable "ecr_repository_prefix" {
  description = "Prefix of the ECR repositories: <prefix>/operator, <prefix>/trainer, <prefix>/inference. The chart's image.registry is <registry>/<prefix>."
  type        = string
  default     = "lathe"

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", var.ecr_repository_prefix))
    error_message = "ecr_repository_prefix must be a valid ECR repository path."
  }
}

variable "ecr_keep_tagged_images" {
  description = "ECR lifecycle: number of tagged images kept per repository (older ones expire)."
  type        = number
  default     = 50

  validation {
    condition     = var.ecr_keep_tagged_images >= 1
    error_message = "ecr_keep_tagged_images must be at least 1."
  }
}

variable "ecr_untagged_expiry_days" {
  description = "ECR lifecycle: days after which untagged images (failed pushes, replaced manifests) expire."
  type        = number
  default     = 7

  validation {
    condition     = var.ecr_untagged_expiry_days >= 1
    error_message = "ecr_untagged_expiry_days must be at least 1."
  }
}

variable "ecr_force_delete" {
  description = "Let terraform destroy delete ECR repositories that still hold images."
  type        = bool
  default     = false
}

# ---- AWS Load Balancer Controller ----------------------------------------------------------------

variable "enable_aws_load_balancer_controller" {
  description = "Create the IRSA role of the AWS Load Balancer Controller (its documented IAM policy, trusted by exactly one service account), for InferenceServices exposed through an ALB (spec.expose.ingress with className alb). The controller itself is installed with Helm (README)."
  type        = bool
  default     = false
}

variable "aws_load_balancer_controller_namespace" {
  description = "Namespace of the AWS Load Balancer Controller's service account (its Helm chart's release namespace)."
  type        = string
  default     = "kube-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.aws_load_balancer_controller_namespace)) && length(var.aws_load_balancer_controller_namespace) <= 63
    error_message = "aws_load_balancer_controller_namespace must be a namespace name."
  }
}

variable "aws_load_balancer_controller_service_account" {
  description = "Name of the AWS Load Balancer Controller's service account (the chart's serviceAccount.name)."
  type        = string
  default     = "aws-load-balancer-controller"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.aws_load_balancer_controller_service_account)) && length(var.aws_load_balancer_controller_service_account) <= 63
    error_message = "aws_load_balancer_controller_service_account must be a DNS label (no wildcard: the role trusts exactly this service account)."
  }
}
