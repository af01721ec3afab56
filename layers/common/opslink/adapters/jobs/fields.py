"""Reading job platforms' responses: a required field of the right type, or a
JobPlatformRejected naming it (never a KeyError deep in an adapter)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opslink.errors import JobPlatformRejected


def field(doc: Any, name: str, system: str, kind: type | tuple[type, ...] = (str, int)) -> Any:
    """A required field of a response, or a JobPlatformRejected naming it."""
    if not isinstance(doc, dict) or name not in doc:
        raise JobPlatformRejected(f"{system}: response has no field {name!r}")
    value = doc[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise JobPlatformRejected(
            f"{system}: field {name!r} has unexpected type {type(value).__name__}"
        )
    return value


def instant(value: Any) -> float | None:
    """Seconds since the epoch from an ISO 8601 time (no zone: UTC, as platforms write
    it) or epoch milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    if isinstance(value, str) and value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()
    return None


def duration(started: Any, ended: Any) -> float | None:
    """A job's run time from the platform's start and end (ISO 8601, epoch ms or aware
    datetimes); None when either is missing, unreadable or out of order."""
    start, end = instant(started), instant(ended)
    if start is None or end is None or end < start:
        return None
    return round(end - start, 3)
