"""The items API and the health route of lambda_src/handler.py against a local AWS (moto in server mode).

One moto server per module, in-process on 127.0.0.1 with a free port; the handler's boto3 clients
reach it through AWS_ENDPOINT_URL, as a deployed function reaches AWS. Every test gets its own table,
with a stream as the stack's global table has, which keeps tests independent without any cleanup
between them. The AWS settings are set for this module only and restored after it.

The function publishes no events: the table's stream is what the stack's EventBridge Pipe turns into
``ItemPut`` / ``ItemDeleted``, so the tests read the stream (moto's DynamoDB Streams) and check that no
request calls EventBridge. The time budget is tested against a TCP endpoint that accepts connections
and never answers, with the timeouts shortened through the modules' constants. No sleeps.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.server import ThreadedMotoServer

from tools import serve
from tools.function_loader import load_function, load_handler_module

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda_src"
BUS = "items-bus"
REGION = "us-east-1"
TIMEOUT = 10

handler_load = load_function(name="lambda_src_handler_items")
handler_module = handler_load.module
clients_module = handler_load.siblings["aws_clients"]  # the boto3 clients of the items store and the health check
budget_module = handler_load.siblings["budget"]
health_module = handler_load.siblings["health"]
worker_module = load_handler_module(LAMBDA_DIR / "worker.py", name="lambda_src_worker_items")


# --------------------------------------------------------------------------- local AWS


@dataclass
class Aws:
    dynamodb: Any
    streams: Any
    events: Any
    sqs: Any


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    """moto on a free loopback port, and this module's environment pointing every client at it."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)  # no access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name in [n for n in os.environ if n.startswith("AWS_")]:
                mp.delenv(name)  # no real profile, endpoint or credentials of this machine
            mp.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
            mp.setenv("AWS_ACCESS_KEY_ID", "testing")
            mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            mp.setenv("AWS_DEFAULT_REGION", REGION)
            mp.setenv("AWS_CONFIG_FILE", os.devnull)
            mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
            mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
            session = boto3.session.Session()
            local = Aws(
                session.client("dynamodb"),
                session.client("dynamodbstreams"),
                session.client("events"),
                session.client("sqs"),
            )
            local.events.create_event_bus(Name=BUS)
            yield local
    finally:
        # stop() waits for the server loop's 0.5 s poll: let it finish in the background instead of
        # holding up the suite (nothing uses the server any more; the thread is a daemon).
        threading.Thread(target=server.stop, daemon=True).start()
        werkzeug.setLevel(level)


@dataclass
class Store:
    table: str
    source: str


@pytest.fixture
def store(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A fresh, empty table with a stream (new and old images, as a global table's) and this test's
    own event source; the function configured for them. EVENT_BUS_NAME and EVENT_SOURCE are set as
    the stack set them when the function published: it must ignore them now (the worker still checks
    EVENT_SOURCE)."""
    suffix = uuid.uuid4().hex[:12]
    current = Store(table=f"items-{suffix}", source=f"test.{suffix}.items")
    aws.dynamodb.create_table(
        TableName=current.table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for name, value in {
        "TABLE_NAME": current.table,
        "EVENT_BUS_NAME": BUS,
        "EVENT_SOURCE": current.source,
        "REGION": "eu-west-1",  # the function's region, as the stack sets it; not the endpoint's
        "ENVIRONMENT": "test",
        "PROJECT_NAME": "nova",
    }.items():
        monkeypatch.setenv(name, value)
    # Not deleted after the test: no other test sees it, and the server goes with the module.
    return current


@dataclass
class Queue:
    url: str
    arn: str
    sqs: Any

    def messages(self) -> list[dict[str, Any]]:
        """Every message on the queue now (moto delivers them during PutEvents)."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not batch.get("Messages"):
                return found
            found.extend(batch["Messages"])


@pytest.fixture
def queue(aws: Aws, store: Store) -> Iterator[Queue]:
    """An SQS queue that would receive this test's events if the function published any: a rule on
    the bus matching its source."""
    name = store.table
    url = aws.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps({"source": [store.source]}))
    aws.events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
    yield Queue(url, arn, aws.sqs)
    aws.events.remove_targets(Rule=name, EventBusName=BUS, Ids=["queue"])
    aws.events.delete_rule(Name=name, EventBusName=BUS)
    aws.sqs.delete_queue(QueueUrl=url)


@pytest.fixture(autouse=True)
def _no_health_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as a fresh container: no health verdict cached by an earlier one."""
    monkeypatch.setattr(health_module, "_last", None)


@pytest.fixture
def made_clients(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The service of every boto3 client made from now on: the function's cached clients are
    dropped, so it makes those it needs again, under this spy."""
    made: list[str] = []
    real = boto3.session.Session.client

    def spy(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service_name)
        return real(self, service_name, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", spy)
    monkeypatch.setattr(clients_module, "_CLIENTS", {})
    return made


@dataclass
class Silent:
    """A TCP endpoint that accepts every connection and never answers."""

    url: str
    connections: list[socket.socket]


@pytest.fixture
def silent() -> Iterator[Silent]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.02)
    found = Silent(f"http://127.0.0.1:{listener.getsockname()[1]}", [])
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                found.connections.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join(TIMEOUT)
        for connection in [*found.connections, listener]:
            connection.close()


class Context:
    """A Lambda context with this much time left (the runtime's clock runs on from here)."""

    def __init__(self, remaining_ms: int) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --------------------------------------------------------------------------- calling the function


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # the parsed JSON, or None for an empty body
    logs: list[dict[str, Any]]  # the structured lines the invocation wrote

    def errors(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.logs if line.get("level") == "ERROR" and line.get("message") == message]


def call(
    method: str, target: str, body: Any = None, headers: Sequence[tuple[str, str]] = (), context: Any = None
) -> Answer:
    """Invoke the handler with the event API Gateway sends for this request (built by tools/serve.py)."""
    raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    raw = raw.encode() if isinstance(raw, str) else raw or b""
    event = serve.event_from_request(method, f"/dev{target}", [("Content-Type", "application/json"), *headers], raw)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = handler_module.handler(event, context)
    json.dumps(response)  # Lambda serialises the whole answer
    text = response["body"]
    return Answer(
        status=response["statusCode"],
        headers=response["headers"],
        body=json.loads(text) if text else None,
        logs=[json.loads(line) for line in out.getvalue().splitlines()],
    )


def put(item_id: str, data: dict[str, Any], headers: Sequence[tuple[str, str]] = (), context: Any = None) -> Answer:
    return call("PUT", f"/api/items/{item_id}", {"data": data}, headers, context)


def message(answer: Answer) -> str:
    """The error message of an error answer (the module's uniform error body)."""
    assert set(answer.body) == {"error", "request_id"}
    return str(answer.body["error"]["message"])


def seed(aws: Aws, store: Store, ids: list[str]) -> None:
    """Items written straight into the table, as the API stores them: fast set-up for the list tests."""
    for start in range(0, len(ids), 25):  # BatchWriteItem's limit
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "id": {"S": item_id},
                        "data": {"S": json.dumps({"n": item_id})},
                        "version": {"N": "1"},
                        "updated_at": {"S": "2026-01-02T03:04:05.678Z"},
                        "updated_region": {"S": "eu-west-1"},
                    }
                }
            }
            for item_id in ids[start : start + 25]
        ]
        aws.dynamodb.batch_write_item(RequestItems={store.table: requests})


def stored(aws: Aws, store: Store, item_id: str) -> dict[str, Any] | None:
    return aws.dynamodb.get_item(TableName=store.table, Key={"id": {"S": item_id}}, ConsistentRead=True).get("Item")


ISO_MILLIS_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def stream_records(aws: Aws, store: Store) -> list[dict[str, Any]]:
    """The records on the table's stream, oldest first: what the stack's pipe reads."""
    arn = aws.dynamodb.describe_table(TableName=store.table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in aws.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = aws.streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records.extend(aws.streams.get_records(ShardIterator=iterator)["Records"])
    # moto records an UpdateItem that creates an item twice: first the bare key, then the item.
    # DynamoDB records it once; the bare key is dropped here.
    return [r for r in records if r["dynamodb"].get("NewImage", {}) != r["dynamodb"]["Keys"]]


def pipe_detail(record: dict[str, Any]) -> dict[str, Any]:
    """The detail the stack's pipe makes of a stream record, but ``environment`` (the stack's own) and
    a delete's ``updated_at`` (when the pipe read it): from the new image of a write, from the old
    image (the last version) of a delete. Its template quotes every value, so the version is the
    string of digits DynamoDB's N is."""
    image = record["dynamodb"]["OldImage" if record["eventName"] == "REMOVE" else "NewImage"]
    return {
        "id": record["dynamodb"]["Keys"]["id"]["S"],
        "version": image["version"]["N"],
        "region": image["updated_region"]["S"],
        "updated_at": image["updated_at"]["S"],
    }


# --------------------------------------------------------------------------- list


def test_list_of_an_empty_table_is_empty(store: Store) -> None:
    answer = call("GET", "/api/items")
    assert answer.status == 200
    assert answer.body == {"items": [], "next_cursor": None}


def test_list_shows_items_as_get_does(store: Store) -> None:
    created = put("a", {"k": [1, "two"]}).body
    assert call("GET", "/api/items").body == {"items": [created], "next_cursor": None}


def test_list_pages_through_every_item_with_limit_and_cursor(aws: Aws, store: Store) -> None:
    ids = [f"item-{n}" for n in range(7)]
    seed(aws, store, ids)
    seen: list[str] = []
    target = "/api/items?limit=3"
    for _ in range(10):  # bounded: a cursor that never ends is a failure, not a hang
        answer = call("GET", target)
        assert answer.status == 200
        assert len(answer.body["items"]) <= 3
        seen.extend(item["id"] for item in answer.body["items"])
        assert all(item["data"] == {"n": item["id"]} for item in answer.body["items"])
        if answer.body["next_cursor"] is None:
            break
        target = f"/api/items?limit=3&cursor={answer.body['next_cursor']}"
    assert sorted(seen) == sorted(ids)  # all of them, none twice


def test_list_uses_the_default_page_size(aws: Aws, store: Store) -> None:
    seed(aws, store, [f"i{n}" for n in range(handler_module.DEFAULT_PAGE_SIZE + 1)])
    answer = call("GET", "/api/items")
    assert len(answer.body["items"]) == handler_module.DEFAULT_PAGE_SIZE
    assert answer.body["next_cursor"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "+5", "5.0", "abc", "", "1e2", "%D9%A3", "0005"])
def test_list_rejects_a_limit_outside_1_to_100(store: Store, limit: str) -> None:
    answer = call("GET", f"/api/items?limit={limit}")
    assert answer.status == 400
    assert "limit" in message(answer)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "abcde",  # not base64 (length 1 mod 4)
        _b64("not json"),
        _b64("[]"),
        _b64('{"id": {"S": "bad id!"}}'),
        _b64('{"id": {"N": "1"}}'),
        _b64('{"id": {"S": "a"}, "other": {"S": "b"}}'),
        _b64('{"id": {"S": "a", "N": "1"}}'),
        _b64('{"pk": {"S": "a"}}'),
        "A" * 600,
    ],
)
def test_list_rejects_a_cursor_it_did_not_issue(store: Store, cursor: str) -> None:
    answer = call("GET", f"/api/items?cursor={cursor}")
    assert answer.status == 400
    assert "cursor" in message(answer)


def test_list_accepts_a_cursor_with_padding(store: Store) -> None:
    padded = base64.urlsafe_b64encode(b'{"id":{"S":"a"}}').decode()
    assert padded.endswith("=")
    assert call("GET", f"/api/items?cursor={padded.replace('=', '%3D')}").status == 200


# --------------------------------------------------------------------------- get / put


def test_get_of_a_missing_item_is_404(store: Store) -> None:
    answer = call("GET", "/api/items/nobody")
    assert answer.status == 404
    assert answer.body["error"]["code"] == "not_found"


def test_put_creates_an_item_with_201_etag_and_typed_attributes(aws: Aws, store: Store) -> None:
    data = {"b": [1, 2.5, None, True], "a": {"ü": "✓"}}
    answer = put("first.item_1-x", data)
    assert answer.status == 201
    assert answer.headers["ETag"] == '"1"'
    assert answer.body["data"] == data
    assert (answer.body["id"], answer.body["version"], answer.body["updated_region"]) == (
        "first.item_1-x",
        1,
        "eu-west-1",
    )
    assert ISO_MILLIS_Z.fullmatch(answer.body["updated_at"])
    assert stored(aws, store, "first.item_1-x") == {
        "id": {"S": "first.item_1-x"},
        "data": {"S": json.dumps(data, sort_keys=True, separators=(",", ":"))},
        "version": {"N": "1"},
        "updated_at": {"S": answer.body["updated_at"]},
        "updated_region": {"S": "eu-west-1"},
    }


def test_get_returns_the_item_with_its_etag(store: Store) -> None:
    created = put("a", {"k": "v"}).body
    answer = call("GET", "/api/items/a")
    assert answer.status == 200
    assert answer.body == created
    assert answer.headers["ETag"] == '"1"'


def test_put_of_an_existing_item_replaces_it_as_version_2(store: Store) -> None:
    put("a", {"old": True, "gone": 1})
    answer = put("a", {"new": True})
    assert answer.status == 200
    assert (answer.body["version"], answer.body["data"], answer.headers["ETag"]) == (2, {"new": True}, '"2"')
    assert call("GET", "/api/items/a").body["data"] == {"new": True}


@pytest.mark.parametrize(("name", "value"), [("If-Match", '"1"'), ("if-match", "1"), ("IF-MATCH", ' "1" ')])
def test_if_match_with_the_current_version_writes(store: Store, name: str, value: str) -> None:
    put("a", {"v": 1})
    answer = put("a", {"v": 2}, [(name, value)])
    assert answer.status == 200
    assert answer.body["version"] == 2


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(store: Store) -> None:
    put("a", {"v": 1})
    put("a", {"v": 2})
    answer = put("a", {"v": "lost update"}, [("If-Match", '"1"')])
    assert answer.status == 412
    assert answer.body["error"]["code"] == "precondition_failed"
    assert answer.headers["ETag"] == '"2"'  # what to re-read and retry with
    assert call("GET", "/api/items/a").body["data"] == {"v": 2}


def test_if_match_on_a_missing_item_is_412_and_creates_nothing(store: Store) -> None:
    answer = put("ghost", {"v": 1}, [("If-Match", '"1"')])
    assert answer.status == 412
    assert call("GET", "/api/items/ghost").status == 404


def test_if_match_star_requires_an_existing_item(store: Store) -> None:
    assert put("a", {}, [("If-Match", "*")]).status == 412
    put("a", {})
    assert put("a", {}, [("If-Match", "*")]).status == 200


def test_if_match_is_read_from_multi_value_headers(store: Store) -> None:
    put("a", {})
    put("a", {})
    event = serve.event_from_request("PUT", "/dev/api/items/a", [("If-Match", '"1"')], b'{"data": {}}')
    event["headers"] = None  # only multiValueHeaders carries it
    with contextlib.redirect_stdout(io.StringIO()):
        assert handler_module.handler(event, None)["statusCode"] == 412


@pytest.mark.parametrize("value", ['W/"1"', 'w/"1"', '"1", "2"', '"abc"', '"0"', "01", '"1', "", "1.0", '"\u0661"'])
def test_if_match_rejects_what_is_not_one_strong_version_tag(store: Store, value: str) -> None:
    put("a", {})
    answer = put("a", {}, [("If-Match", value)])
    assert answer.status == 400
    assert "If-Match" in message(answer)


def test_conflicting_if_match_headers_are_400(store: Store) -> None:
    put("a", {})
    assert put("a", {}, [("If-Match", '"1"'), ("if-match", '"2"')]).status == 400


def test_if_none_match_star_creates_only_once(store: Store) -> None:
    assert put("a", {"v": 1}, [("If-None-Match", "*")]).status == 201
    answer = put("a", {"v": 2}, [("If-None-Match", "*")])
    assert answer.status == 412
    assert call("GET", "/api/items/a").body["data"] == {"v": 1}


@pytest.mark.parametrize(
    "headers", [[("If-None-Match", '"1"')], [("If-None-Match", "*"), ("If-Match", '"1"')]], ids=["tag", "both"]
)
def test_unsupported_conditional_headers_on_put_are_400(store: Store, headers: list[tuple[str, str]]) -> None:
    answer = put("a", {}, headers)
    assert answer.status == 400
    assert "If-" in message(answer)


@pytest.mark.parametrize("item_id", ["x" * 65, "a%20b", "%C3%BC", "a:b", "a*", "a%2Cb", "%00"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_invalid_id_is_400_naming_the_rule(store: Store, method: str, item_id: str) -> None:
    answer = call(method, f"/api/items/{item_id}", {"data": {}})
    assert answer.status == 400
    assert handler_module.ID_RULE in message(answer)


def test_an_id_of_64_characters_is_valid(store: Store) -> None:
    assert put("x" * 64, {}).status == 201


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_paths_below_an_item_are_404(store: Store, method: str) -> None:
    answer = call(method, "/api/items/a/anything", {"data": {}})
    assert answer.status == 404
    assert answer.body["error"]["code"] == "not_found"


def test_items_routes_keep_the_router_behaviour(store: Store) -> None:
    assert call("OPTIONS", "/api/items/a").status == 204
    assert "PUT" in call("OPTIONS", "/api/items").headers["Access-Control-Allow-Methods"]
    head = call("HEAD", "/api/items/a")
    assert (head.status, head.headers["Allow"]) == (405, "GET, PUT, DELETE, OPTIONS")
    post = call("POST", "/api/items", {"data": {}})
    assert (post.status, post.headers["Allow"]) == (405, "GET, OPTIONS")


def _data_of_size(size: int) -> dict[str, str]:
    """A ``data`` object whose canonical JSON is exactly ``size`` bytes."""
    return {"k": "x" * (size - len('{"k":""}'))}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("", "required"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ('{"data": {}, "extra": 1}', 'unexpected: "extra"'),
        ('{"value": {}}', '"data" is missing'),
        ("{}", '"data" is missing'),
        ('{"data": [1]}', '"data" must be a JSON object, not an array'),
        ('{"data": "x"}', '"data" must be a JSON object, not a string'),
        ('{"data": null}', '"data" must be a JSON object, not null'),
        ('{"data": 1.5}', '"data" must be a JSON object, not a number'),
        ('{"data": {"a": NaN}}', "Non-finite"),
        (json.dumps({"data": _data_of_size(handler_module.MAX_ITEM_DATA_BYTES + 1)}), "the limit is 32768"),
    ],
)
def test_put_rejects_a_bad_body_with_the_reason(store: Store, body: str, reason: str) -> None:
    answer = call("PUT", "/api/items/a", body)
    assert answer.status == 400
    assert reason in message(answer)
    assert call("GET", "/api/items/a").status == 404


def test_put_accepts_data_at_the_size_limit(store: Store) -> None:
    data = _data_of_size(handler_module.MAX_ITEM_DATA_BYTES)
    assert len(json.dumps(data, sort_keys=True, separators=(",", ":"))) == handler_module.MAX_ITEM_DATA_BYTES
    assert put("a", data).status == 201


def test_put_counts_the_size_of_non_ascii_data_as_stored(store: Store) -> None:
    # Stored as ASCII JSON: each "é" becomes the 6 bytes \u00e9.
    data = {"k": "é" * (handler_module.MAX_ITEM_DATA_BYTES // 6)}
    answer = put("a", data)
    assert answer.status == 400
    assert "the limit is 32768" in message(answer)


# --------------------------------------------------------------------------- delete


def test_delete_is_204_and_then_404(aws: Aws, store: Store) -> None:
    put("a", {})
    answer = call("DELETE", "/api/items/a")
    assert (answer.status, answer.body) == (204, None)
    assert stored(aws, store, "a") is None
    assert call("DELETE", "/api/items/a").status == 404
    assert call("GET", "/api/items/a").status == 404


def test_delete_with_a_stale_if_match_is_412_and_keeps_the_item(store: Store) -> None:
    put("a", {})
    put("a", {})
    answer = call("DELETE", "/api/items/a", headers=[("If-Match", '"1"')])
    assert answer.status == 412
    assert answer.headers["ETag"] == '"2"'
    assert call("GET", "/api/items/a").status == 200


def test_delete_with_the_current_if_match_deletes(store: Store) -> None:
    put("a", {})
    assert call("DELETE", "/api/items/a", headers=[("If-Match", '"1"')]).status == 204
    assert call("GET", "/api/items/a").status == 404


def test_delete_of_a_missing_item_with_if_match_is_404(store: Store) -> None:
    assert call("DELETE", "/api/items/a", headers=[("If-Match", '"1"')]).status == 404


def test_delete_rejects_if_none_match(store: Store) -> None:
    put("a", {})
    assert call("DELETE", "/api/items/a", headers=[("If-None-Match", "*")]).status == 400


def test_an_item_deleted_and_written_again_is_created_anew(store: Store) -> None:
    put("a", {})
    put("a", {})
    call("DELETE", "/api/items/a")
    answer = put("a", {})
    assert (answer.status, answer.body["version"]) == (201, 1)


# --------------------------------------------------------------------------- events: the stream, not the request


def test_no_request_calls_eventbridge(store: Store, queue: Queue, made_clients: list[str]) -> None:
    assert put("a", {"x": 1}).status == 201
    assert put("a", {"x": 2}).status == 200
    assert call("DELETE", "/api/items/a").status == 204
    assert call("GET", "/api/items").status == 200
    assert call("GET", "/api/health").status == 200
    assert set(made_clients) == {"dynamodb"}  # no events client is even made
    assert queue.messages() == []  # and nothing reached the bus the stack used to name
    assert not hasattr(handler_module, "EVENT_NOT_PUBLISHED")


def test_every_write_stores_what_the_pipe_publishes(aws: Aws, store: Store) -> None:
    """id, version (a number), updated_at and updated_region, in the item itself, on every write."""
    created = put("a", {"x": 1}).body
    updated = put("a", {"x": 2}, [("If-Match", '"1"')]).body
    assert updated["updated_at"] >= created["updated_at"]
    item = stored(aws, store, "a")
    assert item is not None
    assert {name: item[name] for name in ("id", "version", "updated_at", "updated_region")} == {
        "id": {"S": "a"},
        "version": {"N": "2"},
        "updated_at": {"S": updated["updated_at"]},
        "updated_region": {"S": "eu-west-1"},
    }


def test_the_stream_carries_each_write_and_a_delete_its_last_version(aws: Aws, store: Store) -> None:
    created = put("a", {"x": 1}).body
    updated = put("a", {"x": 2}).body
    assert call("DELETE", "/api/items/a").status == 204
    records = stream_records(aws, store)
    assert [(r["eventName"], pipe_detail(r)) for r in records] == [
        ("INSERT", {"id": "a", "version": "1", "region": "eu-west-1", "updated_at": created["updated_at"]}),
        ("MODIFY", {"id": "a", "version": "2", "region": "eu-west-1", "updated_at": updated["updated_at"]}),
        # The old image: the version that was deleted, and when and where it was written.
        ("REMOVE", {"id": "a", "version": "2", "region": "eu-west-1", "updated_at": updated["updated_at"]}),
    ]
    assert ISO_MILLIS_Z.fullmatch(created["updated_at"])


def test_rejected_writes_leave_nothing_on_the_stream(aws: Aws, store: Store) -> None:
    put("a", {})
    before = stream_records(aws, store)
    assert put("a", {}, [("If-Match", '"7"')]).status == 412
    assert put("a", {}, [("If-None-Match", "*")]).status == 412
    assert call("PUT", "/api/items/a", "[]").status == 400
    assert call("DELETE", "/api/items/a", headers=[("If-Match", '"7"')]).status == 412
    assert call("DELETE", "/api/items/missing").status == 404
    assert stream_records(aws, store) == before


def test_a_write_without_region_stores_the_region_lambda_runs_in(
    aws: Aws, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipe tells this region's writes by updated_region: never "unknown" in Lambda."""
    monkeypatch.delenv("REGION")
    monkeypatch.setenv("AWS_REGION", REGION)  # Lambda always sets it
    assert put("a", {}).body["updated_region"] == REGION
    assert stored(aws, store, "a")["updated_region"] == {"S": REGION}  # type: ignore[index]


def test_the_worker_accepts_the_events_the_pipe_makes_of_the_stream(aws: Aws, store: Store) -> None:
    put("a", {})
    call("DELETE", "/api/items/a")
    records = [
        {
            "messageId": f"m{n}",
            "receiptHandle": f"r{n}",
            "body": json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "source": store.source,
                    "detail-type": "ItemDeleted" if record["eventName"] == "REMOVE" else "ItemPut",
                    "detail": {**pipe_detail(record), "environment": "test"},
                }
            ),
            "eventSource": "aws:sqs",
            "awsRegion": REGION,
        }
        for n, record in enumerate(stream_records(aws, store))
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = worker_module.handler({"Records": records}, None)
    assert result == {"batchItemFailures": []}
    audit = [line for line in map(json.loads, out.getvalue().splitlines()) if "_aws" not in line]  # no EMF
    assert [(line["message"], line["id"], line["change"], line["version"]) for line in audit] == [
        ("item changed", "a", "put", 1),
        ("item changed", "a", "delete", 1),
    ]


# --------------------------------------------------------------------------- health


class _Recording:
    """A DynamoDB client that records the health check's reads and passes them on."""

    def __init__(self, real: Any) -> None:
        self.real, self.reads = real, []

    def get_item(self, **params: Any) -> Any:
        self.reads.append(params)
        return self.real.get_item(**params)


@pytest.fixture
def health_reads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every read the health check makes from now on."""
    recording = _Recording(clients_module.health_dynamodb())
    monkeypatch.setattr(clients_module, "health_dynamodb", lambda: recording)
    return recording.reads


def test_health_reads_this_regions_table_and_needs_no_item(
    aws: Aws, store: Store, health_reads: list[dict[str, Any]]
) -> None:
    answer = call("GET", "/api/health")
    assert (answer.status, answer.body["status"], answer.body["table"]) == (200, "healthy", "reachable")
    assert (answer.body["region"], answer.body["environment"]) == ("eu-west-1", "test")
    assert stored(aws, store, health_module.SENTINEL_ID) is None  # nothing needs to exist
    [read] = health_reads
    assert read["TableName"] == store.table
    assert read["Key"] == {"id": {"S": "__health__"}}
    assert read["ConsistentRead"] is False  # this region's replica as it is


def test_health_needs_no_headers_or_body(store: Store) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        response = handler_module.handler({"httpMethod": "GET", "path": "/api/health"}, None)
    assert response["statusCode"] == 200


def test_the_health_client_makes_one_attempt_with_one_second_timeouts(store: Store) -> None:
    config = clients_module.health_dynamodb().meta.config
    assert (config.connect_timeout, config.read_timeout) == (1, 1)
    assert config.retries["total_max_attempts"] == 1


def test_health_is_503_when_the_table_refuses_the_read(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    answer = call("GET", "/api/health")
    assert answer.status == 503
    assert answer.body["status"] == "unhealthy"
    assert answer.body["reason"] == "the items table refused the read (ResourceNotFoundException)"
    [line] = answer.errors("health check failed")
    assert (line["error_code"], line["table"]) == ("ResourceNotFoundException", "no-such-table")


def test_health_is_503_within_route_53s_2_seconds_when_the_table_never_answers(
    store: Store, silent: Silent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One attempt, within its timeouts: 1 s to connect and 1 s to read as deployed (the test
    above), within Route 53's 2 seconds; shortened here through the module's constants."""
    deployed = clients_module.HEALTH_CONNECT_TIMEOUT_SECONDS + clients_module.HEALTH_READ_TIMEOUT_SECONDS
    assert deployed <= 2
    monkeypatch.setattr(clients_module, "HEALTH_CONNECT_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(clients_module, "HEALTH_READ_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
    started = time.monotonic()
    answer = call("GET", "/api/health")
    elapsed = time.monotonic() - started
    assert elapsed < 2
    assert (answer.status, answer.body["status"]) == (503, "unhealthy")
    assert answer.body["reason"] == "the items table did not answer in time (ReadTimeoutError)"
    assert len(silent.connections) == 1  # one attempt: no retry


@pytest.mark.parametrize("healthy", [True, False], ids=["healthy", "unhealthy"])
def test_a_verdict_is_kept_for_5_seconds(
    store: Store, monkeypatch: pytest.MonkeyPatch, health_reads: list[dict[str, Any]], healthy: bool
) -> None:
    if not healthy:
        monkeypatch.setenv("TABLE_NAME", "no-such-table")
    now = [1000.0]
    monkeypatch.setattr(health_module, "clock", lambda: now[0])
    answers = [call("GET", "/api/health") for _ in range(3)]
    now[0] += 4.9
    answers.append(call("GET", "/api/health"))
    assert len(health_reads) == 1  # a burst of checks costs one read
    assert {answer.status for answer in answers} == {200 if healthy else 503}
    assert sum(len(answer.errors("health check failed")) for answer in answers) == (0 if healthy else 1)
    now[0] += 0.2
    assert call("GET", "/api/health").status == (200 if healthy else 503)
    assert len(health_reads) == 2


def test_a_verdict_is_for_its_table_only(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert call("GET", "/api/health").status == 200
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    assert call("GET", "/api/health").status == 503


def test_without_a_table_health_is_200_not_configured_and_reads_nothing(
    monkeypatch: pytest.MonkeyPatch, health_reads: list[dict[str, Any]]
) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    answer = call("GET", "/api/health")
    assert (answer.status, answer.body["status"], answer.body["table"]) == (200, "healthy", "not configured")
    assert health_reads == []


def test_the_health_route_never_raises(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> Any:
        raise RuntimeError("a bug in the health check")

    monkeypatch.setattr(clients_module, "health_dynamodb", broken)
    answer = call("GET", "/api/health")
    assert answer.status == 503  # not the last resort's 500: Route 53 sees an unhealthy region
    assert answer.body["reason"] == "the health check failed unexpectedly"
    assert "RuntimeError: a bug in the health check" in capsys.readouterr().err


# --------------------------------------------------------------------------- the time budget


def test_the_items_client_fits_the_budget(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    config = clients_module.dynamodb(2).meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (2, 4, 2)
    # Two attempts and the backoff between them fit the 25 s budget, with room to answer.
    assert clients_module.worst_case_seconds(2) == 13 < budget_module.TOTAL_SECONDS
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")  # can lower the attempts, never raise them
    assert clients_module.max_attempts() == 2
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert clients_module.max_attempts() == 1


@pytest.mark.parametrize(("budget_seconds", "attempts"), [(1.25, 1), (2.3, 2)])
def test_a_table_that_never_answers_is_503_within_the_budget(
    store: Store, silent: Silent, monkeypatch: pytest.MonkeyPatch, budget_seconds: float, attempts: int
) -> None:
    # One attempt's worst case 0.15 s; two attempts' 1.3 s (0.15 + at most 1 s of backoff + 0.15).
    monkeypatch.setattr(clients_module, "CONNECT_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(clients_module, "READ_TIMEOUT_SECONDS", 0.1)
    monkeypatch.setattr(budget_module, "TOTAL_SECONDS", budget_seconds)
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
    started = time.monotonic()
    answer = call("GET", "/api/items/x")
    elapsed = time.monotonic() - started
    assert elapsed < budget_seconds
    assert (answer.status, answer.headers.get("Retry-After")) == (503, "1")
    assert answer.body["error"]["message"] == "The items store cannot be reached; retry shortly"
    [line] = answer.errors("dependency call failed")
    assert (line["error_code"], line["retryable"]) == ("ReadTimeoutError", True)
    assert len(silent.connections) == attempts  # as many as fit the budget


@pytest.mark.parametrize(
    ("remaining_ms", "attempts"),
    [(None, 2), (60_000, 2), (14_500, 2), (13_500, 1), (7_500, 1), (6_500, 0), (0, 0)],
)
def test_the_attempts_are_what_the_lambda_time_left_allows(
    store: Store, monkeypatch: pytest.MonkeyPatch, remaining_ms: int | None, attempts: int
) -> None:
    """The deadline is 25 s, or 1 s before Lambda's timeout if that is sooner; an attempt's worst case
    is 6 s, two attempts' 13 s; with less than 6 s left no call is made at all."""
    asked: list[int] = []
    real = clients_module.dynamodb
    monkeypatch.setattr(clients_module, "dynamodb", lambda n: asked.append(n) or real(n))
    answer = call("GET", "/api/items/x", context=None if remaining_ms is None else Context(remaining_ms))
    assert asked == ([attempts] if attempts else [])
    if attempts:
        assert answer.status == 404
    else:
        assert (answer.status, answer.headers.get("Retry-After")) == (503, "1")
        assert answer.body["error"]["message"] == "Too little time is left to reach the items store; retry shortly"
        [line] = answer.errors("dependency call failed")
        assert (line["error_code"], line["operation"]) == ("DeadlineTooClose", "get_item")


def test_with_too_little_time_left_no_connection_is_even_opened(
    store: Store, silent: Silent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
    started = time.monotonic()
    answer = put("a", {}, context=Context(3_000))
    assert time.monotonic() - started < 1
    assert answer.status == 503
    assert silent.connections == []


# --------------------------------------------------------------------------- dependencies


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/api/items"), ("GET", "/api/items/a"), ("PUT", "/api/items/a"), ("DELETE", "/api/items/a")],
)
def test_without_a_table_the_items_routes_are_503(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, method: str, target: str
) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    answer = call(method, target, {"data": {}})
    assert answer.status == 503
    assert answer.body["error"] == {
        "code": "service_unavailable",
        "message": "items store is not configured (TABLE_NAME)",
    }


def test_a_missing_table_is_503_and_logged_with_the_error_code(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    answer = put("a", {})
    assert answer.status == 503
    assert "Retry-After" not in answer.headers  # retrying soon will not help
    [line] = answer.errors("dependency call failed")
    assert (line["error_code"], line["operation"], line["table"]) == (
        "ResourceNotFoundException",
        "update_item",
        "no-such-table",
    )
    assert "Traceback" not in capsys.readouterr().err


class _Refusing:
    """A DynamoDB client whose every call fails with one AWS error code."""

    def __init__(self, code: str, status: int = 400) -> None:
        self.code, self.status = code, status

    def __getattr__(self, operation: str) -> Any:
        def fail(**params: Any) -> Any:
            error = {
                "Error": {"Code": self.code, "Message": "refused"},
                "ResponseMetadata": {"HTTPStatusCode": self.status},
            }
            raise ClientError(error, operation)

        return fail


@pytest.mark.parametrize(
    ("code", "status", "retry_after", "message"),
    [
        ("ProvisionedThroughputExceededException", 400, True, "The items store is busy; retry shortly"),
        ("ThrottlingException", 400, True, "The items store is busy; retry shortly"),
        ("InternalServerError", 500, True, "The items store is unavailable; retry shortly"),
        ("AccessDeniedException", 400, False, "The items store is unavailable"),
    ],
)
def test_aws_errors_are_503_with_retry_after_only_when_a_retry_can_help(
    store: Store, monkeypatch: pytest.MonkeyPatch, code: str, status: int, retry_after: bool, message: str
) -> None:
    monkeypatch.setattr(clients_module, "dynamodb", lambda attempts: _Refusing(code, status))
    answer = call("GET", "/api/items/a")
    assert answer.status == 503
    assert answer.body["error"] == {"code": "service_unavailable", "message": message}
    assert ("Retry-After" in answer.headers) is retry_after
    [line] = answer.errors("dependency call failed")
    assert (line["error_code"], line["retryable"]) == (code, retry_after)


def test_an_unreachable_store_is_503_with_retry_after(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retries with backoff in a test
    monkeypatch.setattr(clients_module, "_CLIENTS", {})
    answer = call("GET", "/api/items/a")
    assert (answer.status, answer.headers.get("Retry-After")) == (503, "1")
    # Not "busy": nothing answered at all.
    assert answer.body["error"]["message"] == "The items store cannot be reached; retry shortly"
    assert answer.errors("dependency call failed")[0]["error_code"] == "EndpointConnectionError"


# --------------------------------------------------------------------------- any input


header_names = st.sampled_from(["If-Match", "if-match", "IF-MATCH", "If-None-Match", "if-none-match", "X-Other"])
header_values = st.sampled_from(['"1"', "1", "*", 'W/"1"', '"1", "2"', "", '"99999999999999999999"']) | st.text(
    max_size=12
)
ids = st.sampled_from(["a", "x" * 64, "x" * 65, "a b", "a/b", "..", "-"]) | st.text(max_size=70)
bodies = (
    st.none()
    | st.text(max_size=40)
    | st.sampled_from(['{"data": {}}', '{"data": []}', '{"data": {}, "x": 1}', "[]", '{"data": {"a": NaN}}'])
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=8,
    ).map(lambda value: json.dumps({"data": value}))
)
queries = st.none() | st.dictionaries(st.sampled_from(["limit", "cursor", "other"]), st.text(max_size=30), max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "PUT", "DELETE"]),
    item_id=ids | st.none(),
    body=bodies,
    headers=st.lists(st.tuples(header_names, header_values), max_size=3),
    query=queries,
)
def test_no_request_reaches_the_500_branch(
    method: str, item_id: str | None, body: str | None, headers: list[tuple[str, str]], query: Any
) -> None:
    """Without a table every request is judged on its own: 4xx when it is bad, else the 503 of the
    missing store, never the last-resort 500 (or a traceback)."""
    proxy = "items" if item_id is None else f"items/{item_id}"
    event = {
        "resource": "/api/{proxy+}",
        "path": f"/api/{proxy}",
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {name: [value for n, value in headers if n == name] for name, _ in headers},
        "queryStringParameters": query,
        "pathParameters": {"proxy": proxy},
        "body": body,
    }
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()):
        mp.delenv("TABLE_NAME", raising=False)
        response = handler_module.handler(event, None)
    status = response["statusCode"]
    assert status in (400, 404, 405, 503), response
    if status != 503:
        assert json.loads(response["body"])["error"]["code"] in ("bad_request", "not_found", "method_not_allowed")


# --------------------------------------------------------------------------- as deployed, as served


def test_other_routes_and_the_import_never_load_boto3() -> None:
    code = (
        "import sys; sys.path.insert(0, 'lambda_src'); import handler, worker\n"
        "handler.handler({'httpMethod': 'GET', 'path': '/api/health'}, None)\n"
        "handler.handler({'httpMethod': 'POST', 'path': '/api/echo', 'body': '{}'}, None)\n"
        "assert not {'boto3', 'botocore'} & set(sys.modules), sorted(sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TABLE_NAME"}
    result = subprocess.run(
        [sys.executable, "-B", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr


def test_the_local_server_serves_items_from_the_local_aws(store: Store) -> None:
    server = serve.make_server("127.0.0.1", 0, region=REGION, log=io.StringIO())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:

        def request(method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
            conn = http.client.HTTPConnection(*server.server_address[:2], timeout=TIMEOUT)
            try:
                conn.request(method, f"/dev{path}", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                return response.status, json.loads(response.read())
            finally:
                conn.close()

        with contextlib.redirect_stdout(io.StringIO()):
            assert request("PUT", "/api/items/served", b'{"data": {"a": 1}}')[0] == 201
            status, body = request("GET", "/api/items/served")
            health = request("GET", "/api/health")
        assert (status, body["data"], body["updated_region"]) == (200, {"a": 1}, REGION)
        assert (health[0], health[1]["status"], health[1]["table"]) == (200, "healthy", "reachable")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)
