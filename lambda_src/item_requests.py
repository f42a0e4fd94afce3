"""What an items request asks for, read from the event without touching AWS: the item id, the
If-Match / If-None-Match condition, the page (``limit``, ``cursor``) and the ``data`` to store.

Everything here is untrusted input, so every reader either returns a value the store can use as it
is or raises ``web.BadRequest`` with a reason the client can act on.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

import item_ids
import web

MAX_ITEM_DATA_BYTES = 32 * 1024  # of the canonical JSON; far below DynamoDB's 400 KB item limit
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 25, 100

_ETAG = re.compile(r'"([1-9][0-9]{0,17})"|([1-9][0-9]{0,17})')  # quotes optional; [0-9], not \d (Unicode)
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,512}={0,2}")  # URL-safe base64; issued without padding
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number"}


def item_id(info: dict[str, Any]) -> str:
    value: str = info["params"]["id"]
    if not item_ids.is_item_id(value):
        raise web.BadRequest(f"Invalid item id; {item_ids.ID_RULE}")
    return value


def _version_tag(value: str) -> int:
    """The version an If-Match value names: ``"3"`` (as sent in ETag) or ``3``."""
    if value.upper().startswith("W/"):
        raise web.BadRequest("If-Match: weak entity tags (W/...) cannot be used for a conditional write")
    if "," in value:
        raise web.BadRequest("If-Match must name exactly one version")
    match = _ETAG.fullmatch(value)
    if match is None:
        raise web.BadRequest('If-Match must be an ETag this API returned, such as "3", or *')
    return int(match.group(1) or match.group(2))


def condition(event: Mapping[str, Any], *, create_only_allowed: bool) -> tuple[str | None, dict[str, Any]]:
    """The DynamoDB condition (and its values) that If-Match / If-None-Match ask for; (None, {}) if none."""
    if_match, if_none_match = web.header(event, "If-Match"), web.header(event, "If-None-Match")
    if if_match is not None and if_none_match is not None:
        raise web.BadRequest("Send If-Match or If-None-Match, not both")
    if if_none_match is not None:
        if not create_only_allowed:
            raise web.BadRequest("If-None-Match is not supported on this method")
        if if_none_match != "*":
            raise web.BadRequest("If-None-Match supports only * (create only)")
        return "attribute_not_exists(#id)", {}
    if if_match is None:
        return None, {}
    if if_match == "*":
        return "attribute_exists(#id)", {}
    return "#version = :expected", {":expected": {"N": str(_version_tag(if_match))}}


def _quoted(names: list[str], limit: int = 5) -> str:
    """Client-supplied names for an error message, each and in number bounded."""
    shown = ", ".join(json.dumps(name[:40]) for name in names[:limit])
    return shown + (", ..." if len(names) > limit else "")


def item_data(event: Mapping[str, Any]) -> str:
    """The ``data`` of a PUT body as canonical JSON (the stored form), or BadRequest."""
    body = web.parse_json_object(event)
    if "data" not in body:
        raise web.BadRequest('Request body must be {"data": <JSON object>}; "data" is missing')
    extra = sorted(key for key in body if key != "data")
    if extra:
        raise web.BadRequest(f'Request body may only contain "data"; unexpected: {_quoted(extra)}')
    data = body["data"]
    if not isinstance(data, dict):
        kind = "null" if data is None else _JSON_TYPES.get(type(data), "a number")
        raise web.BadRequest(f'"data" must be a JSON object, not {kind}')
    # ensure_ascii (the default) keeps the stored text ASCII, so lone surrogates from "\ud800" escapes
    # stay escapes instead of making the string unencodable.
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    size = len(canonical.encode("utf-8"))
    if size > MAX_ITEM_DATA_BYTES:
        raise web.BadRequest(f'"data" is {size} bytes as canonical JSON; the limit is {MAX_ITEM_DATA_BYTES}')
    return canonical


def page_size(event: Mapping[str, Any]) -> int:
    raw = web.query(event, "limit")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise web.BadRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def encode_cursor(last_key: dict[str, Any]) -> str:
    text = json.dumps(last_key, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def start_key(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The scan's ExclusiveStartKey from ``cursor``; only a key this API could have returned passes,
    so a client cannot steer the scan with anything else."""
    token = web.query(event, "cursor")
    if token is None:
        return None
    invalid = web.BadRequest("cursor is not a next_cursor this API returned")
    if not _CURSOR.fullmatch(token):
        raise invalid
    try:
        token = token.rstrip("=")
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):  # bad base64, UTF-8 or JSON
        raise invalid from None
    attribute = key.get("id") if isinstance(key, dict) and len(key) == 1 else None
    value = attribute.get("S") if isinstance(attribute, dict) and len(attribute) == 1 else None
    if not item_ids.is_item_id(value):
        raise invalid
    return {"id": {"S": value}}
