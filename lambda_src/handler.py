"""AWS Lambda handler behind an API Gateway REST API (Lambda proxy integration, payload 1.0).

Routes (resources ``/api`` and ``/api/{proxy+}``, method ANY):

* ``GET    /api``            -> 200 greeting with region / environment / project
* ``GET    /api/health``     -> 200 health status (used by health checks / failover probes)
* ``POST   /api/echo``       -> 200 echoes a JSON object body back
* ``GET    /api/items``      -> 200 ``{"items": [...], "next_cursor": str | null}``; query ``limit`` (1..100,
  default 25) and ``cursor`` (a ``next_cursor`` this API returned)
* ``GET    /api/items/{id}`` -> 200 the item with an ``ETag``, 404 if there is none
* ``PUT    /api/items/{id}`` -> 201 created / 200 replaced, body ``{"data": {...}}``; ``If-Match: "<version>"``
  or ``*`` and ``If-None-Match: *`` make the write conditional (412 when the condition fails)
* ``DELETE /api/items/{id}`` -> 204, 404 if there is none, 412 if ``If-Match`` names another version
* ``OPTIONS`` on a known route -> 204 CORS preflight
* known route, other method    -> 405 with an ``Allow`` header (HEAD included)
* anything else                -> 404

An item is ``{"id", "data", "version", "updated_at", "updated_region"}``; ids are 1 to 64 characters of
``A-Z a-z 0-9 _ . -``. Items live in the DynamoDB table ``TABLE_NAME`` (partition key ``id``, type S).
After every successful PUT or DELETE one ``ItemPut`` / ``ItemDeleted`` event goes to the EventBridge bus
``EVENT_BUS_NAME`` (source ``EVENT_SOURCE``); if that fails the write stands, the answer is still the
success, and one ERROR log line with message ``EVENT_NOT_PUBLISHED`` carries the event for a replay.

The event is untrusted input: any key may be missing or of the wrong type.  Every
malformed event is answered with a 4xx proxy response.  A failing dependency (the
items store unconfigured, unreachable, throttling or refusing) is answered 503, with
``Retry-After`` when a retry can help, and logged with its error code; only a genuine
bug in this module reaches the last-resort handler that answers 500.  Standard library
only, except boto3 (part of the Lambda Python runtime), which the items routes import on
first use: the other routes, and cold starts without items traffic, never load it.  So
the directory can be zipped as-is into the deployment package.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

# The stack sets MAX_REQUEST_BODY_BYTES from api_max_request_body_kb, the limit WAF enforces too; this
# default is that setting's default, for the function run outside the stack (tests, direct calls).
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 64  # bounds recursion in json.dumps regardless of the interpreter's limit
ALLOWED_HEADERS = "Content-Type, Authorization, X-Api-Key, X-Amz-Date, X-Amz-Security-Token, If-Match, If-None-Match"
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"

MAX_ITEM_DATA_BYTES = 32 * 1024  # of the canonical JSON; far below DynamoDB's 400 KB item limit
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 25, 100
ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # safe in a URL path segment as it is
ID_RULE = "an item id is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'"
# A CloudWatch metric filter { $.message = "event not published" } counts these lines and an alarm
# fires on them: change it only together with the filter.
EVENT_NOT_PUBLISHED = "event not published"
# AWS error codes that mean "too many requests": the store is busy.
THROTTLING_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "TooManyRequestsException",
    }
)
# AWS error codes after which a retry soon can succeed: the client is told so with Retry-After.
RETRYABLE_ERROR_CODES = THROTTLING_ERROR_CODES | frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)

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


class ConditionFailed(Exception):
    """A conditional DynamoDB write found the item in another state; ``item`` is what it found, if any."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("conditional check failed")
        self.item = item


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


def _max_body_bytes() -> int:
    value = os.environ.get("MAX_REQUEST_BODY_BYTES", "")
    return int(value) if value.isdigit() else MAX_BODY_BYTES


def _parse_json_object(event: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the (optionally base64) body into a JSON object or raise BadRequest."""
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


# --- items: request parsing (pure) ------------------------------------------------------

_ETAG = re.compile(r'"([1-9][0-9]{0,17})"|([1-9][0-9]{0,17})')  # quotes optional; [0-9], not \d (Unicode)
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,512}={0,2}")  # URL-safe base64; issued without padding
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number"}
# Placeholders for every attribute name, so no expression ever trips over DynamoDB's reserved words.
_ATTRIBUTE_NAMES = {f"#{name}": name for name in ("id", "data", "version", "updated_at", "updated_region")}


def _setting(variable: str) -> str | None:
    """An optional setting, read at call time like ``_config``; empty counts as unset."""
    value = os.environ.get(variable, "").strip()
    return value or None


def _item_id(info: dict[str, Any]) -> str:
    item_id = info["params"]["id"]
    if not ID_PATTERN.fullmatch(item_id):
        raise BadRequest(f"Invalid item id; {ID_RULE}")
    return item_id


def _header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header by case-insensitive name, from ``headers`` and ``multiValueHeaders``
    (API Gateway passes names as the client sent them). Sent twice with different values: 400."""
    wanted = name.lower()
    values: list[str] = []
    for key, value in _as_dict(event.get("headers")).items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            values.append(value.strip())
    for key, listed in _as_dict(event.get("multiValueHeaders")).items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(listed, list):
            values.extend(value.strip() for value in listed if isinstance(value, str))
    distinct = list(dict.fromkeys(values))
    if len(distinct) > 1:
        raise BadRequest(f"{name} is sent more than once")
    return distinct[0] if distinct else None


def _version_tag(value: str) -> int:
    """The version an If-Match value names: ``"3"`` (as sent in ETag) or ``3``."""
    if value.upper().startswith("W/"):
        raise BadRequest("If-Match: weak entity tags (W/...) cannot be used for a conditional write")
    if "," in value:
        raise BadRequest("If-Match must name exactly one version")
    match = _ETAG.fullmatch(value)
    if match is None:
        raise BadRequest('If-Match must be an ETag this API returned, such as "3", or *')
    return int(match.group(1) or match.group(2))


def _condition(event: Mapping[str, Any], *, create_only_allowed: bool) -> tuple[str | None, dict[str, Any]]:
    """The DynamoDB condition (and its values) that If-Match / If-None-Match ask for; (None, {}) if none."""
    if_match, if_none_match = _header(event, "If-Match"), _header(event, "If-None-Match")
    if if_match is not None and if_none_match is not None:
        raise BadRequest("Send If-Match or If-None-Match, not both")
    if if_none_match is not None:
        if not create_only_allowed:
            raise BadRequest("If-None-Match is not supported on this method")
        if if_none_match != "*":
            raise BadRequest("If-None-Match supports only * (create only)")
        return "attribute_not_exists(#id)", {}
    if if_match is None:
        return None, {}
    if if_match == "*":
        return "attribute_exists(#id)", {}
    return "#version = :expected", {":expected": {"N": str(_version_tag(if_match))}}


def _quoted(names: list[str], limit: int = 5) -> str:
    """Client-supplied names for an error message, each and in number bounded."""
    shown = ", ".join(json.dumps(name[:40]) for name in names[:limit])
    return shown + (", ..." if len(names) > limit else "")


def _item_data(event: Mapping[str, Any]) -> str:
    """The ``data`` of a PUT body as canonical JSON (the stored form), or BadRequest."""
    body = _parse_json_object(event)
    if "data" not in body:
        raise BadRequest('Request body must be {"data": <JSON object>}; "data" is missing')
    extra = sorted(key for key in body if key != "data")
    if extra:
        raise BadRequest(f'Request body may only contain "data"; unexpected: {_quoted(extra)}')
    data = body["data"]
    if not isinstance(data, dict):
        kind = "null" if data is None else _JSON_TYPES.get(type(data), "a number")
        raise BadRequest(f'"data" must be a JSON object, not {kind}')
    # ensure_ascii (the default) keeps the stored text ASCII, so lone surrogates from "\ud800" escapes
    # stay escapes instead of making the string unencodable.
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    size = len(canonical.encode("utf-8"))
    if size > MAX_ITEM_DATA_BYTES:
        raise BadRequest(f'"data" is {size} bytes as canonical JSON; the limit is {MAX_ITEM_DATA_BYTES}')
    return canonical


def _query(event: Mapping[str, Any], name: str) -> str | None:
    value = _as_dict(event.get("queryStringParameters")).get(name)
    return value if isinstance(value, str) else None


def _page_size(event: Mapping[str, Any]) -> int:
    raw = _query(event, "limit")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def _encode_cursor(last_key: dict[str, Any]) -> str:
    text = json.dumps(last_key, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _start_key(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The scan's ExclusiveStartKey from ``cursor``; only a key this API could have returned passes,
    so a client cannot steer the scan with anything else."""
    token = _query(event, "cursor")
    if token is None:
        return None
    invalid = BadRequest("cursor is not a next_cursor this API returned")
    if not _CURSOR.fullmatch(token):
        raise invalid
    try:
        token = token.rstrip("=")
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):  # bad base64, UTF-8 or JSON
        raise invalid from None
    attribute = key.get("id") if isinstance(key, dict) and len(key) == 1 else None
    value = attribute.get("S") if isinstance(attribute, dict) and len(attribute) == 1 else None
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise invalid
    return {"id": {"S": value}}


# --- items: DynamoDB and EventBridge ----------------------------------------------------

_CLIENTS: dict[tuple[str, str, str], Any] = {}


def _client(service: str) -> Any:
    """A boto3 client, made on first use and kept for the process (warm invocations reuse it).

    boto3 is imported here, not at the top: only items traffic pays for loading it. The endpoint
    (``AWS_ENDPOINT_URL``, e.g. a local moto server) and region are read from the environment by
    botocore, so they are part of the cache key. A private session, not boto3's global one.
    """
    key = (
        service,
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
        os.environ.get("AWS_ENDPOINT_URL") or "",
    )
    client = _CLIENTS.get(key)
    if client is None:
        import boto3
        from botocore.config import Config

        # Standard retries: 3 attempts with backoff (AWS_MAX_ATTEMPTS changes that), short timeouts so
        # a dead endpoint costs seconds, not the function's whole timeout.
        config = Config(retries={"mode": "standard"}, connect_timeout=2, read_timeout=5)
        client = boto3.session.Session().client(service, config=config)
        _CLIENTS[key] = client
    return client


def _dynamodb(operation: str, request_id: str | None, **params: Any) -> dict[str, Any]:
    """Call one DynamoDB operation (after botocore's retries). A failed ConditionExpression raises
    ConditionFailed; every other AWS failure is logged with its code and becomes a 503 ApiError."""
    from botocore import exceptions as aws

    try:
        result: dict[str, Any] = getattr(_client("dynamodb"), operation)(**params)
        return result
    except aws.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code") or "Unknown")
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(exc.response.get("Item")) from None
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        retryable = code in RETRYABLE_ERROR_CODES or (isinstance(status, int) and status >= 500)
        reason = "is busy" if code in THROTTLING_ERROR_CODES else "is unavailable"
    except aws.ParamValidationError:
        raise  # a request this module built wrongly: a bug, answered 500 with a traceback
    except aws.BotoCoreError as exc:  # no connection, timeouts, no credentials or region
        code = type(exc).__name__
        retryable = isinstance(exc, (aws.ConnectionError, aws.HTTPClientError))
        reason = "cannot be reached" if retryable else "is unavailable"
    _log(
        {
            "level": "ERROR",
            "message": "dependency call failed",
            "service": "dynamodb",
            "operation": operation,
            "table": params.get("TableName"),
            "error_code": code,
            "retryable": retryable,
            "request_id": request_id,
        }
    )
    if retryable:
        raise ApiError(503, "service_unavailable", f"The items store {reason}; retry shortly", {"Retry-After": "1"})
    raise ApiError(503, "service_unavailable", f"The items store {reason}")


def _table() -> str:
    table = _setting("TABLE_NAME")
    if table is None:  # e.g. tools/serve.py without a table: a missing dependency, not a crash
        raise ApiError(503, "service_unavailable", "items store is not configured (TABLE_NAME)")
    return table


def _expression(values: dict[str, Any] | None = None, **expressions: str | None) -> dict[str, Any]:
    """The expression parameters of a request: the given expressions, names for exactly the
    placeholders they use, and values only if any (DynamoDB rejects unused names and empty maps)."""
    used = {name: text for name, text in expressions.items() if text is not None}
    placeholders = sorted(set(re.findall(r"#\w+", " ".join(used.values()))))
    params: dict[str, Any] = {**used, "ExpressionAttributeNames": {p: _ATTRIBUTE_NAMES[p] for p in placeholders}}
    if values:
        params["ExpressionAttributeValues"] = values
    return params


def _now() -> str:
    """ISO-8601 UTC with milliseconds and a Z, e.g. 2026-01-02T03:04:05.678Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _item(attributes: dict[str, Any]) -> dict[str, Any]:
    """A stored item as the API shows it; ``data`` is stored as canonical JSON text."""
    return {
        "id": attributes["id"]["S"],
        "data": json.loads(attributes["data"]["S"]),
        "version": int(attributes["version"]["N"]),
        "updated_at": attributes["updated_at"]["S"],
        "updated_region": attributes["updated_region"]["S"],
    }


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _not_found(item_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No item with id {item_id!r}")


def _publish(detail_type: str, item_id: str, version: int, updated_at: str, info: dict[str, Any]) -> None:
    """Announce a completed write on the event bus. The write has happened whatever this does: a
    failure is one ERROR line (counted by a metric filter, alarmed) with the whole entry, to replay."""
    bus = _setting("EVENT_BUS_NAME")
    if bus is None:
        return
    detail = {
        "id": item_id,
        "version": version,
        "region": info["region"],
        "environment": info["environment"],
        "updated_at": updated_at,
    }
    entry = {
        "Source": _setting("EVENT_SOURCE") or f"{info['project']}.items",
        "DetailType": detail_type,
        "EventBusName": bus,
        "Detail": json.dumps(detail, sort_keys=True, separators=(",", ":")),
    }
    error: str | None = None
    try:
        result = _client("events").put_events(Entries=[entry])
        if result.get("FailedEntryCount"):
            failed = (result.get("Entries") or [{}])[0]
            error = f"{failed.get('ErrorCode', 'Unknown')}: {failed.get('ErrorMessage', '')}"
    except Exception as exc:  # anything at all: the client's answer must not depend on the bus
        error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        _log(
            {
                "level": "ERROR",
                "message": EVENT_NOT_PUBLISHED,
                "event": entry,
                "error": error,
                "request_id": info["request_id"],
            }
        )


# --- items: routes ----------------------------------------------------------------------


def _list_items(event: Mapping[str, Any], info: dict[str, Any]) -> Response:
    limit, start = _page_size(event), _start_key(event)
    params: dict[str, Any] = {"TableName": _table(), "Limit": limit}
    if start is not None:
        params["ExclusiveStartKey"] = start
    result = _dynamodb("scan", info["request_id"], **params)
    last_key = result.get("LastEvaluatedKey")
    return _response(
        200,
        {
            "items": [_item(attributes) for attributes in result.get("Items", [])],
            "next_cursor": _encode_cursor(last_key) if last_key else None,
        },
    )


def _get_item(event: Mapping[str, Any], info: dict[str, Any]) -> Response:
    item_id = _item_id(info)
    # A consistent read: the ETag a client gets here is the one its next If-Match is checked against.
    result = _dynamodb(
        "get_item", info["request_id"], TableName=_table(), Key={"id": {"S": item_id}}, ConsistentRead=True
    )
    if not result.get("Item"):
        raise _not_found(item_id)
    item = _item(result["Item"])
    return _response(200, item, _etag(item["version"]))


def _put_item(event: Mapping[str, Any], info: dict[str, Any]) -> Response:
    """One UpdateItem: the version is incremented atomically by DynamoDB (ADD), so concurrent
    unconditional writers still get distinct versions, and If-Match makes a write a compare-and-set."""
    item_id = _item_id(info)
    data = _item_data(event)
    condition, values = _condition(event, create_only_allowed=True)
    table = _table()
    try:
        result = _dynamodb(
            "update_item",
            info["request_id"],
            TableName=table,
            Key={"id": {"S": item_id}},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **_expression(
                UpdateExpression="SET #data = :data, #updated_at = :now, #updated_region = :region ADD #version :one",
                ConditionExpression=condition,
                values={
                    ":data": {"S": data},
                    ":now": {"S": _now()},
                    ":region": {"S": info["region"]},
                    ":one": {"N": "1"},
                    **values,
                },
            ),
        )
    except ConditionFailed as failed:
        raise _precondition_failed(item_id, failed.item) from None
    item = _item(result["Attributes"])
    _publish("ItemPut", item_id, item["version"], item["updated_at"], info)
    # Versions start at 1, so version 1 is a write that created the item (also after a delete).
    return _response(201 if item["version"] == 1 else 200, item, _etag(item["version"]))


def _delete_item(event: Mapping[str, Any], info: dict[str, Any]) -> Response:
    item_id = _item_id(info)
    condition, values = _condition(event, create_only_allowed=False)
    table = _table()
    exists = "attribute_exists(#id)"
    try:
        result = _dynamodb(
            "delete_item",
            info["request_id"],
            TableName=table,
            Key={"id": {"S": item_id}},
            ReturnValues="ALL_OLD",
            # What the failed check saw tells "no such item" (404) from "another version" (412).
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **_expression(
                ConditionExpression=exists if condition in (None, exists) else f"{exists} AND {condition}",
                values=values,
            ),
        )
    except ConditionFailed as failed:
        if not failed.item:
            raise _not_found(item_id) from None
        raise _precondition_failed(item_id, failed.item) from None
    _publish("ItemDeleted", item_id, int(result["Attributes"]["version"]["N"]), _now(), info)
    return _response(204)


def _precondition_failed(item_id: str, found: dict[str, Any] | None) -> ApiError:
    """412, naming the version the item is at (also as ETag, to retry with) when there is one."""
    if not found:
        return ApiError(412, "precondition_failed", f"Item {item_id!r} does not exist")
    version = int(found["version"]["N"])
    return ApiError(412, "precondition_failed", f"Item {item_id!r} is at version {version}", _etag(version))


ROUTES: dict[str, dict[str, Callable[[Mapping[str, Any], dict[str, Any]], Response]]] = {
    "/api": {"GET": _hello},
    "/api/health": {"GET": _health},
    "/api/echo": {"POST": _echo},
    "/api/items": {"GET": _list_items},
    "/api/items/{id}": {"GET": _get_item, "PUT": _put_item, "DELETE": _delete_item},
}


def _match(route: str) -> tuple[str, dict[str, str]] | None:
    """The ROUTES key for a route and its path parameters; exact routes win over templates."""
    if route in ROUTES:
        return route, {}
    segments = route.split("/")
    for template in ROUTES:
        parts = template.split("/")
        if len(parts) == len(segments) and all(
            p == s or (p.startswith("{") and p.endswith("}")) for p, s in zip(parts, segments, strict=True)
        ):
            return template, {p[1:-1]: s for p, s in zip(parts, segments, strict=True) if p.startswith("{")}
    return None


def _dispatch(event: Mapping[str, Any], method: str, request_id: str | None) -> Response:
    """404 before 405 before 400 before 503: route existence is checked first, then method, then
    the request itself, then the dependencies."""
    route = _route(event)
    matched = _match(route) if route is not None else None
    if matched is None:
        return _error(404, "not_found", "No such route", request_id)
    methods = ROUTES[matched[0]]
    if method == "OPTIONS":
        return _response(204, None, {"Access-Control-Max-Age": "600"})
    if method not in methods:
        allow = ", ".join([*methods, "OPTIONS"])
        return _error(
            405, "method_not_allowed", f"Method not allowed on {route}; allowed: {allow}", request_id, {"Allow": allow}
        )
    info: dict[str, Any] = {**_config(), "request_id": request_id}
    if matched[1]:  # only templated routes; the greeting and health answers show ``info`` as it is
        info["params"] = matched[1]
    try:
        return methods[method](event, info)
    except PayloadTooLarge as exc:
        return _error(413, "payload_too_large", str(exc), request_id)
    except BadRequest as exc:
        return _error(400, "bad_request", str(exc), request_id)
    except ApiError as exc:
        return _error(exc.status, exc.code, exc.message, request_id, exc.headers)


def _log(record: dict[str, Any]) -> None:
    """One JSON line on stdout (CloudWatch Logs): per request, and per dependency failure; never request bodies."""
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
