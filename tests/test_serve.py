"""tools/serve.py: the function behind a local imitation of the REST API (issue 6).

Real HTTP requests to servers running in this process on 127.0.0.1, port 0, in background
threads; the handler is wrapped in a spy so each test can assert the event API Gateway would
have sent. One test runs the script itself as a user does. Loopback only, bounded timeouts.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from serve_cli import serves_items_and_a_health_that_reads_the_table, start_cli, stop_cli

from tools import serve

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = ROOT / "lambda_src"
API_KEY = "local-test-key"
TIMEOUT = 5


class Spy:
    """The real handler, recording every event; ``/api/crash`` raises, ``/api/malformed`` returns
    something that is no proxy response."""

    def __init__(self) -> None:
        self.real = serve.load_handler()
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.environ: list[dict[str, str | None]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        self.environ.append({k: os.environ.get(k) for k in ("REGION", "ENVIRONMENT", "PROJECT_NAME")})
        if event["path"] == "/api/crash":
            raise RuntimeError("boom from the spy")
        if event["path"] == "/api/malformed":
            return "not a proxy response"
        return self.real(event, context)

    def last_for(self, request_id: str) -> dict[str, Any]:
        matches = [e for e in self.events if e["requestContext"]["requestId"] == request_id]
        assert len(matches) == 1, f"expected one event for {request_id}, got {len(matches)}"
        return matches[0]


class Running:
    def __init__(self, server: Any, spy: Spy, log: io.StringIO) -> None:
        self.server, self.spy, self.log = server, spy, log
        self.host, self.port = server.server_address[:2]

    def request(
        self, method: str, target: str, body: bytes | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[int, http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response, response.read()
        finally:
            conn.close()

    def json(
        self, method: str, target: str, body: bytes | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[int, dict[str, Any], http.client.HTTPResponse]:
        status, response, data = self.request(method, target, body, headers)
        return status, json.loads(data), response


def _start(**options: Any) -> Iterator[Running]:
    spy, log = Spy(), io.StringIO()
    server = serve.make_server("127.0.0.1", 0, handler=spy, log=log, **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Running(server, spy, log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def api() -> Iterator[Running]:
    yield from _start(stage="dev", region="eu-west-1", project="iac-aws-nova")


@pytest.fixture(scope="module")
def keyed_api() -> Iterator[Running]:
    yield from _start(stage="dev", region="us-east-1", project="iac-aws-nova", api_key=API_KEY)


# --------------------------------------------------------------------------- through HTTP


def test_get_api_answers_with_region_and_environment(api: Running) -> None:
    status, body, response = api.json("GET", "/dev/api")
    assert status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert (body["region"], body["environment"], body["project"]) == ("eu-west-1", "dev", "iac-aws-nova")
    # the handler quotes API Gateway's request id, which the client also gets as x-amzn-RequestId
    assert body["request_id"] == response.getheader("x-amzn-RequestId")
    event = api.spy.last_for(body["request_id"])
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/api", "/api", "GET")
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["requestContext"]["path"] == "/dev/api"
    assert api.spy.environ[api.spy.events.index(event)] == {
        "REGION": "eu-west-1",
        "ENVIRONMENT": "dev",
        "PROJECT_NAME": "iac-aws-nova",
    }
    context = api.spy.contexts[api.spy.events.index(event)]
    assert context.function_name == "iac-aws-nova-fn-eu-west-1-dev"
    assert context.aws_request_id != body["request_id"] and uuid.UUID(context.aws_request_id)
    assert context.memory_limit_in_mb == "128"
    assert 0 < context.get_remaining_time_in_millis() <= 30_000


def test_health_without_the_stage_prefix(api: Running) -> None:
    status, body, _ = api.json("GET", "/api/health")
    assert status == 200 and body["status"] == "healthy"
    event = api.spy.last_for(body["request_id"])
    assert (event["resource"], event["path"]) == ("/api/health", "/api/health")
    assert event["requestContext"]["path"] == "/dev/api/health"
    assert event["requestContext"]["resourcePath"] == "/api/health"


def test_post_echo_round_trips_a_json_body(api: Running) -> None:
    payload = {"name": "nova", "items": [1, 2.5, None, True], "nested": {"ü": "✓"}}
    raw = json.dumps(payload).encode()
    status, body, _ = api.json("POST", "/dev/api/echo", raw, [("Content-Type", "application/json")])
    assert status == 200 and body["received"] == payload
    event = api.spy.last_for(body["request_id"])
    assert event["body"] == raw.decode() and event["isBase64Encoded"] is False
    assert (event["resource"], event["pathParameters"]) == ("/api/{proxy+}", {"proxy": "echo"})


def test_binary_body_arrives_base64_over_http(api: Running) -> None:
    raw = bytes(range(256))
    status, body, _ = api.json("POST", "/dev/api/echo", raw, [("Content-Type", "application/octet-stream")])
    assert status == 400 and body["error"]["code"] == "bad_request"  # the handler wants JSON
    event = api.spy.last_for(body["request_id"])
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == raw


def test_query_strings_headers_and_path_parameters_reach_the_event(api: Running) -> None:
    before = time.time() * 1000
    status, body, response = api.json(
        "GET",
        "/dev/api/widgets/42?x=1&x=2&flag&q=a+b%2Bc",
        headers=[("X-Tag", "first"), ("X-Tag", "second"), ("x-lower", "kept"), ("User-Agent", "serve-test")],
    )
    after = time.time() * 1000
    assert status == 404 and body["error"]["code"] == "not_found"  # no such route in the handler
    event = api.spy.last_for(body["request_id"])
    assert event["resource"] == "/api/{proxy+}"
    assert event["path"] == "/api/widgets/42"
    assert event["pathParameters"] == {"proxy": "widgets/42"}
    assert event["queryStringParameters"] == {"x": "2", "flag": "", "q": "a b+c"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "flag": [""], "q": ["a b+c"]}
    assert event["headers"]["X-Tag"] == "second" and event["headers"]["x-lower"] == "kept"
    assert event["multiValueHeaders"]["X-Tag"] == ["first", "second"]
    assert event["headers"]["Host"] == f"127.0.0.1:{api.port}"
    context = event["requestContext"]
    assert context["resourcePath"] == "/api/{proxy+}" and context["httpMethod"] == "GET"
    assert context["path"] == "/dev/api/widgets/42" and context["stage"] == "dev"
    assert (context["accountId"], context["apiId"], context["protocol"]) == ("123456789012", "local", "HTTP/1.1")
    assert context["domainName"] == f"127.0.0.1:{api.port}"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "serve-test"
    assert uuid.UUID(context["requestId"]).version == 4
    assert context["requestId"] == response.getheader("x-amzn-RequestId")
    assert before - 1 <= context["requestTimeEpoch"] <= after + 1
    json.dumps(event)  # an event is plain JSON, as Lambda delivers it


@pytest.mark.parametrize(
    "method, target",
    [
        ("GET", "/foo"),
        ("GET", "/"),
        ("GET", "/dev"),
        ("GET", "/dev/apix"),
        ("POST", "/dev/foo/api"),
        ("GET", "/prod/api"),
    ],
)
def test_paths_outside_api_are_missing_authentication_token(api: Running, method: str, target: str) -> None:
    calls = len(api.spy.events)
    status, body, response = api.json(method, target, b"{}" if method == "POST" else None)
    assert status == 403 and body == {"message": "Missing Authentication Token"}
    assert response.getheader("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert len(api.spy.events) == calls  # API Gateway never invokes the function


def test_handler_exception_is_502_with_the_traceback_logged(api: Running) -> None:
    status, body, response = api.json("POST", "/dev/api/crash", b"{}")
    assert status == 502 and body == {"message": "Internal server error"}
    assert response.getheader("x-amzn-ErrorType") == "InternalServerErrorException"
    log = api.log.getvalue()
    assert "Traceback (most recent call last)" in log and "RuntimeError: boom from the spy" in log


def test_malformed_proxy_response_is_502(api: Running) -> None:
    status, body, _ = api.json("GET", "/dev/api/malformed")
    assert status == 502 and body == {"message": "Internal server error"}


def test_one_log_line_per_request(api: Running) -> None:
    api.request("GET", "/dev/api?log=1")
    assert re.search(r"^GET /dev/api\?log=1 200 \d+\.\d+ms$", api.log.getvalue(), re.MULTILINE)


def test_head_gets_headers_without_a_body(api: Running) -> None:
    status, response, data = api.request("HEAD", "/dev/api/health")
    assert status == 405 and data == b""  # the handler allows GET only; API Gateway passes HEAD on
    assert int(response.getheader("Content-Length") or 0) > 0


def test_a_preflight_needs_no_key(keyed_api: Running) -> None:
    """As API Gateway: a browser's preflight carries no x-api-key, so OPTIONS is open."""
    status, response, data = keyed_api.request("OPTIONS", "/dev/api/items/1")
    assert (status, data) == (204, b"")
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert "x-api-key" in response.getheader("Access-Control-Allow-Headers").lower()


def test_api_key_required_on_all_but_get_health_and_preflights(keyed_api: Running) -> None:
    assert keyed_api.json("GET", "/dev/api/health")[0] == 200
    assert keyed_api.json("GET", "/api/health")[0] == 200
    for method, target in (
        ("GET", "/dev/api"),
        ("POST", "/dev/api/echo"),
        ("POST", "/dev/api/health"),
        ("GET", "/dev/api/items/1"),
    ):
        calls = len(keyed_api.spy.events)
        for headers in ([], [("x-api-key", "wrong")]):
            status, body, response = keyed_api.json(method, target, b"{}" if method == "POST" else None, headers)
            assert (status, body) == (403, {"message": "Forbidden"}), (method, target, headers)
            assert response.getheader("x-amzn-ErrorType") == "ForbiddenException"
        assert len(keyed_api.spy.events) == calls
    status, body, _ = keyed_api.json("GET", "/dev/api", headers=[("X-Api-Key", API_KEY)])
    assert status == 200 and body["message"] == "Hello from iac-aws-nova"
    assert keyed_api.spy.last_for(body["request_id"])["requestContext"]["identity"]["apiKey"] == API_KEY
    status, body, _ = keyed_api.json("POST", "/dev/api/echo", b'{"k": 1}', [("x-api-key", API_KEY)])
    assert status == 200 and body["received"] == {"k": 1}
    assert keyed_api.json("GET", "/foo", headers=[("x-api-key", API_KEY)])[0] == 403


# --------------------------------------------------------------------------- pure functions


def test_event_from_request_binary_and_text_bodies() -> None:
    def event(body: bytes, content_type: str | None = None) -> dict[str, Any]:
        headers = [("Content-Type", content_type)] if content_type else []
        built: dict[str, Any] = serve.event_from_request("POST", "/dev/api/echo", headers, body)
        return built

    not_utf8 = b"\xff\xfe\x00binary"
    for e in (event(not_utf8), event(not_utf8, "application/json")):
        assert e["isBase64Encoded"] is True and base64.b64decode(e["body"]) == not_utf8
    png = event(b"valid utf-8 though", "image/png; charset=binary")
    assert png["isBase64Encoded"] is True and base64.b64decode(png["body"]) == b"valid utf-8 though"
    text = event('{"ü": 1}'.encode(), "application/json")
    assert text["isBase64Encoded"] is False and text["body"] == '{"ü": 1}'
    gzipped = serve.event_from_request("POST", "/api/echo", [("Content-Encoding", "gzip")], b"abc")
    assert gzipped["isBase64Encoded"] is True
    empty = event(b"")
    assert empty["body"] is None and empty["isBase64Encoded"] is False


def test_event_from_request_multi_value_query_strings_and_headers() -> None:
    e = serve.event_from_request(
        "get",
        "/api/a%2Fb/c%20d?tag=x&tag=y&tag=&one=1&sp=%20+",
        [("Accept", "text/plain"), ("accept", "application/json"), ("X-Multi", "1"), ("X-Multi", "2")],
        stage="prod",
        source_ip="192.0.2.7",
        request_id="fixed-id",
        request_time_ms=1712666096000,
    )
    assert e["httpMethod"] == "GET" and e["requestContext"]["httpMethod"] == "GET"
    assert e["path"] == "/api/a%2Fb/c%20d"  # REST APIs keep the path percent-encoded...
    assert e["pathParameters"] == {"proxy": "a/b/c d"}  # ...and decode path parameters
    assert e["requestContext"]["path"] == "/prod/api/a%2Fb/c%20d" and e["requestContext"]["stage"] == "prod"
    assert e["multiValueQueryStringParameters"] == {"tag": ["x", "y", ""], "one": ["1"], "sp": ["  "]}
    assert e["queryStringParameters"] == {"tag": "", "one": "1", "sp": "  "}
    # case as sent: differently cased names stay distinct keys, repeated ones collect values
    assert e["multiValueHeaders"] == {"Accept": ["text/plain"], "accept": ["application/json"], "X-Multi": ["1", "2"]}
    assert e["headers"] == {"Accept": "text/plain", "accept": "application/json", "X-Multi": "2"}
    assert e["requestContext"]["requestId"] == "fixed-id"
    assert e["requestContext"]["requestTime"] == "09/Apr/2024:12:34:56 +0000"
    assert e["requestContext"]["identity"]["sourceIp"] == "192.0.2.7"
    bare = serve.event_from_request("GET", "/api?", [])
    assert bare["queryStringParameters"] is None and bare["multiValueQueryStringParameters"] is None
    assert bare["headers"] is None and bare["multiValueHeaders"] is None


@pytest.mark.parametrize(
    "target, resource, path, proxy",
    [
        ("/dev/api", "/api", "/api", None),
        ("/api/", "/api", "/api/", None),
        ("/dev/api/health", "/api/health", "/api/health", None),
        ("/api/health/", "/api/health", "/api/health/", None),
        ("/dev/api/healthz", "/api/{proxy+}", "/api/healthz", "healthz"),
        ("/dev/api/health/deep", "/api/{proxy+}", "/api/health/deep", "health/deep"),
        ("/dev/api/dev/api", "/api/{proxy+}", "/api/dev/api", "dev/api"),
    ],
)
def test_event_from_request_matches_resources(target: str, resource: str, path: str, proxy: str | None) -> None:
    e = serve.event_from_request("GET", target, [], stage="dev")
    assert (e["resource"], e["path"], e["requestContext"]["resourcePath"]) == (resource, path, resource)
    assert e["pathParameters"] == (None if proxy is None else {"proxy": proxy})


def test_event_from_request_refuses_paths_outside_api() -> None:
    for target in ("/", "/foo", "/dev", "/apix", "/dev/apix", "/prod/api"):
        with pytest.raises(serve.MissingAuthenticationToken):
            serve.event_from_request("GET", target, [], stage="dev")


def test_response_from_result_merges_headers_and_decodes_base64() -> None:
    status, headers, body = serve.response_from_result(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png", "Set-Cookie": "ignored", "Content-Length": "999"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )
    assert status == 201 and body == b"\x89PNG"
    assert headers == [("Content-Type", "image/png"), ("set-cookie", "a=1"), ("set-cookie", "b=2")]
    for bad in (
        "text",
        {"body": "x"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
    ):
        with pytest.raises(serve.MalformedProxyResponse):
            serve.response_from_result(bad)


# --------------------------------------------------------------------------- as a user runs it


def test_cli_serves_on_a_free_port_and_stops_on_ctrl_c() -> None:
    process, lines = start_cli("--stage", "qa", "--region", "us-west-2")
    try:
        match = re.fullmatch(r"Serving iac-aws-nova \(stage qa\) on (http://127\.0\.0\.1:(\d+)/qa/api)", lines[0])
        assert match, lines
        assert int(match.group(2)) != 0
        assert lines[2:] == [
            "Items routes: off (no TABLE_NAME: they answer 503); `make serve-local` runs them on a local table",
            "Health: 200 without reading a table (no TABLE_NAME)",
        ]
        with urllib.request.urlopen(match.group(1) + "/health", timeout=TIMEOUT) as response:
            body = json.loads(response.read())
        assert response.status == 200
        assert (body["status"], body["table"], body["environment"], body["region"]) == (
            "healthy",
            "not configured",
            "qa",
            "us-west-2",
        )
        stderr = stop_cli(process)
        assert re.search(rb"^GET /qa/api/health 200 \d+\.\d+ms$", stderr, re.MULTILINE), stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=TIMEOUT)


def test_local_aws_serves_items_and_a_health_that_reads_the_table() -> None:
    """``make serve-local``: a local table (moto, in-process) for the items and health routes, as
    main() wires it to the server (as typed: tests/slow/test_serve_local.py)."""
    moto, local = serve.local_aws("iac-aws-nova", "dev", "eu-west-1")
    server = serve.make_server("127.0.0.1", 0, stage="dev", region="eu-west-1", log=io.StringIO())
    server.environ.update(local)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        table = "iac-aws-nova-items-dev"
        assert serve.routes_banner({}, local)[1:] == [
            f"Items routes: on, table {table} at {local['AWS_ENDPOINT_URL']}; no events "
            "(deployed, the table's stream sends them)",
            f"Health: reads table {table} (503 when it cannot)",
        ]
        serves_items_and_a_health_that_reads_the_table(server.url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)
        # stop() waits for the server loop's 0.5 s poll: in the background (the thread is a daemon).
        threading.Thread(target=moto.stop, daemon=True).start()


def test_the_api_key_can_come_from_an_environment_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--api-key-env``: the key stays out of the process list (``make rehearse`` passes it so)."""
    monkeypatch.setenv("LOCAL_API_KEY", "k-123")
    assert serve._arguments(["--api-key-env", "LOCAL_API_KEY"]).api_key == "k-123"
    monkeypatch.delenv("LOCAL_API_KEY")
    with pytest.raises(SystemExit) as stopped:
        serve._arguments(["--api-key-env", "LOCAL_API_KEY"])
    assert stopped.value.code == 2
    assert "--api-key-env: the environment variable LOCAL_API_KEY is not set" in capsys.readouterr().err


def test_nothing_wrote_bytecode_into_lambda_src(api: Running) -> None:
    assert not list(LAMBDA_DIR.rglob("__pycache__")) and not list(LAMBDA_DIR.rglob("*.pyc"))
