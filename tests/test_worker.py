"""lambda_src/worker.py: the SQS-triggered worker for item-change events (ReportBatchItemFailures).

Pure unit tests with SQS events shaped like the ones Lambda's event source mapping sends, whose
bodies are EventBridge envelopes as an EventBridge rule with an SQS target delivers them. Loaded
from file without writing bytecode: lambda_src/ is zipped as-is for deployment.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.function_loader import load_handler_module

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda_src"
SOURCE = "iac-aws-nova.items"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:iac-aws-nova-items-us-east-1-dev"

worker = load_handler_module(LAMBDA_DIR / "worker.py", name="lambda_src_worker_under_test")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION", "us-west-2")
    monkeypatch.setenv("EVENT_SOURCE", SOURCE)


def envelope(
    item_id: str = "a1",
    version: int | str = 3,
    detail_type: str = "ItemPut",
    region: str = "us-east-1",
    **changes: Any,
) -> dict[str, Any]:
    """An items event as it is on the bus (published by the table stream's pipe; ``version`` a string
    of digits as the pipe sends it, or an integer as the function published it before)."""
    event = {
        "version": "0",
        "id": f"evt-{item_id}-{version}",
        "detail-type": detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "time": "2026-01-02T03:04:05Z",
        "region": region,
        "resources": [],
        "detail": {
            "id": item_id,
            "version": version,
            "region": region,
            "environment": "dev",
            "updated_at": "2026-01-02T03:04:05.678Z",
        },
    }
    event.update(changes)
    return event


def record(message_id: str, body: Any) -> dict[str, Any]:
    """An SQS record; a non-string ``body`` is serialised as JSON."""
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767323045678",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767323045680",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def run(event: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The worker's answer and the log lines it wrote (not its metric line: tests/test_metrics.py)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = worker.handler(event, None)
    json.dumps(result)  # Lambda serialises the answer
    return result, [line for line in map(json.loads, out.getvalue().splitlines()) if "_aws" not in line]


def reported(result: dict[str, Any]) -> list[str]:
    assert set(result) == {"batchItemFailures"}
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


# --------------------------------------------------------------------------- good batches


def test_a_valid_batch_has_no_failures_and_one_audit_line_per_record() -> None:
    event = {
        "Records": [
            record("m1", envelope("a1", 1)),
            record("m2", envelope("b2", 7, "ItemDeleted", region="eu-west-1")),
        ]
    }
    result, logs = run(event)
    assert result == {"batchItemFailures": []}
    assert logs == [
        {
            "level": "INFO",
            "message": "item changed",
            "id": "a1",
            "version": 1,
            "change": "put",
            "origin_region": "us-east-1",
            "region": "us-west-2",
            "event_id": "evt-a1-1",
            "message_id": "m1",
        },
        {
            "level": "INFO",
            "message": "item changed",
            "id": "b2",
            "version": 7,
            "change": "delete",
            "origin_region": "eu-west-1",
            "region": "us-west-2",
            "event_id": "evt-b2-7",
            "message_id": "m2",
        },
    ]


def test_an_empty_batch_has_no_failures() -> None:
    assert run({"Records": []}) == ({"batchItemFailures": []}, [])


def test_the_source_is_not_checked_without_event_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENT_SOURCE")
    result, _ = run({"Records": [record("m1", envelope(source="someone.else"))]})
    assert reported(result) == []


# --------------------------------------------------------------------------- bad records


def test_a_mixed_batch_reports_exactly_the_bad_messages() -> None:
    event = {
        "Records": [
            record("good-1", envelope("a")),
            record("bad-1", "not json"),
            record("good-2", envelope("b", detail_type="ItemDeleted")),
            record("bad-2", envelope("c", version=0)),
        ]
    }
    result, logs = run(event)
    assert reported(result) == ["bad-1", "bad-2"]
    assert [line["id"] for line in logs if line["message"] == "item changed"] == ["a", "b"]
    errors = [line for line in logs if line["level"] == "ERROR"]
    assert [(line["message"], line["message_id"]) for line in errors] == [
        ("record failed", "bad-1"),
        ("record failed", "bad-2"),
    ]
    assert errors[0]["reason"] == "invalid message: body is not valid JSON"
    assert "detail.version" in errors[1]["reason"]


def test_when_process_raises_only_that_record_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[str] = []

    def process(change: Any) -> None:
        if change.id == "boom":
            raise RuntimeError("downstream refused")
        done.append(change.id)

    monkeypatch.setattr(worker, "process", process)
    event = {"Records": [record("m1", envelope("a")), record("m2", envelope("boom")), record("m3", envelope("c"))]}
    result, logs = run(event)
    assert reported(result) == ["m2"]
    assert done == ["a", "c"]
    [error] = logs
    assert (error["level"], error["message_id"]) == ("ERROR", "m2")
    assert error["reason"] == "processing failed: RuntimeError: downstream refused"
    assert "RuntimeError" in error["traceback"]


def _without(key: str) -> dict[str, Any]:
    event = envelope()
    del event[key]
    return event


_DROP = object()  # a detail member to leave out


def _detail(**changes: Any) -> dict[str, Any]:
    event = envelope()
    event["detail"] = {**event["detail"], **changes}
    for key in [k for k, v in changes.items() if v is _DROP]:
        del event["detail"][key]
    return event


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "body is not valid JSON"),
        ("", "body is not valid JSON"),
        ("[1, 2]", "body is not a JSON object"),
        (None, "body is missing or not a string"),
        (envelope(source="someone.else"), "source 'someone.else'"),
        (_without("source"), "source None"),
        (envelope(detail_type="ItemPatched"), "detail-type 'ItemPatched'"),
        (_without("detail-type"), "detail-type None"),
        (_without("detail"), "detail is not an object"),
        (envelope(detail='{"id": "a1"}'), "detail is not an object"),
        (_detail(id=_DROP), "detail.id None"),
        (_detail(id="bad id!"), "detail.id 'bad id!'"),
        (_detail(id=7), "detail.id 7"),
        (_detail(version=_DROP), "detail.version None"),
        (_detail(version=0), "detail.version 0"),
        (_detail(version=-1), "detail.version -1"),
        (_detail(version="0"), "detail.version '0'"),
        (_detail(version="03"), "detail.version '03'"),
        (_detail(version="3.0"), "detail.version '3.0'"),
        (_detail(version="-1"), "detail.version '-1'"),
        (_detail(version=" 3"), "detail.version ' 3'"),
        (_detail(version=""), "detail.version ''"),
        (_detail(version="\u0663"), "detail.version '\u0663'"),  # ARABIC-INDIC DIGIT THREE
        (_detail(version="1" * 19), "detail.version '1111111111111111111'"),
        (_detail(version=3.0), "detail.version 3.0"),
        (_detail(version=True), "detail.version True"),
        (_detail(region=_DROP), "detail.region None"),
        (_detail(region=""), "detail.region ''"),
        (_detail(region=["us-east-1"]), "detail.region ['us-east-1']"),
    ],
)
def test_an_invalid_record_is_reported_with_the_reason(body: Any, reason: str) -> None:
    raw = record("bad", "x")
    raw["body"] = body if body is None or isinstance(body, str) else json.dumps(body)
    result, logs = run({"Records": [record("good", envelope()), raw]})
    assert reported(result) == ["bad"]
    [error] = [line for line in logs if line["level"] == "ERROR"]
    assert error["message"] == "record failed"
    assert error["reason"].startswith("invalid message: ")
    assert reason in error["reason"]


def test_an_event_as_the_stream_pipe_publishes_it_is_processed() -> None:
    """The pipe's input template quotes every placeholder, so the version arrives as the stream's N,
    a string of digits; a delete's version and region are the deleted item's (its last write)."""
    put, deleted = envelope("a1", "3"), envelope("a1", "3", "ItemDeleted", region="eu-west-1")
    deleted["detail"]["updated_at"] = "2026-01-02T03:04:06.000Z"  # the pipe's ingestion time
    result, logs = run({"Records": [record("m1", put), record("m2", deleted)]})
    assert result == {"batchItemFailures": []}
    assert [(line["id"], line["change"], line["version"], line["origin_region"]) for line in logs] == [
        ("a1", "put", 3, "us-east-1"),
        ("a1", "delete", 3, "eu-west-1"),
    ]
    assert all(type(line["version"]) is int for line in logs)


def test_a_duplicated_bad_message_is_reported_once() -> None:
    result, _ = run({"Records": [record("dup", "x"), record("dup", "y")]})
    assert reported(result) == ["dup"]


# --------------------------------------------------------------------------- whole-batch retries


@pytest.mark.parametrize("event", [None, [], "Records", 42, {}, {"Records": None}, {"Records": {"0": {}}}])
def test_a_malformed_event_raises_value_error(event: Any) -> None:
    with pytest.raises(ValueError, match="not an SQS event"):
        run(event)


@pytest.mark.parametrize("broken", [{"body": "{}"}, {"messageId": "", "body": "{}"}, {"messageId": 7}, "record"])
def test_a_record_without_message_id_fails_the_whole_batch_before_any_work(
    monkeypatch: pytest.MonkeyPatch, broken: Any
) -> None:
    processed: list[Any] = []
    monkeypatch.setattr(worker, "process", processed.append)
    with pytest.raises(ValueError, match="no messageId"):
        run({"Records": [record("m1", envelope()), broken]})
    assert processed == []  # nothing is done twice when the batch comes back


# --------------------------------------------------------------------------- properties

# Short strings: no garbage can spell the expected source, so none is accidentally valid.
garbage = st.text(max_size=30) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
).map(json.dumps)
valid = st.builds(
    envelope,
    item_id=st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True),
    version=st.integers(1, 2**53) | st.integers(1, 2**53).map(str),  # as published, or through the pipe
    detail_type=st.sampled_from(["ItemPut", "ItemDeleted"]),
    region=st.sampled_from(["us-east-1", "eu-west-1"]),
).map(json.dumps)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(valid.map(lambda body: (True, body)) | garbage.map(lambda body: (False, body)), max_size=8))
def test_exactly_the_garbage_records_are_reported(batch: list[tuple[bool, str]]) -> None:
    records = [record(f"m{index}", body) for index, (_, body) in enumerate(batch)]
    garbage_ids = [f"m{index}" for index, (is_valid, _) in enumerate(batch) if not is_valid]
    result, logs = run({"Records": records})
    assert reported(result) == garbage_ids
    assert len([line for line in logs if line["level"] == "ERROR"]) == len(garbage_ids)
    assert len([line for line in logs if line["message"] == "item changed"]) == len(batch) - len(garbage_ids)


# --------------------------------------------------------------------------- packaging


@pytest.mark.parametrize(
    "item_id", ["a", "A-z_0.9", "..", "-", "x" * 64, "x" * 65, "a b", "a\n", "é", "a:b", "%41", "٣"]
)
def test_the_worker_accepts_exactly_the_ids_the_items_api_accepts(
    monkeypatch: pytest.MonkeyPatch, item_id: str
) -> None:
    """An event the API could have published is never dead-lettered for its id, and the other way round."""
    api = load_handler_module(name="lambda_src_handler_for_worker_test")
    monkeypatch.delenv("TABLE_NAME", raising=False)  # a valid id reaches the (missing) table: 503
    event = {
        "httpMethod": "GET",
        "resource": "/api/{proxy+}",
        "path": f"/api/items/{item_id}",
        "pathParameters": {"proxy": f"items/{item_id}"},
    }
    with contextlib.redirect_stdout(io.StringIO()):
        status = api.handler(event, None)["statusCode"]
    assert status in (400, 503)
    result, _ = run({"Records": [record("m1", envelope(item_id))]})
    assert (reported(result) == []) is (status == 503)


def test_both_entry_points_import_together_as_the_runtime_does() -> None:
    code = (
        "import sys; sys.path.insert(0, 'lambda_src'); import handler, worker\n"
        "assert callable(handler.handler) and callable(worker.handler)\n"
        "print(worker.handler({'Records': []}, None))\n"
    )
    result = subprocess.run(
        [sys.executable, "-B", "-c", code], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'batchItemFailures': []}"
