"""What a ticket that ended means for its alert: closed or solved by a human (as the
ticket system says who), or deleted (closed by a human, who deleted it). The alert is
resolved once; its remediation is stopped, its job cancelled, its other tickets resolved
with it. Shared by the sweep and the webhooks (track_service, webhook_service)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from opslink.models import Alert, AlertStatus, Ticket, TicketStatus
from opslink.ticket_lockstep import resolve_counted, resolve_other_tickets

if TYPE_CHECKING:
    from opslink.track_service import TrackDeps

logger = Logger(child=True)

CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True)
class Applied:
    ticket_id: str
    outcome: str  # resolved | unchanged | unknown
    alert_id: str | None = None
    reason: str = ""


def apply_ticket(deps: TrackDeps, ticket: Ticket, source: str) -> Applied:
    """What a ticket's current state means for its alerts (the latest linked one, and
    every member of an incident the ticket serves). Idempotent."""
    alert_ids = deps.store.alerts_for_ticket(ticket.provider, ticket.id)
    if not alert_ids:
        return Applied(
            ticket.id,
            "unknown",
            reason=f"no OpsLink alert is linked to {ticket.provider} ticket {ticket.id}",
        )
    alert_id = alert_ids[-1]
    alert = deps.store.get(alert_id)
    if alert is None:
        return Applied(
            ticket.id, "unknown", alert_id, f"alert {alert_id} of ticket {ticket.id} not found"
        )
    members = _open_members(deps, alert, alert_ids) if ticket.status in CLOSED else []
    if ticket.status not in CLOSED or (alert.status is not AlertStatus.OPEN and not members):
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
    what = f"{ticket.status.value} by {who}"
    if ticket.custom_fields.get("deleted"):
        resolution["how"] = f"{ticket.provider} ticket {ticket.id} was deleted ({source})"
        what = f"deleted by {who}"
    targets = ([alert] if alert.status is AlertStatus.OPEN else []) + members
    return _resolve_all(deps, targets, ticket.id, resolution, ticket.updated_at, what)


def _open_members(deps: TrackDeps, latest: Alert, alert_ids: list[str]) -> list[Alert]:
    """The other open alerts of the incident the ticket serves (none for a ticket of one
    alert: a reopened ticket's earlier alerts are resolved already)."""
    if latest.incident_id is None:
        return []
    found = (deps.store.get(i) for i in alert_ids[:-1])
    return [
        a for a in found
        if a is not None and a.status is AlertStatus.OPEN and a.incident_id is not None
    ]  # fmt: skip


def _resolve_all(
    deps: TrackDeps,
    alerts: list[Alert],
    ticket_id: str,
    resolution: dict[str, str],
    at: datetime,
    what: str,
) -> Applied:
    """Resolve each alert the ended ticket served; its incident is resolved with them (it
    takes no member after this: a new alarm opens a new incident that refers to it)."""
    done = [_resolve_by_ticket(deps, a, ticket_id, resolution, at, what) for a in alerts]
    incidents = {a.incident_id for a in alerts if a.incident_id}
    if deps.incidents is not None:
        for incident_id in sorted(incidents):
            state = deps.incidents.incident(incident_id)
            if state is not None:
                deps.incidents.mark_resolved(state, at, f"its ticket {ticket_id} was {what}")
    resolved = [r for r in done if r.outcome == "resolved"]
    if len(resolved) <= 1:
        return resolved[0] if resolved else done[-1]
    return Applied(ticket_id, "resolved", resolved[0].alert_id,
                   f"{len(resolved)} alerts of incident {', '.join(sorted(incidents))} resolved: "
                   + resolved[0].reason)  # fmt: skip


def apply_missing(deps: TrackDeps, provider: str, ticket_id: str, source: str) -> Applied:
    """A linked ticket the ticket system no longer has (404/410, or exported as deleted):
    closed by a human, who deleted it. Its alert is resolved and the alert says so."""
    alert_ids = deps.store.alerts_for_ticket(provider, ticket_id)
    alert_id = alert_ids[-1] if alert_ids else None
    alert = deps.store.get(alert_id) if alert_id else None
    if alert is None:
        return Applied(ticket_id, "unknown", alert_id,
                       f"no OpsLink alert is linked to {provider} ticket {ticket_id}")  # fmt: skip
    members = _open_members(deps, alert, alert_ids)
    if alert.status is not AlertStatus.OPEN and not members:
        return Applied(ticket_id, "unchanged", alert.alert_id,
                       f"ticket deleted, alert {alert.status.value}")  # fmt: skip
    now = deps.clock()
    resolution = {
        "by": "ticket",
        "how": f"{provider} ticket {ticket_id} was deleted ({source}): treated as closed by a human",
        "who": "unknown (the ticket was deleted)",
        "at": now.isoformat(),
        "status": "deleted",
    }
    targets = ([alert] if alert.status is AlertStatus.OPEN else []) + members
    return _resolve_all(deps, targets, ticket_id, resolution, now,
                        "deleted in the ticket system (closed by a human)")  # fmt: skip


def _resolve_by_ticket(
    deps: TrackDeps,
    alert: Alert,
    ticket_id: str,
    resolution: dict[str, str],
    at: datetime,
    what: str,
) -> Applied:
    """Resolve `alert` because its ticket ended (`what`: how it ended, by whom); stop its
    remediation, cancel its job, resolve its other tickets: once."""
    alert_id = alert.alert_id
    # Its own ticket ended and no hand-over is counted on it: nothing else to resolve.
    own = ticket_id == alert.ticket_id
    resolved, alone = resolve_counted(deps.store, alert, resolution, at,
                                      alone=own and alert.followups == 0)  # fmt: skip
    if not resolved:
        return Applied(ticket_id, "unchanged", alert_id, "alert was resolved meanwhile")
    stopped = False
    if alert.execution_name and deps.workflow is not None:
        stopped = deps.workflow.stop_remediation(alert.execution_name, f"ticket {ticket_id} {what}")
    text = f"Resolved because ticket {ticket_id} was {what}."
    others = (
        []
        if alone
        else resolve_other_tickets(
            deps.store,
            deps.tickets,
            alert_id,
            ticket_id,
            f"Resolved together with ticket {ticket_id} ({what}): alert {alert_id} is resolved.",
            outbox=deps.outbox,
        )
    )
    if others:
        text += f" Linked ticket {', '.join(others)} resolved with it."
    if stopped:
        text += f" Remediation {alert.execution_name} stopped."
        if deps.jobs is not None:
            try:
                cancelled = deps.jobs.cancel_jobs(alert, f"ticket {ticket_id} {what}")
            except Exception as exc:  # the alert is resolved either way; say what is left running
                logger.warning("job cancel failed", extra={"alert_id": alert_id, "error": str(exc)})
                text += f" Its job could not be cancelled ({exc}); check the job platform."
            else:
                if cancelled:
                    text += f" Job {', '.join(cancelled)} cancelled."
    deps.store.add_note(alert_id, text, deps.clock(), kind="resolved_by_ticket")
    return Applied(ticket_id, "resolved", alert_id, text)
