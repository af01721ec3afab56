"""A transaction DynamoDB cancels without a failed condition — its items throttled, or
another write to them at that moment — says nothing about the items: it is retried, never
taken for "the condition did not hold". An OK whose resolving transaction is refused so
used to be answered "already resolved" with its ticket resolved and its alert left open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from opslink.adapters.store.base import refused_for_capacity
from opslink.errors import StoreError
from opslink.ingest import IngestDeps, IngestPolicy
from opslink.models import AlertStatus, Outcome, TicketStatus
from tests.unit.test_ingest_rules import alarm, one


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": f"Transaction cancelled, please refer cancellation reasons [{', '.join(codes)}]",
            },
            "CancellationReasons": [{"Code": c} for c in codes],
        },
        "TransactWriteItems",
    )


class _Refusals:
    """Cancels the client's next `times` TransactWriteItems with `codes`; counts them."""

    def __init__(self, times: int, codes: tuple[str, ...]) -> None:
        self.left, self.codes, self.count = times, codes, 0

    def __call__(self, model: Any, **_: Any) -> None:
        if self.left > 0:
            self.left -= 1
            self.count += 1
            raise cancelled(*self.codes)


@contextmanager
def refuse_transactions(client: Any, times: int, *codes: str) -> Iterator[_Refusals]:
    refusals = _Refusals(times, codes)
    client.meta.events.register("before-call.dynamodb.TransactWriteItems", refusals)
    try:
        yield refusals
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", refusals)


def test_what_a_cancellation_says() -> None:
    assert refused_for_capacity(cancelled("ThrottlingError", "None")) == "ThrottlingError"
    assert refused_for_capacity(cancelled("None", "ProvisionedThroughputExceeded")) == (
        "ProvisionedThroughputExceeded"
    )
    # A failed condition is a failed condition, whatever else was refused with it.
    assert refused_for_capacity(cancelled("ConditionalCheckFailed", "ThrottlingError")) is None
    assert refused_for_capacity(cancelled("TransactionConflict", "None")) is None


def test_a_throttled_transaction_is_a_store_error(deps: IngestDeps) -> None:
    client = deps.store.client  # type: ignore[attr-defined]
    with refuse_transactions(client, 1, "ThrottlingError", "None"), pytest.raises(StoreError) as e:
        put = {"Put": {"TableName": "AlertsTable", "Item": {"pk": {"S": "X"}, "sk": {"S": "Y"}}}}
        deps.store.journal._call("transact_write_items", TransactItems=[put])  # type: ignore[attr-defined]
    assert "ThrottlingError" in str(e.value)


def test_an_ok_whose_resolution_is_throttled_is_retried_not_taken_as_done(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    first, ok, refused = _ok_refused(deps, policy, 1, "ThrottlingError")
    assert refused == 1, "the resolving transaction was not attempted"
    assert ok.retryable and ok.outcome is Outcome.REJECTED, ok
    assert deps.store.get(first.alert_id).status is AlertStatus.OPEN  # type: ignore[union-attr]
    again = one(alarm(20, "OK"), deps, policy)  # Lambda's retry of the delivery
    assert again.outcome is Outcome.RESOLVED, again
    _resolved_once(deps, first)


def test_an_ok_that_meets_another_write_resolves_on_a_second_try(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    first, ok, refused = _ok_refused(deps, policy, 1, "TransactionConflict")
    assert refused == 1 and ok.outcome is Outcome.RESOLVED, ok
    _resolved_once(deps, first)


def test_an_ok_that_keeps_meeting_other_writes_is_retried(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    first, ok, _ = _ok_refused(deps, policy, 99, "TransactionConflict")
    assert ok.retryable and "could not resolve" in ok.reason, ok
    assert deps.store.get(first.alert_id).status is AlertStatus.OPEN  # type: ignore[union-attr]
    assert one(alarm(20, "OK"), deps, policy).outcome is Outcome.RESOLVED
    _resolved_once(deps, first)


def _ok_refused(
    deps: IngestDeps, policy: IngestPolicy, times: int, code: str
) -> tuple[Any, Any, int]:
    """An alarm opened, then its OK delivered while the next `times` transactions are
    cancelled with `code` on their first item: (the opening, the OK, refusals made)."""
    first = one(alarm(0), deps, policy)
    client = deps.store.client  # type: ignore[attr-defined]
    with refuse_transactions(client, times, code, "None", "None") as refused:
        ok = one(alarm(20, "OK"), deps, policy)
    return first, ok, refused.count


def _resolved_once(deps: IngestDeps, first: Any) -> None:
    assert deps.store.get(first.alert_id).status is AlertStatus.RESOLVED  # type: ignore[union-attr]
    ticket = deps.tickets.get(first.ticket_id)
    assert ticket and ticket.status is TicketStatus.RESOLVED
    texts = [c["text"] for c in ticket.comments]  # type: ignore[attr-defined]
    assert sum("returned to OK" in t for t in texts) == 1, texts
