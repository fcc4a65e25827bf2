# The artifact bucket: s3://<bucket>/models/<model-slug>/<runId>/... (docs/contracts.md) and
# s3://<bucket>/datasets/... . Private (all four public-access blocks, bucket-owner-enforced
# ownership, no ACLs), SSE-KMS with a bucket key, versioned, TLS-only, with lifecycle rules.

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_18:Server access logging needs a separate log bucket that the platform team usually owns centrally; CloudTrail data events are the alternative. Add aws_s3_bucket_logging pointing at it.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; checkpoints are reproducible and run records are small. Enable it where the artifacts are the only copy of something valuable.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications exists; the operator reads run records directly.
  bucket        = local.bucket_name
  force_destroy = var.bucket_force_destroy
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.s3.arn
    }
    # One data key per bucket instead of one KMS call per object: checkpoints are many objects.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "artifacts_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.artifacts.arn,
      "${aws_s3_bucket.artifacts.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyOutdatedTLS"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.artifacts.arn,
      "${aws_s3_bucket.artifacts.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  policy = data.aws_iam_policy_document.artifacts_bucket.json

  # A bucket policy put before the public access block could be judged public; order them.
  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  # A trainer killed mid-upload leaves parts that are billed and invisible; abort them.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.incomplete_multipart_upload_days
    }
  }

  # progress.json is overwritten throughout a run and checkpoints are replaced; with versioning on,
  # every old copy stays billed until this removes it.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  # Intermediate checkpoints (models/<slug>/<runId>/checkpoints/<step>/) are only needed to resume a
  # run. S3 lifecycle filters match key prefixes, not a path segment in the middle, so the rule keys
  # on an object tag: the trainer sends it with every object it writes under checkpoints/ (COMPLETE
  # markers included; trainer-image/lathe_trainer/s3.py CHECKPOINT_TAGS), which is why its role has
  # s3:PutObjectTagging (irsa.tf). Final weights (checkpoint/), progress.json, metadata.json and
  # run.json are never tagged.
  rule {
    id     = "expire-intermediate-checkpoints"
    status = "Enabled"
    filter {
      tag {
        key   = "lathe.dev/retention"
        value = "checkpoint"
      }
    }
    expiration {
      days = var.checkpoint_expiration_days
    }
  }

  # Weights that nobody reads move to Intelligent-Tiering (no retrieval fee, unlike Standard-IA).
  rule {
    id     = "models-intelligent-tiering"
    status = "Enabled"
    filter {
      prefix = "models/"
    }
    transition {
      days          = var.models_intelligent_tiering_days
      storage_class = "INTELLIGENT_TIERING"
    }
  }

  depends_on = [aws_s3_bucket_versioning.artifacts]
}
