"""The async path in every region: item changes -> event bus -> rule -> work queue (with a
dead-letter queue) -> worker function, all encrypted with the region's key."""

import json

import pytest
from conftest import address_at, one, policy_statements, region_key_arn, resource_at, resources, table_copy

from constructs_lib.blocks.events import EventBusConfig
from constructs_lib.blocks.function import FunctionConfig, QueueTrigger
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.queue import QueueConfig

REGIONS = ("us-east-1", "us-west-2")
NAMER = Namer("shop", "qa")


def ref(stack, kind, path, attribute):
    return "${" + address_at(stack, kind, path) + "." + attribute + "}"


# -- queues ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("region", REGIONS)
def test_work_queue_and_dead_letter_queue_are_encrypted_with_the_regions_key(dev, region):
    key_arn = region_key_arn(dev, region)
    for path in ("queue/queue", "queue/dead-letter-queue"):
        queue = resource_at(dev, "aws_sqs_queue", f"{region}/{path}")
        assert queue["kms_master_key_id"] == key_arn
        assert "sqs_managed_sse_enabled" not in queue


@pytest.mark.parametrize("region", REGIONS)
def test_failed_messages_move_to_the_dead_letter_queue_after_five_receives(dev, region):
    queue = resource_at(dev, "aws_sqs_queue", f"{region}/queue/queue")
    assert queue["name"] == f"iac-aws-nova-events-{region}-dev"
    assert json.loads(queue["redrive_policy"]) == {
        "deadLetterTargetArn": ref(dev, "aws_sqs_queue", f"{region}/queue/dead-letter-queue", "arn"),
        "maxReceiveCount": 5,
    }


def test_dead_letter_queue_keeps_messages_fourteen_days_and_accepts_only_its_queue(dev):
    dlq = resource_at(dev, "aws_sqs_queue", "us-east-1/queue/dead-letter-queue")
    assert dlq["message_retention_seconds"] == 14 * 24 * 3600
    allow = one(resources(dev, "aws_sqs_queue_redrive_allow_policy", "us-east-1"))
    assert json.loads(allow["redrive_allow_policy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [ref(dev, "aws_sqs_queue", "us-east-1/queue/queue", "arn")],
    }


def test_visibility_timeout_is_six_times_the_workers_timeout(dev, custom):
    assert resource_at(dev, "aws_sqs_queue", "us-east-1/queue/queue")["visibility_timeout_seconds"] == 180
    custom_queue = resource_at(custom, "aws_sqs_queue", "eu-west-1/queue/queue")
    assert custom_queue["visibility_timeout_seconds"] == 360
    assert json.loads(custom_queue["redrive_policy"])["maxReceiveCount"] == 3


# -- bus, rule, target ----------------------------------------------------------------------------
@pytest.mark.parametrize("region", REGIONS)
def test_bus_is_encrypted_and_sends_what_it_cannot_decrypt_to_the_dead_letter_queue(dev, region):
    bus = one(resources(dev, "aws_cloudwatch_event_bus", region))
    assert bus["name"] == f"iac-aws-nova-events-{region}-dev"
    assert bus["kms_key_identifier"] == region_key_arn(dev, region)
    assert bus["dead_letter_config"] == {"arn": ref(dev, "aws_sqs_queue", f"{region}/queue/dead-letter-queue", "arn")}


@pytest.mark.parametrize("region", REGIONS)
def test_rule_forwards_the_item_changes_of_this_project(dev, region):
    rule = one(resources(dev, "aws_cloudwatch_event_rule", region))
    assert rule["event_bus_name"] == ref(dev, "aws_cloudwatch_event_bus", f"{region}/events/bus", "name")
    assert json.loads(rule["event_pattern"]) == {
        "detail-type": ["ItemPut", "ItemDeleted"],
        "source": ["iac-aws-nova.items"],
    }


@pytest.mark.parametrize("region", REGIONS)
def test_target_is_the_work_queue_with_retries_and_a_dead_letter_queue(dev, region):
    target = one(resources(dev, "aws_cloudwatch_event_target", region))
    assert target["arn"] == ref(dev, "aws_sqs_queue", f"{region}/queue/queue", "arn")
    assert target["retry_policy"] == {"maximum_event_age_in_seconds": 86400, "maximum_retry_attempts": 185}
    assert target["dead_letter_config"] == {
        "arn": ref(dev, "aws_sqs_queue", f"{region}/queue/dead-letter-queue", "arn")
    }


@pytest.mark.parametrize(("queue", "senders"), [("queue", ["rule"]), ("dead-letter-queue", ["rule", "bus"])])
def test_only_this_rule_and_bus_may_send_to_the_queues(dev, queue, senders):
    policy = resource_at(dev, "aws_sqs_queue_policy", f"us-east-1/events/{queue}-policy")
    assert policy["queue_url"] == ref(dev, "aws_sqs_queue", f"us-east-1/queue/{queue}", "url")
    [statement] = policy_statements(dev, policy["policy"])
    assert statement["actions"] == ["sqs:SendMessage"]
    assert statement["principals"] == [{"identifiers": ["events.amazonaws.com"], "type": "Service"}]
    assert statement["resources"] == [ref(dev, "aws_sqs_queue", f"us-east-1/queue/{queue}", "arn")]
    arns = {
        "rule": ref(dev, "aws_cloudwatch_event_rule", "us-east-1/events/rule", "arn"),
        "bus": ref(dev, "aws_cloudwatch_event_bus", "us-east-1/events/bus", "arn"),
    }
    assert statement["condition"] == [
        {"test": "ArnEquals", "values": [arns[s] for s in senders], "variable": "aws:SourceArn"}
    ]


def test_eventbridge_may_use_the_key_for_this_account_only(dev):
    key = resource_at(dev, "aws_kms_key", "us-east-1/key/key")
    statements = {s["sid"]: s for s in policy_statements(dev, key["policy"])}
    encrypt = statements["EventBridgeOfThisAccountEncrypts"]
    assert encrypt["principals"] == [{"identifiers": ["events.amazonaws.com"], "type": "Service"}]
    assert encrypt["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert encrypt["condition"][0]["variable"] == "aws:SourceAccount"
    assert statements["EventBridgeChecksTheKey"]["actions"] == ["kms:DescribeKey"]


# -- worker ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("region", REGIONS)
def test_worker_is_built_by_the_function_construct_from_the_same_source(dev, region):
    worker = resource_at(dev, "aws_lambda_function", f"{region}/worker/function")
    api_function = resource_at(dev, "aws_lambda_function", f"{region}/function/function")
    assert worker["function_name"] == f"iac-aws-nova-worker-{region}-dev"
    assert (worker["handler"], worker["runtime"], worker["memory_size"], worker["timeout"]) == (
        "worker.handler",
        "python3.12",
        128,
        30,
    )
    assert worker["source_code_hash"] == api_function["source_code_hash"]
    assert worker["tracing_config"] == {"mode": "Active"}
    assert worker["vpc_config"]["subnet_ids"] == api_function["vpc_config"]["subnet_ids"]


@pytest.mark.parametrize("region", REGIONS)
def test_worker_consumes_the_queue_through_its_alias_reporting_failures_per_message(dev, region):
    mapping = one(resources(dev, "aws_lambda_event_source_mapping", region))
    assert mapping["event_source_arn"] == ref(dev, "aws_sqs_queue", f"{region}/queue/queue", "arn")
    assert mapping["function_name"] == ref(dev, "aws_lambda_alias", f"{region}/worker/alias", "arn")
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["batch_size"] == 10
    assert mapping["scaling_config"] == {"maximum_concurrency": 2}
    assert mapping["depends_on"] == [address_at(dev, "aws_iam_role_policy", f"{region}/worker/role-policy")]


def test_worker_may_consume_its_queue_and_nothing_of_the_items_api(dev):
    policy = resource_at(dev, "aws_iam_role_policy", "us-east-1/worker/role-policy")
    statements = {s["sid"]: s for s in policy_statements(dev, policy["policy"])}
    assert statements["ConsumeTriggerQueues"]["actions"] == [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    assert statements["ConsumeTriggerQueues"]["resources"] == [
        ref(dev, "aws_sqs_queue", "us-east-1/queue/queue", "arn")
    ]
    assert not {"ReadWriteItemsInThisRegionsReplica", "PublishItemEvents"} & set(statements)


def test_worker_settings_come_from_the_stack_config(custom):
    worker = resource_at(custom, "aws_lambda_function", "eu-west-1/worker/function")
    assert (worker["memory_size"], worker["timeout"]) == (256, 60)
    mapping = one(resources(custom, "aws_lambda_event_source_mapping", "eu-west-1"))
    assert mapping["scaling_config"] == {"maximum_concurrency": 7}


def test_worker_environment_names_the_event_source(dev):
    variables = resource_at(dev, "aws_lambda_function", "us-west-2/worker/function")["environment"]["variables"]
    assert variables["EVENT_SOURCE"] == "iac-aws-nova.items"
    # The name only (read from the region's copy): the worker's role has no access to the table.
    assert variables["TABLE_NAME"] == table_copy(dev, "us-west-2", "name")


# -- configs refuse bad values on their own ------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: QueueConfig(namer=NAMER, region="eu-west-1", max_receive_count=0), "max_receive_count: 0 must be"),
        (
            lambda: QueueConfig(namer=NAMER, region="eu-west-1", consumer_timeout_seconds=7201),
            "consumer_timeout_seconds: 7201 must be at most 7200",
        ),
        (lambda: QueueConfig(namer=NAMER, region="eu-west-1", retention_seconds=59), "retention_seconds: 59 must be"),
        (lambda: EventBusConfig(namer=NAMER, region="eu-west-1", source="aws.s3"), "source: 'aws.s3' must be"),
        (
            lambda: EventBusConfig(namer=NAMER, region="eu-west-1", source="shop.items", detail_types=()),
            "detail_types: the rule needs at least one",
        ),
        (lambda: QueueTrigger(queue_arn="arn", batch_size=0), "batch_size: 0 must be 1 to 10000"),
        (lambda: QueueTrigger(queue_arn="arn", batch_size=100), "max_batching_window_seconds: 0 must be at least 1"),
        (lambda: QueueTrigger(queue_arn="arn", max_concurrency=1), "max_concurrency: 1 must be at least 2"),
    ],
)
def test_async_configs_refuse_bad_values(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_function_config_accepts_nodejs_and_refuses_a_malformed_handler(tmp_path):
    config = FunctionConfig(
        namer=NAMER, region="eu-west-1", source_dir=tmp_path, runtime="nodejs22.x", handler="index.handler"
    )
    assert config.runtime == "nodejs22.x"
    with pytest.raises(ValueError, match="handler: 'index' must be"):
        FunctionConfig(namer=NAMER, region="eu-west-1", source_dir=tmp_path, handler="index")
    with pytest.raises(ValueError, match='runtime: "nodejs18.x" is not supported'):
        FunctionConfig(namer=NAMER, region="eu-west-1", source_dir=tmp_path, runtime="nodejs18.x")
