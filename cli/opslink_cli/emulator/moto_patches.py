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
    """Make ASL Wait states, and task-token waits timed by TimeoutSecondsPath (a job's
    wait, an approval's), last seconds / scale, for time-scaled runs on the emulator."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (
        TimeoutSecondsPath,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    seconds_of = getattr(TimeoutSecondsPath, "_opslink_original_seconds", None) or (
        TimeoutSecondsPath._eval_seconds
    )
    TimeoutSecondsPath._opslink_original_seconds = seconds_of  # type: ignore[attr-defined]
    if scale == 1.0:
        TimeoutSecondsPath._eval_seconds = seconds_of  # type: ignore[method-assign]
    else:

        def scaled_timeout(self: Any, env: Any) -> float:
            return max(0.05, seconds_of(self, env) / scale)

        TimeoutSecondsPath._eval_seconds = scaled_timeout  # type: ignore[method-assign,assignment]

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


_partition = threading.local()
_query_patched = False


def query_reads_its_partition() -> None:
    """DynamoDB's Query reads one partition; moto 5.2's sorts every item of the table
    first, so each Query slows down as the table grows (KPI reads would look O(alerts)).
    A base-table Query here reads the items of its hash key only; index queries and scans
    are moto's own."""
    global _query_patched
    if _query_patched:
        return
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        _partition.key = hash_key
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.key = None

    def all_items(self: Any) -> Any:
        key = getattr(_partition, "key", None)
        if key is None:
            return original_all_items(self)
        part = self.items.get(key) if key in self.items else None
        if part is None:
            return []
        items = list(part.values()) if self.range_key_attr else [part]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    _query_patched = True


def stop_wakes_task_token_waits() -> None:
    """Step Functions aborts an execution waiting on a task token at once; moto's
    StopExecution only flags the program, and the waiting state sleeps until its timeout.
    Wake the execution's own callback waits when it is stopped (idempotent)."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if getattr(ExecutionWorker, "_opslink_wakes_callbacks", False):
        return
    original = ExecutionWorker.stop

    def stop(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        pool = getattr(getattr(self, "env", None), "callback_pool_manager", None)
        for endpoint in list(getattr(pool, "_pool", {}).values()):
            endpoint.interrupt_all()

    ExecutionWorker.stop = stop  # type: ignore[method-assign]
    ExecutionWorker._opslink_wakes_callbacks = True  # type: ignore[attr-defined]

    # The woken wait then fails (moto reports it as its timeout): on AWS a stopped
    # execution is ABORTED whatever its last state was doing, so the failure of a stopped
    # program does not replace its stop.
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    original_set_error = Environment.set_error

    def set_error(self: Any, error: Any) -> None:
        if isinstance(getattr(self, "_program_state", None), ProgramStopped):
            return
        original_set_error(self, error)

    Environment.set_error = set_error  # type: ignore[method-assign]
