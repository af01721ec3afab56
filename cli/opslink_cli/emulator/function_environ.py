"""A function's environment, seen only by the thread that cold-starts it.

On AWS every function has its own process and so its own environment. The emulator runs
them all in one process, and a cold start used to write the function's variables into
`os.environ` and delete them afterwards; another thread iterating the environment at that
moment (botocore does, to find proxies, each time a client is made) met a key that had
just gone and failed with `KeyError`. Here the variables of a cold start are an overlay
on the thread that imports the handler: other threads never see them come or go, and
nothing a handler sets at import time leaks into the rest of the process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

_local = threading.local()
_ABSENT = None  # an overlay entry that hides a process variable


def _overlay() -> dict[str, str | None] | None:
    return getattr(_local, "overlay", None)


class _ThreadEnviron(os._Environ[str]):
    """`os.environ` over the same process data, with the current thread's overlay first."""

    def __getitem__(self, key: str) -> str:
        overlay = _overlay()
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is _ABSENT:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        overlay = _overlay()
        if overlay is None:
            super().__setitem__(key, value)
            return
        self.encodekey(key)  # the same type checks as the process environment's
        self.encodevalue(value)
        overlay[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = _overlay()
        if overlay is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        overlay[key] = _ABSENT

    def __iter__(self) -> Iterator[str]:
        overlay = _overlay()
        if overlay is None:
            yield from super().__iter__()
            return
        own = dict(overlay)
        for key in super().__iter__():
            if key not in own:
                yield key
        yield from (key for key, value in own.items() if value is not _ABSENT)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


def install() -> None:
    """Make `os.environ` overlay-aware (once per process; the data stays the process's)."""
    if isinstance(os.environ, _ThreadEnviron):
        return
    current: Any = os.environ
    # Replaced, not cleared: the new object shares the process's data.
    os.environ = _ThreadEnviron(  # noqa: B003
        current._data,
        current.encodekey,
        current.decodekey,
        current.encodevalue,
        current.decodevalue,
    )


@contextlib.contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Within the block, this thread sees the process environment with `variables` set
    (and whatever the block itself sets or deletes); no other thread sees any of it."""
    install()
    previous = _overlay()
    _local.overlay = {**(previous or {}), **variables}
    try:
        yield
    finally:
        _local.overlay = previous
