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
from opslink.ticket_lockstep import resolve_other_tickets

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
    if ticket.custom_fields.get("deleted"):
        resolution["how"] = f"{ticket.provider} ticket {ticket.id} was deleted ({source})"
        return _resolve_by_ticket(deps, alert, ticket.id, resolution, ticket.updated_at,
                                  f"deleted by {who}")  # fmt: skip
    return _resolve_by_ticket(deps, alert, ticket.id, resolution, ticket.updated_at,
                              f"{ticket.status.value} by {who}")  # fmt: skip


def apply_missing(deps: TrackDeps, provider: str, ticket_id: str, source: str) -> Applied:
    """A linked ticket the ticket system no longer has (404/410, or exported as deleted):
    closed by a human, who deleted it. Its alert is resolved and the alert says so."""
    alert_id = deps.store.alert_for_ticket(provider, ticket_id)
    alert = deps.store.get(alert_id) if alert_id else None
    if alert is None:
        return Applied(ticket_id, "unknown", alert_id,
                       f"no OpsLink alert is linked to {provider} ticket {ticket_id}")  # fmt: skip
    if alert.status is not AlertStatus.OPEN:
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
    return _resolve_by_ticket(deps, alert, ticket_id, resolution, now,
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
    if not deps.store.resolve(alert, resolution, at):
        return Applied(ticket_id, "unchanged", alert_id, "alert was resolved meanwhile")
    stopped = False
    if alert.execution_name and deps.workflow is not None:
        stopped = deps.workflow.stop_remediation(alert.execution_name, f"ticket {ticket_id} {what}")
    text = f"Resolved because ticket {ticket_id} was {what}."
    others = resolve_other_tickets(
        deps.store,
        deps.tickets,
        alert_id,
        ticket_id,
        f"Resolved together with ticket {ticket_id} ({what}): alert {alert_id} is resolved.",
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
