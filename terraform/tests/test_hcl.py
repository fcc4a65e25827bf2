"""The security and scheduling properties of terraform/, read from the HCL itself."""

import checks


def test_irsa_trust_names_exactly_one_service_account_and_sts_audience(model):
    checks.check_irsa_trust(model)


def test_irsa_identities_are_one_per_namespace_and_service_account(model):
    checks.check_irsa_identities(model)


def test_irsa_permissions_are_scoped_to_bucket_prefixes(model):
    checks.check_irsa_permissions(model)


def test_aws_load_balancer_controller_role_is_optional_exact_and_scoped_to_this_cluster(model):
    checks.check_aws_load_balancer_controller(model)


def test_bucket_public_access_fully_blocked(model):
    checks.check_s3_public_access_block(model)


def test_bucket_policy_is_tls_only(model):
    checks.check_s3_tls_only(model)


def test_bucket_kms_versioning_and_lifecycle(model):
    checks.check_s3_encryption_versioning_lifecycle(model)


def test_imdsv2_required_with_hop_limit_one_on_every_node_group(model):
    checks.check_imdsv2(model)


def test_gpu_taints_and_capacity_types_match_scheduling_json(model, scheduling):
    checks.check_gpu_scheduling(model, scheduling)


def test_eks_endpoint_logging_encryption_addons(model):
    checks.check_eks(model)


def test_ecr_immutable_scanned_with_lifecycle(model):
    checks.check_ecr(model)


def test_outputs_feed_the_chart(model):
    checks.check_outputs(model)


def test_every_variable_has_description_and_type(model):
    checks.check_variables_documented(model)
