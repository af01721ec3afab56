"""Ticket → alert sync, the same lifecycle for the scheduled sweep and for webhooks.

- A ticket closed or solved by a human resolves its alert with who, when and the status,
  and stops the alert's remediation execution if it is still running.
- A ticket deleted in the ticket system counts as closed by a human, and says so.
- A ticket still unresolved `reminder_after` after it was opened reminds its assignee
  (ticket comment + notification), once per period.
- Every pass handles tickets one by one: a ticket that cannot be read or applied is
  logged, recorded as a fault and skipped (named in `skipped`); only a ticket system that
  is away or throttling stops a pass, and the checkpoint never passes a ticket not handled.
The sweep asks the ticket system only for tickets changed since its last checkpoint, with
an overlap (some systems keep change times to the second or minute); applying a change
twice is harmless, so the overlap costs nothing but a read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from opslink.clock import Clock, utcnow
from opslink.comment_outbox import post_comment
from opslink.deadline import expired
from opslink.errors import RetryableError, TicketSystemRejected
from opslink.faults import FaultReporter
from opslink.models import Ticket
from opslink.ports import (  # noqa: F401 (re-exported)
    AlertStore,
    CommentQueue,
    IncidentStore,
    JobCanceller,
    Notifier,
    Stopper,
    SweepableTickets,
    TrackBookkeeping,
    TrackJournal,
    TrackStore,
)
from opslink.ticket_closure import CLOSED, Applied, apply_missing, apply_ticket

logger = Logger(child=True)

OVERLAP = timedelta(seconds=90)
FIRST_SWEEP = timedelta(days=1)


@dataclass
class TrackDeps:
    store: TrackStore
    tickets: SweepableTickets
    journal: TrackJournal  # approval decisions' events, the hourly KPI fold
    outbox: CommentQueue  # comments kept until they are on their ticket, in order
    bookkeeping: TrackBookkeeping  # applied deliveries, chat threads, sweep checkpoints
    workflow: Stopper | None = None
    jobs: JobCanceller | None = None
    notifier: Notifier | None = None
    reminder_after: timedelta = timedelta(hours=2)
    clock: Clock = field(default=utcnow)
    faults: FaultReporter | None = None
    incidents: IncidentStore | None = None  # a closed incident ticket resolves its incident
    # Delivers a ticket's queued comments asynchronously (the remediate function), so a
    # chat request is answered at once; None: comments are posted within the request.
    courier: Callable[[str], None] | None = None


def record_skip(deps: TrackDeps, ticket_id: str, error: Exception, where: str) -> None:
    """One ticket passed over: logged, and recorded as a fault of that ticket (never the
    end of the pass)."""
    logger.warning(
        f"ticket skipped by the {where}", extra={"ticket_id": ticket_id, "error": str(error)}
    )
    if deps.faults is not None:
        deps.faults.record("ticket", deps.tickets.name, error,
                           {"ticket_id": ticket_id, "pass": where}, deps.clock())  # fmt: skip


def record_busy(deps: TrackDeps, error: RetryableError, where: str) -> None:
    """The ticket system is away or throttling: one fault while it lasts."""
    logger.warning(f"{where} paused", extra={"error": str(error)})
    if deps.faults is not None:
        deps.faults.record("ticket_system", deps.tickets.name, error, {"pass": where}, deps.clock())


# Seconds one ticket may take (reads, the alert's resolution, its retries).
RESERVE_SECONDS = 5.0


def remind(
    deps: TrackDeps, skipped: list[str] | None = None, paused: list[str] | None = None
) -> list[str]:
    """Remind the assignees of tickets left unresolved too long, once per period; a
    ticket that cannot be read is passed over (and named in `skipped`), never the end of
    the pass; a ticket system that is away ends it (the next sweep reminds the rest)."""
    now = deps.clock()
    reminded = []
    seen: set[str] = set()  # an incident's alerts share one ticket: one reminder, its first's
    for alert in deps.store.open_alerts():
        if not alert.ticket_id or alert.ticket_id in seen:
            continue
        seen.add(alert.ticket_id)
        if alert.snoozed_until is not None and now < alert.snoozed_until:
            continue  # an operator snoozed it (opslink alerts snooze)
        if expired(RESERVE_SECONDS):  # the rest is reminded by the next sweep
            break
        try:
            ticket = deps.tickets.get(alert.ticket_id)
            if ticket is None:  # deleted: closed by a human
                apply_missing(deps, deps.tickets.name, alert.ticket_id, "sweep")
                continue
        except TicketSystemRejected as exc:
            record_skip(deps, alert.ticket_id, exc, "reminders")
            if skipped is not None:
                skipped.append(alert.ticket_id)
            continue
        except RetryableError as exc:
            record_busy(deps, exc, "reminders")
            if paused is not None:
                paused.append(str(exc))
            break
        if ticket.status in CLOSED:  # closed but not seen by the change pass (moved, missed)
            _apply_skipping(deps, ticket, skipped)
            continue
        if now - ticket.created_at < deps.reminder_after:
            continue
        last = alert.last_reminder_at
        if last is not None and now - last < deps.reminder_after:
            continue
        if not deps.store.claim_slot(alert.alert_id, "last_reminder_at", last, now):
            continue  # a concurrent sweep took it
        age = now - ticket.created_at
        whom = ticket.assignee or "the on-call engineer"
        text = (
            f"Reminder for {whom}: this {ticket.priority.value} ticket has been {ticket.status.value} "
            f"for {int(age.total_seconds() // 3600)} h {int(age.total_seconds() % 3600 // 60)} min "
            f"(alert {alert.alert_id}, alarm {alert.alarm_name})."
        )
        key = f"{alert.alert_id}:reminder:{now.isoformat()}"
        post_comment(deps.outbox, deps.tickets, ticket.id, key, text, now, alert.alert_id)
        if deps.notifier is not None:
            deps.notifier.notify(
                f"[Reminder] {ticket.id} {alert.service}: still {ticket.status.value}",
                text,
                {
                    "service": alert.service,
                    "team": alert.team or "unassigned",
                    "priority": ticket.priority.value,
                    "kind": "reminder",
                },
            )
        reminded.append(ticket.id)
    return reminded


def _apply_skipping(deps: TrackDeps, ticket: Ticket, skipped: list[str] | None) -> None:
    try:
        apply_ticket(deps, ticket, "sweep")
    except TicketSystemRejected as exc:
        record_skip(deps, ticket.id, exc, "reminders")
        if skipped is not None:
            skipped.append(ticket.id)


def sweep(deps: TrackDeps) -> dict[str, Any]:
    now = deps.clock()
    name = f"track#{deps.tickets.name}"
    since = (deps.bookkeeping.get_checkpoint(name) or now - FIRST_SWEEP) - OVERLAP
    try:
        listed = deps.tickets.changed_since(since)
    except RetryableError as exc:  # away or throttled: nothing handled, checkpoint kept
        record_busy(deps, exc, "sweep")
        return {"since": since.isoformat(), "changed": 0, "resolved": [], "reminded": [],
                "skipped": [], "left": 0, "paused": str(exc)}  # fmt: skip
    changed = sorted(listed, key=lambda t: t.updated_at or now)
    applied: list[Applied] = []
    skipped: list[str] = []
    checkpoint = now
    paused = ""
    for n, ticket in enumerate(changed):
        if expired(RESERVE_SECONDS):  # the time budget: the checkpoint stops before the rest
            checkpoint = min(now, (ticket.updated_at or now))
            left = len(changed) - n
            break
        try:
            applied.append(apply_ticket(deps, ticket, "sweep"))
        except TicketSystemRejected as exc:  # this ticket only: skipped, the pass goes on
            record_skip(deps, ticket.id, exc, "sweep")
            skipped.append(ticket.id)
        except RetryableError as exc:
            # Not applied now (throttled, down): the checkpoint stops before this ticket,
            # so the next run starts here and no close is passed over.
            record_busy(deps, exc, "sweep")
            checkpoint = min(now, (ticket.updated_at or now))
            left = len(changed) - n
            paused = str(exc)
            break
    else:
        left = 0
    stopped: list[str] = []
    reminded = remind(deps, skipped, stopped) if not left else []
    paused = paused or (stopped[0] if stopped else "")
    deps.bookkeeping.set_checkpoint(name, checkpoint)
    if deps.faults is not None and not paused:
        try:  # a whole pass answered: the ticket system (and, if none skipped, its tickets) recovered
            deps.faults.recovered("ticket_system", deps.tickets.name, deps.clock())
            if not skipped:
                deps.faults.recovered("ticket", deps.tickets.name, deps.clock())
        except RetryableError as exc:
            logger.warning("fault recovery not recorded", extra={"error": str(exc)})
    return {
        "since": since.isoformat(),
        "changed": len(applied),
        "resolved": [a.alert_id for a in applied if a.outcome == "resolved"],
        "reminded": reminded,
        "skipped": skipped,
        "left": left,
        **({"paused": paused} if paused else {}),
    }
