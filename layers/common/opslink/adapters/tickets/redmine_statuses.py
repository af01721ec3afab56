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
from opslink.errors import TicketSystemRejected
from opslink.models import Ticket, TicketStatus


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
    target = _allowed(tickets, ticket_id, raw, status)
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
        raise TicketSystemRejected(
            f"Redmine kept issue {ticket_id} {after.status.value}: its workflow does not let "
            f"OpsLink's user set it {status.value}; allow that transition for the user's "
            "role (Administration → Workflow)"
        )
    return after


def _allowed(tickets: Any, ticket_id: str, issue: dict[str, Any], status: TicketStatus) -> int:
    """The status id to set, refused by name when the issue's workflow does not list it
    for OpsLink's user (Redmine 5+ lists them; before, the change is checked after)."""
    wanted = tickets._status_id(status)
    allowed = issue.get("allowed_statuses")
    if not isinstance(allowed, list):
        return wanted
    ids = {int(s["id"]): str(s.get("name")) for s in allowed if isinstance(s, dict) and "id" in s}
    if wanted in ids:
        return wanted
    raise TicketSystemRejected(
        f"Redmine: the workflow does not let OpsLink's user set issue {ticket_id} "
        f"{status.value} (it may set: {', '.join(ids.values()) or 'none'}); allow that "
        "transition for the user's role (Administration → Workflow)"
    )
