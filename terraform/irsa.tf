# IAM roles for service accounts (IRSA).
#
# One role per (namespace, service account), listed in local.irsa_identities (locals.tf), and one
# trust-policy template below: each trust policy allows sts:AssumeRoleWithWebIdentity from this
# cluster's OIDC provider only with StringEquals on both
#   <issuer>:sub = system:serviceaccount:<namespace>:<service account>   (exactly one)
#   <issuer>:aud = sts.amazonaws.com
# so no other service account, in this namespace or another, can assume it. Training namespaces get
# a trainer role and an inference role each (roles are cheap; a shared role would need several
# subjects in one trust policy).
#
# Permissions name the bucket and its prefixes; the only KMS key is the bucket's, and only through S3.

data "aws_iam_policy_document" "irsa_trust" {
  for_each = local.irsa_identities

  statement {
    sid     = "ServiceAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each = local.irsa_identities

  name               = "${var.name}-${each.key}"
  description        = "IRSA: ${each.value.namespace}/${each.value.service_account} (${each.value.kind})"
  assume_role_policy = data.aws_iam_policy_document.irsa_trust[each.key].json

  tags = {
    "lathe.dev/service-account" = "${each.value.namespace}/${each.value.service_account}"
  }
}

resource "aws_iam_role_policy" "irsa" {
  for_each = { for k, v in local.irsa_identities : k => v if contains(keys(local.irsa_policies), v.kind) }

  name   = "lathe-${each.value.kind}"
  role   = aws_iam_role.irsa[each.key].id
  policy = local.irsa_policies[each.value.kind]
}

resource "aws_iam_role_policy_attachment" "vpc_cni" {
  role       = aws_iam_role.irsa["vpc-cni"].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKS_CNI_Policy"
}

locals {
  irsa_policies = {
    operator           = data.aws_iam_policy_document.operator.json
    trainer            = data.aws_iam_policy_document.trainer.json
    inference          = data.aws_iam_policy_document.inference.json
    cluster-autoscaler = data.aws_iam_policy_document.cluster_autoscaler.json
    # Attached only when enable_aws_load_balancer_controller adds its identity.
    aws-load-balancer-controller = data.aws_iam_policy_document.aws_load_balancer_controller.json
  }

  models_objects   = "${aws_s3_bucket.artifacts.arn}/models/*"
  datasets_objects = "${aws_s3_bucket.artifacts.arn}/datasets/*"
  s3_via_service   = "s3.${var.region}.amazonaws.com"

  # The two directories of a run prefix, models/<slug>/<runId>/, whose objects the trainer replaces
  # and so may delete (statement DeleteReplacedCheckpointObjects): checkpoint/ (final weights) and
  # checkpoints/<step>/ (resumable). IAM's * also matches "/", but every key these match has a
  # checkpoint/ or checkpoints/ segment after two others, which progress.json, metadata.json and
  # run.json of a run never have.
  run_final_weights_objects = "${aws_s3_bucket.artifacts.arn}/models/*/*/checkpoint/*"
  run_checkpoints_objects   = "${aws_s3_bucket.artifacts.arn}/models/*/*/checkpoints/*"
}

# ---- operator: read/write run records under models/, nothing else ---------------------------------

data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["models/", "models/*"]
    }
  }

  statement {
    sid       = "ReadWriteRunRecords"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.models_objects]
  }

  statement {
    sid       = "BucketKeyThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.s3.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }
}

# ---- trainer: read datasets, read/write (and tag) models/, delete only in checkpoint(s)/ -------------

data "aws_iam_policy_document" "trainer" {
  statement {
    sid       = "ListModelsAndDatasets"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["models/", "models/*", "datasets/", "datasets/*"]
    }
  }

  statement {
    sid       = "ReadDatasets"
    actions   = ["s3:GetObject"]
    resources = [local.datasets_objects]
  }

  # s3:PutObjectTagging: a PutObject/CreateMultipartUpload that carries x-amz-tagging needs it too.
  # The trainer tags what it writes under checkpoints/ with lathe.dev/retention=checkpoint, which the
  # bucket's lifecycle rule expire-intermediate-checkpoints (s3.tf) expires. Same resources as
  # s3:PutObject.
  statement {
    sid = "ReadWriteModels"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:PutObjectTagging",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.models_objects]
  }

  # s3:DeleteObject only where the trainer replaces what an earlier attempt of the same run left
  # behind (trainer-image/lathe_trainer/s3.py delete()): the COMPLETE marker of a checkpoints/<step>/
  # it saves again, removed before the step's files are rewritten so that a half-rewritten step is
  # never resumed from, and leftover objects under checkpoint/ removed before the final weights are
  # uploaded. Never progress.json, metadata.json, run.json or datasets/. The bucket is versioned
  # (aws_s3_bucket_versioning.artifacts, s3.tf): a DeleteObject without a version id only adds a
  # delete marker, and the object's previous version stays recoverable until the lifecycle rule
  # expire-noncurrent-versions removes it (noncurrent_version_expiration_days).
  # s3:DeleteObjectVersion, which deletes for good, is not granted.
  statement {
    sid       = "DeleteReplacedCheckpointObjects"
    actions   = ["s3:DeleteObject"]
    resources = [local.run_final_weights_objects, local.run_checkpoints_objects]
  }

  statement {
    sid       = "BucketKeyThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.s3.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }

  dynamic "statement" {
    for_each = length(var.dataset_bucket_arns) > 0 ? [1] : []
    content {
      sid       = "ListExtraDatasetBuckets"
      actions   = ["s3:ListBucket"]
      resources = var.dataset_bucket_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.dataset_bucket_arns) > 0 ? [1] : []
    content {
      sid       = "ReadExtraDatasetBuckets"
      actions   = ["s3:GetObject"]
      resources = [for arn in var.dataset_bucket_arns : "${arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.dataset_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptExtraDatasetsThroughS3"
      actions   = ["kms:Decrypt"]
      resources = var.dataset_kms_key_arns
      condition {
        test     = "StringLike"
        variable = "kms:ViaService"
        values   = ["s3.*.amazonaws.com"]
      }
    }
  }
}

# ---- inference server: read-only models/ ----------------------------------------------------------

data "aws_iam_policy_document" "inference" {
  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["models/", "models/*"]
    }
  }

  statement {
    sid       = "ReadModels"
    actions   = ["s3:GetObject"]
    resources = [local.models_objects]
  }

  statement {
    sid       = "DecryptThroughS3"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.s3.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }
}

# ---- cluster-autoscaler: scale this cluster's node groups, nothing else ------------------------------
# EKS tags each managed node group's Auto Scaling group k8s.io/cluster-autoscaler/<cluster>=owned;
# scaling is allowed only on groups carrying that tag. Describe calls cannot be scoped to resources.

data "aws_iam_policy_document" "cluster_autoscaler" {
  statement {
    sid = "Describe"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ScaleThisClustersGroups"
    actions = [
      "autoscaling:SetDesiredCapacity",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = ["arn:${local.partition}:autoscaling:${var.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.name}"
      values   = ["owned"]
    }
  }

  # Scale-from-zero: the labels and taints of a group with no nodes come from its EKS description.
  statement {
    sid       = "DescribeThisClustersNodegroups"
    actions   = ["eks:DescribeNodegroup"]
    resources = ["arn:${local.partition}:eks:${var.region}:${local.account_id}:nodegroup/${var.name}/*/*"]
  }
}
