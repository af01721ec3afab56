"""Reading job platforms' responses: a required field of the right type, or a
JobPlatformRejected naming it (never a KeyError deep in an adapter)."""

from __future__ import annotations

import re
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


def tail(text: str, limit: int) -> str:
    """The last `limit` characters of a job's output, from a line's start. Cut in the
    middle, a line can hold the second half of a secret that no rule recognises any more
    (the end of a key, a password without its `password=`): the partial line is left out
    (without a line break in the tail, up to the first space; a single longer token, all
    of it)."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[-limit:]
    if text[-limit - 1] == "\n":
        return cut
    at = cut.find("\n")
    if at == -1:
        space = re.search(r"\s", cut)
        return cut[space.end() :] if space else ""
    return cut[at + 1 :]


def head(text: str) -> str:
    """Output a platform cut at its end (SSM's 24,000 inline characters): its last,
    partial line left out, for the same reason as in `tail`."""
    at = text.rfind("\n")
    return text[: at + 1] if at != -1 else ""
