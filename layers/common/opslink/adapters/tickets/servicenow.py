"""ServiceNow incidents through the Table API (basic authentication, or OAuth client
credentials: servicenow_oauth.py).

Idempotent creation through `correlation_id` (the alert marker) with
`correlation_display=OpsLink`. Priority is derived by ServiceNow from impact x urgency,
so OpsLink sets those. States: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed,
8 Canceled. Ticket ids are sys_ids (stable; what webhooks carry); the number is in the URL.

Raw values only (no `sysparm_input_display_value`): with display values the instance
reads dates in the integration user's time zone and references by display name, so a
UTC due date would shift and an e-mail in `assigned_to` would not resolve. OpsLink sends
the due date in UTC and the assignee's `sys_user` sys_id (looked up by e-mail); it reads
reference fields (`assigned_to`, `resolved_by`) as sys_ids and resolves them to the
user's e-mail or user name ("who closed it"). `close_code` must be one of the instance's
choices: "Solution provided" (the default list) unless TicketOptions `close_code` says
otherwise. Queries page through `Link: rel="next"`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from opslink.adapters.tickets.common import (
    COMMENT_PAGES,
    KeyedComments,
    already,
    draft_key,
    keyed_note,
    marker,
    noted_already,
    parse_each,
    parse_time,
    require,
    ticket_http,
)
from opslink.adapters.tickets.servicenow_fields import (
    CATEGORIES,
    IMPACT_URGENCY,
    JOURNAL,
    PRIORITIES,
    STATES,
    TABLE,
    TO_STATE,
    closed_for_good,
    custom_state,
)
from opslink.adapters.tickets.servicenow_users import ServiceNowUsers
from opslink.errors import TicketSystemRejected
from opslink.models import HandOver, Priority, Ticket, TicketDraft, TicketStatus, TicketType


class ServiceNowTickets(KeyedComments):
    name = "servicenow"
    # Journals and comments show plain text, but linkify it and parse mentions (and
    # ServiceNow renders [code] HTML): untrusted regions are defanged (opslink/inert.py).
    markup = "plain"

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        assignment_group: str = "",
        client: Any = None,
        close_code: str = "Solution provided",
        oauth: Any = None,
    ) -> None:
        # Basic authentication, or the OAuth client credentials grant's token (`oauth`).
        auth = oauth if oauth is not None else (user, password)
        self.http = client or ticket_http("ServiceNow", base_url, {}, auth=auth)
        self.base_url = base_url.rstrip("/")
        self.group = assignment_group
        self.close_code = close_code
        self.users = ServiceNowUsers(self.http)

    def _ticket(self, rec: dict[str, Any]) -> Ticket:
        sys_id = str(require(rec, "sys_id", "ServiceNow"))
        state = STATES.get(str(rec.get("state", ""))) or custom_state(rec)
        if state is None:
            raise TicketSystemRejected(
                f"ServiceNow: incident {sys_id} has unknown state {rec.get('state')!r}"
            )
        corr = str(rec.get("correlation_id") or "")

        return Ticket(
            id=sys_id,
            provider=self.name,
            alert_id=corr.removeprefix("opslink-") if corr.startswith("opslink-A-") else None,
            title=str(rec.get("short_description", "")),
            status=state,
            priority=PRIORITIES.get(str(rec.get("priority", "")), Priority.MEDIUM),
            ticket_type=TicketType.INCIDENT,
            assignee=self.users.name_of(rec.get("assigned_to")),
            closed_by=self.users.name_of(rec.get("resolved_by"))
            or self.users.name_of(rec.get("closed_by")),
            due_at=parse_time(rec["due_date"], "ServiceNow", "due_date")
            if rec.get("due_date")
            else None,
            url=f"{self.base_url}/nav_to.do?uri=incident.do?sys_id={sys_id}",
            description=str(rec.get("description", "")),
            created_at=parse_time(rec.get("sys_created_on"), "ServiceNow", "sys_created_on"),
            updated_at=parse_time(rec.get("sys_updated_on"), "ServiceNow", "sys_updated_on"),
            custom_fields={"number": str(rec.get("number", ""))}
            | ({"state": str(rec["state"])} if str(rec.get("state")) not in STATES else {}),
        )

    def _query(self, query: str, limit: int, pages: int = 50) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for doc in self.http.pages(
            TABLE,
            params={
                "sysparm_query": query,
                "sysparm_limit": limit,
                "sysparm_exclude_reference_link": "true",
            },
            what="query incidents",
            limit=pages,
        ):
            result = require(doc, "result", "ServiceNow")
            if not isinstance(result, list):
                raise TicketSystemRejected("ServiceNow: field 'result' is not a list")
            rows += result
        return rows

    def get(self, ticket_id: str) -> Ticket | None:
        doc = self.http.request(
            "GET",
            f"{TABLE}/{quote(ticket_id, safe='')}",
            params={"sysparm_exclude_reference_link": "true"},
            what=f"incident {ticket_id}",
            missing_ok=True,
        )
        if doc is None:
            return None
        return self._ticket(require(doc, "result", "ServiceNow"))

    def _find(self, key: str) -> Ticket | None:
        rows = self._query(f"correlation_id={marker(key)}^ORDERBYsys_created_on", 1, pages=1)
        if rows and str(rows[0].get("correlation_id") or "") != marker(key):  # ignored
            raise TicketSystemRejected(  # (a condition on a field the user may not read)
                f"ServiceNow: the search by correlation_id answered {rows[0].get('number')} "
                "without this alert's marker: OpsLink's user must read correlation_id"
            )
        return self._ticket(rows[0]) if rows else None

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        return self._find(alert_id)

    def changed_since(self, since: datetime) -> list[Ticket]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return parse_each(
            self._query(
                f"correlation_display=OpsLink^sys_updated_on>={stamp}^ORDERBYsys_updated_on", 200
            ),
            self._ticket,
            "ServiceNow",
        )

    def create(self, draft: TicketDraft) -> Ticket:
        key = draft_key(draft)
        existing = self._find(key)
        if existing is not None:
            return existing
        impact, urgency = IMPACT_URGENCY[draft.priority]
        body: dict[str, Any] = {
            "short_description": draft.title[:160],
            "description": draft.description,
            "impact": impact,
            "urgency": urgency,
            "category": CATEGORIES[draft.ticket_type],
            "correlation_id": marker(key),
            "correlation_display": "OpsLink",
            "due_date": draft.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if self.group:
            body["assignment_group"] = self.group
        assignee = self.users.id_of(draft.assignee)
        if assignee:
            body["assigned_to"] = assignee
        doc = self.http.request(
            "POST",
            TABLE,
            json=body,
            params={"sysparm_exclude_reference_link": "true"},
            idempotent=False,
            what="create incident",
        )
        return self._ticket(require(doc, "result", "ServiceNow"))

    def _post_comment(self, ticket_id: str, note: str, author: str) -> None:
        self.http.request(
            "PATCH",
            f"{TABLE}/{quote(ticket_id, safe='')}",
            json={"work_notes": note},
            idempotent=False,  # a repeated PATCH adds the work note again
            what=f"work note on {ticket_id}",
        )

    def comment_texts(self, ticket_id: str) -> list[str]:
        # In a stable order (oldest first), page after page by the Link header: an
        # instance may return fewer rows than sysparm_limit asks, so a short page is not
        # the last one.
        docs = self.http.pages(
            JOURNAL,
            params={
                "sysparm_query": f"element_id={ticket_id}^element=work_notes^ORDERBYsys_created_on",
                "sysparm_fields": "value",
                "sysparm_limit": 1000,
            },
            what=f"work notes of {ticket_id}",
            limit=COMMENT_PAGES,
        )
        return [str(r.get("value", "")) for doc in docs for r in (doc or {}).get("result") or []]

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        current = self.get(ticket_id)
        if current is None:
            raise TicketSystemRejected(f"ServiceNow: incident {ticket_id} not found")
        impact, urgency = IMPACT_URGENCY[handover.priority]
        body: dict[str, Any] = {
            "short_description": handover.title(current.title, 160),
            "impact": impact,
            "urgency": urgency,
            "due_date": handover.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "work_notes": handover.note,
        }
        assignee = self.users.id_of(handover.assignee)
        if assignee:
            body["assigned_to"] = assignee
        doc = self.http.request(
            "PATCH",
            f"{TABLE}/{quote(ticket_id, safe='')}",
            json=body,
            what=f"hand over {ticket_id}",
        )
        return self._ticket(require(doc, "result", "ServiceNow"))

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        user = self.users.id_of(assignee)
        if user is None:
            raise TicketSystemRejected(
                f"ServiceNow: no user with e-mail {assignee!r} to assign {ticket_id} to"
            )
        doc = self.http.request(
            "PATCH",
            f"{TABLE}/{quote(ticket_id, safe='')}",
            json={"assigned_to": user},
            what=f"assign {ticket_id}",
        )
        return self._ticket(require(doc, "result", "ServiceNow"))

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        current = self.get(ticket_id)
        if current is not None and already(current, status):
            return noted_already(self, ticket_id, current, note, key)  # exactly once
        note = keyed_note(note, key)
        body: dict[str, Any] = {"state": TO_STATE[status]}
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            body |= {
                "close_code": self.close_code,
                "close_notes": note or "Resolved by OpsLink",
            }
        elif status is TicketStatus.PENDING:
            body["hold_reason"] = "1"
        if note:
            body["work_notes"] = note
        before = current.status if current is not None else None
        try:
            doc = self.http.request(
                "PATCH",
                f"{TABLE}/{quote(ticket_id, safe='')}",
                json=body,
                idempotent=not note,  # a repeated PATCH would add the work note again
                what=f"state of {ticket_id}",
            )
        except TicketSystemRejected as exc:
            refused = closed_for_good(ticket_id, status, before, None)
            if exc.status == 403 and refused is not None:
                raise refused from exc
            raise
        ticket = self._ticket(require(doc, "result", "ServiceNow"))
        if kept := closed_for_good(ticket_id, status, before, ticket.status):
            raise kept
        return ticket
