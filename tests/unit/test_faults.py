"""Integration faults: recorded once while they last, assessed, notified with a recovery
plan (management too when severity is high), and closed with how long they lasted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opslink.adapters.store.faults import FaultRecords
from opslink.errors import JobPlatformError, TicketSystemError
from opslink.faults import FaultReporter
from opslink.ingest import IngestDeps
from tests.unit.conftest import Clock


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None:
        self.sent.append((subject, message, attributes))


def _records(deps: IngestDeps) -> FaultRecords:
    """The faults' own store object, on the test's table and client."""
    store: Any = deps.store
    return FaultRecords(store.table, store.client)


def test_ticket_system_fault_lifecycle(deps: IngestDeps, clock: Clock) -> None:
    notes = Recording()
    reporter = FaultReporter(_records(deps), notes)
    for _ in range(3):
        reporter.failed(
            "ticket_system", "jira", TicketSystemError("503"), {"alert_id": "A-1"}, clock()
        )
        clock.advance(minutes=2)
    [fault] = _records(deps).faults()
    assert (fault.state, fault.count, fault.assessment.severity) == ("open", 3, "medium")
    assert fault.assessment.impact == "ticket creation and updates affected"
    [(subject, message, attrs)] = notes.sent  # told once, to the operators
    assert "jira" in subject and attrs["audience"] == "operators"
    assert "fallback notification" in message and "platform team" in message
    clock.advance(minutes=30)
    recovered = reporter.recovered("ticket_system", "jira", clock())
    assert recovered is not None and recovered.duration(clock()) == "36 min"
    assert notes.sent[-1][2]["kind"] == "fault_recovered"
    assert reporter.recovered("ticket_system", "jira", clock()) is None  # once


def test_job_platform_fault_is_high_and_reaches_management(deps: IngestDeps, clock: Clock) -> None:
    notes = Recording()
    reporter = FaultReporter(_records(deps), notes)
    reporter.failed("job_platform", "rundeck", JobPlatformError("refused"), {}, clock())
    audiences = sorted(a["audience"] for _, _, a in notes.sent)
    assert audiences == ["management", "operators"]
    [fault] = _records(deps).faults(state="open")
    assert fault.assessment.plan.responsible_team == "automation team"
    assert "automation paused" in " ".join(fault.assessment.emergency_actions)
    clock.advance(hours=2)
    reporter.failed(
        "job_platform", "rundeck", JobPlatformError("refused"), {}, clock() + timedelta(0)
    )
    assert len(_records(deps).faults()) == 1  # the same fault, counted


def test_an_outage_records_a_fault_and_its_recovery(deps: IngestDeps, clock: Clock) -> None:
    from opslink import reconciler
    from opslink.ingest import IngestPolicy, ingest_event
    from opslink_cli import samples
    from tests.unit.test_ingest_rules import FailingTickets

    notes = Recording()
    deps.tickets = FailingTickets(deps.tickets, failures=1)  # type: ignore[assignment]
    deps.notifier = notes  # type: ignore[assignment]
    deps.faults = FaultReporter(_records(deps), notes)
    event: Any = samples.sns_event(samples.metric_alarm("prod-search-cpu-high", samples.T0))
    assert ingest_event(event, deps, IngestPolicy())[0].retryable
    clock.advance(minutes=5)
    assert reconciler.reconcile(deps, IngestPolicy())["finished"]
    [fault] = _records(deps).faults()
    assert fault.state == "recovered" and fault.component == "ticket_system"
    kinds = [a["kind"] for _, _, a in notes.sent]
    assert sorted(kinds) == ["fallback", "fault", "fault_recovered"]


def test_concurrent_first_failures_open_one_fault_told_once(deps: IngestDeps, clock: Clock) -> None:
    """Two containers fail at the same moment: one fault (the loser joins it), one notice,
    and the recovery closes it, so the next outage is a fault of its own."""
    import threading

    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # conditional writes atomic, as in DynamoDB
    notes = Recording()
    reporter = FaultReporter(_records(deps), notes)
    start = clock()
    barrier = threading.Barrier(4)

    def fail(n: int) -> None:
        barrier.wait()
        reporter.failed("job_platform", "awx", JobPlatformError("503"), {},
                        start + timedelta(seconds=n))  # fmt: skip

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [fault] = _records(deps).faults()
    assert fault.state == "open" and fault.count == 4
    assert sorted(a["audience"] for _, _, a in notes.sent) == ["management", "operators"]
    assert reporter.recovered("job_platform", "awx", start + timedelta(minutes=5)) is not None
    assert _records(deps).faults(state="open") == []
    reporter.failed("job_platform", "awx", JobPlatformError("503"), {}, start + timedelta(hours=1))
    assert len(_records(deps).faults(state="open")) == 1
    assert len(_records(deps).faults()) == 2


def test_a_recovery_met_by_a_concurrent_write_is_retried_not_taken_as_done(
    deps: IngestDeps, clock: Clock
) -> None:
    from tests.unit.test_transaction_refusals import refuse_transactions

    notes = Recording()
    reporter = FaultReporter(_records(deps), notes)
    reporter.failed("ticket_system", "jira", TicketSystemError("503"), {}, clock())
    clock.advance(minutes=10)
    store: Any = deps.store
    # another write to the fault's items at that moment: nobody recovered it yet
    with refuse_transactions(store.client, 1, "TransactionConflict", "None") as refused:
        recovered = reporter.recovered("ticket_system", "jira", clock())
    assert refused.count == 1
    assert recovered is not None and recovered.state == "recovered"
    [fault] = _records(deps).faults()
    assert fault.state == "recovered"
    assert notes.sent[-1][2]["kind"] == "fault_recovered"
