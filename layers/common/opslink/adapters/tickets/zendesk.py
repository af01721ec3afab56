"""Zendesk Support tickets (Tickets API; an API token as basic auth `email/token:api_token`,
or an OAuth access token as a Bearer token when no email is given).

Idempotent creation through `external_id` (the alert marker). Comments are private notes.
Statuses: new, open, pending, hold, solved, closed. The sweep uses the incremental cursor
export, which is what Zendesk documents for synchronisation, page after page by cursor;
it also carries deleted tickets (`status: "deleted"`): a deleted ticket is closed by a
human, who deleted it (the alert says so).

A `closed` ticket cannot be updated (422 "Status: closed prevents ticket update"): it is
closed for good, and a re-fire gets a follow-up ticket (`via_followup_source_id`), which
Zendesk links to the closed one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opslink.adapters.tickets.common import (
    COMMENT_PAGES,
    KeyedComments,
    already,
    draft_key,
    get_by_number,
    keyed_note,
    marker,
    noted_already,
    parse_each,
    parse_time,
    require,
    ticket_http,
)
from opslink.errors import TicketClosedForGood, TicketSystemRejected
from opslink.models import HandOver, Priority, Ticket, TicketDraft, TicketStatus, TicketType

PRIORITIES = {
    Priority.CRITICAL: "urgent",
    Priority.HIGH: "high",
    Priority.MEDIUM: "normal",
    Priority.LOW: "low",
}
STATES = {
    "new": TicketStatus.OPEN,
    "open": TicketStatus.OPEN,
    "pending": TicketStatus.PENDING,
    "hold": TicketStatus.PENDING,
    "solved": TicketStatus.RESOLVED,
    "closed": TicketStatus.CLOSED,
    "deleted": TicketStatus.CLOSED,  # by a human, who deleted it (custom field `deleted`)
}
TO_STATE = {
    TicketStatus.OPEN: "open",
    TicketStatus.IN_PROGRESS: "open",
    TicketStatus.PENDING: "pending",
    TicketStatus.RESOLVED: "solved",
    TicketStatus.CLOSED: "solved",
}


class ZendeskTickets(KeyedComments):
    name = "zendesk"
    # Journals and comments show plain text, but linkify it and parse mentions (and
    # ServiceNow renders [code] HTML): untrusted regions are defanged (opslink/inert.py).
    markup = "plain"

    def __init__(self, base_url: str, email: str, token: str, client: Any = None) -> None:
        # An API token acts as the agent whose email it comes with; an OAuth access token
        # (no email) carries its user.
        auth = (f"{email}/token", token) if email else None
        headers = {} if email else {"Authorization": f"Bearer {token}"}
        self.http = client or ticket_http("Zendesk", base_url, headers, auth=auth)
        self.base_url = base_url.rstrip("/")

    def _ticket(self, t: dict[str, Any]) -> Ticket:
        tid = require(t, "id", "Zendesk")
        state = STATES.get(str(t.get("status", "")))
        if state is None:
            raise TicketSystemRejected(
                f"Zendesk: ticket {tid} has unknown status {t.get('status')!r}"
            )
        ext = str(t.get("external_id") or "")
        tags = [str(x) for x in t.get("tags") or []]
        type_tag = next(
            (x.removeprefix("opslink_type_") for x in tags if x.startswith("opslink_type_")),
            "incident",
        )
        return Ticket(
            id=str(tid),
            provider=self.name,
            alert_id=ext.removeprefix("opslink-") if ext.startswith("opslink-A-") else None,
            title=str(t.get("subject", "")),
            status=state,
            priority=next(
                (p for p, n in PRIORITIES.items() if n == t.get("priority")), Priority.MEDIUM
            ),
            ticket_type=TicketType(type_tag)
            if type_tag in TicketType.__members__.values()
            else TicketType.INCIDENT,
            assignee=str(t["assignee_id"]) if t.get("assignee_id") else None,
            due_at=parse_time(t["due_at"], "Zendesk", "due_at") if t.get("due_at") else None,
            url=f"{self.base_url}/agent/tickets/{tid}",
            description=str(t.get("description", "")),
            created_at=parse_time(t.get("created_at"), "Zendesk", "created_at"),
            updated_at=parse_time(t.get("updated_at"), "Zendesk", "updated_at"),
            custom_fields={"deleted": "true"} if t.get("status") == "deleted" else {},
        )

    def get(self, ticket_id: str) -> Ticket | None:
        path = f"/api/v2/tickets/{ticket_id}.json"
        return get_by_number(self.http, ticket_id, path, "ticket", "Zendesk", self._ticket)

    def _find(self, key: str) -> Ticket | None:
        doc = self.http.request(
            "GET",
            "/api/v2/tickets.json",
            params={"external_id": marker(key)},
            what="find ticket by alert",
        )
        tickets = require(doc, "tickets", "Zendesk")
        mine = [t for t in tickets if isinstance(t, dict) and t.get("external_id") == marker(key)]
        if tickets and not mine:  # never another ticket for the alarm's
            raise TicketSystemRejected(
                "Zendesk: the ticket listing by external_id answered tickets without this "
                "alert's marker (the filter was ignored)"
            )
        return self._ticket(mine[0]) if mine else None

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        return self._find(alert_id)

    def changed_since(self, since: datetime) -> list[Ticket]:
        out: list[Ticket] = []
        params: dict[str, Any] = {"start_time": int(since.timestamp())}
        while True:
            doc = self.http.request(
                "GET",
                "/api/v2/incremental/tickets/cursor.json",
                params=params,
                what="incremental export",
            )
            mine = [
                t
                for t in require(doc, "tickets", "Zendesk")
                if isinstance(t, dict) and "opslink" in (t.get("tags") or [])
            ]
            out += parse_each(mine, self._ticket, "Zendesk")
            if doc.get("end_of_stream", True) or not doc.get("after_cursor"):
                return out
            params = {"cursor": doc["after_cursor"]}

    def create(self, draft: TicketDraft) -> Ticket:
        key = draft_key(draft)
        existing = self._find(key)
        if existing is not None:
            return existing
        ticket: dict[str, Any] = {
            "subject": draft.title,
            "comment": {"body": draft.description, "public": False},
            "priority": PRIORITIES[draft.priority],
            "type": "task",  # tasks carry a due date; the OpsLink type is a tag
            "due_at": draft.due_at.isoformat(),
            "tags": ["opslink", f"opslink_type_{draft.ticket_type.value}"],
            "external_id": marker(key),
        }
        if draft.assignee and "@" in draft.assignee:
            ticket["assignee_email"] = draft.assignee
        if draft.follows and draft.follows.isdigit():  # Zendesk links it to the closed one
            ticket["via_followup_source_id"] = int(draft.follows)
        doc = self.http.request(
            "POST",
            "/api/v2/tickets.json",
            json={"ticket": ticket},
            idempotent=False,
            what="create ticket",
        )
        return self._ticket(require(doc, "ticket", "Zendesk"))

    def _put(self, ticket_id: str, body: dict[str, Any], what: str, idempotent: bool) -> Any:
        try:
            return self.http.request("PUT", f"/api/v2/tickets/{ticket_id}.json",
                                     json={"ticket": body}, idempotent=idempotent, what=what)  # fmt: skip
        except TicketSystemRejected as exc:
            if "closed prevents" in str(exc).lower():
                raise TicketClosedForGood(
                    f"Zendesk: ticket {ticket_id} is closed and cannot be updated"
                ) from exc
            raise

    def _post_comment(self, ticket_id: str, body: str, author: str) -> None:
        # idempotent=False: a repeated PUT adds the comment again
        self._put(ticket_id, {"comment": {"body": body, "public": False}},
                  f"comment on {ticket_id}", idempotent=False)  # fmt: skip

    def comment_texts(self, ticket_id: str) -> list[str]:
        # Cursor pagination (page[size], at most 100 a page): every page, oldest first.
        texts: list[str] = []
        params: dict[str, Any] = {"page[size]": 100}
        for _ in range(COMMENT_PAGES):
            doc = self.http.request(
                "GET",
                f"/api/v2/tickets/{ticket_id}/comments.json",
                params=params,
                what=f"comments of {ticket_id}",
            )
            texts += [str(c.get("body", "")) for c in (doc or {}).get("comments") or []]
            meta = (doc or {}).get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                break
            params = {"page[size]": 100, "page[after]": str(meta["after_cursor"])}
        return texts

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        current = self.get(ticket_id)
        if current is None:
            raise TicketSystemRejected(f"Zendesk: ticket {ticket_id} not found")
        body: dict[str, Any] = {
            "subject": handover.title(current.title),
            "priority": PRIORITIES[handover.priority],
            "due_at": handover.due_at.isoformat(),
            "additional_tags": [f"opslink_{handover.label}"],
            "comment": {"body": handover.note, "public": False},
        }
        if handover.assignee and "@" in handover.assignee:
            body["assignee_email"] = handover.assignee
        doc = self._put(ticket_id, body, f"hand over {ticket_id}", idempotent=True)
        return self._ticket(require(doc, "ticket", "Zendesk"))

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        if "@" not in assignee:
            raise TicketSystemRejected(
                f"Zendesk assigns by e-mail address, not {assignee!r} (ticket {ticket_id})"
            )
        doc = self._put(
            ticket_id, {"assignee_email": assignee}, f"assign {ticket_id}", idempotent=True
        )
        return self._ticket(require(doc, "ticket", "Zendesk"))

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        current = self.get(ticket_id)
        if current is not None and already(current, status):
            return noted_already(self, ticket_id, current, note, key)  # exactly once
        note = keyed_note(note, key)
        if current is not None and current.status is TicketStatus.CLOSED:
            raise TicketClosedForGood(
                f"Zendesk: ticket {ticket_id} is closed and cannot be reopened"
            )
        body: dict[str, Any] = {"status": TO_STATE[status]}
        if note:
            body["comment"] = {"body": note, "public": False}
        # with a note the PUT is not repeated blindly: a repeat would add the note again
        doc = self._put(ticket_id, body, f"status of {ticket_id}", idempotent=not note)
        return self._ticket(require(doc, "ticket", "Zendesk"))
