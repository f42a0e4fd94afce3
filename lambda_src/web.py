"""The HTTP side of API Gateway's Lambda proxy integration (payload 1.0): reading a request out of
the event, which is untrusted input (any key may be missing or of the wrong type), and writing the
proxy response with its JSON body, CORS and security headers.

Request bodies are hardened here once for every route: a size limit (the one WAF enforces in front
of the API), strict UTF-8 and base64, and JSON that ``json.dumps`` can always write back (no NaN or
Infinity, no numbers that overflow, bounded nesting).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from collections.abc import Mapping
from typing import Any

# The stack sets MAX_REQUEST_BODY_BYTES from api_max_request_body_kb, the limit WAF enforces too; this
# default is that setting's default, for the function run outside the stack (tests, direct calls).
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 64  # bounds recursion in json.dumps regardless of the interpreter's limit
ALLOWED_HEADERS = "Content-Type, Authorization, X-Api-Key, X-Amz-Date, X-Amz-Security-Token, If-Match, If-None-Match"
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"

Response = dict[str, Any]


class BadRequest(Exception):
    """Raised while parsing client input; turned into a 400 by the router."""


class PayloadTooLarge(BadRequest):
    """A body over the limit: 413, as WAF answers in front of the API."""


class ApiError(Exception):
    """Any other answer that is not a success, raised from inside a route; the router sends it."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


# --- the request ------------------------------------------------------------------------


def as_dict(value: Any) -> Mapping[str, Any]:
    """Treat anything that is not a dict as empty, so lookups never raise."""
    return value if isinstance(value, dict) else {}


def request_id_of(event: Mapping[str, Any], context: Any) -> str | None:
    """Prefer API Gateway's request id (what clients see), else the Lambda one."""
    for candidate in (
        as_dict(event.get("requestContext")).get("requestId"),
        getattr(context, "aws_request_id", None),
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header by case-insensitive name, from ``headers`` and ``multiValueHeaders``
    (API Gateway passes names as the client sent them). Sent twice with different values: 400."""
    wanted = name.lower()
    values: list[str] = []
    for key, value in as_dict(event.get("headers")).items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            values.append(value.strip())
    for key, listed in as_dict(event.get("multiValueHeaders")).items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(listed, list):
            values.extend(value.strip() for value in listed if isinstance(value, str))
    distinct = list(dict.fromkeys(values))
    if len(distinct) > 1:
        raise BadRequest(f"{name} is sent more than once")
    return distinct[0] if distinct else None


def query(event: Mapping[str, Any], name: str) -> str | None:
    value = as_dict(event.get("queryStringParameters")).get(name)
    return value if isinstance(value, str) else None


# --- the request body -------------------------------------------------------------------


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


def _max_body_bytes() -> int:
    value = os.environ.get("MAX_REQUEST_BODY_BYTES", "")
    return int(value) if value.isdigit() else MAX_BODY_BYTES


def _body_bytes(event: Mapping[str, Any]) -> bytes:
    """The (optionally base64) body as bytes, within the size limit, or BadRequest."""
    limit = _max_body_bytes()
    body = event.get("body")
    if body is None or body == "":
        raise BadRequest("Request body is required")
    if not isinstance(body, str):
        raise BadRequest("Request body must be a string")
    if len(body) > limit * 2:  # cheap guard before any copying or decoding
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
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
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
    return raw


def parse_json_object(event: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the (optionally base64) body into a JSON object or raise BadRequest."""
    raw = _body_bytes(event)
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


# --- the response -----------------------------------------------------------------------


def response(status: int, payload: Any = None, extra_headers: dict[str, str] | None = None) -> Response:
    """Build a proxy response; ``payload=None`` means an empty body (204)."""
    headers = {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": os.environ.get("CORS_ALLOW_ORIGIN") or "*",
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Expose-Headers": "ETag, Retry-After",  # so browsers let clients read them
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        **(extra_headers or {}),
    }
    body = "" if payload is None else json.dumps(payload, allow_nan=False)
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def error(
    status: int, code: str, message: str, request_id: str | None, headers: dict[str, str] | None = None
) -> Response:
    """Uniform error body, so clients can branch on ``error.code`` and quote ``request_id``."""
    payload = {"error": {"code": code, "message": message}, "request_id": request_id}
    return response(status, payload, headers)
