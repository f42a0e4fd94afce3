"""Each construct on its own, in a bare stack with cdktf's Testing helpers: a construct works
without the rest of the stack, given only its config, a provider and plain values."""

import json

import pytest

from constructs_lib import aws, cdk
from constructs_lib.cdk import TerraformStack
from constructs_lib.monitoring import Monitoring, MonitoringConfig
from constructs_lib.naming import Namer
from constructs_lib.storage import Storage, StorageConfig

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


def test_construct_configs_refuse_bad_values_on_their_own():
    with pytest.raises(ValueError, match="noncurrent_version_days: 0 must be positive"):
        StorageConfig(namer=NAMER, region="eu-west-1", noncurrent_version_days=0)
    with pytest.raises(ValueError, match="api_5xx_threshold: -1 must not be negative"):
        MonitoringConfig(namer=NAMER, region="eu-west-1", api_5xx_threshold=-1)
