"""KMS: one customer-managed key per region, rotated, with a policy scoped per service."""

import pytest
from conftest import one, policy_statements, region_key_arn, resources

REGIONS = ("us-east-1", "us-west-2")


@pytest.mark.parametrize("region", REGIONS)
def test_one_rotating_key_per_region(dev, region):
    key = one(resources(dev, "aws_kms_key", region))
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 30
    alias = one(resources(dev, "aws_kms_alias", region))
    assert alias["name"] == f"alias/iac-aws-nova-key-{region}-dev"


def key_statements(stack, region):
    return {s["sid"]: s for s in policy_statements(stack, one(resources(stack, "aws_kms_key", region))["policy"])}


def test_key_policy_grants_no_wildcard_action(dev):
    for statement in key_statements(dev, "us-east-1").values():
        assert all("*" not in action for action in statement["actions"])


def test_account_keeps_control_of_the_key(dev):
    admin = key_statements(dev, "us-east-1")["AccountAdministersThroughIam"]
    assert "kms:PutKeyPolicy" in admin["actions"]
    assert admin["principals"][0]["identifiers"][0].startswith("arn:aws:iam::${data.aws_caller_identity.")


def test_logs_may_use_the_key_only_for_this_accounts_log_groups_in_the_region(dev):
    logs = key_statements(dev, "us-west-2")["CloudWatchLogsOfThisAccountAndRegion"]
    assert logs["principals"] == [{"identifiers": ["logs.us-west-2.amazonaws.com"], "type": "Service"}]
    [condition] = logs["condition"]
    assert condition["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert condition["values"][0].startswith("arn:aws:logs:us-west-2:")


def test_cloudwatch_alarms_may_publish_to_the_encrypted_topic(dev):
    alarms = key_statements(dev, "us-east-1")["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert alarms["principals"] == [{"identifiers": ["cloudwatch.amazonaws.com"], "type": "Service"}]
    assert alarms["condition"][0]["variable"] == "aws:SourceAccount"


def test_every_log_group_is_encrypted(dev):
    for group in resources(dev, "aws_cloudwatch_log_group"):
        region = group["provider"].removeprefix("aws.")
        assert group["kms_key_id"] == region_key_arn(dev, region), group["name"]


def test_state_bucket_has_its_own_key(default_synth):
    bootstrap = default_synth.stack("iac-aws-nova-bootstrap")
    key = one(resources(bootstrap, "aws_kms_key"))
    assert key["enable_key_rotation"] is True
    [rule] = one(resources(bootstrap, "aws_s3_bucket_server_side_encryption_configuration"))["rule"]
    assert rule["apply_server_side_encryption_by_default"]["kms_master_key_id"].startswith("${aws_kms_key.")


def test_only_the_regional_keys_let_eventbridge_encrypt(default_synth, dev):
    bootstrap = default_synth.stack("iac-aws-nova-bootstrap")
    [state_key] = bootstrap["resource"]["aws_kms_key"].values()
    assert not [s for s in policy_statements(bootstrap, state_key["policy"]) if "EventBridge" in s["sid"]]
    for key in dev["resource"]["aws_kms_key"].values():
        sids = {s["sid"] for s in policy_statements(dev, key["policy"])}
        assert {"EventBridgeChecksTheKey", "EventBridgeOfThisAccountEncrypts"} <= sids


@pytest.mark.parametrize("stack_name", ["dev", "custom"])
def test_administrators_can_rotate_on_demand_and_list_rotations(request, default_synth, stack_name):
    stacks = [request.getfixturevalue(stack_name)] + (
        [default_synth.stacks["iac-aws-nova-bootstrap"]] if stack_name == "dev" else []
    )
    keys = [(stack, key) for stack in stacks for key in resources(stack, "aws_kms_key")]
    assert keys
    for stack, key in keys:
        admin = {s["sid"]: s for s in policy_statements(stack, key["policy"])}["AccountAdministersThroughIam"]
        assert {"kms:RotateKeyOnDemand", "kms:ListKeyRotations"} <= set(admin["actions"])
