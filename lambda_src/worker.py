"""AWS Lambda worker for item changes: SQS event source mapping with ReportBatchItemFailures.

Every write of the items API (``handler.py``) reaches the table's stream, and an EventBridge Pipe
per region turns its records into ``ItemPut`` / ``ItemDeleted`` events (source ``EVENT_SOURCE``) on
the region's bus; a rule sends those events to an SQS queue, and this function consumes the queue.
Each record's ``body`` is the EventBridge envelope as JSON::

    {"id": "<event id>", "source": "<EVENT_SOURCE>", "detail-type": "ItemPut", "time": "...",
     "detail": {"id": "a1", "version": "3", "region": "us-east-1", "environment": "dev", "updated_at": "..."}}

``version`` is the item's version as the stream record has it (DynamoDB's ``N``: its digits, as a JSON
string; a pipe's input template cannot turn it into a JSON number), or a JSON integer, as the function
itself published before the pipes: both are read as the same integer >= 1. For an ``ItemDeleted``,
``version`` and ``region`` are the deleted item's (its last write), ``updated_at`` when the pipe read
the delete.

For every record: validate it, then call ``process``. The answer is ``{"batchItemFailures":
[{"itemIdentifier": <messageId>}, ...]}`` naming exactly the records that were invalid or whose
processing raised: SQS deletes the others, and only the named ones come back (and after the queue's
maxReceiveCount go to its dead-letter queue). One bad record never fails the others. Every failed
record gets one ERROR log line with the reason; every processed one an audit line. Every batch
answered record by record is counted (``metrics``, one line per batch): ``MessagesProcessed``, the
records done, and ``MessagesFailed``, the messages named in ``batchItemFailures``.

A whole batch is retried (the function raises ValueError) only when it cannot be answered record by
record: an event that is not ``{"Records": [...]}``, or a record without a ``messageId`` (it could not
be named in batchItemFailures, and an unnamed failure would be deleted as a success). That is checked
before any record is processed, so no work is done twice because of it. Such a batch is not counted
(the invocation fails: Lambda's own Errors metric counts it), nor is an empty one (the event source
mapping never sends one).

Standard library only; ``worker.handler`` shares the deployment package with ``handler.handler``,
and with it the item id rule (``item_ids``), the log line format (``json_log``) and the metrics
(``metrics``).
"""

from __future__ import annotations

import json
import os
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import item_ids
import json_log
import metrics

CHANGES = {"ItemPut": "put", "ItemDeleted": "delete"}  # EventBridge detail-type -> change
_VERSION_DIGITS = re.compile(r"[1-9][0-9]{0,17}")  # DynamoDB's N of a version; [0-9], not \d (Unicode)

BatchResponse = dict[str, list[dict[str, str]]]


class InvalidMessage(ValueError):
    """A record that can never be processed as it is; it is reported and, after retries, dead-lettered."""


@dataclass(frozen=True)
class ItemChange:
    """One validated item change, as ``process`` gets it."""

    id: str
    version: int  # for a delete: the version that was deleted
    change: str  # "put" or "delete"
    origin_region: str  # where the write happened
    event_id: str | None  # the EventBridge event id: the same on every delivery of one event
    message_id: str  # the SQS message id


def _shown(value: Any) -> str:
    """An untrusted value for a log line, bounded."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_change(record: Mapping[str, Any]) -> ItemChange:
    """Validate one SQS record carrying an items event; InvalidMessage says what is wrong."""
    body = record.get("body")
    if not isinstance(body, str):
        raise InvalidMessage("body is missing or not a string")
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidMessage("body is not valid JSON") from None
    if not isinstance(envelope, dict):
        raise InvalidMessage("body is not a JSON object")
    expected_source = os.environ.get("EVENT_SOURCE") or None  # read at call time
    if expected_source is not None and envelope.get("source") != expected_source:
        raise InvalidMessage(f"source {_shown(envelope.get('source'))} is not {expected_source!r}")
    detail_type = envelope.get("detail-type")
    if detail_type not in CHANGES:
        raise InvalidMessage(f"detail-type {_shown(detail_type)} is not one of {', '.join(CHANGES)}")
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise InvalidMessage("detail is not an object")
    item_id, version, region = detail.get("id"), detail.get("version"), detail.get("region")
    if not item_ids.is_item_id(item_id):
        raise InvalidMessage(f"detail.id {_shown(item_id)} is not a valid item id")
    if isinstance(version, str) and _VERSION_DIGITS.fullmatch(version):
        version = int(version)  # as the stream's N arrives through the pipe
    if type(version) is not int or version < 1:  # not bool, not 1.0
        raise InvalidMessage(f"detail.version {_shown(version)} is not an integer >= 1")
    if not isinstance(region, str) or not region:
        raise InvalidMessage(f"detail.region {_shown(region)} is not a region name")
    event_id = envelope.get("id")
    return ItemChange(
        id=item_id,
        version=version,
        change=CHANGES[detail_type],
        origin_region=region,
        event_id=event_id if isinstance(event_id, str) else None,
        message_id=str(record.get("messageId") or ""),
    )


def process(change: ItemChange) -> None:
    """Do the work for one item change: replace with your own work; raise to have the message retried.

    This one writes an audit line. Delivery is at least once (a retried batch, a redelivered
    message), so real work must be idempotent: ``(id, version)`` identifies a change.
    """
    json_log.write(
        {
            "level": "INFO",
            "message": "item changed",
            "id": change.id,
            "version": change.version,
            "change": change.change,
            "origin_region": change.origin_region,
            "region": os.environ.get("REGION") or "unknown",
            "event_id": change.event_id,
            "message_id": change.message_id,
        }
    )


def _records(event: Any) -> list[Any]:
    """The batch's records; ValueError for anything that is not an SQS event (the batch retries)."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError(f"not an SQS event: expected an object with a Records list, got {type(event).__name__}")
    for index, record in enumerate(records):
        message_id = record.get("messageId") if isinstance(record, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise ValueError(
                f"record {index} has no messageId, so it cannot be reported on its own: the whole batch is retried"
            )
    return records


def _failure(record: Mapping[str, Any]) -> dict[str, str] | None:
    """Validate and process one record: None if done, else the log fields that say why not."""
    try:
        change = parse_change(record)
    except InvalidMessage as exc:
        return {"reason": f"invalid message: {exc}"}
    try:
        process(change)
    except Exception as exc:  # whatever the work raises, only this record is retried
        return {"reason": f"processing failed: {type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    return None


def handler(event: Any, context: Any) -> BatchResponse:
    """Lambda entry point: the failed records' messageIds, for SQS to retry only those."""
    try:
        records = _records(event)
    except ValueError as exc:
        json_log.write({"level": "ERROR", "message": "batch rejected", "reason": str(exc)})
        raise
    failed: list[str] = []
    processed = 0
    for record in records:
        failure = _failure(record)
        if failure is None:
            processed += 1
            continue
        message_id = record["messageId"]
        json_log.write({"level": "ERROR", "message": "record failed", "message_id": message_id, **failure})
        if message_id not in failed:  # a duplicate id is still one item to report
            failed.append(message_id)
    if records:
        metrics.emit({metrics.MESSAGES_PROCESSED: processed, metrics.MESSAGES_FAILED: len(failed)})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
