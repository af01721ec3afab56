"""One problem, one ticket: what an alert's resolution does to the ticket it shares with
the other alerts of its incident. Called by whatever resolves an alert because its alarm
cleared (alarm OK, verified fix, stable after flapping, OK before the ticket existed) in
place of resolving the ticket outright; a human closing the ticket resolves every member
(ticket_closure.py).

An alert in no incident resolves its ticket as before. A member clearing is taken out of
the incident's firing set (once) and the incident's `resolve_on` decides: the ticket is
resolved (once per incident, whichever member gets there) or keeps running with a comment
saying what still fires. Members still firing when the incident resolves (`first`,
`last`) are resolved with it: one incident, one ticket, no alert left open behind a
resolved ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from opslink.comment_outbox import noted_status, post_comment
from opslink.models import Alert, TicketStatus
from opslink.ports import AlertStore, CommentQueue, IncidentStore

logger = Logger(child=True)


def resolve_alert_ticket(
    store: AlertStore,
    outbox: CommentQueue,
    tickets: Any,
    incidents: IncidentStore | None,
    alert: Alert,
    text: str,
    key: str,
    at: datetime,
    queue_checked: bool = False,
) -> bool:
    """Resolve the alert's ticket with `text` (keyed: exactly once), or — the alert being
    one member of an incident that stays open — comment on it. True when resolved.
    `queue_checked`: the caller found the ticket's outbox empty (comment_outbox)."""
    if not alert.ticket_id:
        return False
    if alert.incident_id is None or incidents is None:
        noted_status(outbox, tickets, alert.ticket_id, TicketStatus.RESOLVED, text, key, at,
                     alert.alert_id, keep_on_failure=True, queue_checked=queue_checked)  # fmt: skip
        return True
    state = incidents.member_cleared(alert.incident_id, alert.alert_id)
    if state is None:  # its incident is gone (expired data): the alert's own ticket rule
        noted_status(outbox, tickets, alert.ticket_id, TicketStatus.RESOLVED, text, key, at,
                     alert.alert_id, keep_on_failure=True, queue_checked=queue_checked)  # fmt: skip
        return True
    done, why = state.after_clearing(alert.alert_id)
    if not done:
        post_comment(outbox, tickets, alert.ticket_id, key, f"{text}\n\n{why}", at, alert.alert_id,
                     queue_checked=queue_checked)  # fmt: skip
        return False
    incidents.mark_resolved(state, at, why)
    noted_status(outbox, tickets, alert.ticket_id, TicketStatus.RESOLVED, f"{text}\n\n{why}",
                 f"{state.incident_id}:resolved", at, alert.alert_id,
                 keep_on_failure=True, queue_checked=queue_checked)  # fmt: skip
    for other in state.firing:  # resolve_on first/last: the rest go with the incident
        if other != alert.alert_id:
            store.resolve_by_id(
                other,
                {"by": "alarm", "at": at.isoformat(), "reason": why,
                 "how": f"incident {state.incident_id} resolved (resolve_on: {state.resolve_on})"},
                at,
            )  # fmt: skip
    return True
