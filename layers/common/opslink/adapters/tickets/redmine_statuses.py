"""Redmine issue statuses: set with their note in one PUT, checked against the workflow.

Redmine drops a status its workflow does not allow the API user's role and still answers
204 (the note is added): the workflow's allowed statuses are read with the issue (Redmine
5+) and the change is checked after it (every version).
"""

from __future__ import annotations

from typing import Any

from opslink.adapters.tickets.common import (
    already,
    comment_ref,
    keyed_note,
    noted_already,
    require,
    reread,
)
from opslink.errors import TicketClosedForGood, TicketSystemRejected
from opslink.models import ACTIVE_STATUSES, FINISHED_STATUSES, Ticket, TicketStatus

STATUS_NAMES = {
    TicketStatus.OPEN: ("New",),
    TicketStatus.IN_PROGRESS: ("In Progress",),
    TicketStatus.PENDING: ("Feedback",),
    TicketStatus.RESOLVED: ("Resolved",),
    TicketStatus.CLOSED: ("Closed",),
}


def status_of(status: dict[str, Any], closed_on: bool = False) -> TicketStatus:
    """A Redmine status as OpsLink reads it: by its default name, else a server's own
    status by its `is_closed` flag (closed, or still worked on)."""
    name = str(status.get("name", ""))
    state = next((st for st, names in STATUS_NAMES.items() if name in names), None)
    if state is not None:
        return state
    closed = bool(status.get("is_closed")) or closed_on
    return TicketStatus.CLOSED if closed else TicketStatus.IN_PROGRESS


def change_status(
    tickets: Any, ticket_id: str, status: TicketStatus, note: str | None, key: str | None
) -> Ticket:
    """Set an issue's status with its note in one PUT, exactly once when retried, never
    taken as set when Redmine's workflow dropped it."""
    # One read: the issue, the statuses its workflow lets OpsLink's user move it to
    # (Redmine 5+), and its notes (a keyed note that landed while the status was not).
    doc = (
        tickets.http.request(
            "GET",
            f"/issues/{ticket_id}.json",
            params={"include": "allowed_statuses,journals"},
            what=f"issue {ticket_id}",
            missing_ok=True,
        )
        if ticket_id.isdigit()
        else None
    )
    raw = require(doc, "issue", "Redmine") if doc is not None else {}
    current = tickets._ticket(raw) if raw else None
    if current is not None and already(current, status):
        return noted_already(tickets, ticket_id, current, note, key)  # exactly once
    target = _allowed(tickets, ticket_id, raw, status, current)
    if key and any(
        comment_ref(key) in str(j.get("notes") or "") for j in raw.get("journals") or []
    ):
        note = None  # posted by an earlier attempt that the workflow kept from the status
    note = keyed_note(note, key)
    issue: dict[str, Any] = {"status_id": target}
    if note:
        issue["notes"] = note
    tickets.http.request(
        "PUT",
        f"/issues/{ticket_id}.json",
        json={"issue": issue},
        idempotent=not note,  # a repeated PUT would add the note again
        what=f"status of {ticket_id}",
        expect="none",
    )
    after = reread(tickets.get, ticket_id, "Redmine: issue")
    if not already(after, status):  # Redmine drops a status its workflow forbids: 204
        if status in ACTIVE_STATUSES and after.status in FINISHED_STATUSES:
            raise _closed_for_good(ticket_id, after, "none of the open statuses")
        raise TicketSystemRejected(
            f"Redmine kept issue {ticket_id} {after.status.value}: its workflow does not let "
            f"OpsLink's user set it {status.value}; allow that transition for the user's "
            "role (Administration → Workflow)"
        )
    return after


def _allowed(
    tickets: Any,
    ticket_id: str,
    issue: dict[str, Any],
    status: TicketStatus,
    current: Ticket | None,
) -> int:
    """The status id to set, refused by name when the issue's workflow does not list it
    for OpsLink's user (Redmine 5+ lists them; before, the change is checked after). A
    reopening takes any open status the workflow allows (Redmine's default Developer may
    move a Resolved issue to In Progress, never to New); none, the issue is closed for
    good for OpsLink's user (the default Developer may not move a Closed one at all)."""
    wanted = tickets._status_id(status)
    allowed = issue.get("allowed_statuses")
    if not isinstance(allowed, list):
        return wanted
    ids = {int(s["id"]): str(s.get("name")) for s in allowed if isinstance(s, dict) and "id" in s}
    if wanted in ids:
        return wanted
    if status in ACTIVE_STATUSES:
        active = [s for s in allowed if isinstance(s, dict) and status_of(s) in ACTIVE_STATUSES]
        if active:
            return int(active[0]["id"])
        if current is not None and current.status in FINISHED_STATUSES:
            raise _closed_for_good(ticket_id, current, ", ".join(ids.values()) or "none")
    raise TicketSystemRejected(
        f"Redmine: the workflow does not let OpsLink's user set issue {ticket_id} "
        f"{status.value} (it may set: {', '.join(ids.values()) or 'none'}); allow that "
        "transition for the user's role (Administration → Workflow)"
    )


def _closed_for_good(ticket_id: str, current: Ticket, may: str) -> TicketClosedForGood:
    return TicketClosedForGood(
        f"Redmine: issue {ticket_id} is {current.status.value} and the workflow lets "
        f"OpsLink's user reopen it to no open status (it may set: {may}); a follow-up issue "
        "takes its place (to reopen instead, allow it for the user's role: Administration "
        "→ Workflow)"
    )
