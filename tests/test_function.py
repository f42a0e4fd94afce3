"""Function: packaged code, runtime, limits, network, tracing, logs, least-privilege role, alias."""

import json
import zipfile
from pathlib import Path

import pytest
from conftest import address, one, policy_statements, region_key_arn, resource_at, resources, table_copy

REGIONS = ("us-east-1", "us-west-2")


def function(stack, region):
    return resource_at(stack, "aws_lambda_function", f"{region}/function/function")


@pytest.mark.parametrize("region", REGIONS)
def test_runtime_memory_timeout_defaults(dev, region):
    fn = function(dev, region)
    assert (fn["runtime"], fn["memory_size"], fn["timeout"]) == ("python3.12", 128, 30)
    assert fn["handler"] == "handler.handler"


@pytest.mark.parametrize("region", REGIONS)
def test_name_follows_the_naming_pattern(dev, region):
    assert function(dev, region)["function_name"] == f"iac-aws-nova-fn-{region}-dev"


@pytest.mark.parametrize("region", REGIONS)
def test_environment_variables_name_region_environment_project(dev, region):
    variables = function(dev, region)["environment"]["variables"]
    assert variables == {
        "CORS_ALLOW_ORIGIN": "*",
        "ENVIRONMENT": "dev",
        "MAX_REQUEST_BODY_BYTES": "65536",
        "PROJECT_NAME": "iac-aws-nova",
        "REGION": region,
        # Read from the region's copy: the function names what exists.
        "TABLE_NAME": table_copy(dev, region, "name"),
    }


@pytest.mark.parametrize("region", REGIONS)
def test_runs_in_the_private_subnets_with_its_security_group(dev, region):
    vpc_config = function(dev, region)["vpc_config"]
    assert len(vpc_config["subnet_ids"]) == 2
    assert all(s.startswith("${aws_subnet.") for s in vpc_config["subnet_ids"])
    assert vpc_config["security_group_ids"][0].startswith("${aws_security_group.")


def test_xray_active_tracing(dev):
    assert function(dev, "us-east-1")["tracing_config"] == {"mode": "Active"}


def test_logs_go_to_its_own_log_group_with_retention(dev):
    fn = function(dev, "us-east-1")
    group = dev["resource"]["aws_cloudwatch_log_group"][address(fn["logging_config"]["log_group"]).split(".")[1]]
    assert group["name"] == "/aws/lambda/iac-aws-nova-fn-us-east-1-dev"
    assert group["retention_in_days"] == 365
    assert fn["logging_config"]["log_format"] == "JSON"


def test_environment_and_logs_are_encrypted_with_the_regions_key(dev):
    fn = function(dev, "us-east-1")
    assert fn["kms_key_arn"] == region_key_arn(dev, "us-east-1")
    group = dev["resource"]["aws_cloudwatch_log_group"][address(fn["logging_config"]["log_group"]).split(".")[1]]
    assert group["kms_key_id"] == fn["kms_key_arn"]


def test_function_waits_for_its_log_group_and_permissions(dev):
    depends = function(dev, "us-east-1")["depends_on"]
    assert any(d.startswith("aws_cloudwatch_log_group.") for d in depends)
    assert any(d.startswith("aws_iam_role_policy.") for d in depends)


def test_package_is_the_deterministic_zip_of_lambda_src(default_synth, dev):
    fn = function(dev, "us-east-1")
    package = default_synth.outdir / "stacks" / "iac-aws-nova-dev-us-east-1" / fn["filename"]
    names = zipfile.ZipFile(package).namelist()
    # Both entry points (handler.handler, worker.handler) and nothing else: no caches, no tests.
    sources = sorted(p.name for p in (Path(__file__).parent.parent / "lambda_src").glob("*.py"))
    assert "handler.py" in names and "worker.py" in names
    assert names == sources
    assert fn["source_code_hash"]
    assert not fn["filename"].startswith("/")


def test_role_policy_is_scoped_to_what_the_function_uses(dev):
    role = next(r for r in resources(dev, "aws_iam_role", "us-east-1") if r["name"] == "iac-aws-nova-fn-us-east-1-dev")
    role_address = "${aws_iam_role." + next(k for k, v in dev["resource"]["aws_iam_role"].items() if v is role) + ".id}"
    policy = next(p for p in resources(dev, "aws_iam_role_policy") if p["role"] == role_address)
    statements = {s["sid"]: s for s in policy_statements(dev, policy["policy"])}
    assert set(statements) == {
        "WriteOwnLogs",
        "DecryptOwnEnvironment",
        "CreateNetworkInterfacesInOwnSubnets",
        "ManageNetworkInterfaces",
        "DescribeNetwork",
        "WriteTraces",
        "ReadWriteItemsInThisRegionsReplica",
        "UseTheKeyThroughTheTable",
    }
    assert statements["DecryptOwnEnvironment"]["resources"][0] == region_key_arn(dev, "us-east-1")
    assert statements["WriteOwnLogs"]["resources"] == [
        "${aws_cloudwatch_log_group.us-east-1_function_log-group_C92F1E07.arn}:*"
    ]
    for statement in statements.values():
        assert "*" not in statement["actions"]
        assert all(not a.endswith(":*") for a in statement["actions"])
    # Only actions without resource-level permissions get "*".
    wildcard = {sid for sid, s in statements.items() if s["resources"] == ["*"]}
    assert wildcard == {"DescribeNetwork", "WriteTraces"}


def items_api_statements(dev, region):
    name = f"iac-aws-nova-fn-{region}-dev"
    role_key = next(k for k, v in dev["resource"]["aws_iam_role"].items() if v["name"] == name)
    policy = next(
        p for p in resources(dev, "aws_iam_role_policy") if p["role"] == "${aws_iam_role." + role_key + ".id}"
    )
    return {s["sid"]: s for s in policy_statements(dev, policy["policy"])}


@pytest.mark.parametrize("region", REGIONS)
def test_items_api_reaches_only_its_own_regions_replica_item_by_item(dev, region):
    statement = items_api_statements(dev, region)["ReadWriteItemsInThisRegionsReplica"]
    assert statement["actions"] == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"]
    # The ARN of this region's copy, read in this region (by the table's name).
    assert statement["resources"] == [table_copy(dev, region, "arn")]


@pytest.mark.parametrize("region", REGIONS)
def test_items_api_uses_the_key_only_through_dynamodb(dev, region):
    """It publishes no events (the stream does: test_change_feed.py), so EventBridge is not among them."""
    statement = items_api_statements(dev, region)["UseTheKeyThroughTheTable"]
    assert statement["condition"] == [
        {"test": "StringEquals", "values": [f"dynamodb.{region}.amazonaws.com"], "variable": "kms:ViaService"}
    ]


def test_role_trusts_lambda(dev):
    role = next(r for r in resources(dev, "aws_iam_role", "us-east-1") if r["name"] == "iac-aws-nova-fn-us-east-1-dev")
    [statement] = policy_statements(dev, role["assume_role_policy"])
    assert statement["principals"] == [{"identifiers": ["lambda.amazonaws.com"], "type": "Service"}]


def test_live_alias_points_at_the_published_version(dev):
    fn = function(dev, "us-east-1")
    assert fn["publish"] is True
    alias = resource_at(dev, "aws_lambda_alias", "us-east-1/function/alias")
    assert alias["name"] == "live"
    assert alias["function_version"].endswith(".version}")


def test_no_reserved_or_provisioned_concurrency_by_default(dev):
    assert "reserved_concurrent_executions" not in function(dev, "us-east-1")
    assert not resources(dev, "aws_lambda_provisioned_concurrency_config")


def test_concurrency_settings_reach_the_function_and_alias(custom):
    stack = custom
    fn = function(stack, "eu-west-1")
    assert (fn["reserved_concurrent_executions"], fn["memory_size"], fn["timeout"], fn["runtime"]) == (
        20,
        512,
        10,
        "python3.13",
    )
    provisioned = one(resources(stack, "aws_lambda_provisioned_concurrency_config"))
    assert provisioned["provisioned_concurrent_executions"] == 2
    assert provisioned["qualifier"].startswith("${aws_lambda_alias.")


def test_function_config_validates_on_its_own(tmp_path):
    from constructs_lib.blocks.function import FunctionConfig
    from constructs_lib.blocks.naming import Namer

    with pytest.raises(ValueError, match="memory_mb: 64 must be at least 128"):
        FunctionConfig(namer=Namer("p", "dev"), region="us-east-1", source_dir=tmp_path, memory_mb=64)


# -- a schedule trigger (EventBridge Scheduler), on a function of its own ---------------------------
def _scheduled_stack():
    import json as _json

    from constructs_lib.blocks.function import Function, FunctionConfig, ScheduleTrigger
    from constructs_lib.blocks.naming import Namer
    from constructs_lib.cdk import aws
    from constructs_lib.cdk import core as cdk

    stack = cdk.TerraformStack(cdk.Testing.app(), "scheduled")
    provider = aws.AwsProvider(stack, "aws", region="eu-west-1", alias="eu-west-1")
    Function(
        stack,
        "nightly",
        provider=provider,
        account_id="123456789012",
        subnet_ids=["subnet-1"],
        security_group_id="sg-1",
        kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
        environment={},
        config=FunctionConfig(
            namer=Namer("shop", "qa"),
            region="eu-west-1",
            component="nightly",
            source_dir=Path(__file__).resolve().parent.parent / "lambda_src",
            handler="worker.handler",
            schedule_triggers=(
                ScheduleTrigger(
                    name="cleanup",
                    expression="cron(0 3 * * ? *)",
                    payload={"task": "cleanup"},
                    dead_letter_queue_arn="arn:aws:sqs:eu-west-1:123456789012:shop-dlq",
                    dead_letter_queue_kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/q",
                ),
            ),
        ),
    )
    return _json.loads(cdk.Testing.synth(stack))


@pytest.fixture(scope="module")
def scheduled():
    return _scheduled_stack()


def test_a_schedule_invokes_the_live_alias_with_retries_and_a_dead_letter_queue(scheduled):
    schedule = one(resources(scheduled, "aws_scheduler_schedule"))
    [alias_key] = scheduled["resource"]["aws_lambda_alias"]
    alias = f"aws_lambda_alias.{alias_key}"
    assert (schedule["name"], schedule["schedule_expression"], schedule["schedule_expression_timezone"]) == (
        "shop-nightly-cleanup-eu-west-1-qa",
        "cron(0 3 * * ? *)",
        "UTC",
    )
    assert schedule["flexible_time_window"] == {"mode": "OFF"}
    target = schedule["target"]
    assert target["arn"] == f"${{{alias}.arn}}"
    assert json.loads(target["input"]) == {"task": "cleanup"}
    assert target["retry_policy"] == {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}
    assert target["dead_letter_config"] == {"arn": "arn:aws:sqs:eu-west-1:123456789012:shop-dlq"}


def test_the_schedules_role_may_invoke_that_alias_only(scheduled):
    [alias_key] = scheduled["resource"]["aws_lambda_alias"]
    alias = f"aws_lambda_alias.{alias_key}"
    [role] = [r for r in resources(scheduled, "aws_iam_role") if "cleanup" in r["name"]]
    trust = policy_statements(scheduled, role["assume_role_policy"])
    assert trust[0]["principals"] == [{"identifiers": ["scheduler.amazonaws.com"], "type": "Service"}]
    assert trust[0]["condition"][0]["variable"] == "aws:SourceAccount"
    [policy] = [p for p in resources(scheduled, "aws_iam_role_policy") if "cleanup" in p["role"]]
    statements = {s["sid"]: s for s in policy_statements(scheduled, policy["policy"])}
    assert statements["InvokeThisFunctionsAlias"]["actions"] == ["lambda:InvokeFunction"]
    assert statements["InvokeThisFunctionsAlias"]["resources"] == [f"${{{alias}.arn}}"]
    assert statements["SendToTheDeadLetterQueue"]["resources"] == ["arn:aws:sqs:eu-west-1:123456789012:shop-dlq"]
    assert statements["EncryptDeadLettersThroughSqs"]["condition"][0]["values"] == ["sqs.eu-west-1.amazonaws.com"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expression": "every 5 minutes"}, "expression: 'every 5 minutes' must be rate"),
        ({"expression": "cron(0 3 * * * *)"}, 'must have "\\?" in exactly one of day-of-month'),
        ({"name": "a name"}, "name: 'a name' must be 1 to 24 letters"),
        ({"max_retries": 200}, "max_retries: 200 must be at most 185"),
    ],
)
def test_a_bad_schedule_is_refused(overrides, message):
    from constructs_lib.blocks.function import ScheduleTrigger

    settings = {"name": "cleanup", "expression": "rate(5 minutes)", "dead_letter_queue_arn": "arn:aws:sqs:x"}
    with pytest.raises(ValueError, match=message):
        ScheduleTrigger(**{**settings, **overrides})
