"""The items routes: list, read, write and delete items in the table.

A write is one conditional DynamoDB request, so If-Match / If-None-Match are compare-and-set, not a
read followed by a write; what a failed condition found tells 404 from 412. Parsing is in
``item_requests``, the table in ``item_store``.

No route publishes anything: a write is announced by the table's stream (an EventBridge Pipe per
region turns its records into ``ItemPut`` / ``ItemDeleted`` events), so an event can no longer be
lost between the write and a PutEvents call. Every write therefore stores what the events carry in
the item itself: ``id``, ``version`` (a number), ``updated_at`` and ``updated_region`` (by which each
region's pipe keeps its own region's writes); a delete's event takes the version and region from the
stream record's old image, the deleted item as it last was.

A write that changed something is counted (``metrics``) once it succeeded: ``ItemsCreated`` (201),
``ItemsUpdated`` (200), ``ItemsDeleted`` (204); a request answered 4xx or 503 is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import item_requests
import item_store
import metrics
import web


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _not_found(item_id: str) -> web.ApiError:
    return web.ApiError(404, "not_found", f"No item with id {item_id!r}")


def _precondition_failed(item_id: str, found: dict[str, Any] | None) -> web.ApiError:
    """412, naming the version the item is at (also as ETag, to retry with) when there is one."""
    if not found:
        return web.ApiError(412, "precondition_failed", f"Item {item_id!r} does not exist")
    version = int(found["version"]["N"])
    return web.ApiError(412, "precondition_failed", f"Item {item_id!r} is at version {version}", _etag(version))


def list_items(event: Mapping[str, Any], info: dict[str, Any]) -> web.Response:
    limit, start = item_requests.page_size(event), item_requests.start_key(event)
    params: dict[str, Any] = {"TableName": item_store.table(), "Limit": limit}
    if start is not None:
        params["ExclusiveStartKey"] = start
    result = item_store.call("scan", info["request_id"], **params)
    last_key = result.get("LastEvaluatedKey")
    return web.response(
        200,
        {
            "items": [item_store.to_item(attributes) for attributes in result.get("Items", [])],
            "next_cursor": item_requests.encode_cursor(last_key) if last_key else None,
        },
    )


def get_item(event: Mapping[str, Any], info: dict[str, Any]) -> web.Response:
    item_id = item_requests.item_id(info)
    # A consistent read: the ETag a client gets here is the one its next If-Match is checked against.
    result = item_store.call(
        "get_item", info["request_id"], TableName=item_store.table(), Key={"id": {"S": item_id}}, ConsistentRead=True
    )
    if not result.get("Item"):
        raise _not_found(item_id)
    item = item_store.to_item(result["Item"])
    return web.response(200, item, _etag(item["version"]))


def put_item(event: Mapping[str, Any], info: dict[str, Any]) -> web.Response:
    """One UpdateItem: the version is incremented atomically by DynamoDB (ADD), so concurrent
    unconditional writers still get distinct versions, and If-Match makes a write a compare-and-set."""
    item_id = item_requests.item_id(info)
    data = item_requests.item_data(event)
    condition, values = item_requests.condition(event, create_only_allowed=True)
    table = item_store.table()
    try:
        result = item_store.call(
            "update_item",
            info["request_id"],
            TableName=table,
            Key={"id": {"S": item_id}},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **item_store.expression(
                UpdateExpression="SET #data = :data, #updated_at = :now, #updated_region = :region ADD #version :one",
                ConditionExpression=condition,
                values={
                    ":data": {"S": data},
                    ":now": {"S": item_store.now()},
                    ":region": {"S": item_store.writer_region()},
                    ":one": {"N": "1"},
                    **values,
                },
            ),
        )
    except item_store.ConditionFailed as failed:
        raise _precondition_failed(item_id, failed.item) from None
    item = item_store.to_item(result["Attributes"])
    # Versions start at 1, so version 1 is a write that created the item (also after a delete).
    created = item["version"] == 1
    metrics.emit({metrics.ITEMS_CREATED if created else metrics.ITEMS_UPDATED: 1})
    return web.response(201 if created else 200, item, _etag(item["version"]))


def delete_item(event: Mapping[str, Any], info: dict[str, Any]) -> web.Response:
    item_id = item_requests.item_id(info)
    condition, values = item_requests.condition(event, create_only_allowed=False)
    table = item_store.table()
    exists = "attribute_exists(#id)"
    try:
        item_store.call(
            "delete_item",
            info["request_id"],
            TableName=table,
            Key={"id": {"S": item_id}},
            # What the failed check saw tells "no such item" (404) from "another version" (412).
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **item_store.expression(
                ConditionExpression=exists if condition in (None, exists) else f"{exists} AND {condition}",
                values=values,
            ),
        )
    except item_store.ConditionFailed as failed:
        if not failed.item:
            raise _not_found(item_id) from None
        raise _precondition_failed(item_id, failed.item) from None
    metrics.emit({metrics.ITEMS_DELETED: 1})
    return web.response(204)
