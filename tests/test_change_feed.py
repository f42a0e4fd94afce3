"""Item changes reach the bus from the table's stream (EventBridge Pipes), not from the request: a
function that dies after its write loses no event, and each change is announced once, by the region
that made it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import address_at, one, policy_statements, resource_at, resources, table_copy

from constructs_lib.blocks.change_feed import ChangeFeedConfig
from constructs_lib.blocks.naming import Namer

REGIONS = ("us-east-1", "us-west-2")  # the default stack; us-east-1 is its home region


def pipes(stack: dict[str, Any], region: str) -> dict[str, dict[str, Any]]:
    return {
        path.rsplit("/", 1)[1]: resource_at(stack, "aws_pipes_pipe", path)
        for path in (f"{region}/changes/put-pipe", f"{region}/changes/delete-pipe")
    }


@pytest.mark.parametrize("region", REGIONS)
def test_each_regions_stream_feeds_its_own_bus(dev, region):
    bus = address_at(dev, "aws_cloudwatch_event_bus", f"{region}/events/bus")
    # Every copy (the table and each replica) is read in its own region by the table's name: the
    # global stack made it, and the read depends on nothing that changes, so a stream ARN is never
    # unknown at plan time (which would replace the pipes).
    [data] = [d for k, d in dev["data"]["aws_dynamodb_table"].items() if k.startswith(f"{region}_table_")]
    assert (data["provider"], data["name"]) == (f"aws.{region}", "iac-aws-nova-items-dev")
    assert "depends_on" not in data
    stream = table_copy(dev, region, "stream_arn")
    for pipe in pipes(dev, region).values():
        assert (pipe["provider"], pipe["source"], pipe["target"]) == (f"aws.{region}", stream, f"${{{bus}.arn}}")


@pytest.mark.parametrize("region", REGIONS)
def test_only_the_writes_made_in_this_region_are_published(dev, region):
    """Every region's stream carries every write, replicated ones too: each pipe keeps its own."""
    found = pipes(dev, region)
    patterns = {
        key: json.loads(one(p["source_parameters"]["filter_criteria"]["filter"])["pattern"]) for key, p in found.items()
    }
    assert patterns["put-pipe"] == {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"NewImage": {"updated_region": {"S": [region]}}},
    }
    assert patterns["delete-pipe"] == {
        "eventName": ["REMOVE"],
        "dynamodb": {"OldImage": {"updated_region": {"S": [region]}}},
    }
    targets = {key: p["target_parameters"]["eventbridge_event_bus_parameters"] for key, p in found.items()}
    assert targets == {
        "put-pipe": {"detail_type": "ItemPut", "source": "iac-aws-nova.items"},
        "delete-pipe": {"detail_type": "ItemDeleted", "source": "iac-aws-nova.items"},
    }


@pytest.mark.parametrize("region", REGIONS)
def test_a_refused_batch_is_retried_halved_then_kept_in_the_dead_letter_queue(dev, region):
    dlq = address_at(dev, "aws_sqs_queue", f"{region}/queue/dead-letter-queue")
    for pipe in pipes(dev, region).values():
        stream = pipe["source_parameters"]["dynamodb_stream_parameters"]
        assert stream["dead_letter_config"] == {"arn": f"${{{dlq}.arn}}"}
        assert (stream["on_partial_batch_item_failure"], stream["maximum_retry_attempts"]) == ("AUTOMATIC_BISECT", 10)
        assert stream["maximum_record_age_in_seconds"] == 86400
        assert stream["starting_position"] == "LATEST"


@pytest.mark.parametrize("region", REGIONS)
def test_the_pipes_role_is_this_accounts_and_reads_writes_only_what_it_must(dev, region):
    role = resource_at(dev, "aws_iam_role", f"{region}/changes/role")
    [trust] = policy_statements(dev, role["assume_role_policy"])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["pipes.amazonaws.com"]}]
    assert trust["condition"][0]["variable"] == "aws:SourceAccount"
    policy = resource_at(dev, "aws_iam_role_policy", f"{region}/changes/role-policy")
    statements = {s["sid"]: s for s in policy_statements(dev, policy["policy"])}
    assert set(statements) == {"ReadTheStream", "PublishToTheBus", "SendFailedBatches", "UseTheKeyThroughTheseServices"}
    assert statements["ReadTheStream"]["resources"] == [pipes(dev, region)["put-pipe"]["source"]]
    assert statements["PublishToTheBus"]["resources"] == [pipes(dev, region)["put-pipe"]["target"]]
    assert statements["UseTheKeyThroughTheseServices"]["condition"][0]["values"] == [
        f"{service}.{region}.amazonaws.com" for service in ("dynamodb", "events", "sqs")
    ]
    # The pipes wait for the permissions Pipes checks when it creates them.
    for pipe in pipes(dev, region).values():
        assert pipe["depends_on"] == [address_at(dev, "aws_iam_role_policy", f"{region}/changes/role-policy")]


@pytest.mark.parametrize("region", REGIONS)
def test_the_api_function_publishes_nothing_and_needs_no_endpoint_for_it(dev, region):
    function = resource_at(dev, "aws_lambda_function", f"{region}/function/function")
    assert not {"EVENT_BUS_NAME", "EVENT_SOURCE"} & set(function["environment"]["variables"])
    policy = resource_at(dev, "aws_iam_role_policy", f"{region}/function/role-policy")
    actions = {a for s in policy_statements(dev, policy["policy"]) for a in s["actions"]}
    assert not [a for a in actions if a.startswith("events:")]
    assert not resources(dev, "aws_vpc_endpoint", region) or all(
        e["vpc_endpoint_type"] == "Gateway" for e in resources(dev, "aws_vpc_endpoint", region)
    )


# -- the events the worker receives ---------------------------------------------------------------
def render(template: str, record: dict[str, Any], ingestion_time: str) -> dict[str, Any]:
    """What Pipes does with an input template: each quoted ``<$.path>`` becomes the string at that
    path of the record; ``<aws.pipes.event.ingestion-time>`` the time it read the record."""

    def value(match: re.Match[str]) -> str:
        path = match.group(1)
        if path == "aws.pipes.event.ingestion-time":
            return ingestion_time
        found: Any = record
        for part in path.removeprefix("$.").split("."):
            found = found[part]
        return str(found)

    return json.loads(re.sub(r"<([^<>]+)>", value, template))


def stream_record(event_name: str, image: str, item: dict[str, Any]) -> dict[str, Any]:
    typed = {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in item.items()}
    return {"eventName": event_name, "dynamodb": {"Keys": {"id": {"S": item["id"]}}, image: typed}}


ITEM = {"id": "a1", "version": 3, "updated_at": "2026-12-01T10:00:00Z", "updated_region": "eu-west-1", "data": "{}"}


@pytest.mark.parametrize(
    ("event_name", "image", "updated_at", "expected_time"),
    [
        ("MODIFY", "NewImage", "<$.dynamodb.NewImage.updated_at.S>", ITEM["updated_at"]),
        ("REMOVE", "OldImage", "<aws.pipes.event.ingestion-time>", "2026-12-01T10:00:01Z"),
    ],
)
def test_the_detail_is_the_shape_the_worker_reads(event_name, image, updated_at, expected_time):
    config = ChangeFeedConfig(namer=Namer("shop", "qa"), region="eu-west-1", source="shop.items", environment="qa")
    detail = render(
        config.detail_template(image, updated_at), stream_record(event_name, image, ITEM), "2026-12-01T10:00:01Z"
    )
    assert detail == {
        "id": "a1",
        "version": "3",  # a DynamoDB number arrives as its digits
        "region": "eu-west-1",
        "environment": "qa",
        "updated_at": expected_time,
    }


def test_the_configs_refuse_what_pipes_refuses():
    with pytest.raises(ValueError, match="max_record_age_seconds: 30 must be at least 60"):
        ChangeFeedConfig(
            namer=Namer("s", "q"), region="eu-west-1", source="s.items", environment="q", max_record_age_seconds=30
        )
