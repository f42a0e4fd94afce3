"""The items table in DynamoDB: one call with the failures a client can act on told apart, and the
conversions between the stored attributes and the item the API shows.

An item is stored as ``{"id": S, "data": S (canonical JSON), "version": N, "updated_at": S,
"updated_region": S}`` under the partition key ``id``. A failing table (unconfigured, unreachable,
throttling or refusing) becomes a 503 ``ApiError``, with ``Retry-After`` when a retry can help, and
one ERROR log line with its error code.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import aws_clients
import json_log
import settings
import web

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
# Placeholders for every attribute name, so no expression ever trips over DynamoDB's reserved words.
_ATTRIBUTE_NAMES = {f"#{name}": name for name in ("id", "data", "version", "updated_at", "updated_region")}


class ConditionFailed(Exception):
    """A conditional DynamoDB write found the item in another state; ``item`` is what it found, if any."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("conditional check failed")
        self.item = item


def call(operation: str, request_id: str | None, **params: Any) -> dict[str, Any]:
    """Call one DynamoDB operation (after botocore's retries). A failed ConditionExpression raises
    ConditionFailed; every other AWS failure is logged with its code and becomes a 503 ApiError."""
    from botocore import exceptions as aws

    try:
        result: dict[str, Any] = getattr(aws_clients.client("dynamodb"), operation)(**params)
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
    json_log.write(
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
        raise web.ApiError(503, "service_unavailable", f"The items store {reason}; retry shortly", {"Retry-After": "1"})
    raise web.ApiError(503, "service_unavailable", f"The items store {reason}")


def table() -> str:
    name = settings.setting("TABLE_NAME")
    if name is None:  # e.g. tools/serve.py without a table: a missing dependency, not a crash
        raise web.ApiError(503, "service_unavailable", "items store is not configured (TABLE_NAME)")
    return name


def expression(values: dict[str, Any] | None = None, **expressions: str | None) -> dict[str, Any]:
    """The expression parameters of a request: the given expressions, names for exactly the
    placeholders they use, and values only if any (DynamoDB rejects unused names and empty maps)."""
    used = {name: text for name, text in expressions.items() if text is not None}
    placeholders = sorted(set(re.findall(r"#\w+", " ".join(used.values()))))
    params: dict[str, Any] = {**used, "ExpressionAttributeNames": {p: _ATTRIBUTE_NAMES[p] for p in placeholders}}
    if values:
        params["ExpressionAttributeValues"] = values
    return params


def now() -> str:
    """ISO-8601 UTC with milliseconds and a Z, e.g. 2026-01-02T03:04:05.678Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_item(attributes: dict[str, Any]) -> dict[str, Any]:
    """A stored item as the API shows it; ``data`` is stored as canonical JSON text."""
    return {
        "id": attributes["id"]["S"],
        "data": json.loads(attributes["data"]["S"]),
        "version": int(attributes["version"]["N"]),
        "updated_at": attributes["updated_at"]["S"],
        "updated_region": attributes["updated_region"]["S"],
    }
