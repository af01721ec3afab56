"""Reading job platforms' responses: a required field of the right type, or a
JobPlatformRejected naming it (never a KeyError deep in an adapter)."""

from __future__ import annotations

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
