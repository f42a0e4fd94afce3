"""lambda_src/metrics.py: the business metrics, as CloudWatch embedded metric format (EMF) lines.

Every line the functions print is checked against the EMF specification (the root's ``_aws`` metadata
with a millisecond ``Timestamp``, one metric directive whose dimension keys and metric names are
members of the root) and against the contract the infrastructure mirrors: the namespace is the project
name, the one dimension set is Region + Environment, every metric a Count named in ``METRIC_NAMES``.

The items API runs against DynamoDB mocked in-process (moto's ``mock_aws``: no server, no port), one
table for the module; the worker needs no AWS. Both are loaded from file without writing bytecode:
lambda_src/ is zipped as-is for deployment.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tools.function_loader import WORKER_FILE, load_function

api = load_function(name="lambda_src_handler_metrics")
api_metrics = api.siblings["metrics"]
worker_load = load_function(WORKER_FILE, name="lambda_src_worker_metrics")
worker = worker_load.module
worker_metrics = worker_load.siblings["metrics"]

PROJECT, REGION, ENVIRONMENT = "iac-aws-nova", "eu-west-1", "test"
SOURCE = f"{PROJECT}.items"
# The contract with the dashboards and alarms, which mirror these strings.
NAMES = ("ItemsCreated", "ItemsUpdated", "ItemsDeleted", "MessagesProcessed", "MessagesFailed")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION", REGION)
    monkeypatch.setenv("ENVIRONMENT", ENVIRONMENT)
    monkeypatch.setenv("PROJECT_NAME", PROJECT)
    monkeypatch.setenv("EVENT_SOURCE", SOURCE)


# --------------------------------------------------------------------------- reading the lines


def _reject(token: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {token!r}")


def emf(document: dict[str, Any]) -> dict[str, int]:
    """Check one EMF document against the specification and this project's contract; its counts."""
    metadata = document["_aws"]
    assert set(metadata) == {"Timestamp", "CloudWatchMetrics"}
    timestamp = metadata["Timestamp"]
    assert type(timestamp) is int  # milliseconds since the epoch, an integer
    assert abs(timestamp - time.time() * 1000) < 5_000
    [directive] = metadata["CloudWatchMetrics"]
    assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
    assert directive["Namespace"] == os.environ["PROJECT_NAME"]
    assert re.fullmatch(r"[a-zA-Z0-9._#:/-]{1,255}", directive["Namespace"])
    assert directive["Dimensions"] == [["Region", "Environment"]]
    for dimension_set in directive["Dimensions"]:
        assert 1 <= len(dimension_set) <= 30
        assert all(isinstance(document[key], str) and 1 <= len(document[key]) <= 1024 for key in dimension_set)
    assert (document["Region"], document["Environment"]) == (REGION, ENVIRONMENT)
    definitions = directive["Metrics"]
    assert 1 <= len(definitions) <= 100
    names = [definition["Name"] for definition in definitions]
    assert len(set(names)) == len(names) and set(names) <= set(NAMES)
    assert all(definition == {"Name": definition["Name"], "Unit": "Count"} for definition in definitions)
    counts = {name: document[name] for name in names}
    assert all(type(value) is int and value >= 0 for value in counts.values())
    assert set(document) == {"_aws", "Region", "Environment", *names}  # nothing else on the line
    return counts


def split(text: str) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Printed lines -> (the counts of each EMF line, the other log lines); every line is strict JSON."""
    documents = [json.loads(line, parse_constant=_reject) for line in text.splitlines()]
    return [emf(d) for d in documents if "_aws" in d], [d for d in documents if "_aws" not in d]


# --------------------------------------------------------------------------- the module


@pytest.mark.parametrize("module", [api_metrics, worker_metrics], ids=["api", "worker"])
def test_the_names_are_the_contract(module: Any) -> None:
    assert module.METRIC_NAMES == NAMES
    assert (module.ITEMS_CREATED, module.ITEMS_UPDATED, module.ITEMS_DELETED) == NAMES[:3]
    assert (module.MESSAGES_PROCESSED, module.MESSAGES_FAILED) == NAMES[3:]
    assert (module.UNIT, module.DIMENSIONS) == ("Count", ("Region", "Environment"))
    assert module.namespace() == PROJECT


def test_one_line_carries_every_metric_as_valid_emf(capsys: pytest.CaptureFixture[str]) -> None:
    values = {name: index for index, name in enumerate(NAMES)}
    api_metrics.emit(values)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    [counts], logs = split(out)
    assert (counts, logs) == (values, [])
    assert [d["Name"] for d in json.loads(out)["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == list(NAMES)


def test_the_namespace_and_dimensions_are_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROJECT_NAME", "other-project")
    monkeypatch.setenv("ENVIRONMENT", "prod")
    document = api_metrics.document({"ItemsCreated": 1}, timestamp_ms=1_767_323_045_678)
    assert document["_aws"] == {
        "Timestamp": 1_767_323_045_678,
        "CloudWatchMetrics": [
            {
                "Namespace": "other-project",
                "Dimensions": [["Region", "Environment"]],
                "Metrics": [{"Name": "ItemsCreated", "Unit": "Count"}],
            }
        ],
    }
    assert (document["Region"], document["Environment"], document["ItemsCreated"]) == (REGION, "prod", 1)


@pytest.mark.parametrize(
    "values",
    [{}, {"ItemsRenamed": 1}, {"ItemsCreated": True}, {"ItemsCreated": 1.0}, {"ItemsCreated": -1}, {"x": float("nan")}],
)
def test_what_is_not_a_count_of_a_known_metric_is_refused_and_never_printed(
    values: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError):
        api_metrics.document(values)
    api_metrics.emit(values)  # swallowed
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- the items API


@pytest.fixture(scope="module")
def table() -> Iterator[str]:
    """One table in DynamoDB mocked in-process, and the function configured for it."""
    from moto import mock_aws

    name = "items-metrics"
    with pytest.MonkeyPatch.context() as mp, mock_aws():
        for variable in [n for n in os.environ if n.startswith("AWS_")]:
            mp.delenv(variable)  # no real profile, endpoint or credentials of this machine
        for variable, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "TABLE_NAME": name,
        }.items():
            mp.setenv(variable, value)
        client = api.siblings["aws_clients"].dynamodb(1)
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield name


@dataclass
class Answer:
    status: int
    metrics: list[dict[str, int]]  # the counts of each EMF line
    logs: list[dict[str, Any]]  # the other lines


def event(method: str, item_id: str, body: Any = None, headers: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A request to ``/api/items/{item_id}`` as API Gateway's proxy integration sends it."""
    return {
        "resource": "/api/{proxy+}",
        "path": f"/api/items/{item_id}",
        "httpMethod": method,
        "pathParameters": {"proxy": f"items/{item_id}"},
        "headers": {"Content-Type": "application/json", **dict(headers)},
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {"requestId": "req-1"},
    }


def call(method: str, item_id: str, body: Any = None, headers: Sequence[tuple[str, str]] = ()) -> Answer:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = api.module.handler(event(method, item_id, body, headers), None)
    metrics, logs = split(out.getvalue())
    return Answer(response["statusCode"], metrics, logs)


def fresh_id() -> str:
    return f"m-{uuid.uuid4().hex[:12]}"


def test_create_update_delete_each_emit_their_metric(table: str) -> None:
    item_id = fresh_id()
    steps = [
        (("PUT", item_id, {"data": {"n": 1}}), 201, "ItemsCreated"),
        (("PUT", item_id, {"data": {"n": 2}}), 200, "ItemsUpdated"),
        (("DELETE", item_id), 204, "ItemsDeleted"),
        (("PUT", item_id, {"data": {"n": 3}}), 201, "ItemsCreated"),  # created again after the delete
    ]
    for args, status, metric in steps:
        answer = call(*args)
        assert (answer.status, answer.metrics) == (status, [{metric: 1}])
        # The request's log line is as it was: its own line, after the metric's.
        [line] = answer.logs
        assert line == {
            "level": "INFO",
            "request_id": "req-1",
            "method": args[0],
            "path": f"/api/items/{item_id}",
            "status": status,
        }


def test_conditional_writes_emit_only_when_they_change_something(table: str) -> None:
    item_id = fresh_id()
    assert call("PUT", item_id, {"data": {}}, [("If-None-Match", "*")]).metrics == [{"ItemsCreated": 1}]
    assert call("PUT", item_id, {"data": {}}, [("If-Match", '"1"')]).metrics == [{"ItemsUpdated": 1}]
    assert call("DELETE", item_id, headers=[("If-Match", '"2"')]).metrics == [{"ItemsDeleted": 1}]


def test_reads_emit_nothing(table: str) -> None:
    item_id = fresh_id()
    call("PUT", item_id, {"data": {}})
    answer = call("GET", item_id)
    assert (answer.status, answer.metrics) == (200, [])


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        (("DELETE", "missing"), 404),
        (("DELETE", "{id}", None, [("If-Match", '"7"')]), 412),
        (("PUT", "{id}", {"data": {}}, [("If-Match", '"7"')]), 412),
        (("PUT", "{id}", {"data": {}}, [("If-None-Match", "*")]), 412),
        (("PUT", "missing", {"data": {}}, [("If-Match", "*")]), 412),
        (("PUT", "{id}", "not json"), 400),
        (("PUT", "{id}", {"no": "data"}), 400),
        (("PUT", "bad id!", {"data": {}}), 400),
        (("DELETE", "{id}", None, [("If-Match", 'W/"1"')]), 400),
    ],
)
def test_a_request_that_fails_emits_nothing(table: str, request_args: tuple[Any, ...], status: int) -> None:
    item_id = fresh_id()
    assert call("PUT", item_id, {"data": {}}).status == 201  # an item at version 1
    method, target, *rest = request_args
    answer = call(method, target.replace("{id}", item_id).replace("missing", fresh_id()), *rest)
    assert (answer.status, answer.metrics) == (status, [])
    assert [line["status"] for line in answer.logs if "status" in line] == [status]


def test_an_unavailable_store_emits_nothing(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME")
    answer = call("PUT", fresh_id(), {"data": {}})
    assert (answer.status, answer.metrics) == (503, [])


def _broken_print(*args: Any, **kwargs: Any) -> None:
    raise OSError("stdout is gone")


def test_a_metric_that_cannot_be_written_does_not_fail_the_request(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_metrics, "print", _broken_print, raising=False)  # the metrics module's print only
    answer = call("PUT", fresh_id(), {"data": {}})
    assert (answer.status, answer.metrics, [line["status"] for line in answer.logs]) == (201, [], [201])


def test_a_closed_stdout_does_not_fail_the_request(table: str) -> None:
    item_id, closed = fresh_id(), io.StringIO()
    closed.close()  # every print raises ValueError
    with contextlib.redirect_stdout(closed):
        response = api.module.handler(event("PUT", item_id, {"data": {}}), None)
    assert response["statusCode"] == 201
    assert call("GET", item_id).status == 200  # the write happened


def test_a_metric_that_cannot_be_built_does_not_fail_the_request(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the metric")

    monkeypatch.setattr(api_metrics, "document", broken)
    answer = call("PUT", fresh_id(), {"data": {}})
    assert (answer.status, answer.metrics) == (201, [])


# --------------------------------------------------------------------------- the worker


def sqs_record(message_id: str, item_id: str | None = "a1", version: Any = 1) -> dict[str, Any]:
    """An SQS record whose body is an items event as the bus delivers it (``item_id`` None: garbage)."""
    body = (
        "not json"
        if item_id is None
        else json.dumps(
            {
                "id": f"evt-{message_id}",
                "source": SOURCE,
                "detail-type": "ItemPut",
                "detail": {"id": item_id, "version": version, "region": "us-east-1", "environment": "test"},
            }
        )
    )
    return {"messageId": message_id, "body": body, "eventSource": "aws:sqs"}


def run(records: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, int]]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = worker.handler({"Records": records}, None)
    metrics, _ = split(out.getvalue())
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]], metrics


def test_a_batch_emits_its_processed_and_failed_counts_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def process(change: Any) -> None:
        if change.id == "boom":
            raise RuntimeError("downstream refused")

    monkeypatch.setattr(worker, "process", process)
    records = [
        sqs_record("m1"),
        sqs_record("m2", None),  # invalid
        sqs_record("m3", "boom"),  # processing fails
        sqs_record("m4", "b2", "7"),
        sqs_record("m5", "c3", 0),  # invalid version
        sqs_record("m6", "d4"),
    ]
    failed, metrics = run(records)
    assert failed == ["m2", "m3", "m5"]
    assert metrics == [{"MessagesProcessed": 3, "MessagesFailed": 3}]


def test_a_good_batch_counts_no_failures() -> None:
    failed, metrics = run([sqs_record("m1"), sqs_record("m2", "b2")])
    assert (failed, metrics) == ([], [{"MessagesProcessed": 2, "MessagesFailed": 0}])


def test_a_failed_message_counts_as_the_partial_batch_response_names_it() -> None:
    """A messageId twice (SQS never does it): reported once, counted once."""
    failed, metrics = run([sqs_record("dup", None), sqs_record("dup", None), sqs_record("ok")])
    assert (failed, metrics) == (["dup"], [{"MessagesProcessed": 1, "MessagesFailed": 1}])


def test_an_empty_or_rejected_batch_emits_nothing() -> None:
    assert run([]) == ([], [])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(ValueError):
        worker.handler({"Records": [{"body": "{}"}]}, None)  # no messageId: the whole batch is retried
    assert split(out.getvalue())[0] == []


def test_a_metric_that_cannot_be_written_does_not_fail_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_metrics, "print", _broken_print, raising=False)
    assert run([sqs_record("m1"), sqs_record("m2", None)]) == (["m2"], [])
