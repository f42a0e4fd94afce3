"""Example-based tests for lambda_src/handler.py using realistic API Gateway REST proxy events.

The handler is loaded straight from its file (no package, no conftest) with bytecode
writing disabled, because lambda_src/ is zipped as-is into the deployment package and
must not pick up a __pycache__ directory.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tools.function_loader import load_function, load_handler_module

LAMBDA_DIR = Path(__file__).resolve().parents[1] / "lambda_src"


loaded = load_function(name="lambda_src_handler_under_test")
handler_module = loaded.module
budget_module = loaded.siblings["budget"]
handler = handler_module.handler

REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
LAMBDA_REQUEST_ID = "3f1b2c4d-0000-4e5f-8a9b-lambda000001"


def make_event(
    method: str,
    path: str,
    body: str | None = None,
    *,
    is_base64: bool = False,
    request_id: str | None = REQUEST_ID,
    stage: str = "prod",
) -> dict[str, Any]:
    """Build a payload-1.0 proxy event shaped like the ones API Gateway REST APIs send."""
    trimmed = path.strip("/")
    if trimmed == "api":
        resource, path_parameters = "/api", None
    elif trimmed.startswith("api/"):
        resource, path_parameters = "/api/{proxy+}", {"proxy": trimmed[len("api/") :]}
    else:
        resource, path_parameters = path, None
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": "abc123xyz.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "curl/8.5.0",
        "X-Amzn-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5daa4b6f6a1c3d",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123xyz",
        "domainName": "abc123xyz.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123xyz",
        "extendedRequestId": "LgLxXGQdIAMFZ2A=",
        "httpMethod": method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "apiKey": None,
            "caller": None,
            "sourceIp": "203.0.113.10",
            "user": None,
            "userAgent": "curl/8.5.0",
            "userArn": None,
        },
        "path": f"/{stage}{path}",
        "protocol": "HTTP/1.1",
        "requestTime": "09/Apr/2024:12:34:56 +0000",
        "requestTimeEpoch": 1712666096000,
        "resourceId": "a1b2c3",
        "resourcePath": resource,
        "stage": stage,
    }
    if request_id is not None:
        request_context["requestId"] = request_id
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def make_context(aws_request_id: str | None = LAMBDA_REQUEST_ID) -> SimpleNamespace:
    return SimpleNamespace(
        aws_request_id=aws_request_id,
        function_name="hello-api",
        function_version="$LATEST",
        memory_limit_in_mb=128,
        get_remaining_time_in_millis=lambda: 3000,
    )


def _reject(token: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {token!r} in response")


def strict_json(text: str) -> Any:
    return json.loads(text, parse_constant=_reject)


def call(event: Any, context: Any = None) -> dict[str, Any]:
    response = handler(event, make_context() if context is None else context)
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert response["isBase64Encoded"] is False
    assert isinstance(response["body"], str)
    json.dumps(response)  # Lambda serialises the whole dict
    return response


def error_code(response: dict[str, Any]) -> str:
    body = strict_json(response["body"])
    assert set(body) == {"error", "request_id"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["code"]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION", "us-east-1")
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("PROJECT_NAME", "nova")
    monkeypatch.delenv("TABLE_NAME", raising=False)  # no table: health reads none (tests/test_items_api.py does)


# --- routes -----------------------------------------------------------------------------


def test_get_api_returns_greeting() -> None:
    response = call(make_event("GET", "/api"))
    assert response["statusCode"] == 200
    assert strict_json(response["body"]) == {
        "message": "Hello from nova",
        "region": "us-east-1",
        "environment": "test",
        "project": "nova",
        "request_id": REQUEST_ID,
    }


def test_get_api_tolerates_trailing_slash() -> None:
    event = make_event("GET", "/api/")
    event["resource"] = None  # force the raw-path fallback
    assert call(event)["statusCode"] == 200


def test_get_health_without_a_table_returns_healthy_not_configured() -> None:
    response = call(make_event("GET", "/api/health"))
    assert response["statusCode"] == 200
    body = strict_json(response["body"])
    assert (body["status"], body["table"]) == ("healthy", "not configured")
    assert (body["region"], body["environment"], body["project"]) == ("us-east-1", "test", "nova")
    assert body["request_id"] == REQUEST_ID


def test_health_via_proxy_with_trailing_slash() -> None:
    assert call(make_event("GET", "/api/health/"))["statusCode"] == 200


def test_post_echo_returns_received_object() -> None:
    payload = {"name": "nova", "items": [1, 2.5, None, True], "nested": {"ü": "✓"}}
    response = call(make_event("POST", "/api/echo", json.dumps(payload)))
    assert response["statusCode"] == 200
    body = strict_json(response["body"])
    assert body["received"] == payload
    assert body["message"] == "Echo from nova"
    assert (body["region"], body["environment"], body["project"]) == ("us-east-1", "test", "nova")
    assert body["request_id"] == REQUEST_ID


def test_post_echo_accepts_base64_encoded_json() -> None:
    payload = {"binary": "safe", "n": 42}
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    response = call(make_event("POST", "/api/echo", encoded, is_base64=True))
    assert response["statusCode"] == 200
    assert strict_json(response["body"])["received"] == payload


def test_method_is_case_insensitive() -> None:
    assert call(make_event("get", "/api/health"))["statusCode"] == 200


# --- 400 --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ['{"a": 1', "not json", "{'a': 1}", '{"a": 1} trailing'])
def test_echo_rejects_malformed_json(body: str) -> None:
    response = call(make_event("POST", "/api/echo", body))
    assert response["statusCode"] == 400
    assert error_code(response) == "bad_request"


@pytest.mark.parametrize("body", ["!!!not-base64!!!", "eyJhIjogMX0", "eyJh Ijog MX0=", "é"])
def test_echo_rejects_invalid_base64(body: str) -> None:
    response = call(make_event("POST", "/api/echo", body, is_base64=True))
    assert response["statusCode"] == 400
    assert "base64" in strict_json(response["body"])["error"]["message"]


def test_echo_rejects_plain_json_flagged_as_base64() -> None:
    response = call(make_event("POST", "/api/echo", '{"a": 1}', is_base64=True))
    assert response["statusCode"] == 400


def test_echo_rejects_invalid_utf8() -> None:
    encoded = base64.b64encode(b'{"a": "\xff\xfe"}').decode()
    response = call(make_event("POST", "/api/echo", encoded, is_base64=True))
    assert response["statusCode"] == 400
    assert "UTF-8" in strict_json(response["body"])["error"]["message"]


def test_echo_rejects_lone_surrogate_text() -> None:
    response = call(make_event("POST", "/api/echo", '{"a": "\ud800"}'))
    assert response["statusCode"] == 400


@pytest.mark.parametrize("body", ["[]", "[1, 2]", "1", '"text"', "null", "true"])
def test_echo_rejects_non_object_json(body: str) -> None:
    response = call(make_event("POST", "/api/echo", body))
    assert response["statusCode"] == 400
    assert "object" in strict_json(response["body"])["error"]["message"]


@pytest.mark.parametrize("body", [None, ""])
def test_echo_rejects_empty_body(body: str | None) -> None:
    response = call(make_event("POST", "/api/echo", body))
    assert response["statusCode"] == 400
    assert error_code(response) == "bad_request"


def _body_of_size(size: int) -> str:
    prefix, suffix = '{"data": "', '"}'
    return prefix + "x" * (size - len(prefix) - len(suffix)) + suffix


def test_echo_accepts_body_at_size_limit() -> None:
    body = _body_of_size(handler_module.MAX_BODY_BYTES)
    assert call(make_event("POST", "/api/echo", body))["statusCode"] == 200


def test_echo_rejects_oversized_body() -> None:
    body = _body_of_size(handler_module.MAX_BODY_BYTES + 1)
    response = call(make_event("POST", "/api/echo", body))
    # 413, as WAF answers the same body in front of the API.
    assert response["statusCode"] == 413
    error = strict_json(response["body"])["error"]
    assert error["code"] == "payload_too_large" and "exceeds" in error["message"]


def test_echo_rejects_oversized_base64_body() -> None:
    raw = _body_of_size(handler_module.MAX_BODY_BYTES + 1).encode()
    response = call(make_event("POST", "/api/echo", base64.b64encode(raw).decode(), is_base64=True))
    assert response["statusCode"] == 413


def test_echo_rejects_multibyte_body_over_limit_in_bytes() -> None:
    body = _body_of_size(handler_module.MAX_BODY_BYTES // 2 + 100).replace("x", "é")  # 2 bytes each
    assert len(body) < handler_module.MAX_BODY_BYTES
    assert call(make_event("POST", "/api/echo", body))["statusCode"] == 413


@pytest.mark.parametrize("body", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1e400}'])
def test_echo_rejects_non_finite_numbers(body: str) -> None:
    assert call(make_event("POST", "/api/echo", body))["statusCode"] == 400


def test_echo_rejects_absurd_nesting() -> None:
    # All under the body limit (a deeper one would be refused for its size first).
    for depth in (handler_module.MAX_JSON_DEPTH + 1, 5000, 30_000):
        body = '{"a": ' + "[" * depth + "]" * depth + "}"
        assert call(make_event("POST", "/api/echo", body))["statusCode"] == 400


def test_echo_accepts_reasonable_nesting() -> None:
    depth = handler_module.MAX_JSON_DEPTH - 1
    body = '{"a": ' + "[" * depth + "]" * depth + "}"
    assert call(make_event("POST", "/api/echo", body))["statusCode"] == 200


def test_echo_rejects_huge_integer() -> None:
    assert call(make_event("POST", "/api/echo", '{"a": ' + "9" * 5000 + "}"))["statusCode"] == 400


def test_echo_rejects_non_string_body() -> None:
    event = make_event("POST", "/api/echo")
    event["body"] = {"already": "parsed"}
    assert call(event)["statusCode"] == 400


# --- OPTIONS / 405 / 404 ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api", "/api/health", "/api/echo"])
def test_options_preflight_returns_204_with_cors(path: str) -> None:
    response = call(make_event("OPTIONS", path))
    assert response["statusCode"] == 204
    assert response["body"] == ""
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["headers"]["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/echo", "POST, OPTIONS"),
        ("GET", "/api/echo", "POST, OPTIONS"),
        ("POST", "/api/health", "GET, OPTIONS"),
        ("PUT", "/api", "GET, OPTIONS"),
        ("PATCH", "/api/health", "GET, OPTIONS"),
    ],
)
def test_unsupported_method_returns_405_with_allow(method: str, path: str, allow: str) -> None:
    response = call(make_event(method, path, "{}"))
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == allow
    assert error_code(response) == "method_not_allowed"


def test_head_is_method_not_allowed() -> None:
    """HEAD is answered 405 (not treated as GET) so every non-204 response carries a JSON body."""
    response = call(make_event("HEAD", "/api/health"))
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, OPTIONS"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nope"),
        ("GET", "/api/health/extra"),
        ("POST", "/api/echo/x"),
        ("GET", "/other"),
        ("GET", "/"),
        ("OPTIONS", "/api/nope"),
    ],
)
def test_unknown_route_returns_404(method: str, path: str) -> None:
    response = call(make_event(method, path))
    assert response["statusCode"] == 404
    assert error_code(response) == "not_found"
    assert strict_json(response["body"])["request_id"] == REQUEST_ID


def test_paths_are_case_sensitive() -> None:
    assert call(make_event("GET", "/api/Health"))["statusCode"] == 404


# --- stage prefix / routing fallbacks ---------------------------------------------------


def test_stage_prefixed_path_without_resource() -> None:
    event = make_event("GET", "/api/health")
    event.update(resource=None, pathParameters=None, path="/prod/api/health")
    assert call(event)["statusCode"] == 200


def test_stage_prefixed_path_with_trailing_slash() -> None:
    event = make_event("POST", "/api/echo", '{"k": "v"}')
    event.update(resource=None, pathParameters=None, path="/prod/api/echo/")
    assert call(event)["statusCode"] == 200


def test_resource_is_authoritative_over_raw_path() -> None:
    event = make_event("GET", "/api/health")
    event["path"] = "/v1/api/health"  # e.g. a custom-domain base path mapping
    assert call(event)["statusCode"] == 200


def test_proxy_resource_without_path_parameters_falls_back_to_path() -> None:
    event = make_event("GET", "/api/health")
    event["pathParameters"] = None
    assert call(event)["statusCode"] == 200


# --- env / request id / headers / logging -----------------------------------------------


def test_env_vars_reflected_and_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION", "eu-west-1")
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("PROJECT_NAME", "orion")
    body = strict_json(call(make_event("GET", "/api"))["body"])
    assert body["message"] == "Hello from orion"
    assert (body["region"], body["environment"], body["project"]) == ("eu-west-1", "prod", "orion")


def test_missing_env_vars_become_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REGION", "ENVIRONMENT", "PROJECT_NAME"):
        monkeypatch.delenv(name, raising=False)
    body = strict_json(call(make_event("GET", "/api/health"))["body"])
    assert (body["region"], body["environment"], body["project"]) == ("unknown", "unknown", "unknown")


def test_request_id_falls_back_to_lambda_context() -> None:
    event = make_event("GET", "/api/health", request_id=None)
    body = strict_json(call(event, make_context())["body"])
    assert body["request_id"] == LAMBDA_REQUEST_ID


def test_request_id_is_null_without_any_source() -> None:
    event = make_event("GET", "/api/health", request_id=None)
    assert strict_json(call(event, object())["body"])["request_id"] is None


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api", None, 200),
        ("POST", "/api/echo", "[", 400),
        ("GET", "/nope", None, 404),
        ("DELETE", "/api", None, 405),
        ("OPTIONS", "/api/echo", None, 204),
    ],
)
def test_cors_and_security_headers_on_every_response(method: str, path: str, body: str | None, status: int) -> None:
    response = call(make_event(method, path, body))
    assert response["statusCode"] == status
    headers = response["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert {"GET", "POST", "OPTIONS"} <= {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-api-key", "authorization"} <= allowed
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_logs_one_json_line_without_body(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "s3cr3t-payload-value"
    call(make_event("POST", "/api/echo", json.dumps({"password": secret})))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["method"] == "POST"
    assert record["path"] == "/api/echo"
    assert record["status"] == 200
    assert record["request_id"] == REQUEST_ID
    assert secret not in lines[0]


# --- robustness -------------------------------------------------------------------------


@pytest.mark.parametrize("event", [None, [], 42, "GET /api", {}, {"httpMethod": None, "path": 7}])
def test_malformed_events_get_404_not_an_exception(event: Any) -> None:
    response = call(event)
    assert response["statusCode"] == 404


def test_wrong_typed_nested_fields_are_tolerated() -> None:
    event = make_event("GET", "/api/health")
    event.update(requestContext=["nope"], pathParameters="health", headers=None, multiValueHeaders=3)
    response = call(event, make_context())
    assert response["statusCode"] == 200
    assert strict_json(response["body"])["request_id"] == LAMBDA_REQUEST_ID


def test_internal_bug_becomes_500_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(event: Any, info: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(handler_module.ROUTES["/api/health"], "GET", broken)
    response = call(make_event("GET", "/api/health"))
    assert response["statusCode"] == 500
    assert error_code(response) == "internal_error"
    captured = capsys.readouterr()
    assert "RuntimeError" in captured.err
    assert json.loads(captured.out.splitlines()[-1])["status"] == 500


def test_loading_handler_writes_no_bytecode_into_lambda_src(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even where the interpreter writes bytecode next to the source (the suite writes it to .cache/pycache).
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)  # as an interpreter without the suite's cache
    load_handler_module(name="lambda_src_handler_bytecode_check")
    assert sys.dont_write_bytecode is False
    assert not list(LAMBDA_DIR.rglob("__pycache__"))
    assert not list(LAMBDA_DIR.rglob("*.pyc"))


def test_each_load_is_a_cold_start_that_leaves_no_trace() -> None:
    """Fresh sibling modules on every load (no state shared between tests), none left importable."""
    path, modules = list(sys.path), set(sys.modules)
    first = load_function(name="lambda_src_handler_isolation_1")
    second = load_function(name="lambda_src_handler_isolation_2")
    assert first.siblings.keys() == second.siblings.keys() >= {"web", "routing", "items", "aws_clients"}
    assert all(first.siblings[name] is not second.siblings[name] for name in first.siblings)
    assert first.module.items is first.siblings["items"] and handler_module.items is not first.module.items
    assert sys.path == path
    assert set(sys.modules) - modules == {"lambda_src_handler_isolation_1", "lambda_src_handler_isolation_2"}


# --- the time budget --------------------------------------------------------------------


def _raises() -> int:
    raise RuntimeError("no clock")


@pytest.mark.parametrize(
    ("remaining", "seconds"),
    [
        (None, 25.0),  # no context: local runs and tests
        (lambda: 60_000, 25.0),  # a long Lambda timeout: API Gateway's 29 s is the limit
        (lambda: 26_000, 25.0),
        (lambda: 10_000, 9.0),  # 1 s before Lambda's own timeout
        (lambda: 500, -0.5),  # already too late for any call
        (lambda: 2500.5, 1.5005),
        (_raises, 25.0),
        (lambda: "3000", 25.0),
        (lambda: True, 25.0),
        (lambda: 10**400, 25.0),
        (lambda: float("nan"), 25.0),
        (3000, 25.0),  # not callable
    ],
)
def test_the_deadline_is_25_s_or_1_s_before_lambdas_timeout(remaining: Any, seconds: float) -> None:
    context = None if remaining is None else SimpleNamespace(get_remaining_time_in_millis=remaining)
    assert budget_module.deadline(context, 100.0) == pytest.approx(100.0 + seconds)


def test_the_budget_is_the_invocations_and_ends_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def route(event: Any, info: Any) -> Any:
        seen.append(budget_module.remaining())
        return handler_module.web.response(200, {})

    monkeypatch.setitem(handler_module.ROUTES["/api"], "GET", route)
    call(make_event("GET", "/api"), make_context())  # 3 s left in Lambda
    call(make_event("GET", "/api"), object())  # no clock: 25 s
    assert 1.5 < seen[0] <= 2.0 and 24.5 < seen[1] <= 25.0
    assert budget_module.remaining() == budget_module.TOTAL_SECONDS  # outside an invocation
