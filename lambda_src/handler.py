"""AWS Lambda handler behind an API Gateway REST API (Lambda proxy integration, payload 1.0).

Routes (resources ``/api`` and ``/api/{proxy+}``, method ANY):

* ``GET    /api``            -> 200 greeting with region / environment / project
* ``GET    /api/health``     -> 200 healthy / 503 unhealthy: reads this region's copy of the table
  (``health``; used by the Route 53 health checks that take a failing region out of the answers)
* ``POST   /api/echo``       -> 200 echoes a JSON object body back
* ``GET    /api/items``      -> 200 ``{"items": [...], "next_cursor": str | null}``; query ``limit`` (1..100,
  default 25) and ``cursor`` (a ``next_cursor`` this API returned)
* ``GET    /api/items/{id}`` -> 200 the item with an ``ETag``, 404 if there is none
* ``PUT    /api/items/{id}`` -> 201 created / 200 replaced, body ``{"data": {...}}``; ``If-Match: "<version>"``
  or ``*`` and ``If-None-Match: *`` make the write conditional (412 when the condition fails)
* ``DELETE /api/items/{id}`` -> 204, 404 if there is none, 412 if ``If-Match`` names another version
* ``OPTIONS`` on a known route -> 204 CORS preflight
* known route, other method    -> 405 with an ``Allow`` header (HEAD included)
* anything else                -> 404

An item is ``{"id", "data", "version", "updated_at", "updated_region"}``; ids are 1 to 64 characters of
``A-Z a-z 0-9 _ . -``. Items live in the DynamoDB table ``TABLE_NAME`` (partition key ``id``, type S).
The function publishes no events: the table's stream does (an EventBridge Pipe per region turns each
write into an ``ItemPut`` / ``ItemDeleted`` event on the region's bus), from what every write stores
in the item itself, so no event is lost to a timeout between a write and its announcement.

Every invocation has a time budget (``budget``): 25 s, or 1 s less than Lambda's remaining time if
that is sooner, under API Gateway's 29 s. A DynamoDB call is made only with the attempts that fit in
what is left, and not at all when not even one would (503 with ``Retry-After``).

The event is untrusted input: any key may be missing or of the wrong type.  Every
malformed event is answered with a 4xx proxy response.  A failing dependency (the
items store unconfigured, unreachable, throttling or refusing) is answered 503, with
``Retry-After`` when a retry can help, and logged with its error code; only a genuine
bug in this package reaches the last-resort handler that answers 500.  Standard library
only, except boto3 (part of the Lambda Python runtime), which the items routes and the
health route (when a table is configured) import on first use: the greeting and echo
routes never load it.  So the directory can be zipped as-is into the deployment package.

This module is the entry point: the route table and the last resort. The rest, one concern a
module, imported as plain top-level modules (Lambda puts the package's root on ``sys.path``):

* ``routing``       which function answers a request (404 / 405 / OPTIONS), and errors -> answers
* ``web``           the proxy event and response: headers, CORS, body limits, JSON hardening
* ``items``         the items routes; ``item_requests`` reads what they ask for (pure),
  ``item_store`` talks to DynamoDB through ``aws_clients``, within the request's ``budget``
* ``health``        the health route: one short read of this region's table, its verdict cached
* ``item_ids``      the item id rule, shared with ``worker.py``
* ``settings``, ``json_log``  the environment read at call time; one JSON log line per record
* ``metrics``       the business metrics (items created / updated / deleted), as CloudWatch EMF lines
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from typing import Any

import budget
import health
import items
import json_log
import routing
import web

# Re-exported, so the function's surface is in one place: the values the stack and its tests check
# against (the WAF body limit, the API's CORS settings, the limits).
from item_ids import ID_PATTERN, ID_RULE
from item_requests import DEFAULT_PAGE_SIZE, MAX_ITEM_DATA_BYTES, MAX_PAGE_SIZE
from web import ALLOWED_HEADERS, ALLOWED_METHODS, MAX_BODY_BYTES, MAX_JSON_DEPTH

__all__ = [
    "ALLOWED_HEADERS",
    "ALLOWED_METHODS",
    "DEFAULT_PAGE_SIZE",
    "ID_PATTERN",
    "ID_RULE",
    "MAX_BODY_BYTES",
    "MAX_ITEM_DATA_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_PAGE_SIZE",
    "ROUTES",
    "handler",
]


def _hello(event: Mapping[str, Any], info: dict[str, Any]) -> web.Response:
    return web.response(200, {"message": f"Hello from {info['project']}", **info})


def _health(event: Mapping[str, Any], info: dict[str, Any]) -> web.Response:
    return health.answer(info)


def _echo(event: Mapping[str, Any], info: dict[str, Any]) -> web.Response:
    received = web.parse_json_object(event)
    return web.response(200, {"message": f"Echo from {info['project']}", "received": received, **info})


ROUTES: dict[str, dict[str, routing.RouteFunction]] = {
    "/api": {"GET": _hello},
    "/api/health": {"GET": _health},
    "/api/echo": {"POST": _echo},
    "/api/items": {"GET": items.list_items},
    "/api/items/{id}": {"GET": items.get_item, "PUT": items.put_item, "DELETE": items.delete_item},
}


def handler(event: Any, context: Any) -> web.Response:
    """Lambda entry point. Never raises; malformed events get 4xx, only bugs get 500."""
    request_id: str | None = None
    method, path = "", ""
    try:
        event = web.as_dict(event)
        request_id = web.request_id_of(event, context)
        raw_method, raw_path = event.get("httpMethod"), event.get("path")
        method = raw_method.upper() if isinstance(raw_method, str) else ""
        path = raw_path if isinstance(raw_path, str) else ""
        with budget.invocation(context):
            response = routing.dispatch(ROUTES, event, method, request_id)
    except Exception:  # last resort: a bug here must still yield a well-formed answer
        traceback.print_exc(file=sys.stderr)
        response = web.error(500, "internal_error", "Internal server error", request_id)
    try:
        # One line per request (never its body), for CloudWatch Logs.
        json_log.write(
            {
                "level": "INFO",
                "request_id": request_id,
                "method": method[:16],
                "path": path[:256],
                "status": response["statusCode"],
            }
        )
    except Exception:  # logging must never turn a good answer into a failed invocation
        pass
    return response
