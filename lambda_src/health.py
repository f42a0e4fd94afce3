"""``GET /api/health``: healthy means this region's copy of the items table answers a read.

Route 53's health checks call it (a region whose checks fail drops out of the latency record), so it
reads the table the way the items routes depend on it: one ``GetItem`` (eventually consistent, only
the key projected) of the sentinel id ``__health__`` on this region's replica. The item need not
exist: a read that succeeds without an item is healthy (and should a client store an item under that
id, only its key is read, so the check stays as cheap). The read has its own client
(``aws_clients.health_dynamodb``: 1 s to connect, 1 s to read, one attempt, no retries), because
Route 53 wants the answer within 2 seconds of connecting.

* read succeeded                    -> 200 ``{"status": "healthy", "table": "reachable", ...}``
* read failed or timed out          -> 503 ``{"status": "unhealthy", "reason": "...", ...}`` and one
  ERROR log line ``health check failed`` with the error code
* ``TABLE_NAME`` not set (``make serve`` without ``--local-aws``) -> 200 ``{"status": "healthy",
  "table": "not configured", ...}``, without loading boto3; a deployed stack always sets it.

A verdict, healthy or not, is kept for ``CACHE_SECONDS`` (5 s, monotonic clock) by the warm container,
so a burst of checks (Route 53 checks from many places) costs one read. The answer needs no headers
or body, and this route never raises: anything unexpected is an unhealthy answer, not a 500.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import aws_clients
import json_log
import settings
import web

SENTINEL_ID = "__health__"
CACHE_SECONDS = 5.0
clock = time.monotonic  # the cache's clock; a test may replace it


@dataclass(frozen=True)
class _Verdict:
    key: tuple[str, ...]  # what was read: the table, the region and the endpoint
    reason: str | None  # None: healthy
    expires: float  # on ``clock``


_last: _Verdict | None = None


def answer(info: dict[str, Any]) -> web.Response:
    """The health route's answer; never raises."""
    try:
        table = settings.setting("TABLE_NAME")
        if table is None:
            return web.response(200, {"status": "healthy", "table": "not configured", **info})
        reason = _verdict(table, info.get("request_id"))
    except Exception:  # a bug here must still be an answer, and an honest one
        traceback.print_exc(file=sys.stderr)
        reason = "the health check failed unexpectedly"
    if reason is None:
        return web.response(200, {"status": "healthy", "table": "reachable", **info})
    return web.response(503, {"status": "unhealthy", "reason": reason, **info})


def _verdict(table: str, request_id: str | None) -> str | None:
    """Why the table is unhealthy (None: it is not), from the cache while that is fresh."""
    global _last
    key = (
        table,
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
        os.environ.get("AWS_ENDPOINT_URL") or "",
    )
    now = clock()
    if _last is not None and _last.key == key and now < _last.expires:
        return _last.reason
    reason = _read(table, request_id)
    _last = _Verdict(key, reason, clock() + CACHE_SECONDS)
    return reason


def _read(table: str, request_id: str | None) -> str | None:
    """One GetItem of the sentinel: None if it succeeded, else the reason (an error code, never an
    AWS message, which could name the account or the role)."""
    from botocore import exceptions as aws

    try:
        aws_clients.health_dynamodb().get_item(
            TableName=table,
            Key={"id": {"S": SENTINEL_ID}},
            ConsistentRead=False,
            ProjectionExpression="#id",
            ExpressionAttributeNames={"#id": "id"},
        )
        return None
    except aws.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code") or "Unknown")
        reason = f"the items table refused the read ({code})"
    except (aws.ConnectTimeoutError, aws.ReadTimeoutError) as exc:
        code = type(exc).__name__
        reason = f"the items table did not answer in time ({code})"
    except aws.BotoCoreError as exc:  # no connection, no credentials or region
        code = type(exc).__name__
        reason = f"the items table cannot be reached ({code})"
    json_log.write(
        {
            "level": "ERROR",
            "message": "health check failed",
            "service": "dynamodb",
            "operation": "get_item",
            "table": table,
            "error_code": code,
            "request_id": request_id,
        }
    )
    return reason
