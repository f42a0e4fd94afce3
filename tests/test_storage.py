"""Storage: a private, versioned, encrypted, TLS-only artifacts bucket with a lifecycle rule."""

import re

import pytest
from conftest import one, policy_statements, region_key_arn, resources

REGIONS = ("us-east-1", "us-west-2")


@pytest.mark.parametrize("region", REGIONS)
def test_bucket_name_pattern_with_account_id_suffix(dev, region):
    bucket = one(resources(dev, "aws_s3_bucket", region))
    assert re.fullmatch(
        rf"iac-aws-nova-artifacts-{region}-dev-\$\{{data\.aws_caller_identity\.[^}}]+\.account_id\}}", bucket["bucket"]
    )


def test_bucket_name_with_a_configured_suffix_is_lowercase_and_fits(synth):
    from constructs_lib.settings import StackConfig

    stack = synth(
        StackConfig(
            project_name="a-very-long-project-name",
            environment="staging-eu1",
            regions=("ap-southeast-5",),
            bucket_suffix="team-42",
        )
    ).stack()
    name = one(resources(stack, "aws_s3_bucket"))["bucket"]
    assert len(name) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9-]+[a-z0-9]", name)


def test_versioning_enabled(dev):
    versioning = one(resources(dev, "aws_s3_bucket_versioning", "us-east-1"))
    assert versioning["versioning_configuration"] == {"status": "Enabled"}


def test_encrypted_by_default_with_the_regions_kms_key(dev):
    [rule] = one(resources(dev, "aws_s3_bucket_server_side_encryption_configuration", "us-east-1"))["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == region_key_arn(dev, "us-east-1")
    assert rule["bucket_key_enabled"] is True


def test_object_events_go_to_eventbridge(dev):
    assert one(resources(dev, "aws_s3_bucket_notification", "us-east-1"))["eventbridge"] is True


def test_all_four_public_access_blocks(dev):
    block = one(resources(dev, "aws_s3_bucket_public_access_block", "us-east-1"))
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[flag] is True


def test_bucket_owner_enforced(dev):
    controls = one(resources(dev, "aws_s3_bucket_ownership_controls", "us-east-1"))
    assert controls["rule"] == {"object_ownership": "BucketOwnerEnforced"}


def test_policy_denies_requests_without_tls(dev):
    policy = one(resources(dev, "aws_s3_bucket_policy", "us-east-1"))
    [statement] = policy_statements(dev, policy["policy"])
    assert statement["effect"] == "Deny"
    assert statement["condition"] == [{"test": "Bool", "values": ["false"], "variable": "aws:SecureTransport"}]
    assert len(statement["resources"]) == 2 and statement["resources"][1].endswith(".arn}/*")


def test_lifecycle_expires_noncurrent_versions(dev):
    # A nested block given as a plain dict would be dropped silently: assert it is really there.
    lifecycle = one(resources(dev, "aws_s3_bucket_lifecycle_configuration", "us-east-1"))
    [rule] = lifecycle["rule"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert rule["filter"] == [{"prefix": ""}]
