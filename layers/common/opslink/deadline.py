"""The invocation's time budget: scheduled runs stop taking new work, and HTTP retry waits
stop waiting, a safety margin before the Lambda would be killed. Whatever is left is left
retryable for the next run (reported as `left`), never half done.

The handler starts it from the Lambda context (`get_remaining_time_in_millis`); code
without one (tests, the CLI) runs unbounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

MARGIN_SECONDS = 5.0  # kept free at the end: a last write, the log line, the return

_ends_at: ContextVar[float | None] = ContextVar("opslink_deadline", default=None)


class DeadlineReached(Exception):
    """A wait would run past the invocation's budget: leave the work for a later run."""


def remaining() -> float | None:
    """Seconds left before the margin, or None when unbounded."""
    ends = _ends_at.get()
    return None if ends is None else ends - time.monotonic()


def expired(reserve: float = 0.0) -> bool:
    """True when less than `reserve` seconds (beyond the margin) are left."""
    left = remaining()
    return left is not None and left <= reserve


def check_wait(seconds: float, what: str) -> None:
    """Raise DeadlineReached when waiting `seconds` would pass the budget."""
    left = remaining()
    if left is not None and seconds > left:
        raise DeadlineReached(
            f"{what}: waiting {seconds:.0f}s would pass this run's time budget "
            f"({max(left, 0):.0f}s left); left for a later run"
        )


@contextmanager
def budget(context: Any, margin: float = MARGIN_SECONDS) -> Iterator[None]:
    """The invocation's deadline from its Lambda context (no context: unbounded)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    ends = None
    if callable(getter):
        try:
            ends = time.monotonic() + float(getter()) / 1000.0 - margin
        except (TypeError, ValueError):
            ends = None
    token = _ends_at.set(ends)
    try:
        yield
    finally:
        _ends_at.reset(token)
