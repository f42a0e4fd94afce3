"""The function's settings, read from its environment on every call rather than at import, so a
redeploy, a test or ``tools/serve.py`` changing a variable is never answered with a stale value."""

from __future__ import annotations

import os


def identity() -> dict[str, str]:
    """Which deployment answers: shown by the greeting and health routes and put on every event."""
    return {
        field: os.environ.get(variable) or "unknown"
        for field, variable in (("region", "REGION"), ("environment", "ENVIRONMENT"), ("project", "PROJECT_NAME"))
    }


def setting(variable: str) -> str | None:
    """An optional setting; empty counts as unset."""
    value = os.environ.get(variable, "").strip()
    return value or None
