# Customer-managed KMS keys, one per purpose, each with rotation on and an explicit key policy:
#   eks  - envelope encryption of Kubernetes Secrets in etcd
#   logs - the CloudWatch log groups (control plane, VPC flow logs)
#   s3   - SSE-KMS of the artifact bucket (the IRSA roles get kms:Decrypt/GenerateDataKey through S3 only)

data "aws_iam_policy_document" "kms_eks" {
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only, and the account-root statement is what keeps the key manageable (AWS's default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only (see CKV_AWS_109).
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" means this key only (see CKV_AWS_109).
  # Key policies must let the account manage the key, or it becomes unmanageable. IAM policies
  # then decide who in the account may use it; in a key policy, "*" means this key.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "EKSControlPlaneUse"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.cluster.arn]
    }
  }
}

resource "aws_kms_key" "eks" {
  description             = "${var.name}: EKS secrets envelope encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_eks.json
}

resource "aws_kms_alias" "eks" {
  name          = "alias/${var.name}-eks"
  target_key_id = aws_kms_key.eks.key_id
}

data "aws_iam_policy_document" "kms_logs" {
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only, and the account-root statement is what keeps the key manageable (AWS's default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only (see CKV_AWS_109).
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" means this key only (see CKV_AWS_109).
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsUse"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    # Only for this cluster's log groups.
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/*/${var.name}*"]
    }
  }
}

resource "aws_kms_key" "logs" {
  description             = "${var.name}: CloudWatch log groups (control plane, flow logs)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_logs.json
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${var.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

data "aws_iam_policy_document" "kms_s3" {
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only, and the account-root statement is what keeps the key manageable (AWS's default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only (see CKV_AWS_109).
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" means this key only (see CKV_AWS_109).
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "s3" {
  description             = "${var.name}: SSE-KMS of the artifact bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_s3.json
}

resource "aws_kms_alias" "s3" {
  name          = "alias/${var.name}-artifacts"
  target_key_id = aws_kms_key.s3.key_id
}
