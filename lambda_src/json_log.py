"""Structured logs for both entry points: one JSON object per line on stdout, which CloudWatch Logs
keeps as one event, so metric filters (``{ $.message = "..." }``) and Logs Insights can match fields."""

from __future__ import annotations

import json
from typing import Any


def write(record: dict[str, Any]) -> None:
    """``default=str``: a stray non-JSON value (a datetime, an exception) must not lose the line."""
    print(json.dumps(record, default=str), flush=True)
