"""Dedup and lifecycle rules of ingest, on the real DynamoDB adapter (moto) and the
builtin ticket system, with the workflow and alarm tags faked."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslink import reconciler
from opslink.alarm_parsing import parse_alarm_document
from opslink.config import InsufficientDataPolicy, OkPolicy
from opslink.errors import TicketSystemError
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.ingest.alarm import new_episode
from opslink.models import AlertStatus, Outcome, TicketStatus
from opslink_cli import samples
from tests.unit.conftest import Clock

T0 = samples.T0
CPU = "prod-checkout-api-cpu-high"


def alarm(at_min: float = 0, state: str = "ALARM", name: str = CPU) -> dict[str, Any]:
    return samples.sns_event(
        samples.metric_alarm(
            name,
            T0 + timedelta(minutes=at_min),
            state=state,
            old="OK" if state == "ALARM" else "ALARM",
            dimensions={"AutoScalingGroupName": "checkout-api-asg"},
        )
    )


def samples_alarm(at_min: float = 0) -> Any:
    return parse_alarm_document(
        samples.metric_alarm(
            CPU,
            T0 + timedelta(minutes=at_min),
            dimensions={"AutoScalingGroupName": "checkout-api-asg"},
        )
    )


def one(event: Any, deps: IngestDeps, policy: IngestPolicy) -> Any:
    results = ingest_event(event, deps, policy)
    assert len(results) == 1
    return results[0]


def test_new_alarm_opens_alert_ticket_and_execution(deps: IngestDeps, policy: IngestPolicy) -> None:
    r = one(alarm(), deps, policy)
    assert r.outcome is Outcome.CREATED
    alert = deps.store.get(r.alert_id)
    assert alert and alert.status is AlertStatus.OPEN and alert.ticket_id == r.ticket_id
    ticket = deps.tickets.get(r.ticket_id)
    assert ticket and ticket.alert_id == r.alert_id and ticket.assignee == "alice@example.com"
    assert deps.store.alert_for_ticket("builtin", r.ticket_id) == r.alert_id
    started = deps.workflow.started  # type: ignore[attr-defined]
    assert list(started) == [r.execution_name]
    assert started[r.execution_name]["ticket_id"] == r.ticket_id


def test_duplicate_delivery_changes_nothing(deps: IngestDeps, policy: IngestPolicy) -> None:
    first = one(alarm(), deps, policy)
    again = one(alarm(), deps, policy)
    assert again.outcome is Outcome.DUPLICATE and again.alert_id == first.alert_id
    assert "duplicate delivery" in again.reason
    assert deps.store.get(first.alert_id).occurrences == 1  # type: ignore[union-attr]
    assert len(deps.workflow.started) == 1  # type: ignore[attr-defined]
    assert deps.tickets.get(first.ticket_id).comments == []  # type: ignore[union-attr]


def test_refire_counts_and_comments_once_per_period(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    first = one(alarm(0), deps, policy)
    r1 = one(alarm(5), deps, policy)
    clock.advance(minutes=5)
    r2 = one(alarm(10), deps, policy)
    assert (r1.outcome, r2.outcome) == (Outcome.DUPLICATE, Outcome.DUPLICATE)
    assert "ticket commented" in r1.reason and "ticket commented" not in r2.reason
    assert deps.store.get(first.alert_id).occurrences == 3  # type: ignore[union-attr]
    assert len(deps.tickets.get(first.ticket_id).comments) == 1  # type: ignore[union-attr]
    clock.advance(hours=1)
    r3 = one(alarm(70), deps, policy)
    assert "ticket commented" in r3.reason
    assert len(deps.tickets.get(first.ticket_id).comments) == 2  # type: ignore[union-attr]
    assert len(deps.workflow.started) == 1  # type: ignore[attr-defined]


def test_concurrent_refires_comment_once(deps: IngestDeps, policy: IngestPolicy) -> None:
    """Re-fires delivered at once: the write that counts a re-fire also takes the
    comment slot, so exactly one of them comments; none is lost or counted twice."""
    import threading

    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # each conditional write atomic, as DynamoDB applies it
    first = one(alarm(0), deps, policy)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda m=m: results.append(one(alarm(m), deps, policy)))
        for m in (5, 6, 7, 8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.outcome is Outcome.DUPLICATE for r in results)
    assert sum("ticket commented" in r.reason for r in results) == 1
    counted = sum("re-fire of open alert" in r.reason for r in results)
    assert deps.store.get(first.alert_id).occurrences == 1 + counted  # type: ignore[union-attr]
    assert len(deps.tickets.get(first.ticket_id).comments) == 1  # type: ignore[union-attr]


def calls_of(deps: IngestDeps) -> list[str]:
    """The DynamoDB operations the store's client makes from now on."""
    made: list[str] = []
    client = deps.store.client  # type: ignore[attr-defined]
    client.meta.events.register("before-call", lambda model, **_: made.append(model.name))
    return made


def test_refire_inside_the_period_is_one_write_once_the_container_saw_the_slot(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock, ddb: Any
) -> None:
    """The container that commented knows the slot is taken: a re-fire inside the
    period is counted by one write, with no claim that must fail first. A container
    that never saw the slot (or saw it before another container took it again) still
    tries the claim, and nothing is commented twice."""
    from tests.unit.conftest import build_deps

    first = one(alarm(0), deps, policy)
    assert "ticket commented" in one(alarm(5), deps, policy).reason
    clock.advance(minutes=5)
    made = calls_of(deps)
    r = one(alarm(10), deps, policy)
    assert "re-fire of open alert, occurrence 3" in r.reason
    assert "ticket commented" not in r.reason
    assert made == ["TransactWriteItems", "UpdateItem"]  # the open attempt, the count

    other = build_deps(ddb, clock)  # another container: the slot unseen
    made = calls_of(other)
    r = one(alarm(15), other, policy)
    assert "occurrence 4" in r.reason and "ticket commented" not in r.reason
    assert made == ["TransactWriteItems", "UpdateItem", "UpdateItem"]  # claim refused, count

    clock.advance(hours=1)  # the period has passed: the other container comments
    assert "ticket commented" in one(alarm(70), other, policy).reason
    clock.advance(minutes=2)  # the first container's slot is old news: it tries, refused
    r = one(alarm(72), deps, policy)
    assert "occurrence 6" in r.reason and "ticket commented" not in r.reason
    assert len(deps.tickets.get(first.ticket_id).comments) == 2  # type: ignore[union-attr]
    made = calls_of(deps)
    one(alarm(73), deps, policy)  # and now it knows
    assert made == ["TransactWriteItems", "UpdateItem"]
    assert deps.store.get(first.alert_id).occurrences == 7  # type: ignore[union-attr]


def test_out_of_order_older_alarm_is_a_duplicate(deps: IngestDeps, policy: IngestPolicy) -> None:
    one(alarm(10), deps, policy)
    late = one(alarm(5), deps, policy)
    assert late.outcome is Outcome.DUPLICATE and "out-of-order" in late.reason


def test_ok_resolves_alert_and_ticket(deps: IngestDeps, policy: IngestPolicy) -> None:
    first = one(alarm(0), deps, policy)
    ok = one(alarm(20, "OK"), deps, policy)
    assert ok.outcome is Outcome.RESOLVED and ok.alert_id == first.alert_id
    alert = deps.store.get(first.alert_id)
    assert alert and alert.status is AlertStatus.RESOLVED and alert.resolution["by"] == "alarm"
    assert deps.tickets.get(first.ticket_id).status is TicketStatus.RESOLVED  # type: ignore[union-attr]
    # The fingerprint is free again: the next ALARM is a new alert. Within the reopen
    # window it reopens the same ticket.
    again = one(alarm(30), deps, policy)
    assert again.outcome is Outcome.CREATED and again.alert_id != first.alert_id
    assert again.ticket_id == first.ticket_id and "reopened" in again.reason
    reopened = deps.tickets.get(first.ticket_id)
    assert (
        reopened
        and reopened.status is TicketStatus.OPEN
        and again.alert_id in reopened.comments[-1]["text"]
    )
    assert deps.store.alert_for_ticket("builtin", first.ticket_id) == again.alert_id


def test_refire_after_the_reopen_window_gets_a_new_ticket_that_refers_to_the_old(
    deps: IngestDeps,
) -> None:
    policy = IngestPolicy(reopen_window=timedelta(minutes=30))
    first = one(alarm(0), deps, policy)
    one(alarm(20, "OK"), deps, policy)
    late = one(alarm(20 + 31), deps, policy)
    assert late.outcome is Outcome.CREATED and late.ticket_id != first.ticket_id
    assert f"refers to {first.ticket_id}" in late.reason
    ticket = deps.tickets.get(late.ticket_id)
    assert ticket and ticket.custom_fields["previous_ticket"] == first.ticket_id
    assert first.ticket_id in ticket.description
    old = deps.tickets.get(first.ticket_id)
    assert old and old.status is TicketStatus.RESOLVED  # the old ticket stays closed


def test_late_alarm_from_before_the_resolution_is_a_duplicate(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    first = one(alarm(0), deps, policy)
    one(alarm(20, "OK"), deps, policy)
    late = one(alarm(10), deps, policy)  # a re-fire delivered after the OK
    assert late.outcome is Outcome.DUPLICATE and "before the alert was resolved" in late.reason
    assert one(alarm(0), deps, policy).outcome is Outcome.DUPLICATE  # the original ALARM, again
    assert deps.store.get(first.alert_id).status is AlertStatus.RESOLVED  # type: ignore[union-attr]


def test_ok_with_comment_policy_leaves_ticket_open(deps: IngestDeps) -> None:
    policy = IngestPolicy(ok_policy=OkPolicy.COMMENT)
    first = one(alarm(0), deps, policy)
    one(alarm(20, "OK"), deps, policy)
    ticket = deps.tickets.get(first.ticket_id)
    assert (
        ticket
        and ticket.status is TicketStatus.OPEN
        and "returned to OK" in ticket.comments[-1]["text"]
    )


def test_ok_without_open_alert_is_ignored(deps: IngestDeps, policy: IngestPolicy) -> None:
    r = one(alarm(0, "OK"), deps, policy)
    assert r.outcome is Outcome.IGNORED and "no open alert" in r.reason


def test_an_alarm_delivered_after_its_ok_gets_its_ticket_resolved_not_left_open(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    """SNS does not keep order, and a retried delivery can come minutes late: the OK of
    10:05 is handled before the ALARM of 10:00 it cleared. The ALARM still gets its one
    ticket — created, then resolved with the OK's facts — and no remediation for an alarm
    that is OK; before, it stayed open for good (its OK already spent)."""
    ok = one(alarm(5, "OK"), deps, policy)
    assert ok.outcome is Outcome.IGNORED and "kept" in ok.reason
    late = one(alarm(0), deps, policy)
    assert late.outcome is Outcome.RESOLVED and "after the alarm cleared" in late.reason
    alert = deps.store.get(late.alert_id)
    assert alert is not None and alert.status is AlertStatus.RESOLVED
    assert alert.resolution["at"] == (T0 + timedelta(minutes=5)).isoformat()
    ticket = deps.tickets.get(late.ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.RESOLVED
    assert "its OK was delivered before its ALARM" in ticket.comments[-1]["text"]
    assert deps.workflow.started == {}  # type: ignore[attr-defined]
    # the ALARM again (a duplicate): nothing more; a later ALARM opens a new episode
    assert one(alarm(0), deps, policy).outcome is Outcome.DUPLICATE
    again = one(alarm(20), deps, policy)
    assert again.outcome is Outcome.CREATED and again.alert_id != late.alert_id
    assert deps.store.get(again.alert_id).status is AlertStatus.OPEN  # type: ignore[union-attr]


def test_an_ok_after_a_resolution_is_kept_for_the_late_refire_it_cleared(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    """10:00 ALARM, 10:05 OK, 10:10 ALARM, 10:15 OK, delivered OK 10:05, ALARM 10:00, OK
    10:15, ALARM 10:10: the second OK finds the first alert resolved and nothing open; the
    re-fire it cleared, delivered after it, reopens the ticket and resolves it at once —
    it was left open for good."""
    one(alarm(5, "OK"), deps, policy)
    first = one(alarm(0), deps, policy)
    assert first.outcome is Outcome.RESOLVED
    assert "kept" in one(alarm(15, "OK"), deps, policy).reason
    refire = one(alarm(10), deps, policy)
    assert refire.outcome is Outcome.RESOLVED and refire.ticket_id == first.ticket_id
    assert all(a.status is AlertStatus.RESOLVED for a in deps.store.list_alerts(limit=10))  # type: ignore[attr-defined]
    ticket = deps.tickets.get(first.ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.RESOLVED
    assert deps.workflow.started == {}  # type: ignore[attr-defined]
    # an OK from before that resolution changes nothing kept
    assert "kept" not in one(alarm(3, "OK"), deps, policy).reason


def test_an_alarm_firing_again_after_the_ok_kept_for_its_ticket_stays_open(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ticket system is down through 10:00 ALARM, 10:05 OK (kept for the ticket) and
    10:10 ALARM: when the ticket is made it must stay open (the alarm fires) and the
    remediation start — it was made and resolved with the 10:05 OK."""

    def down(draft: Any) -> Any:
        raise TicketSystemError("ticket system down")

    real = deps.tickets.create
    monkeypatch.setattr(deps.tickets, "create", down)
    first = one(alarm(0), deps, policy)
    assert first.retryable
    one(alarm(5, "OK"), deps, policy)
    assert "occurrence 2" in one(alarm(10), deps, policy).reason
    monkeypatch.setattr(deps.tickets, "create", real)
    clock.advance(minutes=10)  # every lease ran out
    reconciler.reconcile(deps, policy)
    alert = deps.store.get(first.alert_id)
    assert alert is not None and alert.status is AlertStatus.OPEN and alert.ticket_id
    assert deps.tickets.get(alert.ticket_id).status is TicketStatus.OPEN  # type: ignore[union-attr]
    assert alert.execution_name in deps.workflow.started  # type: ignore[attr-defined]


def test_a_reopening_never_jumps_a_resolution_still_queued(
    deps: IngestDeps, policy: IngestPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OK's resolution lands but its answer is lost: it waits in the outbox. The
    re-fire then reopens the ticket; delivered after that, the queued resolution closed
    the ticket of an open alert for good. The queue goes first now."""
    first = one(alarm(0), deps, policy)
    real = deps.tickets.set_status

    def lost(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise TicketSystemError("read timeout (the change was made)")

    monkeypatch.setattr(deps.tickets, "set_status", lost)
    assert one(alarm(5, "OK"), deps, policy).outcome is Outcome.RESOLVED
    assert deps.outbox.queued_comments(first.ticket_id)  # type: ignore[attr-defined]
    monkeypatch.setattr(deps.tickets, "set_status", real)
    again = one(alarm(10), deps, policy)
    assert again.outcome is Outcome.CREATED and again.ticket_id == first.ticket_id
    reconciler.reconcile(deps, policy)  # delivers whatever is still queued
    ticket = deps.tickets.get(first.ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    assert deps.store.get(again.alert_id).status is AlertStatus.OPEN  # type: ignore[union-attr]
    texts = [c["text"] for c in ticket.comments]
    assert sum("returned to OK" in t for t in texts) == 1  # the resolution's note, once
    assert "fired again" in texts[-1]  # and the reopening after it


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA"]), min_size=1, max_size=7),
    st.randoms(use_true_random=False),
    st.integers(0, 3),
    st.booleans(),
)
def test_any_delivery_order_ends_as_the_alarm_did(
    states: list[str], rnd: Any, copies: int, correlated: bool
) -> None:
    """One alarm's state changes, 5 minutes apart, delivered in any order and some twice
    (SNS keeps no order; Lambda retries late): every alert has its ticket; the alarm's
    last change decides the end — OK: nothing open, no ticket open; ALARM: one open alert
    on one open ticket."""
    from moto import mock_aws

    from opslink.adapters.store.incident_keys import IncidentKeys
    from opslink.ingest.grouping import load_correlator
    from tests.conftest import create_tables
    from tests.unit.conftest import build_deps

    changes = [(s, 5 * i) for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    order = changes + [rnd.choice(changes) for _ in range(copies)]
    rnd.shuffle(order)
    with mock_aws():
        ddb = create_tables()
        clock = Clock(T0 + timedelta(minutes=5 * len(changes) + 1))
        deps = build_deps(ddb, clock)
        if correlated:
            deps.incidents = IncidentKeys("AlertsTable", ddb)
            deps.correlator = load_correlator(None, deps.service_map.depends_on())
        policy = IngestPolicy(flap_transitions=1000)  # flapping is another rule's concern
        for state, minute in order:
            assert not one(alarm(minute, state), deps, policy).retryable
        alerts = list(deps.store.list_alerts(limit=100))  # type: ignore[attr-defined]
        assert all(a.ticket_id for a in alerts)
        opened = [a for a in alerts if a.status is AlertStatus.OPEN]
        tickets = {a.ticket_id: deps.tickets.get(str(a.ticket_id)) for a in alerts}
        unresolved = [t for t in tickets.values() if t and t.status is not TicketStatus.RESOLVED]
        last = changes[-1][0]
        if "ALARM" not in states:
            assert alerts == []
        elif last == "OK":
            assert opened == [] and unresolved == [], (order, alerts)
        elif last == "ALARM":
            assert len(opened) == 1 and len(unresolved) == 1, (order, alerts)


def test_an_ok_kept_before_any_alarm_does_not_clear_a_later_alarm(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    """The OK kept for a late ALARM says nothing of one that fired after it: that one opens
    as any new alarm (ticket open, remediation started); an older OK delivered later
    does not move the kept one back."""
    one(alarm(5, "OK"), deps, policy)
    one(alarm(3, "OK"), deps, policy)  # older, delivered later: the kept OK stays 10:05
    new = one(alarm(10), deps, policy)
    assert new.outcome is Outcome.CREATED and new.execution_name
    assert deps.store.get(new.alert_id).status is AlertStatus.OPEN  # type: ignore[union-attr]
    late = one(alarm(4), deps, policy)  # from before the kept OK, after the new alert
    assert late.outcome is Outcome.DUPLICATE


def test_insufficient_data_notes_open_alert(deps: IngestDeps, policy: IngestPolicy) -> None:
    first = one(alarm(0), deps, policy)
    r = one(alarm(5, "INSUFFICIENT_DATA"), deps, policy)
    assert r.outcome is Outcome.IGNORED and r.alert_id == first.alert_id
    assert "INSUFFICIENT_DATA" in deps.tickets.get(first.ticket_id).comments[-1]["text"]  # type: ignore[union-attr]
    assert deps.store.get(first.alert_id).notes[-1]["kind"] == "insufficient_data"  # type: ignore[union-attr]
    ignored = one(
        alarm(6, "INSUFFICIENT_DATA"),
        deps,
        IngestPolicy(insufficient_data_policy=InsufficientDataPolicy.IGNORE),
    )
    assert "ignored by policy" in ignored.reason


class FailingTickets:
    """The ticket system is down for the first `failures` creates."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner, self.failures, self.name = inner, failures, inner.name

    def create(self, draft: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise TicketSystemError("ticket system answered 503")
        return self.inner.create(draft)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


class DownTickets:
    """The ticket system is down: every call fails."""

    def __init__(self, inner: Any) -> None:
        self.name = inner.name

    def __getattr__(self, item: str) -> Any:
        def down(*args: Any, **kwargs: Any) -> Any:
            raise TicketSystemError("ticket system answered 503")

        return down


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None:
        self.sent.append((subject, message, attributes))


def test_ticket_system_down_then_retry_finishes_once(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    deps.tickets = FailingTickets(deps.tickets, failures=2)  # type: ignore[assignment]
    deps.notifier = RecordingNotifier()
    failed = one(alarm(), deps, policy)
    assert failed.outcome is Outcome.REJECTED and failed.retryable and "503" in failed.reason
    # Lambda's retry comes well inside the lease: it continues the work, never "duplicate".
    clock.advance(seconds=60)
    again = one(alarm(), deps, policy)
    assert again.retryable and again.outcome is not Outcome.DUPLICATE
    assert deps.workflow.started == {}  # type: ignore[attr-defined]
    clock.advance(seconds=60)
    retried = one(alarm(), deps, policy)
    assert retried.outcome is Outcome.CREATED and retried.ticket_id
    assert len(deps.workflow.started) == 1  # type: ignore[attr-defined]
    assert one(alarm(), deps, policy).outcome is Outcome.DUPLICATE
    # The operators heard of it once, directly, while the ticket system failed.
    [(subject, message, attrs)] = deps.notifier.sent
    assert "fallback" in subject and CPU in message and attrs["kind"] == "fallback"
    assert len(deps.tickets.list(limit=10)) == 1  # type: ignore[attr-defined]


def test_a_delivery_in_flight_makes_the_retry_retryable_not_duplicate(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    alert = new_episode(samples_alarm(), deps, policy).alert
    deps.store.open_alert(alert, lease_until=clock() + policy.lease)
    r = one(alarm(), deps, policy)
    assert r.outcome is Outcome.REJECTED and r.retryable and "another delivery" in r.reason
    clock.advance(seconds=policy.lease.total_seconds() + 1)
    assert one(alarm(), deps, policy).outcome is Outcome.CREATED


def test_reconciler_finishes_alerts_left_without_their_ticket(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    deps.tickets = FailingTickets(deps.tickets, failures=10)  # type: ignore[assignment]
    names = [f"prod-checkout-api-cpu-high-{i}" for i in range(3)]
    for name in names:  # deliveries that ran out of retries during the outage
        assert one(alarm(name=name), deps, policy).retryable
    assert reconciler.reconcile(deps, policy)["finished"] == []  # still down
    deps.tickets.failures = 0  # type: ignore[attr-defined]
    clock.advance(minutes=5)
    done = reconciler.reconcile(deps, policy)
    assert len(done["finished"]) == 3 and done["failed"] == []
    assert reconciler.reconcile(deps, policy)["finished"] == []  # idempotent
    tickets = deps.tickets.list(limit=10)  # type: ignore[attr-defined]
    assert len(tickets) == 3 and len({t.alert_id for t in tickets}) == 3
    assert len(deps.workflow.started) == 3  # type: ignore[attr-defined]
    for alert in deps.store.list_alerts():
        assert alert.ticket_id and alert.execution_name


@pytest.mark.parametrize("window_min", [60, 30])
def test_a_refire_left_unticketed_by_an_outage_is_finished_as_its_delivery_would_have(
    deps: IngestDeps, clock: Clock, window_min: int
) -> None:
    """The reconciler finishing a new episode follows the lifecycle rule like the
    delivery: within the reopen window the previous ticket is reopened (no second
    ticket for one alarm); past it a new ticket refers to the previous one."""
    policy = IngestPolicy(reopen_window=timedelta(minutes=window_min))
    first = one(alarm(0), deps, policy)
    one(alarm(20, "OK"), deps, policy)
    up = deps.tickets
    deps.tickets = DownTickets(up)  # type: ignore[assignment]
    clock.advance(minutes=55)
    refire = one(alarm(55), deps, policy)  # 35 minutes after the resolution
    assert refire.retryable
    deps.tickets = up
    clock.advance(minutes=5)
    assert reconciler.reconcile(deps, policy)["finished"] == [refire.alert_id]
    alert = deps.store.get(refire.alert_id)
    tickets = deps.tickets.list(limit=10)  # type: ignore[attr-defined]
    if window_min == 60:
        assert alert and alert.ticket_id == first.ticket_id and len(tickets) == 1
        reopened = deps.tickets.get(first.ticket_id)
        assert reopened and reopened.status is TicketStatus.OPEN
        assert refire.alert_id in reopened.comments[-1]["text"]
    else:
        assert alert and alert.ticket_id != first.ticket_id and len(tickets) == 2
        new = deps.tickets.get(alert.ticket_id)
        assert new and new.custom_fields["previous_ticket"] == first.ticket_id
        old = deps.tickets.get(first.ticket_id)
        assert old and old.status is TicketStatus.RESOLVED
    assert deps.store.alert_for_ticket("builtin", alert.ticket_id) == refire.alert_id
    assert reconciler.reconcile(deps, policy)["finished"] == []  # once


def test_bad_record_is_rejected_recorded_and_siblings_survive(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    from tests.conftest import load_event

    results = ingest_event(load_event("bad-batch-one-malformed.json"), deps, policy)
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.REJECTED, Outcome.CREATED]
    assert [r.index for r in results] == [0, 1, 2]
    assert "not JSON" in results[1].reason and not results[1].retryable
    recorded = deps.rejections.rejections(clock())  # type: ignore[attr-defined]
    assert len(recorded) == 1 and "not JSON" in recorded[0]["reason"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},
            "unsupported event source 'aws:sqs'",
        ),
        ({"Records": []}, "empty Records"),
        ({"hello": 1}, "unrecognised event"),
        ([1, 2], "unrecognised event (list)"),
        ({"Records": ["x"]}, "not a JSON object"),
        ({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": 5}}]}, "no Message string"),
    ],
)
def test_events_of_other_shapes_are_rejected(
    deps: IngestDeps, policy: IngestPolicy, event: Any, reason: str
) -> None:
    r = one(event, deps, policy)
    assert r.outcome is Outcome.REJECTED and reason in r.reason


def test_unexpected_bug_marks_record_retryable_not_lost(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    class Broken:
        def tags(self, arn: str, fired_at: datetime | None = None) -> dict[str, str]:
            raise KeyError("boom")

    deps.tags = Broken()
    event = {"Records": [alarm()["Records"][0], alarm(name="prod-search-cpu-high")["Records"][0]]}
    results = ingest_event(event, deps, policy)
    assert all(r.retryable and "internal error KeyError" in r.reason for r in results)


def test_alarm_tags_drive_enrichment(deps: IngestDeps, policy: IngestPolicy) -> None:
    from tests.unit.conftest import StaticTags

    deps.tags = StaticTags({samples.alarm_arn(CPU): {"service": "search", "severity": "critical"}})
    r = one(alarm(), deps, policy)
    alert = deps.store.get(r.alert_id)
    assert alert and alert.service == "search" and alert.severity == "critical"
    assert deps.tickets.get(r.ticket_id).title.startswith("[CRITICAL] search - ")  # type: ignore[union-attr]


def test_console_test_notification_is_ignored_without_ticket_or_rejection(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    from tests.conftest import load_event

    r = one(load_event("sns-console-test-notification.json"), deps, policy)
    assert r.outcome is Outcome.IGNORED and "test notification" in r.reason
    assert not r.retryable
    assert deps.tickets.list(limit=10) == []  # type: ignore[attr-defined]
    assert deps.rejections.rejections(clock()) == []
    assert deps.workflow.started == {}  # type: ignore[attr-defined]


def test_legacy_message_without_alarm_arn_opens_an_alert(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    from tests.conftest import load_event

    r = one(load_event("sns-legacy-no-alarm-arn.json"), deps, policy)
    assert r.outcome is Outcome.CREATED
    alert = deps.store.get(r.alert_id)
    assert alert is not None
    assert alert.alarm_arn == samples.alarm_arn(CPU)
    ticket = deps.tickets.get(r.ticket_id)
    assert ticket is not None and "derived from account, region and name" in ticket.description


def test_forged_naive_timestamps_never_poison_later_alarms(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    for stamp in ("2026-11-27T10:05:00.000", "9999-01-01T00:00:00.000+0000"):
        forged = samples.metric_alarm(CPU, T0)
        forged["StateChangeTime"] = stamp
        r = one(samples.sns_event(forged), deps, policy)
        assert r.outcome is Outcome.REJECTED and not r.retryable
    real = one(alarm(), deps, policy)
    assert real.outcome is Outcome.CREATED


def test_a_mutated_message_is_a_rejection_not_a_retry(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    for mutate in (
        lambda m: m["Trigger"].update(Dimensions="not-a-list"),
        lambda m: m["Trigger"].update(Metrics=[None, 3]),
        lambda m: m.update(TriggeringChildren="x"),
        lambda m: m.update(Trigger=["a"]),
    ):
        msg = samples.metric_alarm(CPU, T0)
        mutate(msg)
        r = one(samples.sns_event(msg), deps, policy)
        assert not r.retryable, r.reason


def test_ok_withdraws_a_remediation_waiting_for_approval_only(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    waiting = one(alarm(0), deps, policy)
    deps.store.set_approval_token(waiting.alert_id, "task-token")
    assert deps.store.get(waiting.alert_id).awaiting_approval  # type: ignore[union-attr]
    one(alarm(20, "OK"), deps, policy)
    assert list(deps.workflow.stopped) == [waiting.execution_name]  # type: ignore[attr-defined]
    # A remediation that was approved (its run is under way) is left to finish.
    running = one(alarm(30), deps, policy)
    deps.store.set_approval_token(running.alert_id, "task-token")
    deps.store.clear_approval_token(running.alert_id)
    one(alarm(50, "OK"), deps, policy)
    assert running.execution_name not in deps.workflow.stopped  # type: ignore[attr-defined]
    assert "task-token" not in str(deps.store.get(waiting.alert_id).model_dump())  # type: ignore[union-attr]


# -- an alarm that clears before its ticket exists still gets exactly one ticket ----------


def _down_then_ok(deps: IngestDeps, policy: IngestPolicy, clock: Clock) -> Any:
    deps.tickets = FailingTickets(deps.tickets, failures=1000)  # type: ignore[assignment]
    assert one(alarm(0), deps, policy).retryable
    clock.advance(minutes=3)
    cleared = one(alarm(3, "OK"), deps, policy)
    assert cleared.outcome is Outcome.RESOLVED and "OK is kept" in cleared.reason
    [alert] = deps.store.list_alerts()
    assert alert.status is AlertStatus.OPEN and alert.pending_ok is not None  # not lost
    deps.tickets.failures = 0  # type: ignore[attr-defined]
    return alert


def _assert_ticketed_then_resolved(deps: IngestDeps, alert_id: str) -> None:
    [ticket] = deps.tickets.list(limit=10)  # type: ignore[attr-defined]
    assert ticket.alert_id == alert_id and ticket.status is TicketStatus.RESOLVED
    assert any("after its alarm had already returned to OK" in c["text"] for c in ticket.comments)
    done = deps.store.get(alert_id)
    assert done is not None and done.status is AlertStatus.RESOLVED
    assert done.ticket_id == ticket.id and done.resolution["by"] == "alarm"
    assert deps.workflow.started == {}  # type: ignore[attr-defined]  # nothing to remediate
    kinds = [e["kind"] for e in deps.store.journal.events([], alert_id=alert_id)]
    assert kinds.count("ticket_created") == 1 and kinds.count("alert_resolved") == 1


def test_an_alarm_that_clears_during_the_outage_gets_its_ticket_from_the_reconciler(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    alert = _down_then_ok(deps, policy, clock)
    clock.advance(minutes=5)
    done = reconciler.reconcile(deps, policy)
    assert done["finished"] == [alert.alert_id]
    _assert_ticketed_then_resolved(deps, alert.alert_id)
    assert reconciler.reconcile(deps, policy)["finished"] == []  # once


def test_a_redriven_alarm_finishes_an_alert_that_cleared_first(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    alert = _down_then_ok(deps, policy, clock)
    clock.advance(minutes=30)
    redriven = one(alarm(0), deps, policy)  # the parked ALARM, redriven: never "late"
    assert redriven.outcome is Outcome.RESOLVED and redriven.ticket_id
    _assert_ticketed_then_resolved(deps, alert.alert_id)


def test_an_ok_while_the_ticket_system_answers_makes_and_resolves_the_ticket_at_once(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    deps.tickets = FailingTickets(deps.tickets, failures=1)  # type: ignore[assignment]
    assert one(alarm(0), deps, policy).retryable
    clock.advance(minutes=2)
    cleared = one(alarm(2, "OK"), deps, policy)
    assert cleared.outcome is Outcome.RESOLVED and cleared.ticket_id
    [alert] = deps.store.list_alerts()
    _assert_ticketed_then_resolved(deps, alert.alert_id)


def test_an_ok_during_an_opening_in_flight_ends_it_resolved(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """The delivery opening the alert had already read it when the OK was kept: it
    notices at the link, stops the remediation it started and resolves instead."""
    from opslink.enrichment import enrich
    from opslink.ingest.episode import Episode
    from opslink.ingest.opening import open_safely

    alert = _down_then_ok(deps, policy, clock)
    stale = alert.model_copy(update={"pending_ok": None})
    parsed = samples_alarm()
    episode = Episode(alarm=parsed, alert=stale, enrichment=enrich(parsed, {}, deps.service_map))
    result = open_safely(episode, deps, policy, "in flight")
    assert result.outcome is Outcome.RESOLVED
    assert list(deps.workflow.stopped) == list(deps.workflow.started)  # type: ignore[attr-defined]
    [ticket] = deps.tickets.list(limit=10)  # type: ignore[attr-defined]
    assert ticket.status is TicketStatus.RESOLVED


def test_a_forged_cross_account_event_is_rejected_and_recorded(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """On the organization's bus, EventBridge sets `account` and `region` to where an event
    was put (a forwarded event keeps its origin's): an account naming another account's
    alarm gets no ticket and no job, and the attempt is on record."""
    from tests.conftest import load_event

    genuine = load_event("eventbridge-alarm-state-change.json")
    forged = json.loads(json.dumps(genuine)) | {"account": "210987654321"}
    moved = json.loads(json.dumps(genuine)) | {"region": "ap-southeast-2"}
    for event, sender in ((forged, "account 210987654321 in"), (moved, "in ap-southeast-2")):
        r = one(event, deps, policy)
        assert r.outcome is Outcome.REJECTED and not r.retryable
        assert "forged cross-account event" in r.reason and sender in r.reason
    assert len(deps.rejections.rejections(clock())) == 2  # type: ignore[attr-defined]
    assert deps.tickets.list(limit=10) == []  # type: ignore[attr-defined]
    assert one(genuine, deps, policy).outcome is Outcome.CREATED


def test_recent_comment_slots_keep_the_latest_time_and_stay_bounded() -> None:
    from opslink.ingest.comment_slots import RecentComments

    slots = RecentComments(size=2)
    slots.saw("a", T0 + timedelta(minutes=10))
    slots.saw("a", T0)  # an older value returned late never moves the slot back
    assert slots.taken_since("a", T0 + timedelta(minutes=5))
    assert not slots.taken_since("a", T0 + timedelta(minutes=10))  # a claim would succeed
    slots.saw("b", T0)
    slots.saw("a", T0 + timedelta(minutes=10))  # used again: the most recent
    slots.saw("c", T0)
    assert not slots.taken_since("b", T0 - timedelta(hours=1))  # the least recent, evicted
    assert slots.taken_since("a", T0) and slots.taken_since("c", T0 - timedelta(hours=1))


def test_an_alarm_reason_cut_for_a_ticket_comment_keeps_no_part_of_a_secret(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    """A state reason is quoted in comments up to 1,000 characters (a re-fire's, an OK's):
    scrubbed before the cut, never half a key the ticket guard no longer recognises."""
    from opslink.ingest import ingest_event as deliver

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    pieces = {secret[i : i + 12] for i in range(len(secret) - 11)}
    created = one(alarm(), deps, policy)
    for n, pad in enumerate(range(968, 1000, 4)):  # the key across the 1,000th character
        doc = samples.metric_alarm(
            CPU, T0 + timedelta(minutes=20 * (n + 1)),
            dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            reason="x" * pad + f" key {secret} seen",
        )  # fmt: skip
        deliver(samples.sns_event(doc), deps, policy)  # a re-fire: commented after the period
    said = " ".join(c["text"] for c in deps.tickets.get(created.ticket_id).comments)  # type: ignore[union-attr]
    assert "fired again" in said and not any(p in said for p in pieces)
