"""The security and scheduling properties of terraform/, as functions that raise AssertionError.

test_hcl.py runs each against the real directory; test_mutations.py weakens a copy of the
directory one property at a time and proves the matching function notices.
"""

from __future__ import annotations

import re
from typing import Any

from hclmodel import Model, statements

TRUST_DOC = "irsa_trust"
OIDC_PROVIDER_ARN = "${aws_iam_openid_connect_provider.eks.arn}"
SUB_VALUE = "system:serviceaccount:${each.value.namespace}:${each.value.service_account}"
MODELS_OBJECTS = "${aws_s3_bucket.artifacts.arn}/models/*"
DATASETS_OBJECTS = "${aws_s3_bucket.artifacts.arn}/datasets/*"
# The only objects the trainer may delete: those under checkpoint/ (final weights) and
# checkpoints/<step>/ of a run prefix models/<slug>/<runId>/, which a retried attempt replaces.
RUN_FINAL_WEIGHTS_OBJECTS = "${aws_s3_bucket.artifacts.arn}/models/*/*/checkpoint/*"
RUN_CHECKPOINTS_OBJECTS = "${aws_s3_bucket.artifacts.arn}/models/*/*/checkpoints/*"
TRAINER_DELETABLE = {RUN_FINAL_WEIGHTS_OBJECTS, RUN_CHECKPOINTS_OBJECTS}
BUCKET_ARN = "${aws_s3_bucket.artifacts.arn}"
BUCKET_KEY_ARN = "${aws_kms_key.s3.arn}"
# The tag the trainer puts on everything it writes under checkpoints/ (trainer-image/lathe_trainer/
# s3.py CHECKPOINT_TAGS; its tests check that s3.tf says the same).
CHECKPOINT_TAG = {"key": "lathe.dev/retention", "value": "checkpoint"}

# Kubernetes taint effects (schemas/scheduling.json) in the EKS API's spelling.
EKS_TAINT_EFFECT = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
GPU_AMI_TYPES = {
    "AL2023_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA",
}


def _one(blocks: Any, what: str) -> dict:
    assert isinstance(blocks, list) and len(blocks) == 1, f"{what}: expected exactly one block, got {blocks!r}"
    return blocks[0]


def _effect(stmt: dict) -> str:
    return stmt.get("effect", "Allow")


def _listed(stmt: dict, key: str) -> list:
    """A statement's actions/resources; an unresolved expression (a for-expression) counts as one item."""
    v = stmt.get(key, [])
    return v if isinstance(v, list) else [v]


# ---- IRSA trust -----------------------------------------------------------------------------------


def check_irsa_trust(m: Model) -> None:
    """Each IRSA trust policy admits exactly one service account, with the sts.amazonaws.com audience."""
    doc = m.datasource("aws_iam_policy_document", TRUST_DOC)
    assert doc.get("for_each") == "${local.irsa_identities}", "irsa_trust must be one document per IRSA identity"
    stmt = _one(doc.get("statement"), "irsa_trust statement")
    assert not doc.get("dynamic"), "irsa_trust must not grow dynamic statements"
    assert _effect(stmt) == "Allow"
    assert stmt.get("actions") == ["sts:AssumeRoleWithWebIdentity"], f"trust actions: {stmt.get('actions')}"
    principal = _one(stmt.get("principals"), "irsa_trust principals")
    assert principal.get("type") == "Federated", "trust principal must be the OIDC provider"
    assert principal.get("identifiers") == [OIDC_PROVIDER_ARN], f"trust principal: {principal.get('identifiers')}"

    conditions = stmt.get("condition", [])
    by_key: dict[str, dict] = {}
    for c in conditions:
        var = c.get("variable", "")
        assert c.get("test") == "StringEquals", f"trust condition on {var} must be StringEquals, not {c.get('test')}"
        suffix = var.rsplit(":", 1)[-1]
        assert var == "${local.oidc_issuer}:" + suffix, f"trust condition key {var} is not the cluster's issuer"
        assert suffix not in by_key, f"two conditions on :{suffix}"
        by_key[suffix] = c
    assert set(by_key) == {"sub", "aud"}, f"trust conditions must be exactly :sub and :aud, got {sorted(by_key)}"
    assert by_key["aud"].get("values") == ["sts.amazonaws.com"], f"aud values: {by_key['aud'].get('values')}"
    subs = by_key["sub"].get("values")
    assert isinstance(subs, list) and len(subs) == 1, f"sub must name exactly one service account, got {subs!r}"
    assert subs[0] == SUB_VALUE, f"sub value {subs[0]!r} is not system:serviceaccount:<namespace>:<sa>"
    assert "*" not in subs[0] and "?" not in subs[0]

    issuer = m.locals.get("oidc_issuer", "")
    assert "aws_eks_cluster.this.identity[0].oidc[0].issuer" in issuer and '"https://"' in issuer, (
        "local.oidc_issuer must be this cluster's issuer without https://"
    )
    provider = m.resource("aws_iam_openid_connect_provider", "eks")
    assert provider.get("client_id_list") == ["sts.amazonaws.com"]

    # Every web-identity trust in the directory goes through this one document.
    for name, d in m.data.get("aws_iam_policy_document", {}).items():
        if name == TRUST_DOC:
            continue
        for s in statements(d):
            actions = s.get("actions", [])
            assert "sts:AssumeRoleWithWebIdentity" not in actions, f"{name}: a second web-identity trust policy"
            for p in s.get("principals", []):
                assert p.get("type") != "Federated", f"{name}: a second federated trust policy"

    roles = m.of_type("aws_iam_role")
    irsa = roles.get("irsa")
    assert irsa, "aws_iam_role.irsa is missing"
    assert irsa.get("for_each") == "${local.irsa_identities}"
    assert irsa.get("assume_role_policy") == "${data.aws_iam_policy_document.irsa_trust[each.key].json}", (
        "each IRSA role must use its own identity's trust document"
    )
    for name, role in roles.items():
        if name != "irsa":
            assert TRUST_DOC not in str(role.get("assume_role_policy")), f"aws_iam_role.{name} reuses irsa_trust"


def check_irsa_identities(m: Model) -> None:
    """One identity per (namespace, service account); the service-account names are the agreed defaults."""
    fixed = m.locals.get("irsa_fixed_identities")
    assert isinstance(fixed, dict), "local.irsa_fixed_identities missing"
    op = m.resolve(fixed.get("operator"))
    assert op == {"kind": "operator", "namespace": "lathe-system", "service_account": "lathe-operator"}, op
    cni = fixed.get("vpc-cni")
    assert cni == {"kind": "vpc-cni", "namespace": "kube-system", "service_account": "aws-node"}, cni
    ca = fixed.get("cluster-autoscaler")
    assert ca == {"kind": "cluster-autoscaler", "namespace": "kube-system", "service_account": "cluster-autoscaler"}, ca
    assert set(fixed) == {"operator", "vpc-cni", "cluster-autoscaler"}, f"fixed identities: {sorted(fixed)}"
    for kind, var in (("trainer", "trainer_service_account"), ("inference", "inference_service_account")):
        expr = m.locals.get(f"irsa_{kind}_identities", "")
        assert isinstance(expr, str) and expr.startswith("${{for ns in var.training_namespaces :"), (
            f"local.irsa_{kind}_identities must be one entry per training namespace"
        )
        flat = re.sub(r"\s+", " ", expr)
        assert f'"{kind}-${{ns}}" =>' in flat, f"{kind} identities must be keyed {kind}-<namespace>"
        assert "namespace = ns" in flat and f"service_account = var.{var}" in flat, (
            f"{kind} identity must be exactly (that namespace, var.{var}): {flat}"
        )
        assert f'kind = "{kind}"' in flat
    assert m.locals.get("irsa_identities") == (
        "${merge(local.irsa_fixed_identities, local.irsa_optional_identities, local.irsa_trainer_identities, local.irsa_inference_identities)}"
    )
    assert m.default("trainer_service_account") == "lathe-trainer"
    assert m.default("inference_service_account") == "lathe-inference"
    assert m.default("training_namespaces") == ["ml"]


# ---- IRSA permissions -----------------------------------------------------------------------------


def _allow_statements(m: Model, doc_name: str) -> list[dict]:
    doc = m.datasource("aws_iam_policy_document", doc_name)
    out = []
    for s in statements(doc):
        s = m.resolve(s)
        assert _effect(s) == "Allow", f"{doc_name}: unexpected {_effect(s)} statement"
        out.append(s)
    return out


def _no_wildcards(doc_name: str, stmts: list[dict]) -> None:
    for s in stmts:
        for r in _listed(s, "resources"):
            assert r != "*" and not r.endswith(":::*"), f"{doc_name}: resource {r!r} is a wildcard"
        for a in _listed(s, "actions"):
            # "s3:*", and also "s3:Delete*" or "s3:*Object": a pattern grants actions nobody listed.
            assert "*" not in a and "?" not in a, f"{doc_name}: action {a!r} is a wildcard"
        assert "not_resources" not in s and "not_actions" not in s, f"{doc_name}: NotResource/NotAction"


def _kms_through_s3_only(doc_name: str, s: dict) -> None:
    assert s.get("resources") == [BUCKET_KEY_ARN], f"{doc_name}: KMS resources {s.get('resources')}"
    conds = s.get("condition", [])
    assert any(c.get("variable") == "kms:ViaService" and c.get("test") == "StringEquals" for c in conds), (
        f"{doc_name}: bucket-key use must be limited to S3 (kms:ViaService)"
    )


def _grants(doc_name: str, stmts: list[dict]) -> dict[str, set[str]]:
    """resource -> actions, with ListBucket's prefix conditions checked on the way."""
    grants: dict[str, set[str]] = {}
    for s in stmts:
        for r in _listed(s, "resources"):
            grants.setdefault(r, set()).update(_listed(s, "actions"))
    return grants


def _list_prefixes(doc_name: str, stmts: list[dict]) -> set[str]:
    prefixes: set[str] = set()
    for s in stmts:
        if "s3:ListBucket" in s.get("actions", []) and BUCKET_ARN in s.get("resources", []):
            conds = [c for c in s.get("condition", []) if c.get("variable") == "s3:prefix"]
            assert conds, f"{doc_name}: ListBucket on the artifact bucket without an s3:prefix condition"
            for c in conds:
                prefixes.update(c.get("values", []))
    return prefixes


def _iam_match(pattern: str, key: str) -> bool:
    """Whether an IAM resource pattern matches an object ARN (* and ? match "/" too)."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), key) is not None


def _check_trainer_deletes(grants: dict[str, set[str]]) -> None:
    """The trainer deletes only in checkpoint/ and checkpoints/ of a run, and never for good."""
    deletes = {r: {a for a in acts if a.startswith("s3:Delete")} for r, acts in grants.items()}
    deletes = {r: acts for r, acts in deletes.items() if acts}
    assert set(deletes) == TRAINER_DELETABLE, (
        f"trainer may delete on {sorted(deletes)}; only on {sorted(TRAINER_DELETABLE)} (a retried "
        "attempt replaces the final weights and a checkpoint's COMPLETE marker; records and "
        "datasets are never deleted)"
    )
    for r, acts in deletes.items():
        # s3:DeleteObjectVersion would bypass versioning (the bucket keeps what DeleteObject hides).
        assert acts == {"s3:DeleteObject"}, f"trainer: {sorted(acts)} on {r}, only s3:DeleteObject"
        assert grants[r] == {"s3:DeleteObject"}, f"trainer: {sorted(grants[r])} on {r}, only s3:DeleteObject"
    # What the patterns mean: they reach the two directories, and no record of the run.
    run = BUCKET_ARN + "/models/smol/20261122-154210-a1b2c3/"
    for key in ("checkpoint/model.safetensors", "checkpoints/120/COMPLETE", "checkpoints/120/model/x"):
        assert any(_iam_match(p, run + key) for p in TRAINER_DELETABLE), f"trainer cannot delete {key}"
    for key in (run + "metadata.json", run + "run.json", run + "progress.json",
                BUCKET_ARN + "/datasets/checkpoint/x", BUCKET_ARN + "/models/checkpoint/x/metadata.json"):
        assert not any(_iam_match(p, key) for p in TRAINER_DELETABLE), f"trainer can delete {key}"


def check_irsa_permissions(m: Model) -> None:
    policies = m.locals.get("irsa_policies")
    assert policies == {
        "operator": "${data.aws_iam_policy_document.operator.json}",
        "trainer": "${data.aws_iam_policy_document.trainer.json}",
        "inference": "${data.aws_iam_policy_document.inference.json}",
        "cluster-autoscaler": "${data.aws_iam_policy_document.cluster_autoscaler.json}",
        "aws-load-balancer-controller": "${data.aws_iam_policy_document.aws_load_balancer_controller.json}",
    }, f"irsa_policies: {policies}"
    rp = m.resource("aws_iam_role_policy", "irsa")
    assert rp.get("role") == "${aws_iam_role.irsa[each.key].id}"
    assert rp.get("policy") == "${local.irsa_policies[each.value.kind]}"
    assert m.resolve("${local.models_objects}") == MODELS_OBJECTS
    assert m.resolve("${local.datasets_objects}") == DATASETS_OBJECTS
    for local, expected in (("run_final_weights_objects", RUN_FINAL_WEIGHTS_OBJECTS),
                            ("run_checkpoints_objects", RUN_CHECKPOINTS_OBJECTS)):
        got = m.resolve("${local.%s}" % local)
        assert got == expected, f"local.{local} is {got!r}, must be {expected!r}"
    # No other policy reaches the IRSA roles (the CNI role gets only the AWS-managed CNI policy).
    for name, att in m.of_type("aws_iam_role_policy_attachment").items():
        if "aws_iam_role.irsa" in str(att.get("role")):
            assert att.get("role") == '${aws_iam_role.irsa["vpc-cni"].name}', f"{name} attaches to an IRSA role"
            assert str(att.get("policy_arn")).endswith(":policy/AmazonEKS_CNI_Policy")
    for name, rp2 in m.of_type("aws_iam_role_policy").items():
        if name != "irsa":
            assert "aws_iam_role.irsa" not in str(rp2.get("role")), f"aws_iam_role_policy.{name} targets an IRSA role"

    # operator: run records under models/ only.
    op = _allow_statements(m, "operator")
    _no_wildcards("operator", op)
    grants = _grants("operator", op)
    assert grants.get(MODELS_OBJECTS) == {"s3:GetObject", "s3:PutObject"}, f"operator models/ grants: {grants}"
    assert grants.get(BUCKET_ARN) == {"s3:ListBucket"}
    assert _list_prefixes("operator", op) == {"models/", "models/*"}, f"operator lists {_list_prefixes('operator', op)}"
    assert set(grants) == {MODELS_OBJECTS, BUCKET_ARN, BUCKET_KEY_ARN}, f"operator reaches {sorted(grants)}"
    for s in op:
        if any(a.startswith("kms:") for a in s.get("actions", [])):
            _kms_through_s3_only("operator", s)

    # inference: read-only models/.
    inf = _allow_statements(m, "inference")
    _no_wildcards("inference", inf)
    grants = _grants("inference", inf)
    assert grants.get(MODELS_OBJECTS) == {"s3:GetObject"}, f"inference must only read models/: {grants}"
    assert grants.get(BUCKET_ARN) == {"s3:ListBucket"}
    assert _list_prefixes("inference", inf) == {"models/", "models/*"}
    assert set(grants) == {MODELS_OBJECTS, BUCKET_ARN, BUCKET_KEY_ARN}, f"inference reaches {sorted(grants)}"
    for s in inf:
        acts = set(s.get("actions", []))
        assert not any(a.startswith(("s3:Put", "s3:Delete")) for a in acts), f"inference writes: {acts}"
        if any(a.startswith("kms:") for a in acts):
            assert acts == {"kms:Decrypt"}, f"inference KMS actions {acts}"
            _kms_through_s3_only("inference", s)

    # trainer: read datasets, read/write models/, delete only what it replaces, read extra dataset
    # buckets.
    tr = _allow_statements(m, "trainer")
    _no_wildcards("trainer", tr)
    grants = _grants("trainer", tr)
    assert grants.get(DATASETS_OBJECTS) == {"s3:GetObject"}, f"trainer must only read datasets/: {grants}"
    _check_trainer_deletes(grants)
    assert {"s3:GetObject", "s3:PutObject"} <= grants.get(MODELS_OBJECTS, set())
    # The trainer tags checkpoints as it writes them (x-amz-tagging needs s3:PutObjectTagging):
    # tagging is allowed exactly where writing is, and nowhere else.
    put = {r for r, acts in grants.items() if "s3:PutObject" in acts}
    tag = {r for r, acts in grants.items() if "s3:PutObjectTagging" in acts}
    assert put == {MODELS_OBJECTS}, f"trainer writes {sorted(put)}"
    assert tag == put, f"trainer: s3:PutObjectTagging on {sorted(tag)}, s3:PutObject on {sorted(put)}"
    assert _list_prefixes("trainer", tr) == {"models/", "models/*", "datasets/", "datasets/*"}
    for res, acts in grants.items():
        if res in (MODELS_OBJECTS, DATASETS_OBJECTS, BUCKET_ARN, BUCKET_KEY_ARN) or res in TRAINER_DELETABLE:
            continue
        # Extra dataset buckets and their keys: read-only.
        assert acts <= {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}, f"trainer gets {acts} on {res}"
    for s in tr:
        if BUCKET_KEY_ARN in s.get("resources", []):
            _kms_through_s3_only("trainer", s)

    # cluster-autoscaler: "*" only for Describe/Get calls; scaling only this cluster's tagged groups.
    ca = _allow_statements(m, "cluster_autoscaler")
    for s in ca:
        acts = _listed(s, "actions")
        assert all(":" in a and "*" not in a for a in acts), f"cluster_autoscaler actions {acts}"
        if "*" in _listed(s, "resources"):
            assert all(a.split(":", 1)[1].startswith(("Describe", "Get")) for a in acts), (
                f"cluster_autoscaler: only read-only calls may use Resource '*', got {acts}"
            )
        if any(a.split(":", 1)[1].startswith(("Set", "Terminate")) for a in acts):
            conds = s.get("condition", [])
            assert any(
                c.get("test") == "StringEquals"
                and c.get("variable") == "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.name}"
                and c.get("values") == ["owned"]
                for c in conds
            ), "cluster_autoscaler may only scale groups tagged as this cluster's"


# ---- AWS Load Balancer Controller -----------------------------------------------------------------

LBC_DOC = "aws_load_balancer_controller"
LBC_SERVICES = {"ec2", "elasticloadbalancing", "acm", "iam", "waf-regional", "wafv2", "shield", "cognito-idp"}
# The only IAM calls: the ELB service-linked role, and reading server certificates for listeners.
LBC_IAM = {"iam:CreateServiceLinkedRole", "iam:ListServerCertificates", "iam:GetServerCertificate"}
# EC2 writes beyond security groups (instances, ENIs, routes) are never the controller's business.
LBC_EC2_WRITES = {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:CreateSecurityGroup",
                  "ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags"}
# Changing or deleting a load balancer, target group or security group: only this cluster's.
LBC_THIS_CLUSTER_ONLY = {
    "ec2:DeleteSecurityGroup", "ec2:DeleteTags",
    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets", "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
}
LBC_CREATES = {"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"}
CLUSTER_TAG = "elbv2.k8s.aws/cluster"


def _names_this_cluster(s: dict, key: str) -> bool:
    return any(
        c.get("test") == "StringEquals" and c.get("variable") == f"aws:{key}/{CLUSTER_TAG}" and c.get("values") == ["${var.name}"]
        for c in s.get("condition", [])
    )


def check_aws_load_balancer_controller(m: Model) -> None:
    """The controller's IRSA role: only when enabled, one exact service account, its documented
    policy narrowed to this cluster's load balancers, no wildcard action, no IAM beyond the ELB
    service-linked role."""
    expr = re.sub(r"\s+", " ", str(m.locals.get("irsa_optional_identities", "")))
    assert expr.startswith("${var.enable_aws_load_balancer_controller ?"), (
        f"the controller's identity must exist only with var.enable_aws_load_balancer_controller: {expr}"
    )
    assert expr.rstrip("}").rstrip().endswith(": {"), f"without the variable there must be no optional identity: {expr}"
    for fragment in ('aws-load-balancer-controller = {', 'kind = "aws-load-balancer-controller"',
                     "namespace = var.aws_load_balancer_controller_namespace",
                     "service_account = var.aws_load_balancer_controller_service_account"):
        assert fragment in expr, f"irsa_optional_identities lacks {fragment!r}: {expr}"
    assert m.default("enable_aws_load_balancer_controller") is False
    assert m.default("aws_load_balancer_controller_namespace") == "kube-system"
    assert m.default("aws_load_balancer_controller_service_account") == "aws-load-balancer-controller"
    for var in ("aws_load_balancer_controller_namespace", "aws_load_balancer_controller_service_account"):
        # The trust names exactly one service account: no pattern may pass the variable's validation.
        cond = str(m.variables[var].get("validation", [{}])[0].get("condition", ""))
        assert "regex(" in cond and "*" not in cond.replace("[-a-z0-9]*", ""), f"{var} must be validated as one exact name: {cond}"

    stmts = _allow_statements(m, LBC_DOC)
    # Conditions are judged unresolved: "= var.name" must stay a reference, not a name that happens to match.
    raw = statements(m.datasource("aws_iam_policy_document", LBC_DOC))
    assert len(raw) == len(stmts)
    assert m.resolve("${local.alb_cluster_tag}") == CLUSTER_TAG
    actions: set[str] = set()
    for s, r in zip(stmts, raw):
        s = {**s, "condition": [dict(c) for c in r.get("condition", [])]}
        acts = _listed(s, "actions")
        assert "not_resources" not in s and "not_actions" not in s, f"{LBC_DOC}: NotResource/NotAction"
        for a in acts:
            assert "*" not in a and "?" not in a, f"{LBC_DOC}: action {a!r} is a wildcard"
            assert a.split(":", 1)[0] in LBC_SERVICES, f"{LBC_DOC}: {a} is outside the controller's services"
        actions.update(acts)
        conds = s.get("condition", [])
        # Re-resolve the tag key (the model keeps "${local.alb_cluster_tag}" inside a longer string).
        for c in conds:
            c["variable"] = str(c.get("variable", "")).replace("${local.alb_cluster_tag}", CLUSTER_TAG)
        if "iam:CreateServiceLinkedRole" in acts:
            assert acts == ["iam:CreateServiceLinkedRole"] and any(
                c.get("variable") == "iam:AWSServiceName" and c.get("values") == ["elasticloadbalancing.amazonaws.com"] for c in conds
            ), f"{LBC_DOC}: the service-linked role only for elasticloadbalancing.amazonaws.com"
        guarded = set(acts) & LBC_THIS_CLUSTER_ONLY
        if guarded and _listed(s, "resources") == ["*"]:
            assert _names_this_cluster(s, "ResourceTag"), f"{LBC_DOC}: {sorted(guarded)} on * without aws:ResourceTag/{CLUSTER_TAG} = var.name"
        if set(acts) & LBC_CREATES:
            assert _names_this_cluster(s, "RequestTag"), f"{LBC_DOC}: {sorted(set(acts) & LBC_CREATES)} without aws:RequestTag/{CLUSTER_TAG} = var.name"
    iam = {a for a in actions if a.startswith("iam:")}
    assert iam == LBC_IAM, f"{LBC_DOC}: IAM actions {sorted(iam)}, only {sorted(LBC_IAM)}"
    ec2_writes = {a for a in actions if a.startswith("ec2:") and not a.split(":", 1)[1].startswith(("Describe", "Get"))}
    assert ec2_writes <= LBC_EC2_WRITES, f"{LBC_DOC}: EC2 writes {sorted(ec2_writes - LBC_EC2_WRITES)}"
    assert LBC_THIS_CLUSTER_ONLY <= actions and LBC_CREATES <= actions, "the controller's policy lost actions it needs"
    # Output for the controller's chart.
    out = m.outputs.get("aws_load_balancer_controller_role_arn")
    assert out and out.get("description"), "output aws_load_balancer_controller_role_arn missing"
    assert 'aws_iam_role.irsa["aws-load-balancer-controller"].arn' in str(out.get("value")) and "var.enable_aws_load_balancer_controller" in str(out.get("value"))


# ---- S3 -------------------------------------------------------------------------------------------


def check_s3_public_access_block(m: Model) -> None:
    pab = m.resource("aws_s3_bucket_public_access_block", "artifacts")
    assert pab.get("bucket") == "${aws_s3_bucket.artifacts.id}"
    for key in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert pab.get(key) is True, f"public access block: {key} must be true, is {pab.get(key)!r}"
    own = m.resource("aws_s3_bucket_ownership_controls", "artifacts")
    assert _one(own.get("rule"), "ownership rule").get("object_ownership") == "BucketOwnerEnforced"
    assert not m.of_type("aws_s3_bucket_acl"), "no bucket ACLs"
    assert len(m.of_type("aws_s3_bucket")) == len(m.of_type("aws_s3_bucket_public_access_block")), (
        "every bucket needs a public access block"
    )


def check_s3_tls_only(m: Model) -> None:
    pol = m.resource("aws_s3_bucket_policy", "artifacts")
    assert pol.get("bucket") == "${aws_s3_bucket.artifacts.id}"
    assert pol.get("policy") == "${data.aws_iam_policy_document.artifacts_bucket.json}"
    doc = m.datasource("aws_iam_policy_document", "artifacts_bucket")
    found = False
    for s in statements(doc):
        conds = s.get("condition", [])
        tls = [c for c in conds if c.get("variable") == "aws:SecureTransport"]
        if not tls:
            continue
        assert _effect(s) == "Deny", "the aws:SecureTransport statement must deny"
        assert tls[0].get("test") == "Bool" and tls[0].get("values") == ["false"], f"TLS condition {tls[0]}"
        assert s.get("actions") == ["s3:*"], f"TLS-only deny must cover every action: {s.get('actions')}"
        p = _one(s.get("principals"), "TLS deny principals")
        assert p.get("type") == "*" and p.get("identifiers") == ["*"], "TLS-only deny must apply to everyone"
        assert set(s.get("resources", [])) == {BUCKET_ARN, BUCKET_ARN + "/*"}, f"TLS deny resources {s.get('resources')}"
        found = True
    assert found, "no TLS-only (aws:SecureTransport=false -> Deny) statement in the bucket policy"
    for s in statements(doc):
        assert _effect(s) == "Deny", "the bucket policy only denies; access is granted by IAM"


def check_s3_encryption_versioning_lifecycle(m: Model) -> None:
    sse = m.resource("aws_s3_bucket_server_side_encryption_configuration", "artifacts")
    rule = _one(sse.get("rule"), "sse rule")
    default = _one(rule.get("apply_server_side_encryption_by_default"), "sse default")
    assert default.get("sse_algorithm") == "aws:kms", f"SSE must be aws:kms, is {default.get('sse_algorithm')}"
    assert default.get("kms_master_key_id") == BUCKET_KEY_ARN
    assert m.resource("aws_kms_key", "s3").get("enable_key_rotation") is True
    ver = m.resource("aws_s3_bucket_versioning", "artifacts")
    assert _one(ver.get("versioning_configuration"), "versioning").get("status") == "Enabled", "versioning must be Enabled"
    lc = m.resource("aws_s3_bucket_lifecycle_configuration", "artifacts")
    rules = {r.get("id"): r for r in lc.get("rule", [])}
    assert all(r.get("status") == "Enabled" for r in rules.values())
    assert any("abort_incomplete_multipart_upload" in r for r in rules.values()), "no multipart-abort rule"
    assert any("noncurrent_version_expiration" in r for r in rules.values()), "no noncurrent-version rule"
    ckpt = rules.get("expire-intermediate-checkpoints")
    assert ckpt is not None and "expiration" in ckpt, "no checkpoint rule"
    assert _one(ckpt.get("filter"), "checkpoint rule filter") == {"tag": [CHECKPOINT_TAG]}, (
        f"the checkpoint rule must select exactly the trainer's tag {CHECKPOINT_TAG}: {ckpt.get('filter')}"
    )
    assert _one(ckpt["expiration"], "checkpoint expiration") == {"days": "${var.checkpoint_expiration_days}"}
    assert m.default("bucket_force_destroy") is False


# ---- nodes ----------------------------------------------------------------------------------------


def check_imdsv2(m: Model) -> None:
    lts = m.of_type("aws_launch_template")
    assert lts, "no launch templates"
    for name, lt in lts.items():
        md = _one(lt.get("metadata_options"), f"aws_launch_template.{name} metadata_options")
        assert md.get("http_tokens") == "required", f"{name}: IMDSv2 must be required, is {md.get('http_tokens')}"
        assert md.get("http_put_response_hop_limit") == 1, f"{name}: hop limit must be 1"
        assert md.get("http_endpoint") == "enabled"
        for bdm in lt.get("block_device_mappings", []):
            assert _one(bdm.get("ebs"), "ebs").get("encrypted") is True, f"{name}: unencrypted volume"
    node = lts.get("node")
    assert node and node.get("for_each") == "${local.node_groups}", "one launch template per node group"
    groups = m.of_type("aws_eks_node_group")
    assert set(groups) == {"system", "gpu"}, f"node groups: {sorted(groups)}"
    for name, ng in groups.items():
        lt = _one(ng.get("launch_template"), f"{name} launch_template")
        key = '"system"' if name == "system" else "each.key"
        assert lt.get("id") == f"${{aws_launch_template.node[{key}].id}}", f"{name} launch template {lt}"
        assert "user_data" not in str(ng)
    assert groups["gpu"].get("for_each") == '${{for k, v in local.node_groups : k => v if k != "system"}}'


def _node_group_taints(m: Model, group: dict) -> list[dict]:
    return [m.resolve(t) for t in m.resolve(group.get("taints", []))]


def check_gpu_scheduling(m: Model, sched: dict) -> None:
    """Node-group taints and capacity types equal schemas/scheduling.json (the operator's tolerations)."""
    gpu_taint = {
        "key": sched["gpuTaint"]["key"],
        "value": sched["gpuTaint"]["value"],
        "effect": EKS_TAINT_EFFECT[sched["gpuTaint"]["effect"]],
    }
    spot_taint = {
        "key": sched["spotTaint"]["key"],
        "value": sched["spotTaint"]["value"],
        "effect": EKS_TAINT_EFFECT[sched["spotTaint"]["effect"]],
    }
    assert sched["capacityTypeLabel"] == "eks.amazonaws.com/capacityType", (
        "EKS labels managed nodes eks.amazonaws.com/capacityType from capacity_type; terraform cannot set another key"
    )
    groups = m.resolve(m.locals.get("node_groups"))
    assert isinstance(groups, dict) and "system" in groups, "local.node_groups missing"
    gpu_groups = {k: g for k, g in groups.items() if k != "system"}
    assert set(gpu_groups) == {"gpu-ondemand", "gpu-spot"}, f"GPU groups: {sorted(gpu_groups)}"

    assert _node_group_taints(m, groups["system"]) == [], "the system group must stay untainted"
    assert groups["system"]["capacity_type"] == sched["onDemandCapacityType"]

    for name, g in gpu_groups.items():
        ami = g["ami_type"]
        assert ami in GPU_AMI_TYPES, f"{name}: {ami!r} is not a GPU AMI type"
        assert g["min_size"] == 0, f"{name}: min size must be 0 so idle GPUs cost nothing (is {g['min_size']!r})"
        assert g["desired_size"] == 0, f"{name}: initial size must be 0"
        taints = _node_group_taints(m, g)
        assert gpu_taint in taints, f"{name}: missing GPU taint {gpu_taint}, has {taints}"
        if name == "gpu-spot":
            assert g["capacity_type"] == sched["spotCapacityType"], f"{name}: capacity {g['capacity_type']}"
            assert spot_taint in taints, f"{name}: missing spot taint {spot_taint}, has {taints}"
            assert len(taints) == 2
        else:
            assert g["capacity_type"] == sched["onDemandCapacityType"], f"{name}: capacity {g['capacity_type']}"
            assert spot_taint not in taints and len(taints) == 1, f"{name}: taints {taints}"
    assert m.default("gpu_ami_type") in GPU_AMI_TYPES
    for var in ("gpu_ondemand_instance_types", "gpu_spot_instance_types"):
        assert all(t.split(".")[0][0] in "gp" for t in m.default(var)), f"{var}: not GPU instance families"

    # The node-group resource really applies what local.node_groups says.
    ng = m.resource("aws_eks_node_group", "gpu")
    assert ng.get("capacity_type") == "${each.value.capacity_type}"
    assert ng.get("ami_type") == "${each.value.ami_type}"
    dyn = [d["taint"] for d in ng.get("dynamic", []) if "taint" in d]
    assert len(dyn) == 1 and dyn[0].get("for_each") == "${each.value.taints}", "GPU groups must render their taints"
    content = _one(dyn[0].get("content"), "taint content")
    assert content == {"key": "${taint.value.key}", "value": "${taint.value.value}", "effect": "${taint.value.effect}"}
    scaling = _one(ng.get("scaling_config"), "scaling_config")
    assert scaling.get("min_size") == "${each.value.min_size}"
    assert "taint" not in ng, "static taints on the GPU groups bypass local.node_groups"


# ---- EKS, ECR -------------------------------------------------------------------------------------


def check_eks(m: Model) -> None:
    c = m.resource("aws_eks_cluster", "this")
    assert c.get("enabled_cluster_log_types") == ["api", "audit", "authenticator", "controllerManager", "scheduler"], (
        f"all five control-plane log types, got {c.get('enabled_cluster_log_types')}"
    )
    enc = _one(c.get("encryption_config"), "encryption_config")
    assert enc.get("resources") == ["secrets"], f"Secrets envelope encryption: {enc.get('resources')}"
    assert _one(enc.get("provider"), "encryption provider").get("key_arn") == "${aws_kms_key.eks.arn}"
    assert m.resource("aws_kms_key", "eks").get("enable_key_rotation") is True
    vpc = _one(c.get("vpc_config"), "vpc_config")
    assert vpc.get("endpoint_private_access") is True
    assert "length(var.cluster_endpoint_public_access_cidrs) > 0" in str(vpc.get("endpoint_public_access")), (
        "the public endpoint must be on only when CIDRs are allow-listed"
    )
    assert m.default("cluster_endpoint_public_access_cidrs") == [], "public endpoint must be off by default"
    conds = [v.get("condition", "") for v in m.variables["cluster_endpoint_public_access_cidrs"].get("validation", [])]
    assert any("0.0.0.0/0" in cond and cond.startswith("${!contains(") for cond in conds), "0.0.0.0/0 must be rejected"
    assert str(vpc.get("subnet_ids")) == "${aws_subnet.private[*].id}"
    addons = {a.get("addon_name") for a in m.of_type("aws_eks_addon").values()}
    assert addons == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}, addons
    log_group = m.resource("aws_cloudwatch_log_group", "cluster")
    assert log_group.get("kms_key_id") == "${aws_kms_key.logs.arn}"


def check_ecr(m: Model) -> None:
    repos = m.of_type("aws_ecr_repository")
    assert repos, "no ECR repositories"
    for name, r in repos.items():
        assert r.get("image_tag_mutability") == "IMMUTABLE", f"{name}: tags must be immutable"
        assert _one(r.get("image_scanning_configuration"), "scanning").get("scan_on_push") is True, f"{name}: scan on push"
    assert m.locals.get("ecr_repositories", {}).keys() == {"operator", "trainer", "inference"}
    lcp = m.resource("aws_ecr_lifecycle_policy", "this")
    assert lcp.get("for_each") == "${aws_ecr_repository.this}", "every repository needs a lifecycle policy"


def check_outputs(m: Model) -> None:
    for name in (
        "cluster_name",
        "kubeconfig_command",
        "bucket_name",
        "operator_role_arn",
        "trainer_role_arns",
        "inference_role_arns",
        "ecr_repository_urls",
        "image_registry",
        "helm_values",
    ):
        assert name in m.outputs, f"output {name} missing"
        assert m.outputs[name].get("description"), f"output {name} has no description"
    hv = re.sub(r"\s+", "", m.outputs["helm_values"]["value"])
    assert hv.startswith("${yamlencode(")
    for fragment in (
        "aws = { region = var.region",
        "s3Bucket = aws_s3_bucket.artifacts.bucket",
        '"eks.amazonaws.com/role-arn" = aws_iam_role.irsa["operator"].arn',
        "image = { registry =",
        'roleArn = aws_iam_role.irsa["trainer-${var.training_namespaces[0]}"].arn',
        'roleArn = aws_iam_role.irsa["inference-${var.training_namespaces[0]}"].arn',
        "roleArnByNamespace",
    ):
        assert re.sub(r"\s+", "", fragment) in hv, f"helm_values lacks {fragment!r}"
    assert "update-kubeconfig" in m.outputs["kubeconfig_command"]["value"]


def check_variables_documented(m: Model) -> None:
    for name, v in m.variables.items():
        assert v.get("description"), f"variable {name} has no description"
        assert v.get("type"), f"variable {name} has no type"
