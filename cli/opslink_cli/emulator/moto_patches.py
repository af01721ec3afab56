"""Where moto differs from AWS in ways OpsLink depends on, patched for the emulator:
atomic conditional writes, scaled Wait states, Powertools parameter caches per stack."""

from __future__ import annotations

import threading
from typing import Any


def clear_parameter_caches() -> None:
    """Powertools caches parameters and secrets per process: a new stack starts clean."""
    from aws_lambda_powertools.utilities.parameters import clear_caches

    clear_caches()


def scale_waits(scale: float) -> None:
    """Make ASL Wait states last seconds / scale, for time-scaled runs on the emulator."""
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    original = getattr(WaitFunction, "_opslink_original_wait", None) or WaitFunction._wait_interval
    WaitFunction._opslink_original_wait = original  # type: ignore[attr-defined]
    if scale == 1.0:
        WaitFunction._wait_interval = original  # type: ignore[method-assign]
        return

    def scaled(self: Any, env: Any, wait_seconds: int) -> None:
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds / scale)

    WaitFunction._wait_interval = scaled  # type: ignore[method-assign]


_write_lock = threading.RLock()
_patched = False


def serialise_dynamodb_writes() -> None:
    """DynamoDB applies each conditional write atomically; moto's backend checks and
    writes in plain Python, so concurrent threads could both pass a condition. Serialise
    the write paths, as the real service behaves."""
    global _patched
    if _patched:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "get_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
    ):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _write_lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    _patched = True
