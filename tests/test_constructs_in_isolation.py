"""Each construct on its own, in a bare stack with cdktf's Testing helpers: a construct works
without the rest of the stack, given only its config, a provider and plain values."""

import json

import pytest

from constructs_lib.blocks.function import Function, FunctionConfig, QueueTrigger
from constructs_lib.blocks.iam import Statement
from constructs_lib.blocks.monitoring import AlarmRef, Monitoring, MonitoringConfig
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.rollout import GradualRollout, GradualRolloutConfig, RolloutTarget
from constructs_lib.blocks.storage import Storage, StorageConfig
from constructs_lib.cdk import aws
from constructs_lib.cdk import core as cdk
from constructs_lib.cdk.core import TerraformStack

NAMER = Namer("shop", "qa")


@pytest.fixture
def stack():
    stack = TerraformStack(cdk.Testing.app(), "isolated")
    return stack, aws.AwsProvider(stack, "aws", region="eu-west-1", alias="eu-west-1")


def test_storage_alone(stack):
    scope, provider = stack
    Storage(
        scope,
        "storage",
        provider=provider,
        account_id="123456789012",
        kms_key_arn="arn:aws:kms:eu-west-1:1:key/k",
        config=StorageConfig(namer=NAMER, region="eu-west-1", noncurrent_version_days=30),
    )
    synthesized = cdk.Testing.synth(scope)
    assert cdk.Testing.to_have_resource_with_properties(
        synthesized, "aws_s3_bucket", {"bucket": "shop-artifacts-eu-west-1-qa-123456789012"}
    )
    assert cdk.Testing.to_have_resource_with_properties(
        synthesized, "aws_s3_bucket_public_access_block", {"block_public_acls": True, "restrict_public_buckets": True}
    )
    rules = next(iter(json.loads(synthesized)["resource"]["aws_s3_bucket_lifecycle_configuration"].values()))["rule"]
    assert rules[0]["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]


def test_monitoring_alone(stack):
    scope, provider = stack
    Monitoring(
        scope,
        "monitoring",
        provider=provider,
        function_name="fn",
        api_name="api",
        stage_name="qa",
        kms_key_arn="arn:aws:kms:eu-west-1:1:key/k",
        config=MonitoringConfig(namer=NAMER, region="eu-west-1", alarm_email="ops@example.com"),
    )
    synthesized = cdk.Testing.synth(scope)
    assert cdk.Testing.to_have_resource_with_properties(
        synthesized,
        "aws_cloudwatch_metric_alarm",
        {"alarm_name": "shop-fn-errors-eu-west-1-qa", "dimensions": {"FunctionName": "fn"}, "threshold": 5},
    )
    assert cdk.Testing.to_have_resource_with_properties(
        synthesized, "aws_sns_topic_subscription", {"protocol": "email", "endpoint": "ops@example.com"}
    )
    assert not cdk.Testing.to_have_resource_with_properties(
        synthesized, "aws_cloudwatch_metric_alarm", {"alarm_name": "shop-fn-errors-eu-west-1-prod"}
    )


def test_a_nodejs_function_with_a_queue_trigger_alone(stack, tmp_path):
    """What README's "Adding a function" shows: another directory, Node.js, a queue, a statement."""
    scope, provider = stack
    (tmp_path / "index.js").write_text("exports.handler = async () => ({ batchItemFailures: [] });\n")
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:thumbs"
    Function(
        scope,
        "thumbnails",
        provider=provider,
        account_id="123456789012",
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_id="sg-1",
        kms_key_arn="arn:aws:kms:eu-west-1:1:key/k",
        environment={"BUCKET": "uploads"},
        statements=[Statement(sid="ReadUploads", actions=["s3:GetObject"], resources=["arn:aws:s3:::uploads/*"])],
        config=FunctionConfig(
            namer=NAMER,
            region="eu-west-1",
            component="thumbs",
            source_dir=tmp_path,
            runtime="nodejs22.x",
            handler="index.handler",
            memory_mb=512,
            timeout_seconds=60,
            queue_triggers=(QueueTrigger(queue_arn=queue_arn, batch_size=5, max_concurrency=5),),
        ),
    )
    synthesized = json.loads(cdk.Testing.synth(scope))
    [function] = synthesized["resource"]["aws_lambda_function"].values()
    assert (function["function_name"], function["runtime"], function["handler"]) == (
        "shop-thumbs-eu-west-1-qa",
        "nodejs22.x",
        "index.handler",
    )
    assert (function["memory_size"], function["timeout"]) == (512, 60)
    assert function["environment"]["variables"] == {"BUCKET": "uploads"}
    [mapping] = synthesized["resource"]["aws_lambda_event_source_mapping"].values()
    assert (mapping["event_source_arn"], mapping["batch_size"], mapping["scaling_config"]) == (
        queue_arn,
        5,
        {"maximum_concurrency": 5},
    )
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    sids = [
        statement["sid"]
        for document in synthesized["data"]["aws_iam_policy_document"].values()
        for statement in document["statement"]
    ]
    assert "ConsumeTriggerQueues" in sids and "ReadUploads" in sids


def test_a_gradual_rollout_alone(stack):
    """Given a function and its alarms by plain values: another app's function can be rolled out."""
    scope, provider = stack
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:thumbs"
    rollout = GradualRollout(
        scope,
        "rollout",
        provider=provider,
        account_id="123456789012",
        targets=[
            RolloutTarget(
                component="thumbs",
                function_name="thumbs",
                function_arn=arn,
                alias_name="live",
                version="7",
                alarms=(AlarmRef(name="thumbs-errors", arn="arn:aws:cloudwatch:eu-west-1:123456789012:alarm:x"),),
            )
        ],
        config=GradualRolloutConfig(
            namer=NAMER, region="eu-west-1", deployment_strategy="canary_10_percent_10_minutes"
        ),
    )
    synthesized = cdk.Testing.synth(scope)
    assert cdk.Testing.to_have_resource_with_properties(
        synthesized, "aws_codedeploy_app", {"name": "shop-rollout-eu-west-1-qa", "compute_platform": "Lambda"}
    )
    resources = json.loads(synthesized)["resource"]
    [(key, alarm)] = resources["aws_cloudwatch_metric_alarm"].items()
    assert alarm["alarm_name"] == "shop-rollback-errors-thumbs-eu-west-1-qa"  # its own, a minute at a time
    assert alarm["dimensions"] == {"FunctionName": "thumbs", "Resource": "thumbs:live"}
    [group] = resources["aws_codedeploy_deployment_group"].values()
    assert (group["deployment_group_name"], group["deployment_config_name"]) == (
        "shop-thumbs-live-eu-west-1-qa",
        "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    )
    assert group["alarm_configuration"] == {
        "alarms": ["thumbs-errors", f"${{aws_cloudwatch_metric_alarm.{key}.alarm_name}}"],
        "enabled": True,
        "ignore_poll_alarm_failure": False,
    }
    [group] = rollout.groups
    assert (group.function_name, group.alias_name, group.version) == ("thumbs", "live", "7")


def test_construct_configs_refuse_bad_values_on_their_own():
    with pytest.raises(ValueError, match="noncurrent_version_days: 0 must be positive"):
        StorageConfig(namer=NAMER, region="eu-west-1", noncurrent_version_days=0)
    with pytest.raises(ValueError, match="api_5xx_rate_percent: 0 must be positive"):
        MonitoringConfig(namer=NAMER, region="eu-west-1", api_5xx_rate_percent=0)
