"""An alert whose alarm returned to OK before its ticket could be made: when the ticket
exists at last it shows both facts (created for the ALARM, then resolved with the OK's),
and no remediation starts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opslink.comment_outbox import post_comment
from opslink.config import OkPolicy
from opslink.incident_tickets import resolve_alert_ticket
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.models import Alert, Outcome, RecordResult
from opslink.ticket_lockstep import resolve_other_tickets


def opened_after_ok(
    alert: Alert,
    ticket: Any,
    pending: dict[str, str],
    new_ticket: bool,
    deps: IngestDeps,
    policy: IngestPolicy,
) -> RecordResult:
    """The alarm returned to OK before its ticket could be made: the ticket exists now,
    and it shows both facts (created for the ALARM, then resolved with the OK's), never
    skipped; no remediation starts for an alarm that is already OK."""
    deps.store.link_opened(alert, ticket, None, new_ticket=new_ticket)
    linked = alert.model_copy(update={"ticket_id": ticket.id})
    at = pending.get("at") or deps.clock().isoformat()
    why = pending.get("why") or "the ticket system could not be reached when it fired"
    note = (
        f"This ticket was opened for an ALARM after its alarm had already returned to OK ({why}). "
        f"{pending.get('note', '')}"
    ).strip()
    if policy.ok_policy is OkPolicy.RESOLVE:
        resolve_alert_ticket(deps.store, deps.outbox, deps.tickets, deps.incidents, linked, note,
                             f"{alert.alert_id}:ok:{at}", deps.clock())  # fmt: skip
        resolution = {
            "by": "alarm",
            "how": "alarm returned to OK before its ticket existed",
            "at": at,
            "reason": pending.get("reason", ""),
        }
        if deps.store.resolve(linked, resolution, datetime.fromisoformat(at)):
            resolve_other_tickets(
                deps.store, deps.tickets, alert.alert_id, ticket.id, note, outbox=deps.outbox
            )
        outcome, reason = Outcome.RESOLVED, "ticket created after the alarm cleared, then resolved"
    else:
        post_comment(deps.outbox, deps.tickets, ticket.id, f"{alert.alert_id}:ok:{at}", note,
                     deps.clock(), alert.alert_id)  # fmt: skip
        outcome, reason = Outcome.CREATED, "ticket created after the alarm cleared (OK noted)"
    return RecordResult(
        index=0, outcome=outcome, reason=reason, alert_id=alert.alert_id, ticket_id=ticket.id
    )
