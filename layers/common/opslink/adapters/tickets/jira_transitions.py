"""Jira issues through their workflows: a status is reached by a transition, chosen by
the category of the status it leads to (jira_fields.pick_transition)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from opslink.adapters.tickets.common import already, keyed_note, noted_already, require, reread
from opslink.adapters.tickets.jira_fields import adf, pick_transition, transition_fields
from opslink.errors import TicketClosedForGood, TicketSystemRejected
from opslink.models import ACTIVE_STATUSES, Ticket, TicketStatus

_CATEGORY = {
    "done": "done",
    TicketStatus.RESOLVED: "done",
    TicketStatus.CLOSED: "done",
    TicketStatus.OPEN: "new",
    TicketStatus.IN_PROGRESS: "indeterminate",
    TicketStatus.PENDING: "indeterminate",
}


def transition(
    tickets: Any, ticket_id: str, status: TicketStatus, note: str | None, key: str | None
) -> Ticket:
    """Move an issue to `status` through its workflow: the transition to a status of that
    category (a resolve screen's required Resolution filled), then the note; exactly once
    when retried."""
    current = tickets.get(ticket_id)
    if current is not None and already(current, status):
        return noted_already(tickets, ticket_id, current, note, key)  # exactly once
    plain, note = note, keyed_note(note, key)
    path = f"{tickets.api}/issue/{quote(ticket_id, safe='')}/transitions"
    doc = tickets.http.request(
        "GET", path, params={"expand": "transitions.fields"}, what=f"transitions of {ticket_id}"
    )
    transitions = require(doc, "transitions", "Jira")
    wanted = _CATEGORY[status]
    chosen = pick_transition(transitions, wanted)
    if chosen is None and status in ACTIVE_STATUSES:  # reopened: an active status either way
        chosen = pick_transition(transitions, "indeterminate" if wanted == "new" else "new")
    if chosen is None:
        current = tickets.get(ticket_id)
        if current is None or _CATEGORY[current.status] != wanted:  # not there already
            raise _no_way(ticket_id, current, wanted)
    else:
        body: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
        if fields := transition_fields(chosen):  # a resolve screen's Resolution
            body["fields"] = fields
        if _comment_required(chosen):  # a screen that asks for one (a Reopen, often)
            said = note or f"OpsLink: set {status.value}."
            body["update"] = {"comment": [{"add": {"body": adf(said) if tickets.v3 else said}}]}
            note = None  # said with the transition
        elif plain and wanted == "done":
            # A done status may lock the issue (`jira.issue.editable = false`: comments are
            # refused there), so the note is said while the issue still takes them — read
            # back first when keyed: a retry whose transition failed has said it already.
            tickets.comment(ticket_id, plain, key=key, verify=key is not None)
            note = None
        tickets.http.request("POST", path, json=body, what=f"transition {ticket_id}", expect="none")
    if note:
        tickets.comment(ticket_id, note)
    return reread(tickets.get, ticket_id, "Jira: issue")


def _comment_required(transition: dict[str, Any]) -> bool:
    """The transition's screen requires a comment (Jira refuses it without one: 400)."""
    field = (transition.get("fields") or {}).get("comment") or {}
    return bool(field.get("required"))


def _no_way(ticket_id: str, current: Ticket | None, wanted: str) -> TicketSystemRejected:
    """No transition leads to `wanted`: from a final status that is closed for good."""
    if current is not None and _CATEGORY[current.status] == "done":
        return TicketClosedForGood(
            f"Jira: issue {ticket_id} is {current.status.value} and its workflow has no "
            f"transition back to a '{wanted}' status"
        )
    return TicketSystemRejected(f"Jira: issue {ticket_id} has no transition to a '{wanted}' status")
