"""Each request's time budget: the moment by which it must have its answer.

API Gateway gives up on the function after 29 seconds and answers 504 itself, whatever the function
does afterwards; Lambda stops it at its own timeout. So every invocation gets a deadline (monotonic
clock) of whichever comes first: ``TOTAL_SECONDS`` (25 s) after the handler started, or
``LAMBDA_MARGIN_SECONDS`` (1 s) before Lambda's timeout (the context's
``get_remaining_time_in_millis()``). Without a context (local runs, tests) it is 25 s.

The handler opens the budget (``invocation``) for the request it answers; ``item_store`` checks
``remaining()`` before every DynamoDB call and makes no call it cannot finish in time (a 503 with
``Retry-After`` instead). Outside an invocation ``remaining()`` is the whole ``TOTAL_SECONDS``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

TOTAL_SECONDS = 25.0  # below API Gateway's 29 s, with room for the answer's way back
LAMBDA_MARGIN_SECONDS = 1.0  # stop this long before Lambda's timeout: time to answer and log

_DEADLINE: ContextVar[float | None] = ContextVar("deadline", default=None)


def _remaining_lambda_seconds(context: Any) -> float | None:
    """What the context says is left before Lambda's timeout, or None if it cannot say."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        millis = remaining()
    except Exception:  # a context of another shape: no limit from it
        return None
    if isinstance(millis, bool) or not isinstance(millis, (int, float)):
        return None
    try:
        seconds = float(millis) / 1000
    except OverflowError:  # an int too large for a float
        return None
    return seconds if math.isfinite(seconds) else None


def deadline(context: Any, started: float) -> float:
    """The monotonic time by which an invocation that started at ``started`` must answer."""
    seconds = TOTAL_SECONDS
    lambda_seconds = _remaining_lambda_seconds(context)
    if lambda_seconds is not None:
        seconds = min(seconds, lambda_seconds - LAMBDA_MARGIN_SECONDS)
    return started + seconds


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """The budget of the invocation answered inside this block, starting now."""
    token = _DEADLINE.set(deadline(context, time.monotonic()))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float:
    """Seconds left before the current invocation's deadline (negative once it has passed)."""
    current = _DEADLINE.get()
    if current is None:
        return TOTAL_SECONDS
    return current - time.monotonic()
