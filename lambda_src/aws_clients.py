"""boto3 clients for the items table, made on first use and kept for the process, with timeouts and
retries sized to the request's time budget (``budget``).

Two kinds of DynamoDB client:

* the items routes': ``connect_timeout`` 2 s, ``read_timeout`` 4 s, at most 2 attempts (standard
  retries). One attempt's worst case is 6 s, two attempts' 13 s (6 + at most 1 s of backoff + 6),
  which fits the 25 s request budget with room to answer. ``item_store`` asks for as many attempts as
  the remaining budget still fits (``attempts_within``), so a call never outlives the budget.
  ``AWS_MAX_ATTEMPTS`` (botocore's own setting) may lower the attempts to 1, never raise them: a larger
  value is ignored, because the budget assumes at most ``MAX_ATTEMPTS``.
* the health check's (``health_dynamodb``): 1 s to connect, 1 s to read, one attempt, no retries, so
  ``GET /api/health`` answers within Route 53's 2 seconds even when the table does not.

boto3 is imported on the first call, not at import time: only the routes that reach the table pay for
loading it, so cold starts of the other routes (and of the worker) never do.
"""

from __future__ import annotations

import os
from typing import Any

CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 4.0
MAX_ATTEMPTS = 2
# Standard retries wait rand(0, 1) * 2 ** (n - 1) seconds before attempt n + 1 (at most 20 s).
_BACKOFF_BASE, _BACKOFF_MAX = 2.0, 20.0

HEALTH_CONNECT_TIMEOUT_SECONDS = 1.0
HEALTH_READ_TIMEOUT_SECONDS = 1.0

_CLIENTS: dict[tuple[Any, ...], Any] = {}


def max_attempts() -> int:
    """``MAX_ATTEMPTS``, or fewer if ``AWS_MAX_ATTEMPTS`` asks for fewer."""
    value = os.environ.get("AWS_MAX_ATTEMPTS", "").strip()
    if value.isdigit() and 1 <= int(value) < MAX_ATTEMPTS:
        return int(value)
    return MAX_ATTEMPTS


def worst_case_seconds(attempts: int) -> float:
    """The longest a call with this many attempts can take: each attempt's connect and read
    timeouts, and the longest backoff before every attempt after the first."""
    backoff = sum(min(_BACKOFF_BASE ** (n - 1), _BACKOFF_MAX) for n in range(1, attempts))
    return attempts * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + backoff


def attempts_within(seconds: float) -> int:
    """How many attempts a call may make and still be over within ``seconds``; 0 if not even one."""
    attempts = max_attempts()
    while attempts > 0 and worst_case_seconds(attempts) > seconds:
        attempts -= 1
    return attempts


def dynamodb(attempts: int) -> Any:
    """The items routes' DynamoDB client making at most ``attempts`` attempts per call."""
    return client("dynamodb", CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, attempts)


def health_dynamodb() -> Any:
    """The health check's DynamoDB client: one attempt, short timeouts."""
    return client("dynamodb", HEALTH_CONNECT_TIMEOUT_SECONDS, HEALTH_READ_TIMEOUT_SECONDS, 1)


def client(service: str, connect_timeout: float, read_timeout: float, attempts: int) -> Any:
    """A boto3 client, made on first use and kept for the process (warm invocations reuse it).

    The endpoint (``AWS_ENDPOINT_URL``, e.g. a local moto server) and region are read from the
    environment by botocore, so they are part of the cache key, as the timeouts and attempts are.
    A private session, not boto3's global one.
    """
    key = (
        service,
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
        os.environ.get("AWS_ENDPOINT_URL") or "",
        connect_timeout,
        read_timeout,
        attempts,
    )
    made = _CLIENTS.get(key)
    if made is None:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": attempts},
        )
        made = boto3.session.Session().client(service, config=config)
        _CLIENTS[key] = made
    return made
