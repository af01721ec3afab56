"""An alert is placed in its incident by the transaction that opens it: a key with no
item yet costs no read; a key with one refuses the opening with its item, and the alert
is opened again placed from it — still no read. The decisions are the ones a read would
have made (a join, a new incident that refers to the one before, a composite's child),
and an emulator that does not return the refusing items gets them by the usual read."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from opslink.adapters.store.incident_keys import IncidentKeys
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.ingest.grouping import load_correlator
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import counted_calls

T0 = samples.T0
ASG = {"AutoScalingGroupName": "search-asg"}


def cpu(instance: int, at_min: float = 0) -> dict[str, Any]:
    return samples.sns_event(samples.metric_alarm(
        f"prod-search-cpu-high-i-0abc{instance:013x}", T0 + timedelta(minutes=at_min),
        dimensions=ASG | {"InstanceId": f"i-0abc{instance:013x}"}))  # fmt: skip


@pytest.fixture
def grouped(deps: IngestDeps, ddb: Any) -> IngestDeps:
    deps.incidents = IncidentKeys("AlertsTable", ddb)
    deps.correlator = load_correlator(None, deps.service_map.depends_on())
    return deps


def _table_calls(deps: IngestDeps) -> list[Counter[str]]:
    parts = (deps.store, deps.store.journal, deps.incidents, deps.outbox)
    return [counted_calls(p) for p in parts]


def _deliver(deps: IngestDeps, event: dict[str, Any]) -> tuple[Any, Counter[str]]:
    counters = _table_calls(deps)
    [result] = ingest_event(event, deps, IngestPolicy())
    return result, sum(counters, Counter())


def test_a_new_alarm_opens_its_incident_in_its_opening_transaction(grouped: IngestDeps) -> None:
    result, calls = _deliver(grouped, cpu(0))
    assert result.outcome.value == "created" and result.execution_name
    # the opening (lock, alert, incident, key, link, decision) and the ticket's link
    assert calls == Counter(transact_write_items=2)
    alert = grouped.store.get(result.alert_id)
    assert alert is not None and alert.incident_role == "opened" and alert.incident_id
    assert grouped.store.lock_holder(alert.fingerprint).incident == {
        "incident_id": alert.incident_id, "incident_role": "opened",
        "incident_why": alert.incident_why}  # fmt: skip
    state = grouped.incidents.incident(alert.incident_id)
    assert state is not None and state.opener == alert.alert_id
    assert state.ticket_id == result.ticket_id


def test_a_member_joins_without_reading_the_key(grouped: IngestDeps) -> None:
    first, _ = _deliver(grouped, cpu(0))
    second, calls = _deliver(grouped, cpu(1, at_min=1))
    assert second.ticket_id == first.ticket_id and second.execution_name is None
    assert calls["batch_get_item"] == 0  # the refusal carried the key's item
    opener = grouped.store.get(first.alert_id)
    member = grouped.store.get(second.alert_id)
    assert opener is not None and member is not None
    assert member.incident_id == opener.incident_id and member.incident_role == "joined"
    state = grouped.incidents.incident(str(opener.incident_id))
    assert state is not None and set(state.members) == {first.alert_id, second.alert_id}


def test_a_key_past_its_window_opens_an_incident_that_refers_to_the_one_before(
    grouped: IngestDeps,
) -> None:
    first, _ = _deliver(grouped, cpu(0))
    later, calls = _deliver(grouped, cpu(1, at_min=60))
    assert later.ticket_id != first.ticket_id and later.execution_name
    assert calls["batch_get_item"] == 0
    before = grouped.store.get(first.alert_id)
    now = grouped.store.get(later.alert_id)
    assert before is not None and now is not None and now.incident_role == "opened"
    state = grouped.incidents.incident(str(now.incident_id))
    assert state is not None and state.follows == before.incident_id
    assert "a new incident refers to it" in str(now.incident_why)


def test_a_duplicate_delivery_is_still_one_call(grouped: IngestDeps) -> None:
    first, _ = _deliver(grouped, cpu(0))
    again, calls = _deliver(grouped, cpu(0))
    assert again.outcome.value == "duplicate" and again.alert_id == first.alert_id
    assert calls == Counter(transact_write_items=1)


class _NoRefusedItems:
    """A DynamoDB client whose cancelled transactions name no items (as some emulators)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        try:
            return self._inner.transact_write_items(**kwargs)
        except self._inner.exceptions.TransactionCanceledException as exc:
            for reason in exc.response.get("CancellationReasons") or []:
                reason.pop("Item", None)
            raise


def test_without_the_refusing_items_the_alert_is_placed_by_a_read(grouped: IngestDeps) -> None:
    first, _ = _deliver(grouped, cpu(0))
    grouped.store._client = _NoRefusedItems(grouped.store.client)
    grouped.store.journal._client = grouped.store._client
    second, calls = _deliver(grouped, cpu(1, at_min=1))
    assert second.ticket_id == first.ticket_id and second.execution_name is None
    assert calls["batch_get_item"] >= 1  # the key, read as before


def test_the_decision_is_kept_on_the_lock_for_a_retry(grouped: IngestDeps, clock: Clock) -> None:
    """A delivery that fails after the opening: its retry finds the decision on the lock
    and finishes the same alert in the same incident."""
    event = cpu(0)
    inner = grouped.tickets.create
    calls = {"n": 0}

    def failing_once(draft: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            from opslink.errors import TicketSystemError

            raise TicketSystemError("ticket system down")
        return inner(draft)

    grouped.tickets.create = failing_once  # type: ignore[method-assign]
    [first] = ingest_event(event, grouped, IngestPolicy())
    assert first.retryable
    opened = grouped.store.get(first.alert_id)
    assert opened is not None and opened.ticket_id is None
    decision = grouped.store.lock_holder(opened.fingerprint).incident
    assert decision is not None and decision["incident_role"] == "opened"
    clock.now += timedelta(minutes=1)  # Lambda's retry, a while later
    [retry] = ingest_event(event, grouped, IngestPolicy())
    assert retry.outcome.value == "created" and retry.alert_id == first.alert_id
    alert = grouped.store.get(retry.alert_id)
    assert alert is not None and alert.incident_id == decision["incident_id"]


class _ConflictOnce:
    """A DynamoDB client whose first placing transaction meets another one on the key."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        placing = any("INCKEY#" in str(i) for i in kwargs["TransactItems"])
        if placing and not self.conflicts:
            self.conflicts += 1
            reasons = [{"Code": "TransactionConflict"} if "INCKEY#" in str(i) else {"Code": "None"}
                       for i in kwargs["TransactItems"]]  # fmt: skip
            raise ClientError({"Error": {"Code": "TransactionCanceledException",
                                         "Message": "Transaction cancelled"},
                               "CancellationReasons": reasons}, "TransactWriteItems")  # fmt: skip
        return self._inner.transact_write_items(**kwargs)


def test_a_conflict_on_the_key_opens_then_places_as_before(grouped: IngestDeps) -> None:
    client = _ConflictOnce(grouped.store.client)
    grouped.store._client = client
    grouped.store.journal._client = client
    result, calls = _deliver(grouped, cpu(0))
    assert client.conflicts == 1
    assert result.outcome.value == "created" and result.execution_name
    assert calls["batch_get_item"] == 1  # the key, read as before
    alert = grouped.store.get(result.alert_id)
    assert alert is not None and alert.incident_role == "opened"


def test_a_new_episode_after_a_resolved_one_is_placed_without_a_read(grouped: IngestDeps) -> None:
    first, _ = _deliver(grouped, cpu(0))
    ok = samples.sns_event(samples.metric_alarm(
        "prod-search-cpu-high-i-0abc0000000000000", T0 + timedelta(minutes=20), state="OK",
        old="ALARM", dimensions=ASG | {"InstanceId": "i-0abc0000000000000"}))  # fmt: skip
    assert ingest_event(ok, grouped, IngestPolicy())[0].outcome.value == "resolved"
    again, calls = _deliver(grouped, cpu(0, at_min=60))
    assert again.outcome.value == "created" and again.alert_id != first.alert_id
    assert calls["batch_get_item"] == 0  # the key's item came with the refused opening
    before = grouped.store.get(first.alert_id)
    now = grouped.store.get(again.alert_id)
    assert before is not None and now is not None
    assert now.incident_role == "opened" and now.incident_id != before.incident_id
    state = grouped.incidents.incident(str(now.incident_id))
    assert state is not None and state.follows == before.incident_id
