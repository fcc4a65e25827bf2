"""Each property test must fail when the property is weakened.

Every case copies terraform/*.tf to a temporary directory, makes one weakening edit (the kind a
rushed change might make), and asserts that the matching check raises. A case whose edit no
longer applies fails too, so these cannot silently go stale.
"""

import copy
import shutil

import pytest

import checks
import hclmodel

# (id, file, old text, new text, check)
MUTATIONS = [
    ("trust-extra-audience", "irsa.tf",
     'values   = ["sts.amazonaws.com"]', 'values   = ["sts.amazonaws.com", "other"]', "check_irsa_trust"),
    ("trust-stringlike-sub", "irsa.tf",
     'test     = "StringEquals"\n      variable = "${local.oidc_issuer}:sub"',
     'test     = "StringLike"\n      variable = "${local.oidc_issuer}:sub"', "check_irsa_trust"),
    ("trust-second-service-account", "irsa.tf",
     'values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]',
     'values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}", "system:serviceaccount:default:default"]',
     "check_irsa_trust"),
    ("trust-wildcard-service-account", "irsa.tf",
     '"system:serviceaccount:${each.value.namespace}:${each.value.service_account}"',
     '"system:serviceaccount:${each.value.namespace}:*"', "check_irsa_trust"),
    ("trust-no-audience", "irsa.tf",
     '    condition {\n      test     = "StringEquals"\n      variable = "${local.oidc_issuer}:aud"\n      values   = ["sts.amazonaws.com"]\n    }\n',
     "", "check_irsa_trust"),
    ("identity-trainer-default-sa", "locals.tf",
     "service_account = var.trainer_service_account", 'service_account = "default"', "check_irsa_identities"),
    ("operator-writes-everything", "irsa.tf",
     'sid       = "ReadWriteRunRecords"\n    actions   = ["s3:GetObject", "s3:PutObject"]\n    resources = [local.models_objects]',
     'sid       = "ReadWriteRunRecords"\n    actions   = ["s3:GetObject", "s3:PutObject"]\n    resources = ["${aws_s3_bucket.artifacts.arn}/*"]',
     "check_irsa_permissions"),
    ("inference-can-write", "irsa.tf",
     'sid       = "ReadModels"\n    actions   = ["s3:GetObject"]',
     'sid       = "ReadModels"\n    actions   = ["s3:GetObject", "s3:PutObject"]', "check_irsa_permissions"),
    ("trainer-wildcard-resource", "irsa.tf",
     'sid       = "ReadDatasets"\n    actions   = ["s3:GetObject"]\n    resources = [local.datasets_objects]',
     'sid       = "ReadDatasets"\n    actions   = ["s3:GetObject"]\n    resources = ["*"]', "check_irsa_permissions"),
    ("trainer-writes-without-tagging", "irsa.tf",
     '      "s3:PutObject",\n      "s3:PutObjectTagging",\n', '      "s3:PutObject",\n', "check_irsa_permissions"),
    ("trainer-tags-whole-bucket", "irsa.tf",
     '      "s3:ListMultipartUploadParts",\n    ]\n    resources = [local.models_objects]\n  }',
     '      "s3:ListMultipartUploadParts",\n    ]\n    resources = [local.models_objects]\n  }\n\n'
     '  statement {\n    sid       = "TagAnything"\n    actions   = ["s3:PutObjectTagging"]\n'
     '    resources = ["${aws_s3_bucket.artifacts.arn}/*"]\n  }',
     "check_irsa_permissions"),
    ("trainer-deletes-whole-models-prefix", "irsa.tf",
     "resources = [local.run_final_weights_objects, local.run_checkpoints_objects]",
     "resources = [local.models_objects]", "check_irsa_permissions"),
    ("trainer-deletes-in-models-prefix-too", "irsa.tf",
     "resources = [local.run_final_weights_objects, local.run_checkpoints_objects]",
     "resources = [local.run_final_weights_objects, local.run_checkpoints_objects, local.models_objects]",
     "check_irsa_permissions"),
    ("trainer-deletes-with-models-write", "irsa.tf",
     '      "s3:PutObjectTagging",\n', '      "s3:PutObjectTagging",\n      "s3:DeleteObject",\n',
     "check_irsa_permissions"),
    ("trainer-deletes-metadata", "irsa.tf",
     "resources = [local.run_final_weights_objects, local.run_checkpoints_objects]",
     'resources = [local.run_final_weights_objects, local.run_checkpoints_objects, '
     '"${aws_s3_bucket.artifacts.arn}/models/*/*/metadata.json"]',
     "check_irsa_permissions"),
    ("trainer-deletes-run-records", "irsa.tf",
     "resources = [local.run_final_weights_objects, local.run_checkpoints_objects]",
     'resources = [local.run_final_weights_objects, local.run_checkpoints_objects, '
     '"${aws_s3_bucket.artifacts.arn}/models/*/*/run.json", "${aws_s3_bucket.artifacts.arn}/models/*/*/progress.json"]',
     "check_irsa_permissions"),
    ("trainer-deletes-datasets", "irsa.tf",
     "resources = [local.run_final_weights_objects, local.run_checkpoints_objects]",
     "resources = [local.run_final_weights_objects, local.run_checkpoints_objects, local.datasets_objects]",
     "check_irsa_permissions"),
    ("trainer-delete-pattern-widened", "irsa.tf",
     'run_checkpoints_objects   = "${aws_s3_bucket.artifacts.arn}/models/*/*/checkpoints/*"',
     'run_checkpoints_objects   = "${aws_s3_bucket.artifacts.arn}/models/*"', "check_irsa_permissions"),
    ("trainer-deletes-versions", "irsa.tf",
     'actions   = ["s3:DeleteObject"]', 'actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]',
     "check_irsa_permissions"),
    ("trainer-delete-wildcard-action", "irsa.tf",
     'actions   = ["s3:DeleteObject"]', 'actions   = ["s3:Delete*"]', "check_irsa_permissions"),
    ("trainer-wildcard-action-on-checkpoints", "irsa.tf",
     'actions   = ["s3:DeleteObject"]', 'actions   = ["s3:*"]', "check_irsa_permissions"),
    ("operator-lists-whole-bucket", "irsa.tf",
     'values   = ["models/", "models/*"]\n    }\n  }\n\n  statement {\n    sid       = "ReadWriteRunRecords"',
     'values   = ["*"]\n    }\n  }\n\n  statement {\n    sid       = "ReadWriteRunRecords"', "check_irsa_permissions"),
    ("autoscaler-scales-any-group", "irsa.tf",
     '      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.name}"',
     '      variable = "aws:ResourceTag/team"', "check_irsa_permissions"),
    ("autoscaler-terminates-anything", "irsa.tf",
     '"ec2:GetInstanceTypesFromInstanceRequirements",\n', '"ec2:GetInstanceTypesFromInstanceRequirements",\n      "ec2:TerminateInstances",\n',
     "check_irsa_permissions"),
    ("lbc-always-on", "locals.tf",
     "irsa_optional_identities = var.enable_aws_load_balancer_controller ? {",
     "irsa_optional_identities = true ? {", "check_aws_load_balancer_controller"),
    ("lbc-fixed-service-account", "locals.tf",
     "service_account = var.aws_load_balancer_controller_service_account",
     'service_account = "default"', "check_aws_load_balancer_controller"),
    ("lbc-deletes-any-load-balancer", "aws-load-balancer-controller.tf",
     '      "elasticloadbalancing:ModifyIpPools",\n    ]\n    resources = ["*"]\n    condition {\n      test     = "StringEquals"\n      variable = "aws:ResourceTag/${local.alb_cluster_tag}"\n      values   = [var.name]\n    }',
     '      "elasticloadbalancing:ModifyIpPools",\n    ]\n    resources = ["*"]\n    condition {\n      test     = "Null"\n      variable = "aws:ResourceTag/${local.alb_cluster_tag}"\n      values   = ["false"]\n    }',
     "check_aws_load_balancer_controller"),
    ("lbc-creates-untagged", "aws-load-balancer-controller.tf",
     'sid       = "CreateTaggedLoadBalancers"\n    actions   = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]\n    resources = ["*"]\n    condition {\n      test     = "StringEquals"',
     'sid       = "CreateTaggedLoadBalancers"\n    actions   = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]\n    resources = ["*"]\n    condition {\n      test     = "StringLike"',
     "check_aws_load_balancer_controller"),
    ("lbc-passes-roles", "aws-load-balancer-controller.tf",
     '      "iam:GetServerCertificate",\n', '      "iam:GetServerCertificate",\n      "iam:PassRole",\n', "check_aws_load_balancer_controller"),
    ("lbc-wildcard-action", "aws-load-balancer-controller.tf",
     '"elasticloadbalancing:SetRulePriorities",', '"elasticloadbalancing:*",', "check_aws_load_balancer_controller"),
    ("lbc-terminates-instances", "aws-load-balancer-controller.tf",
     '    actions   = ["ec2:CreateSecurityGroup"]', '    actions   = ["ec2:CreateSecurityGroup", "ec2:TerminateInstances"]', "check_aws_load_balancer_controller"),
    ("lbc-any-service-linked-role", "aws-load-balancer-controller.tf",
     'values   = ["elasticloadbalancing.amazonaws.com"]', 'values   = ["*"]', "check_aws_load_balancer_controller"),
    ("public-access-restrict-off", "s3.tf",
     "restrict_public_buckets = true", "restrict_public_buckets = false", "check_s3_public_access_block"),
    ("public-access-acls-off", "s3.tf",
     "block_public_acls       = true", "block_public_acls       = false", "check_s3_public_access_block"),
    ("tls-only-inverted", "s3.tf",
     'variable = "aws:SecureTransport"\n      values   = ["false"]',
     'variable = "aws:SecureTransport"\n      values   = ["true"]', "check_s3_tls_only"),
    ("tls-only-removed", "s3.tf",
     'variable = "aws:SecureTransport"', 'variable = "aws:SourceIp"', "check_s3_tls_only"),
    ("sse-s3-instead-of-kms", "s3.tf",
     'sse_algorithm     = "aws:kms"', 'sse_algorithm     = "AES256"', "check_s3_encryption_versioning_lifecycle"),
    ("versioning-suspended", "s3.tf",
     'status = "Enabled"\n  }\n}', 'status = "Suspended"\n  }\n}', "check_s3_encryption_versioning_lifecycle"),
    ("checkpoint-rule-tag-drift", "s3.tf",
     '        value = "checkpoint"', '        value = "intermediate"', "check_s3_encryption_versioning_lifecycle"),
    ("checkpoint-rule-by-prefix", "s3.tf",
     '      tag {\n        key   = "lathe.dev/retention"\n        value = "checkpoint"\n      }',
     '      prefix = "models/"', "check_s3_encryption_versioning_lifecycle"),
    ("imds-v1-allowed", "nodegroups.tf",
     'http_tokens                 = "required"', 'http_tokens                 = "optional"', "check_imdsv2"),
    ("imds-hop-limit-2", "nodegroups.tf",
     "http_put_response_hop_limit = 1", "http_put_response_hop_limit = 2", "check_imdsv2"),
    ("gpu-taint-key-drift", "nodegroups.tf",
     'gpu_taint  = { key = "nvidia.com/gpu", value = "true"',
     'gpu_taint  = { key = "nvidia.com/gpu", value = "present"', "check_gpu_scheduling"),
    ("gpu-taint-effect-drift", "nodegroups.tf",
     'gpu_taint  = { key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }',
     'gpu_taint  = { key = "nvidia.com/gpu", value = "true", effect = "PREFER_NO_SCHEDULE" }',
     "check_gpu_scheduling"),
    ("spot-group-untainted", "nodegroups.tf",
     "taints         = [local.gpu_taint, local.spot_taint]", "taints         = [local.gpu_taint]",
     "check_gpu_scheduling"),
    ("spot-group-on-demand", "nodegroups.tf",
     'capacity_type  = "SPOT"', 'capacity_type  = "ON_DEMAND"', "check_gpu_scheduling"),
    ("gpu-min-size-one", "variables.tf",
     'description = "Minimum size of both GPU node groups. Keep 0 so GPU nodes exist only while a cluster autoscaler (or you) scales them up."\n  type        = number\n  default     = 0',
     'description = "Minimum size of both GPU node groups. Keep 0 so GPU nodes exist only while a cluster autoscaler (or you) scales them up."\n  type        = number\n  default     = 1',
     "check_gpu_scheduling"),
    ("gpu-cpu-ami", "variables.tf",
     'default     = "AL2023_x86_64_NVIDIA"', 'default     = "AL2023_x86_64_STANDARD"', "check_gpu_scheduling"),
    ("eks-no-audit-log", "eks.tf",
     '["api", "audit", "authenticator", "controllerManager", "scheduler"]',
     '["api", "authenticator", "controllerManager", "scheduler"]', "check_eks"),
    ("eks-public-by-default", "variables.tf",
     'type        = list(string)\n  default     = []\n\n  validation {\n    condition     = alltrue([for c in var.cluster_endpoint_public_access_cidrs',
     'type        = list(string)\n  default     = ["0.0.0.0/0"]\n\n  validation {\n    condition     = alltrue([for c in var.cluster_endpoint_public_access_cidrs',
     "check_eks"),
    ("eks-secrets-unencrypted", "eks.tf",
     'resources = ["secrets"]', "resources = []", "check_eks"),
    ("ecr-mutable-tags", "ecr.tf",
     'image_tag_mutability = "IMMUTABLE"', 'image_tag_mutability = "MUTABLE"', "check_ecr"),
    ("ecr-no-scan", "ecr.tf", "scan_on_push = true", "scan_on_push = false", "check_ecr"),
]


@pytest.mark.parametrize("case", MUTATIONS, ids=[c[0] for c in MUTATIONS])
def test_weakening_is_detected(case, terraform_dir, scheduling, tmp_path):
    _id, filename, old, new, check_name = case
    for f in terraform_dir.glob("*.tf"):
        shutil.copy(f, tmp_path / f.name)
    target = tmp_path / filename
    text = target.read_text()
    assert text.count(old) == 1, f"mutation {_id} no longer applies to {filename}: update the case"
    target.write_text(text.replace(old, new))

    mutated = hclmodel.load(tmp_path)
    check = getattr(checks, check_name)
    with pytest.raises(AssertionError) as caught:
        if check_name == "check_gpu_scheduling":
            check(mutated, scheduling)
        else:
            check(mutated)
    print(f"{_id}: {(str(caught.value) or repr(caught.value)).splitlines()[0]}")


@pytest.mark.parametrize(
    "path, value",
    [
        (("gpuTaint", "key"), "example.com/gpu"),
        (("gpuTaint", "value"), "present"),
        (("gpuTaint", "effect"), "NoExecute"),
        (("spotTaint", "key"), "example.com/spot"),
        (("spotCapacityType", ), "Spot"),
        (("onDemandCapacityType", ), "on-demand"),
    ],
)
def test_scheduling_json_drift_is_detected(model, scheduling, path, value):
    """If the operator's constants change and the node groups do not, the suite fails."""
    changed = copy.deepcopy(scheduling)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(AssertionError):
        checks.check_gpu_scheduling(model, changed)
