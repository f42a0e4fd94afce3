"""Grants, the way aws-cdk-lib offers them: the construct that owns a resource adds the narrowest
statement to a function's role, and the role refuses a second statement with the same sid."""

import json
from pathlib import Path

import pytest

from constructs_lib.blocks.function import Function, FunctionConfig
from constructs_lib.blocks.iam import Statement
from constructs_lib.blocks.kms import EncryptionKey, KeyConfig
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.table import GlobalTable, TableConfig, TableCopy
from constructs_lib.cdk import aws
from constructs_lib.cdk import core as cdk
from constructs_lib.cdk.core import TerraformStack

NAMER = Namer("shop", "qa")
SOURCE = Path(__file__).resolve().parent.parent / "lambda_src"


@pytest.fixture
def scope():
    stack = TerraformStack(cdk.Testing.app(), "grants")
    providers = {r: aws.AwsProvider(stack, f"aws-{r}", region=r, alias=r) for r in ("eu-west-1", "us-east-1")}
    return stack, providers


def _function(stack, provider, region="eu-west-1"):
    return Function(
        stack,
        f"function-{region}",
        provider=provider,
        account_id="123456789012",
        subnet_ids=["subnet-1"],
        security_group_id="sg-1",
        kms_key_arn=f"arn:aws:kms:{region}:123456789012:key/k",
        environment={},
        config=FunctionConfig(namer=NAMER, region=region, source_dir=SOURCE),
    )


def _statements(stack, sid):
    documents = json.loads(cdk.Testing.synth(stack))["data"]["aws_iam_policy_document"].values()
    return [s for d in documents for s in d["statement"] if s.get("sid") == sid]


def _table(stack):
    return GlobalTable(
        stack, "table", config=TableConfig(namer=NAMER, home_region="eu-west-1", replica_regions=("us-east-1",))
    )


def test_table_grant_names_only_the_regions_own_copy_item_by_item(scope):
    stack, providers = scope
    copy = TableCopy(stack, "table", table_name="shop-items-qa", provider=providers["us-east-1"])
    copy.grant_read_write_items(_function(stack, providers["us-east-1"], "us-east-1"))
    [statement] = _statements(stack, "ReadWriteItemsInThisRegionsReplica")
    [(name, read)] = json.loads(cdk.Testing.synth(stack))["data"]["aws_dynamodb_table"].items()
    # The copy in the grantee's region, read there by the table's name.
    assert (read["provider"], read["name"]) == ("aws.us-east-1", "shop-items-qa")
    assert statement["resources"] == [f"${{data.aws_dynamodb_table.{name}.arn}}"]
    assert sorted(statement["actions"]) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
    ]


def test_table_copies_start_in_the_home_region(scope):
    stack, providers = scope
    table = _table(stack)
    with pytest.raises(ValueError, match=r"region: 'us-east-1': the home region \(eu-west-1\) adds its copy first"):
        table.add_copy("us-east-1", provider=providers["us-east-1"], kms_key_arn="k")


def test_table_refuses_a_second_copy_or_an_unconfigured_region(scope):
    stack, providers = scope
    table = _table(stack)
    table.add_copy("eu-west-1", provider=providers["eu-west-1"], kms_key_arn="k")
    for region in ("eu-west-1", "ap-south-1"):
        with pytest.raises(ValueError, match=f"region: '{region}' is not a region still without its copy"):
            table.add_copy(region, provider=providers["eu-west-1"], kms_key_arn="k")


def test_key_grant_allows_use_only_through_the_named_services_in_its_region(scope):
    stack, providers = scope
    key = EncryptionKey(
        stack,
        "key",
        provider=providers["eu-west-1"],
        account_id="123456789012",
        config=KeyConfig(namer=NAMER, region="eu-west-1", uses="tests"),
    )
    key.grant_use_through(_function(stack, providers["eu-west-1"]), services=("dynamodb", "sqs"), sid="ViaTheseTwo")
    [statement] = _statements(stack, "ViaTheseTwo")
    assert statement["condition"] == [
        {
            "test": "StringEquals",
            "variable": "kms:ViaService",
            "values": ["dynamodb.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"],
        }
    ]
    assert statement["resources"][0].startswith("${aws_kms_key.")


def test_a_role_refuses_a_second_statement_with_the_same_sid(scope):
    stack, providers = scope
    function = _function(stack, providers["eu-west-1"])
    function.add_to_role_policy(Statement(sid="ReadUploads", actions=["s3:GetObject"], resources=["arn:aws:s3:::u/*"]))
    with pytest.raises(ValueError, match="sid: the role's policy has a statement 'ReadUploads' already"):
        function.add_to_role_policy(
            Statement(sid="ReadUploads", actions=["s3:PutObject"], resources=["arn:aws:s3:::u/*"])
        )


def test_a_granted_statement_joins_the_roles_one_policy_after_its_own(scope):
    stack, providers = scope
    function = _function(stack, providers["eu-west-1"])
    function.add_to_role_policy(Statement(sid="ReadUploads", actions=["s3:GetObject"], resources=["arn:aws:s3:::u/*"]))
    documents = json.loads(cdk.Testing.synth(stack))["data"]["aws_iam_policy_document"]
    [permissions] = [d for d in documents.values() if any(s.get("sid") == "ReadUploads" for s in d["statement"])]
    assert permissions["statement"][-1]["sid"] == "ReadUploads"
    assert "WriteTraces" in [s["sid"] for s in permissions["statement"]]


def _queue(stack, provider):
    from constructs_lib.blocks.queue import Queue, QueueConfig

    return Queue(
        stack,
        "queue",
        provider=provider,
        kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
        config=QueueConfig(namer=NAMER, region="eu-west-1"),
    )


def test_queue_grants_name_the_work_queue_only(scope):
    stack, providers = scope
    queue = _queue(stack, providers["eu-west-1"])
    function = _function(stack, providers["eu-west-1"])
    queue.grant_send_messages(function)
    queue.grant_consume_messages(function)
    [send], [consume] = _statements(stack, "SendToTheWorkQueue"), _statements(stack, "ConsumeTheWorkQueue")
    queues = json.loads(cdk.Testing.synth(stack))["resource"]["aws_sqs_queue"]
    [work] = [name for name, q in queues.items() if "redrive_policy" in q]
    assert send["actions"] == ["sqs:SendMessage"]
    assert send["resources"] == consume["resources"] == [f"${{aws_sqs_queue.{work}.arn}}"]
    assert "sqs:SendMessage" not in consume["actions"] and "sqs:ReceiveMessage" in consume["actions"]


def test_bus_grant_publishes_only_its_source_to_this_bus(scope):
    from constructs_lib.blocks.events import EventBus, EventBusConfig

    stack, providers = scope
    queue = _queue(stack, providers["eu-west-1"])
    bus = EventBus(
        stack,
        "events",
        provider=providers["eu-west-1"],
        kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
        queue_arn=queue.queue_arn,
        queue_url=queue.queue_url,
        dead_letter_queue_arn=queue.dead_letter_queue_arn,
        dead_letter_queue_url=queue.dead_letter_queue_url,
        config=EventBusConfig(namer=NAMER, region="eu-west-1", source="shop.items"),
    )
    bus.grant_put_events(_function(stack, providers["eu-west-1"]), source="shop.thumbnails", sid="PublishThumbs")
    [statement] = _statements(stack, "PublishThumbs")
    [name] = json.loads(cdk.Testing.synth(stack))["resource"]["aws_cloudwatch_event_bus"]
    assert (statement["actions"], statement["resources"]) == (
        ["events:PutEvents"],
        [f"${{aws_cloudwatch_event_bus.{name}.arn}}"],
    )
    assert statement["condition"] == [
        {"test": "StringEquals", "variable": "events:source", "values": ["shop.thumbnails"]}
    ]
