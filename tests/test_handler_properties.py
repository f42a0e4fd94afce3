"""Property tests: whatever API Gateway (or a broken caller) sends, the handler answers with a
well-formed proxy response, never raises, and never reaches its 500 last-resort branch.

Loaded from file without writing bytecode: lambda_src/ is zipped as-is for deployment.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.function_loader import load_handler_module

handler_module = load_handler_module(name="lambda_src_handler_properties")
MAX = handler_module.MAX_BODY_BYTES
KNOWN = {"/api": {"GET"}, "/api/health": {"GET"}, "/api/echo": {"POST"}}

FAST = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
LIGHT = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _no_table() -> Iterator[None]:
    """No table: the health route answers without one (tests/test_items_api.py has it read one)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TABLE_NAME", raising=False)
        yield


# --- strategies -------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)

methods = (
    st.sampled_from(
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "TRACE", "", "CONNECT", "G\x00T"]
    )
    | st.text(max_size=12)
    | junk
)
paths = (
    st.sampled_from(
        [
            "/api",
            "/api/",
            "/api/health",
            "/api/echo",
            "/api/echo/",
            "/prod/api/health",
            "//api//echo",
            "/api/nope",
            "/",
            "",
            "/prod",
            "/a/b/api/health",
        ]
    )
    | st.text(max_size=40)
    | st.text(alphabet="/apiechoth", max_size=20)
    | junk
)
resources = st.sampled_from(["/api", "/api/{proxy+}", "/{proxy+}", "/"]) | st.text(max_size=15) | junk
proxies = st.sampled_from(["health", "echo", "echo/", "", "/", "nope", "health/x"]) | st.text(max_size=15) | junk
huge_bodies = st.integers(MAX - 4, MAX + 4).map(lambda n: '{"k":"' + "x" * n + '"}') | st.just("[" * 50_000)
bodies = (
    st.none()
    | st.text(max_size=200)
    | json_values.map(json.dumps)
    | json_objects.map(json.dumps)
    | st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())
    | st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    | huge_bodies
    | junk
)
headers = st.none() | st.dictionaries(st.text(max_size=20), st.text(max_size=40) | junk, max_size=5) | junk
request_contexts = (
    st.fixed_dictionaries({}, optional={"requestId": st.text(max_size=40) | junk, "stage": junk, "identity": junk})
    | junk
)
events = (
    st.fixed_dictionaries(
        {},
        optional={
            "resource": resources,
            "path": paths,
            "httpMethod": methods,
            "headers": headers,
            "multiValueHeaders": headers,
            "queryStringParameters": headers,
            "pathParameters": st.fixed_dictionaries({}, optional={"proxy": proxies}) | junk,
            "stageVariables": junk,
            "requestContext": request_contexts,
            "body": bodies,
            "isBase64Encoded": st.booleans() | junk,
        },
    )
    | junk
)
contexts = (
    st.none()
    | st.builds(SimpleNamespace, aws_request_id=st.text(max_size=40) | junk)
    # the runtime's clock, or something in its place that answers anything at all
    | st.builds(
        SimpleNamespace, get_remaining_time_in_millis=(st.integers() | st.floats() | junk).map(lambda v: lambda: v)
    )
    | junk
)


# --- helpers ----------------------------------------------------------------------------


def _reject(token: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {token!r} in response")


def invoke(event: Any, context: Any = None) -> dict[str, Any]:
    """Call the handler, capture its log, and assert the proxy-response contract."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = handler_module.handler(event, context)
    assert isinstance(response, dict)
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    status = response["statusCode"]
    assert type(status) is int and (200 <= status < 300 or 400 <= status < 500), status
    assert isinstance(response["headers"], dict)
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in response["headers"].items())
    assert response["isBase64Encoded"] is False
    body = response["body"]
    assert isinstance(body, str)
    if status == 204:
        assert body == ""
    else:
        parsed = json.loads(body, parse_constant=_reject)
        assert isinstance(parsed, dict)
        if status >= 400:
            assert parsed["error"]["code"] in {"not_found", "method_not_allowed", "bad_request", "payload_too_large"}
    if status == 405:
        assert "Allow" in response["headers"]
    json.dumps(response)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["status"] == status
    return response


# --- properties -------------------------------------------------------------------------


@FAST
@given(event=events, context=contexts)
def test_any_event_gets_well_formed_non_5xx_response(event: Any, context: Any) -> None:
    invoke(event, context)


@FAST
@given(body=bodies, is_base64=st.booleans() | junk)
def test_echo_never_fails_on_bad_bodies(body: Any, is_base64: Any) -> None:
    event = {
        "resource": "/api/{proxy+}",
        "path": "/api/echo",
        "httpMethod": "POST",
        "pathParameters": {"proxy": "echo"},
        "body": body,
        "isBase64Encoded": is_base64,
    }
    assert invoke(event)["statusCode"] in (200, 400, 413)


@LIGHT
@given(obj=json_objects, as_base64=st.booleans())
def test_echo_round_trips_any_json_object(obj: dict[str, Any], as_base64: bool) -> None:
    text = json.dumps(obj)
    body = base64.b64encode(text.encode()).decode() if as_base64 else text
    event = {
        "resource": "/api/{proxy+}",
        "path": "/api/echo",
        "httpMethod": "POST",
        "pathParameters": {"proxy": "echo"},
        "body": body,
        "isBase64Encoded": as_base64,
    }
    response = invoke(event)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["received"] == obj


@LIGHT
@given(value=json_values.filter(lambda v: not isinstance(v, dict)))
def test_echo_rejects_every_non_object(value: Any) -> None:
    event = {"path": "/api/echo", "httpMethod": "POST", "body": json.dumps(value)}
    assert invoke(event)["statusCode"] == 400


@LIGHT
@given(route=st.sampled_from(sorted(KNOWN)), method=st.text(min_size=1, max_size=10), stage=st.booleans())
def test_known_routes_answer_by_method(route: str, method: str, stage: bool) -> None:
    event = {"path": ("/prod" if stage else "") + route, "httpMethod": method, "body": "{}"}
    status = invoke(event)["statusCode"]
    upper = method.upper()
    if upper == "OPTIONS":
        assert status == 204
    elif upper in KNOWN[route]:
        assert status == 200
    else:
        assert status == 405


@LIGHT
@given(segment=st.text(alphabet=st.characters(blacklist_characters="/"), min_size=1, max_size=15), method=methods)
def test_unknown_api_subpaths_are_404(segment: str, method: Any) -> None:
    if segment in ("health", "echo"):
        return
    event = {
        "resource": "/api/{proxy+}",
        "path": f"/api/{segment}",
        "httpMethod": method,
        "pathParameters": {"proxy": segment},
    }
    assert invoke(event)["statusCode"] == 404
