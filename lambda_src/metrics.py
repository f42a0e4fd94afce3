"""Business metrics, as CloudWatch embedded metric format (EMF) lines on stdout.

CloudWatch Logs turns a log event that is an EMF document into metric data points: no API call, no
client, no permission beyond writing the function's logs. One ``emit`` is one JSON line::

    {"_aws": {"Timestamp": 1767323045678,
              "CloudWatchMetrics": [{"Namespace": "iac-aws-nova",
                                     "Dimensions": [["Region", "Environment"]],
                                     "Metrics": [{"Name": "ItemsCreated", "Unit": "Count"}]}]},
     "Region": "us-east-1", "Environment": "dev", "ItemsCreated": 1}

The names below are the contract with the infrastructure (dashboards, alarms), which mirrors them as
plain strings (``constructs_lib`` does not import this package): the namespace is the project name
(``PROJECT_NAME``, e.g. ``iac-aws-nova``), every metric is a ``Count`` with the one dimension set
``Region`` + ``Environment`` (the function's ``REGION`` and ``ENVIRONMENT``).

* ``ItemsCreated``       items API: a PUT that created the item (201), one per request
* ``ItemsUpdated``       items API: a PUT that replaced an existing item (200), one per request
* ``ItemsDeleted``       items API: a DELETE that removed an item (204), one per request
* ``MessagesProcessed``  worker: the batch's records processed, one line per batch with ...
* ``MessagesFailed``     ... the records it reported in ``batchItemFailures`` (SQS retries them)

A metric line is written after the work succeeded and never fails it: ``emit`` swallows any error in
building or writing the line. The log lines of ``json_log`` are separate lines, unchanged; an EMF line
is told from them by its ``_aws`` member. Standard library only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import settings

ITEMS_CREATED = "ItemsCreated"
ITEMS_UPDATED = "ItemsUpdated"
ITEMS_DELETED = "ItemsDeleted"
MESSAGES_PROCESSED = "MessagesProcessed"
MESSAGES_FAILED = "MessagesFailed"
METRIC_NAMES = (ITEMS_CREATED, ITEMS_UPDATED, ITEMS_DELETED, MESSAGES_PROCESSED, MESSAGES_FAILED)
UNIT = "Count"  # every metric here counts events
DIMENSIONS = ("Region", "Environment")  # the one dimension set, from the function's REGION and ENVIRONMENT

# The specification's limits: at most 100 metrics in a directive, 30 keys in a dimension set.
MAX_METRICS = 100
MAX_DIMENSIONS = 30


def namespace() -> str:
    """The metrics' CloudWatch namespace: the project name (``PROJECT_NAME``, e.g. ``iac-aws-nova``),
    read at call time as every setting is."""
    return settings.identity()["project"]


def document(values: Mapping[str, int], timestamp_ms: int | None = None) -> dict[str, Any]:
    """The EMF document for these counts (1 to 100 of them, each named in ``METRIC_NAMES``, each an
    integer >= 0); ValueError for anything else. ``Timestamp``: milliseconds since the epoch, now."""
    if not values or len(values) > MAX_METRICS:
        raise ValueError(f"an EMF line carries 1 to {MAX_METRICS} metrics, not {len(values)}")
    for name, value in values.items():
        if name not in METRIC_NAMES:
            raise ValueError(f"{name!r} is not one of {', '.join(METRIC_NAMES)}")
        if type(value) is not int or value < 0:  # a count: not a bool, a float or a negative number
            raise ValueError(f"the value of {name} is not a count: {value!r}")
    identity = settings.identity()
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": identity["project"],
                    "Dimensions": [list(DIMENSIONS)],
                    "Metrics": [{"Name": name, "Unit": UNIT} for name in values],
                }
            ],
        },
        "Region": identity["region"],
        "Environment": identity["environment"],
        **values,
    }


def emit(values: Mapping[str, int]) -> None:
    """Write one EMF line for these counts; never raises (a metric must not fail the work it counts)."""
    try:
        line = json.dumps(document(values), allow_nan=False, separators=(",", ":"))
        print(line, flush=True)
    except Exception:
        pass
