"""The one clock. Services and adapters take a `Clock` (default `utcnow`) so that tests
set the time instead of depending on the wall clock or on UTC midnight."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Timezone-aware now, in UTC: every timestamp OpsLink stores or compares is aware."""
    return datetime.now(UTC)
