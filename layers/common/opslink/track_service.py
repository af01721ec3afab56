"""Ticket → alert sync, the same lifecycle for the scheduled sweep and for webhooks.

- A ticket closed or solved by a human resolves its alert with who, when and the status,
  and stops the alert's remediation execution if it is still running.
- A ticket still unresolved `reminder_after` after it was opened reminds its assignee
  (ticket comment + notification), once per period.
The sweep asks the ticket system only for tickets changed since its last checkpoint, with
an overlap (some systems keep change times to the second or minute); applying a change
twice is harmless, so the overlap costs nothing but a read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from opslink.clock import Clock, utcnow
from opslink.comment_outbox import post_comment
from opslink.deadline import expired
from opslink.errors import RetryableError, TicketSystemRejected
from opslink.models import AlertStatus, Ticket, TicketStatus
from opslink.ports import AlertStore, JobCanceller, Notifier, Stopper, SweepableTickets, TrackStore  # noqa: F401 (re-exported)
from opslink.ticket_lockstep import resolve_other_tickets

logger = Logger(child=True)

OVERLAP = timedelta(seconds=90)
FIRST_SWEEP = timedelta(days=1)
CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass
class TrackDeps:
    store: TrackStore
    tickets: SweepableTickets
    workflow: Stopper | None = None
    jobs: JobCanceller | None = None
    notifier: Notifier | None = None
    reminder_after: timedelta = timedelta(hours=2)
    clock: Clock = field(default=utcnow)


@dataclass(frozen=True)
class Applied:
    ticket_id: str
    outcome: str  # resolved | unchanged | unknown
    alert_id: str | None = None
    reason: str = ""


def apply_ticket(deps: TrackDeps, ticket: Ticket, source: str) -> Applied:
    """What a ticket's current state means for its alert. Idempotent."""
    alert_id = deps.store.alert_for_ticket(ticket.provider, ticket.id)
    if alert_id is None:
        return Applied(
            ticket.id,
            "unknown",
            reason=f"no OpsLink alert is linked to {ticket.provider} ticket {ticket.id}",
        )
    alert = deps.store.get(alert_id)
    if alert is None:
        return Applied(
            ticket.id, "unknown", alert_id, f"alert {alert_id} of ticket {ticket.id} not found"
        )
    if ticket.status not in CLOSED or alert.status is not AlertStatus.OPEN:
        return Applied(
            ticket.id,
            "unchanged",
            alert_id,
            f"ticket {ticket.status.value}, alert {alert.status.value}",
        )
    # Who closed it, as the ticket system says; never guessed from the assignee.
    who = ticket.closed_by or "unknown (the ticket system did not say)"
    resolution = {
        "by": "ticket",
        "how": f"{ticket.provider} ticket {ticket.id} was {ticket.status.value} ({source})",
        "who": who,
        "at": ticket.updated_at.isoformat(),
        "status": ticket.status.value,
    }
    if ticket.custom_fields.get("state_reason"):  # GitHub: completed | not_planned
        resolution["reason"] = ticket.custom_fields["state_reason"]
    if not deps.store.resolve(alert, resolution, ticket.updated_at):
        return Applied(ticket.id, "unchanged", alert_id, "alert was resolved meanwhile")
    stopped = False
    if alert.execution_name and deps.workflow is not None:
        stopped = deps.workflow.stop_remediation(
            alert.execution_name, f"ticket {ticket.id} {ticket.status.value} by {who}"
        )
    text = f"Resolved because ticket {ticket.id} was {ticket.status.value} by {who}."
    others = resolve_other_tickets(
        deps.store,
        deps.tickets,
        alert_id,
        ticket.id,
        f"Resolved together with ticket {ticket.id} ({ticket.status.value} by {who}): "
        f"alert {alert_id} is resolved.",
    )
    if others:
        text += f" Linked ticket {', '.join(others)} resolved with it."
    if stopped:
        text += f" Remediation {alert.execution_name} stopped."
        if deps.jobs is not None:
            try:
                cancelled = deps.jobs.cancel_jobs(
                    alert, f"ticket {ticket.id} {ticket.status.value} by {who}"
                )
            except Exception as exc:  # the alert is resolved either way; say what is left running
                logger.warning("job cancel failed", extra={"alert_id": alert_id, "error": str(exc)})
                text += f" Its job could not be cancelled ({exc}); check the job platform."
            else:
                if cancelled:
                    text += f" Job {', '.join(cancelled)} cancelled."
    deps.store.add_note(alert_id, text, deps.clock(), kind="resolved_by_ticket")
    return Applied(ticket.id, "resolved", alert_id, text)


# Seconds one ticket may take (reads, the alert's resolution, its retries).
RESERVE_SECONDS = 5.0


def remind(deps: TrackDeps, skipped: list[str] | None = None) -> list[str]:
    """Remind the assignees of tickets left unresolved too long, once per period; a
    ticket that cannot be read is passed over (and named in `skipped`), never the end of
    the pass; a ticket system that is away ends it (the next sweep reminds the rest)."""
    now = deps.clock()
    reminded = []
    for alert in deps.store.open_alerts():
        if not alert.ticket_id:
            continue
        if expired(RESERVE_SECONDS):  # the rest is reminded by the next sweep
            break
        try:
            ticket = deps.tickets.get(alert.ticket_id)
        except TicketSystemRejected as exc:
            logger.warning(
                "ticket skipped by the reminders",
                extra={"ticket_id": alert.ticket_id, "error": str(exc)},
            )
            if skipped is not None:
                skipped.append(alert.ticket_id)
            continue
        except RetryableError:
            break
        if (
            ticket is None
            or ticket.status in CLOSED
            or now - ticket.created_at < deps.reminder_after
        ):
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
        post_comment(deps.store, deps.tickets, ticket.id, key, text, now, alert.alert_id)
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


def sweep(deps: TrackDeps) -> dict[str, Any]:
    now = deps.clock()
    name = f"track#{deps.tickets.name}"
    since = (deps.store.get_checkpoint(name) or now - FIRST_SWEEP) - OVERLAP
    changed = sorted(deps.tickets.changed_since(since), key=lambda t: t.updated_at or now)
    applied: list[Applied] = []
    skipped: list[str] = []
    checkpoint = now
    for n, ticket in enumerate(changed):
        if expired(RESERVE_SECONDS):  # the time budget: the checkpoint stops before the rest
            checkpoint = min(now, (ticket.updated_at or now))
            left = len(changed) - n
            break
        try:
            applied.append(apply_ticket(deps, ticket, "sweep"))
        except RetryableError as exc:
            # Not applied now (throttled, down, or refused): the checkpoint stops before
            # this ticket, so the next run starts here and no close is passed over.
            logger.warning("sweep paused", extra={"ticket_id": ticket.id, "error": str(exc)})
            checkpoint = min(now, (ticket.updated_at or now))
            left = len(changed) - n
            break
    else:
        left = 0
    reminded = remind(deps, skipped) if not left else []
    deps.store.set_checkpoint(name, checkpoint)
    return {
        "since": since.isoformat(),
        "changed": len(applied),
        "resolved": [a.alert_id for a in applied if a.outcome == "resolved"],
        "reminded": reminded,
        "skipped": skipped,
        "left": left,
    }
