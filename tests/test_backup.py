"""Backups of the global table (AWS Backup): a vault per region, the daily plan and its copy to a
second region, the selection, the role, the alarms and the settings."""

from __future__ import annotations

import pytest
from conftest import CUSTOM, OPEN, address_at, one, policy_statements, resource_at, resources

from constructs_lib.settings import ConfigError, StackConfig


@pytest.fixture(scope="module")
def global_stack(default_synth):
    return default_synth.stacks["iac-aws-nova-dev-global"]


@pytest.fixture(scope="module")
def single(synth):
    """CUSTOM's: one region, backups kept 7 days."""
    return synth(CUSTOM).stacks["iac-aws-nova-prod-global"]


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_a_vault_in_every_region_with_that_regions_key(global_stack, region):
    vault = resource_at(global_stack, "aws_backup_vault", f"backups/vault-{region}")
    assert (vault["name"], vault["provider"]) == (f"iac-aws-nova-backup-{region}-dev", f"aws.{region}")
    key = address_at(global_stack, "aws_kms_key", f"{region}/key/key")
    assert vault["kms_key_arn"] == f"${{{key}.arn}}"


def test_a_daily_backup_into_the_home_vault_is_copied_to_the_second_region(global_stack):
    plan = resource_at(global_stack, "aws_backup_plan", "backups/plan")
    home_vault = address_at(global_stack, "aws_backup_vault", "backups/vault-us-east-1")
    copy_vault = address_at(global_stack, "aws_backup_vault", "backups/vault-us-west-2")
    [rule] = plan["rule"]
    assert plan["provider"] == "aws.us-east-1"
    assert (rule["schedule"], rule["target_vault_name"]) == ("cron(0 3 ? * * *)", f"${{{home_vault}.name}}")
    assert rule["lifecycle"] == {"delete_after": 35}
    assert rule["copy_action"] == [
        {"destination_vault_arn": f"${{{copy_vault}.arn}}", "lifecycle": {"delete_after": 35}}
    ]
    assert rule["start_window"] < rule["completion_window"]


def test_the_selection_names_the_table_by_reference(global_stack):
    selection = resource_at(global_stack, "aws_backup_selection", "backups/selection")
    table = address_at(global_stack, "aws_dynamodb_table", "table/table")
    plan = address_at(global_stack, "aws_backup_plan", "backups/plan")
    role = address_at(global_stack, "aws_iam_role", "backups/role")
    assert selection["resources"] == [f"${{{table}.arn}}"]
    assert (selection["plan_id"], selection["iam_role_arn"]) == (f"${{{plan}.id}}", f"${{{role}.arn}}")
    assert selection["depends_on"] == [address_at(global_stack, "aws_iam_role_policy", "backups/role-policy")]


def test_the_role_backs_up_this_table_only_and_uses_the_keys_through_the_services(global_stack):
    role = resource_at(global_stack, "aws_iam_role", "backups/role")
    trust = policy_statements(global_stack, role["assume_role_policy"])
    assert trust[0]["principals"] == [{"type": "Service", "identifiers": ["backup.amazonaws.com"]}]
    policy = resource_at(global_stack, "aws_iam_role_policy", "backups/role-policy")
    statements = {s["sid"]: s for s in policy_statements(global_stack, policy["policy"])}
    table = "${" + address_at(global_stack, "aws_dynamodb_table", "table/table") + ".arn}"
    assert statements["BackUpTheTable"]["resources"] == [table]
    assert "dynamodb:StartAwsBackupJob" in statements["BackUpTheTable"]["actions"]
    assert statements["CopyOutOfTheHomeVault"]["resources"] == [
        "${" + address_at(global_stack, "aws_backup_vault", "backups/vault-us-east-1") + ".arn}"
    ]
    assert [r.split(":")[3] for r in statements["TagTheRecoveryPoints"]["resources"]] == ["us-east-1", "us-west-2"]
    assert statements["ManageItsBackups"]["resources"] == [f"{table}/backup/*"]
    assert statements["CopyIntoTheProjectsVaults"]["resources"] == [
        "${" + address_at(global_stack, "aws_backup_vault", f"backups/vault-{region}") + ".arn}"
        for region in ("us-east-1", "us-west-2")
    ]
    via = statements["UseTheKeysThroughBackupAndDynamoDB"]["condition"][0]
    assert (via["variable"], sorted(via["values"])) == (
        "kms:ViaService",
        ["backup.us-east-1.amazonaws.com", "backup.us-west-2.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"],
    )
    grants = {c["variable"]: c["values"] for c in statements["GrantTheServicesTheKeys"]["condition"]}
    assert grants["kms:GrantIsForAWSResource"] == ["true"]
    for statement in statements.values():
        assert "*" not in statement.get("resources", []), statement["sid"]


def test_failed_jobs_alarm_on_a_topic_of_their_own_in_the_home_region(global_stack):
    topic = address_at(global_stack, "aws_sns_topic", "backups/alarm-topic")
    home_vault = address_at(global_stack, "aws_backup_vault", "backups/vault-us-east-1")
    watched = {
        "backup-failed": ["NumberOfBackupJobsFailed", "NumberOfBackupJobsExpired", "NumberOfBackupJobsAborted"],
        "backup-copy-failed": ["NumberOfCopyJobsFailed"],
    }
    for what, metrics in watched.items():
        alarm = resource_at(global_stack, "aws_cloudwatch_metric_alarm", f"backups/{what}-alarm")
        *series, total = alarm["metric_query"]
        assert [q["metric"]["metric_name"] for q in series] == metrics
        assert all(q["metric"]["namespace"] == "AWS/Backup" and q["metric"]["stat"] == "Sum" for q in series)
        assert all(q["metric"]["dimensions"] == {"BackupVaultName": f"${{{home_vault}.name}}"} for q in series)
        assert total["expression"] == " + ".join(f"FILL({q['id']}, 0)" for q in series)
        assert (alarm["threshold"], alarm["comparison_operator"]) == (0, "GreaterThanThreshold")
        assert alarm["alarm_actions"] == [f"${{{topic}.arn}}"] and alarm["provider"] == "aws.us-east-1"
        assert alarm["alarm_name"] == f"iac-aws-nova-{what}-us-east-1-dev"


def test_one_region_has_no_copy_and_no_copy_alarm(single):
    [rule] = resource_at(single, "aws_backup_plan", "backups/plan")["rule"]
    assert "copy_action" not in rule and rule["lifecycle"] == {"delete_after": 7}
    assert [a["alarm_name"] for a in resources(single, "aws_cloudwatch_metric_alarm")] == [
        "iac-aws-nova-backup-failed-eu-west-1-prod"
    ]
    one(resources(single, "aws_backup_vault"))


def test_the_copy_region_can_be_chosen():
    config = StackConfig(
        regions=("eu-west-1", "eu-central-1", "eu-north-1"), home_region="eu-west-1", backup_copy_region="eu-north-1"
    )
    assert config.backup_copy == "eu-north-1"
    assert StackConfig(regions=("eu-west-1", "eu-central-1"), home_region="eu-west-1").backup_copy == "eu-central-1"
    assert StackConfig(regions=("eu-west-1",)).backup_copy is None


def test_turned_off_there_is_nothing_of_it(synth):
    stack = synth(OPEN).stacks["iac-aws-nova-dev-global"]
    assert OPEN.backup_enabled is False
    assert not [kind for kind in stack["resource"] if kind.startswith("aws_backup_")]
    assert not resources(stack, "aws_sns_topic")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"backup_retention_days": 0}, "backup_retention_days: 0 must be positive"),
        ({"backup_enabled": "yes"}, 'backup_enabled: "yes" must be true or false'),
        (
            {"regions": ("eu-west-1", "eu-central-1"), "home_region": "eu-west-1", "backup_copy_region": "eu-west-1"},
            'backup_copy_region: "eu-west-1" must be one of regions other than the home region (eu-central-1)',
        ),
        (
            {"regions": ("eu-west-1",), "backup_copy_region": "us-east-1"},
            'backup_copy_region: "us-east-1" must be one of regions other than the home region (none: one region)',
        ),
        (
            {
                "regions": ("eu-west-1", "eu-central-1", "eu-north-1"),
                "home_region": "eu-west-1",
                "removing_regions": ("eu-north-1",),
                "backup_copy_region": "eu-north-1",
            },
            'backup_copy_region: "eu-north-1" is being removed (removing_regions): copy to a region that stays',
        ),
    ],
)
def test_bad_backup_settings_are_refused(settings, message):
    with pytest.raises(ConfigError) as caught:
        StackConfig(**settings)
    assert str(caught.value) == message


def test_the_failed_jobs_topic_hears_what_every_alarm_topic_hears(synth):
    stack = synth(CUSTOM).stacks["iac-aws-nova-prod-global"]
    topic = address_at(stack, "aws_sns_topic", "backups/alarm-topic")
    subscriptions = {s["protocol"]: s for s in resources(stack, "aws_sns_topic_subscription")}
    assert set(subscriptions) == {"email", "https", "sqs"}
    assert all(s["topic_arn"] == f"${{{topic}.arn}}" for s in subscriptions.values())


def test_the_vaults_give_up_their_backups_only_when_the_table_may_go(global_stack, synth):
    """The teardown lifts the table's protection; the recovery points are encrypted with the keys
    it schedules for deletion."""
    assert all("force_destroy" not in v for v in resources(global_stack, "aws_backup_vault"))
    assert CUSTOM.table_deletion_protection is False
    vault = one(resources(synth(CUSTOM).stacks["iac-aws-nova-prod-global"], "aws_backup_vault"))
    assert vault["force_destroy"] is True


def test_a_region_being_removed_lets_its_vault_go_and_copies_go_elsewhere(synth):
    config = StackConfig(
        regions=("eu-west-1", "eu-central-1", "eu-north-1"), home_region="eu-west-1", removing_regions=("eu-central-1",)
    )
    assert config.backup_copy == "eu-north-1"
    stack = synth(config, only=("global",)).stacks["iac-aws-nova-dev-global"]
    vaults = {v["provider"]: v for v in resources(stack, "aws_backup_vault")}
    assert vaults["aws.eu-central-1"]["force_destroy"] is True
    assert "force_destroy" not in vaults["aws.eu-west-1"] and "force_destroy" not in vaults["aws.eu-north-1"]
