"""AWS Lambda handler behind an API Gateway REST API (Lambda proxy integration, payload 1.0).

Routes (resources ``/api`` and ``/api/{proxy+}``, method ANY):

* ``GET  /api``         -> 200 greeting with region / environment / project
* ``GET  /api/health``  -> 200 health status (used by health checks / failover probes)
* ``POST /api/echo``    -> 200 echoes a JSON object body back
* ``OPTIONS`` on a known route -> 204 CORS preflight
* known route, other method    -> 405 with an ``Allow`` header (HEAD included)
* anything else                -> 404

The event is untrusted input: any key may be missing or of the wrong type.  Every
malformed event is answered with a 4xx proxy response; only a genuine bug in this
module reaches the last-resort handler that answers 500.  Standard library only,
so the directory can be zipped as-is into the deployment package.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any

MAX_BODY_BYTES = 256 * 1024  # well under API Gateway's 10 MB cap; echo is not a file upload
MAX_JSON_DEPTH = 64  # bounds recursion in json.dumps regardless of the interpreter's limit
ALLOWED_HEADERS = "Content-Type, Authorization, X-Api-Key, X-Amz-Date, X-Amz-Security-Token"

Response = dict[str, Any]


class BadRequest(Exception):
    """Raised while parsing client input; turned into a 400 by the router."""


def _config() -> dict[str, str]:
    """Read configuration at call time so tests and redeploys never see stale values."""
    return {
        field: os.environ.get(variable) or "unknown"
        for field, variable in (("region", "REGION"), ("environment", "ENVIRONMENT"), ("project", "PROJECT_NAME"))
    }


def _as_dict(value: Any) -> Mapping[str, Any]:
    """Treat anything that is not a dict as empty, so lookups never raise."""
    return value if isinstance(value, dict) else {}


def _request_id(event: Mapping[str, Any], context: Any) -> str | None:
    """Prefer API Gateway's request id (what clients see), else the Lambda one."""
    for candidate in (
        _as_dict(event.get("requestContext")).get("requestId"),
        getattr(context, "aws_request_id", None),
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _route(event: Mapping[str, Any]) -> str | None:
    """Return the normalised route ("/api", "/api/health", ...) or None if not under /api.

    The matched ``resource`` plus the ``proxy`` path parameter is authoritative; the raw
    ``path`` is the fallback and may carry a stage or base-path prefix ("/prod/api/...").
    Empty segments are dropped, so trailing or doubled slashes are tolerated.
    """
    resource, path = event.get("resource"), event.get("path")
    proxy = _as_dict(event.get("pathParameters")).get("proxy")
    if resource == "/api":
        rest: list[str] | None = []
    elif resource == "/api/{proxy+}" and isinstance(proxy, str):
        rest = [s for s in proxy.split("/") if s]
    elif isinstance(path, str):
        segments = [s for s in path.split("/") if s]
        if segments[:1] == ["api"]:
            rest = segments[1:]
        elif segments[1:2] == ["api"]:
            rest = segments[2:]
        else:
            rest = None
    else:
        rest = None
    return None if rest is None else "/".join(["", "api", *rest])


def _response(status: int, payload: Any = None, extra_headers: dict[str, str] | None = None) -> Response:
    """Build a proxy response; ``payload=None`` means an empty body (204)."""
    headers = {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        **(extra_headers or {}),
    }
    body = "" if payload is None else json.dumps(payload, allow_nan=False)
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def _error(
    status: int, code: str, message: str, request_id: str | None, headers: dict[str, str] | None = None
) -> Response:
    """Uniform error body, so clients can branch on ``error.code`` and quote ``request_id``."""
    payload = {"error": {"code": code, "message": message}, "request_id": request_id}
    return _response(status, payload, headers)


def _reject_constant(token: str) -> Any:
    """NaN/Infinity are Python extensions, not JSON; echoing them would emit invalid JSON."""
    raise BadRequest(f"Non-finite number {token} is not valid JSON")


def _finite_float(token: str) -> float:
    """Parse a JSON number, rejecting ones that overflow to infinity."""
    value = float(token)
    if not math.isfinite(value):  # e.g. 1e400 -> inf, which json.dumps cannot emit strictly
        raise BadRequest("Request body contains a number out of range")
    return value


def _too_deep(value: Any) -> bool:
    """Iterative depth check: deep nesting would otherwise hit RecursionError in json.dumps."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _parse_json_object(event: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the (optionally base64) body into a JSON object or raise BadRequest."""
    body = event.get("body")
    if body is None or body == "":
        raise BadRequest("Request body is required")
    if not isinstance(body, str):
        raise BadRequest("Request body must be a string")
    if len(body) > MAX_BODY_BYTES * 2:  # cheap guard before any copying or decoding
        raise BadRequest(f"Request body exceeds {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):  # ValueError: non-ASCII characters in the text
            raise BadRequest("Request body is not valid base64") from None
    else:
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates cannot have come from real UTF-8
            raise BadRequest("Request body is not valid UTF-8") from None
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"Request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Request body is not valid UTF-8") from None
    try:
        parsed = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):  # JSONDecodeError, huge ints, absurd nesting
        raise BadRequest("Request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("Request body must be a JSON object")
    if _too_deep(parsed):
        raise BadRequest(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels")
    return parsed


def _hello(event: Mapping[str, Any], info: dict[str, Any]) -> Response:
    return _response(200, {"message": f"Hello from {info['project']}", **info})


def _health(event: Mapping[str, Any], info: dict[str, Any]) -> Response:
    return _response(200, {"status": "healthy", **info})


def _echo(event: Mapping[str, Any], info: dict[str, Any]) -> Response:
    received = _parse_json_object(event)
    return _response(200, {"message": f"Echo from {info['project']}", "received": received, **info})


ROUTES: dict[str, dict[str, Callable[[Mapping[str, Any], dict[str, Any]], Response]]] = {
    "/api": {"GET": _hello},
    "/api/health": {"GET": _health},
    "/api/echo": {"POST": _echo},
}


def _dispatch(event: Mapping[str, Any], method: str, request_id: str | None) -> Response:
    """404 before 405 before 400: route existence is checked first, then method, then body."""
    route = _route(event)
    methods = ROUTES.get(route) if route is not None else None
    if methods is None:
        return _error(404, "not_found", "No such route", request_id)
    if method == "OPTIONS":
        return _response(204, None, {"Access-Control-Max-Age": "600"})
    if method not in methods:
        allow = ", ".join([*methods, "OPTIONS"])
        return _error(
            405, "method_not_allowed", f"Method not allowed on {route}; allowed: {allow}", request_id, {"Allow": allow}
        )
    info = {**_config(), "request_id": request_id}
    try:
        return methods[method](event, info)
    except BadRequest as exc:
        return _error(400, "bad_request", str(exc), request_id)


def _log(record: dict[str, Any]) -> None:
    """One JSON line per request on stdout (CloudWatch Logs); never request bodies."""
    print(json.dumps(record, default=str), flush=True)


def handler(event: Any, context: Any) -> Response:
    """Lambda entry point. Never raises; malformed events get 4xx, only bugs get 500."""
    request_id: str | None = None
    method, path = "", ""
    try:
        event = _as_dict(event)
        request_id = _request_id(event, context)
        raw_method, raw_path = event.get("httpMethod"), event.get("path")
        method = raw_method.upper() if isinstance(raw_method, str) else ""
        path = raw_path if isinstance(raw_path, str) else ""
        response = _dispatch(event, method, request_id)
    except Exception:  # last resort: a bug here must still yield a well-formed answer
        traceback.print_exc(file=sys.stderr)
        response = _error(500, "internal_error", "Internal server error", request_id)
    try:
        _log(
            {
                "level": "INFO",
                "request_id": request_id,
                "method": method[:16],
                "path": path[:256],
                "status": response["statusCode"],
            }
        )
    except Exception:  # logging must never turn a good answer into a failed invocation
        pass
    return response
