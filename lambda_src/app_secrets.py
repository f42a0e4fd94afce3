"""The application secrets (the ``secrets`` setting), read from this region's copies with a cache.

``get("db-password")`` answers the secret's ``SecretString``. The stack tells the function each
secret's full name in ``APP_SECRETS`` (JSON: ``{"db-password": "<project>-secret-db-password-<env>"}``)
and lets it read its own region's copies only. A value is kept for ``CACHE_SECONDS`` (5 minutes,
monotonic clock; ``APP_SECRETS_CACHE_SECONDS`` may set 0 to 3600) by the warm container, so a
rotated value is picked up within that time and a busy function costs a read every few minutes, not
one per request.

Errors are ``SecretUnavailable`` with a message that names the secret and why (unknown name, no
value put yet, access refused, Secrets Manager unreachable): never the value. Nothing is logged here.
boto3 is imported on the first read (``aws_clients``), so a function that reads no secret never loads it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import aws_clients

ENVIRONMENT_VARIABLE = "APP_SECRETS"
CACHE_SECONDS = 300.0
MAX_CACHE_SECONDS = 3600.0
# A read must leave the request most of its time: one attempt of 1 s to connect and 2 s to read.
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0

clock = time.monotonic  # the cache's clock; a test may replace it
_cache: dict[str, tuple[str, float]] = {}  # secret name -> (value, expires on ``clock``)


class SecretUnavailable(Exception):
    """A secret could not be read: the message says which and why, never its value."""


def names() -> dict[str, str]:
    """The secrets this function may read: full names by short name (empty without any)."""
    raw = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not raw:
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        found = None
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise SecretUnavailable(f"{ENVIRONMENT_VARIABLE} is not a JSON object of names")
    return found


def cache_seconds() -> float:
    raw = os.environ.get("APP_SECRETS_CACHE_SECONDS", "").strip()
    try:
        value = float(raw) if raw else CACHE_SECONDS
    except ValueError:
        return CACHE_SECONDS
    return value if 0 <= value <= MAX_CACHE_SECONDS else CACHE_SECONDS


def get(name: str) -> str:
    """The value of the secret ``name`` (its short name, as in the ``secrets`` setting)."""
    known = names()
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise SecretUnavailable(f"secret {name!r} is not one of this function's secrets ({listed})")
    secret_name = known[name]
    cached = _cache.get(secret_name)
    now = clock()
    if cached is not None and now < cached[1]:
        return cached[0]
    value = _read(secret_name)
    _cache[secret_name] = (value, now + cache_seconds())
    return value


def forget() -> None:
    """Drop every cached value (the next ``get`` reads again)."""
    _cache.clear()


def _read(secret_name: str) -> str:
    client = aws_clients.client("secretsmanager", CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, 1)
    try:
        answer: dict[str, Any] = client.get_secret_value(SecretId=secret_name)
    except Exception as exc:  # ClientError, no connection, no credentials: the code, not the value
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        why = {
            "ResourceNotFoundException": "it has no value yet, or does not exist in this region "
            "(aws secretsmanager put-secret-value in the home region)",
            "AccessDeniedException": "this function may not read it",
        }.get(code, code)
        raise SecretUnavailable(f"secret {secret_name!r} cannot be read: {why}") from None
    value = answer.get("SecretString")
    if not isinstance(value, str):
        raise SecretUnavailable(f"secret {secret_name!r} has no SecretString (a binary secret is not supported)")
    return value
