"""The items table in DynamoDB: one call with the failures a client can act on told apart, and the
conversions between the stored attributes and the item the API shows.

An item is stored as ``{"id": S, "data": S (canonical JSON), "version": N, "updated_at": S,
"updated_region": S}`` under the partition key ``id``. Every write stores all of them in the item
itself, because the table's stream is what announces changes: an EventBridge Pipe per region turns
its records into ``ItemPut`` (from the NewImage) and ``ItemDeleted`` (from the OldImage: the version
deleted, and the region that last wrote it) events on the region's bus, keeping the records whose
``updated_region`` is its own region. Nothing is published from the request path.

Every call fits the request's time budget (``budget``): it makes only as many attempts as the time
left allows (``aws_clients.attempts_within``), and none when not even one would finish in time (a 503
with ``Retry-After``). A failing table (unconfigured, unreachable, throttling or refusing) becomes a
503 ``ApiError``, with ``Retry-After`` when a retry can help, and one ERROR log line with its error
code.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import aws_clients
import budget
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
    """Call one DynamoDB operation (after botocore's retries), within the request's budget. A failed
    ConditionExpression raises ConditionFailed; every other failure is logged with its code and
    becomes a 503 ApiError."""
    from botocore import exceptions as aws

    attempts = aws_clients.attempts_within(budget.remaining())
    if attempts == 0:  # not even one attempt would be over before the deadline: do not start one
        _log_failure(operation, params, "DeadlineTooClose", True, request_id)
        message = "Too little time is left to reach the items store; retry shortly"
        raise web.ApiError(503, "service_unavailable", message, {"Retry-After": "1"})
    try:
        result: dict[str, Any] = getattr(aws_clients.dynamodb(attempts), operation)(**params)
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
    _log_failure(operation, params, code, retryable, request_id)
    if retryable:
        raise web.ApiError(503, "service_unavailable", f"The items store {reason}; retry shortly", {"Retry-After": "1"})
    raise web.ApiError(503, "service_unavailable", f"The items store {reason}")


def _log_failure(operation: str, params: dict[str, Any], code: str, retryable: bool, request_id: str | None) -> None:
    json_log.write(
        {
            "level": "ERROR",
            "message": "dependency call failed",
            "service": "dynamodb",
            "operation": operation,
            "table": params.get("TableName"),
            "error_code": code,
            "retryable": retryable,
            "remaining_seconds": round(budget.remaining(), 3),
            "request_id": request_id,
        }
    )


def table() -> str:
    name = settings.setting("TABLE_NAME")
    if name is None:  # e.g. tools/serve.py without a table: a missing dependency, not a crash
        raise web.ApiError(503, "service_unavailable", "items store is not configured (TABLE_NAME)")
    return name


def writer_region() -> str:
    """The region a write is stored as coming from (``updated_region``): the stack's ``REGION``, else
    the one Lambda itself sets. The stream's pipe tells this region's writes by it."""
    return settings.setting("REGION") or settings.setting("AWS_REGION") or "unknown"


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
