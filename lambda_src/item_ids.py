"""The item id rule, defined once for both entry points: the items API (``handler.py``) refuses an
id that breaks it, and the worker (``worker.py``) refuses an event naming one, so a change that
the API accepted is never dead-lettered by the worker for its id."""

from __future__ import annotations

import re
from typing import TypeGuard

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # safe in a URL path segment as it is
ID_RULE = "an item id is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'"


def is_item_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None
