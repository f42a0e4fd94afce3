"""Announces completed item writes on the region's EventBridge bus (``EVENT_BUS_NAME``), for the
worker and anything else that subscribes; with no bus configured, nothing is sent.

The write has happened whatever the bus does: a failure never changes the client's answer. It is one
ERROR log line carrying the whole entry, so the event can be replayed, and that line is what the
stack's CloudWatch metric filter counts and alarms on.
"""

from __future__ import annotations

import json
from typing import Any

import aws_clients
import json_log
import settings

# A CloudWatch metric filter { $.message = "event not published" } counts these lines and an alarm
# fires on them: change it only together with the filter.
EVENT_NOT_PUBLISHED = "event not published"


def publish(detail_type: str, item_id: str, version: int, updated_at: str, info: dict[str, Any]) -> None:
    """Send one ``ItemPut`` / ``ItemDeleted`` event; on failure, log it (see the module docstring)."""
    bus = settings.setting("EVENT_BUS_NAME")
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
        "Source": settings.setting("EVENT_SOURCE") or f"{info['project']}.items",
        "DetailType": detail_type,
        "EventBusName": bus,
        "Detail": json.dumps(detail, sort_keys=True, separators=(",", ":")),
    }
    error = _put(entry)
    if error is not None:
        json_log.write(
            {
                "level": "ERROR",
                "message": EVENT_NOT_PUBLISHED,
                "event": entry,
                "error": error,
                "request_id": info["request_id"],
            }
        )


def _put(entry: dict[str, Any]) -> str | None:
    """None once the bus has the entry, else why not."""
    try:
        result = aws_clients.client("events").put_events(Entries=[entry])
        if result.get("FailedEntryCount"):
            failed = (result.get("Entries") or [{}])[0]
            return f"{failed.get('ErrorCode', 'Unknown')}: {failed.get('ErrorMessage', '')}"
    except Exception as exc:  # anything at all: the client's answer must not depend on the bus
        return f"{type(exc).__name__}: {exc}"
    return None
