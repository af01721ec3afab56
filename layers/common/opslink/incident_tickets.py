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

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from opslink.comment_outbox import noted_status, post_comment
from opslink.models import Alert, TicketStatus
from opslink.ports import AlertStore, CommentQueue, IncidentStore

if TYPE_CHECKING:
    from opslink.incidents import IncidentState

logger = Logger(child=True)


SAID_IN_FULL = 10  # an incident's joining or clearing alarms its ticket hears of one by one


def said_at(count: int) -> bool:
    """Whether a member's join or clearing that leaves the incident with `count` alarms
    (members, or still firing) is said on its ticket: each up to SAID_IN_FULL, then at
    20, 40, 80… — an incident of hundreds of alarms would add a comment (and ticket-system
    calls) for each as it forms and again as it recovers."""
    if count <= SAID_IN_FULL:
        return True
    times, rest = divmod(count, SAID_IN_FULL)
    return rest == 0 and times & (times - 1) == 0


def _resolved_as_read(
    incidents: IncidentStore, read: IncidentState | None, alert: Alert, at: datetime
) -> tuple[IncidentState, str] | None:
    """The incident after this member cleared, when the incident as read says the clearing
    resolves it and one conditional write did both (member out, incident resolved); None
    otherwise (not read, not resolving, or changed since): cleared and decided again."""
    if read is None or read.incident_id != alert.incident_id or read.resolved_at is not None:
        return None
    after = replace(read, firing=tuple(a for a in read.firing if a != alert.alert_id))
    done, why = after.after_clearing(alert.alert_id)
    if not done or not incidents.resolved_by_clearing(read, alert.alert_id, at, why):
        return None
    return replace(after, resolved_at=at, resolution=why[:500]), why


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
    incident_read: IncidentState | None = None,
    digest: bool = False,
) -> bool:
    """Resolve the alert's ticket with `text` (keyed: exactly once), or — the alert being
    one member of an incident that stays open — comment on it. True when resolved.
    `queue_checked`: the caller found the ticket's outbox empty (comment_outbox).
    `incident_read`: the alert's incident as the caller read it, which decides in one write
    when this clearing resolves it (unless it changed since). `digest` (an alarm's own OK):
    a member clearing while others still fire is said only as `said_at` says; a fix or a
    decision is always said."""
    if not alert.ticket_id:
        return False
    if alert.incident_id is None or incidents is None:
        noted_status(outbox, tickets, alert.ticket_id, TicketStatus.RESOLVED, text, key, at,
                     alert.alert_id, keep_on_failure=True, queue_checked=queue_checked)  # fmt: skip
        return True
    folded = _resolved_as_read(incidents, incident_read, alert, at)
    if folded is not None:
        state, why = folded
    else:
        cleared = incidents.member_cleared(alert.incident_id, alert.alert_id)
        if cleared is None:  # its incident is gone (expired data): the alert's own ticket rule
            noted_status(outbox, tickets, alert.ticket_id, TicketStatus.RESOLVED, text, key, at,
                         alert.alert_id, keep_on_failure=True, queue_checked=queue_checked)  # fmt: skip
            return True
        state = cleared
        done, why = state.after_clearing(alert.alert_id)
        if not done:
            if not digest or said_at(len(state.firing)):  # the last 10, before at 20, 40…
                post_comment(outbox, tickets, alert.ticket_id, key, f"{text}\n\n{why}", at,
                             alert.alert_id, queue_checked=queue_checked)  # fmt: skip
            return False
        if state.resolved_at is None:  # resolved by another member: no second write
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
