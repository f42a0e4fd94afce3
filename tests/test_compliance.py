"""AWS Config in the bootstrap stack: the managed rules that check what the project promises, in
every region the environments use, and the optional recorder for accounts that have none."""

from __future__ import annotations

import pytest
from conftest import address_at, policy_statements, resource_at, resources

from constructs_lib.blocks.compliance import RULES
from constructs_lib.settings import StackConfig

REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture(scope="module")
def bootstrap(default_synth):
    return default_synth.stacks["iac-aws-nova-bootstrap"]


@pytest.fixture(scope="module")
def recorded(synth):
    return synth(StackConfig(config_recorder=True), only=("bootstrap",)).stacks["iac-aws-nova-bootstrap"]


@pytest.mark.parametrize("region", REGIONS)
def test_every_rule_in_every_region(bootstrap, region):
    rules = resources(bootstrap, "aws_config_config_rule", region)
    assert sorted(r["source"]["source_identifier"] for r in rules) == sorted(r.identifier for r in RULES)
    assert all(r["source"]["owner"] == "AWS" for r in rules)
    assert len({r["name"] for r in rules}) == len(RULES)  # unique in the region


def test_change_triggered_rules_look_at_the_projects_resources_and_periodic_ones_run_daily(bootstrap):
    for rule in RULES:
        found = resource_at(bootstrap, "aws_config_config_rule", f"compliance/{rule.what}-us-east-1")
        if rule.periodic:
            assert "scope" not in found and found["maximum_execution_frequency"] == "TwentyFour_Hours"
        else:
            assert found["scope"] == {"tag_key": "Project", "tag_value": "iac-aws-nova"}
            assert "maximum_execution_frequency" not in found


def test_the_rules_check_what_the_stacks_promise():
    assert {r.identifier for r in RULES} >= {
        "LAMBDA_INSIDE_VPC",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "API_GW_EXECUTION_LOGGING_ENABLED",
        "DYNAMODB_PITR_ENABLED",
        "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
        "CMK_BACKING_KEY_ROTATION_ENABLED",
    }


def test_no_recorder_unless_asked(bootstrap):
    assert not resources(bootstrap, "aws_config_configuration_recorder")
    assert all("depends_on" not in r for r in resources(bootstrap, "aws_config_config_rule"))


def test_turned_off_there_are_no_rules(synth):
    app = synth(StackConfig(config_rules=False, regions=("eu-west-1",)), only=("bootstrap",))
    stack = app.stacks["iac-aws-nova-bootstrap"]
    assert not [kind for kind in stack["resource"] if kind.startswith("aws_config_")]


@pytest.mark.parametrize("region", REGIONS)
def test_a_recorder_records_and_delivers_in_every_region_before_the_rules(recorded, region):
    recorder = resource_at(recorded, "aws_config_configuration_recorder", f"compliance/recorder-{region}")
    channel = resource_at(recorded, "aws_config_delivery_channel", f"compliance/channel-{region}")
    status = resource_at(recorded, "aws_config_configuration_recorder_status", f"compliance/recording-{region}")
    bucket = address_at(recorded, "aws_s3_bucket", "compliance/bucket/bucket")
    # Global resource types (IAM) once, in the state region.
    assert recorder["recording_group"] == {
        "all_supported": True,
        "include_global_resource_types": region == "us-east-1",
    }
    assert channel["s3_bucket_name"] == f"${{{bucket}.bucket}}"
    assert channel["s3_kms_key_arn"].startswith("${aws_kms_key.state-key_")
    assert status["is_enabled"] is True
    status_address = address_at(recorded, "aws_config_configuration_recorder_status", f"compliance/recording-{region}")
    channel_address = address_at(recorded, "aws_config_delivery_channel", f"compliance/channel-{region}")
    assert status["depends_on"][0] == channel_address
    for rule in resources(recorded, "aws_config_config_rule", region):
        assert rule["depends_on"] == [status_address]


@pytest.mark.parametrize("region", REGIONS)
def test_recording_starts_once_the_role_may_read_the_configuration(recorded, region):
    """The managed policy that lets AWS Config describe resources is attached before a recorder
    starts: nothing else orders the attachment before it, and early evaluations would fail."""
    status = resource_at(recorded, "aws_config_configuration_recorder_status", f"compliance/recording-{region}")
    reads = address_at(recorded, "aws_iam_role_policy_attachment", "compliance/role-reads-configuration")
    assert reads in status["depends_on"]


def test_the_recorders_role_is_config_of_this_account_and_writes_only_its_prefix(recorded):
    role = resource_at(recorded, "aws_iam_role", "compliance/role")
    [trust] = policy_statements(recorded, role["assume_role_policy"])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["config.amazonaws.com"]}]
    assert trust["condition"][0]["variable"] == "aws:SourceAccount"
    policy = resource_at(recorded, "aws_iam_role_policy", "compliance/role-policy")
    statements = {s["sid"]: s for s in policy_statements(recorded, policy["policy"])}
    [prefix] = statements["DeliverToTheBucket"]["resources"]
    assert prefix.endswith(".account_id}/Config/*") and "/AWSLogs/" in prefix
    attachment = resource_at(recorded, "aws_iam_role_policy_attachment", "compliance/role-reads-configuration")
    assert attachment["policy_arn"] == "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"


def test_a_state_region_outside_the_regions_keeps_the_bucket_there_and_global_types_in_the_first(synth):
    config = StackConfig(
        regions=("eu-west-1",), state_bucket="acme-tfstate", state_region="us-east-1", config_recorder=True
    )
    stack = synth(config, only=("bootstrap",)).stacks["iac-aws-nova-bootstrap"]
    bucket = resource_at(stack, "aws_s3_bucket", "compliance/bucket/bucket")
    recorder = resource_at(stack, "aws_config_configuration_recorder", "compliance/recorder-eu-west-1")
    assert bucket["provider"] == "aws.us-east-1"
    assert recorder["recording_group"]["include_global_resource_types"] is True
    assert not resources(stack, "aws_config_configuration_recorder", "us-east-1")


def test_a_recorder_without_the_rules_is_refused():
    from constructs_lib.settings import ConfigError

    with pytest.raises(ConfigError) as caught:
        StackConfig(config_rules=False, config_recorder=True)
    assert str(caught.value).startswith("config_recorder: true needs config_rules")
