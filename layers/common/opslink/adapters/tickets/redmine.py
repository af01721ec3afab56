"""Redmine (REST API, X-Redmine-API-Key).

Idempotent creation through an issue custom field holding the alert marker (its id is
configured: custom fields cannot be created over REST). Priorities and statuses are
looked up by name once per container (`/enumerations/issue_priorities.json`,
`/issue_statuses.json`). Redmine has no webhooks: the sweep polls
`/issues.json?status_id=*&updated_on=>=…` (closed issues are hidden without
`status_id=*`; `updated_on` has one-second resolution, hence the sweep's overlap).
`PUT /issues/N.json` answers 204 with no body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from opslink.adapters.tickets.common import (
    KeyedComments,
    draft_key,
    get_by_number,
    marker,
    parse_each,
    parse_time,
    require,
    reread,
    ticket_http,
)
from opslink.adapters.tickets.redmine_statuses import STATUS_NAMES, change_status, status_of
from opslink.clock import utcnow
from opslink.errors import ConfigurationError, TicketSystemRejected
from opslink.models import HandOver, Priority, Ticket, TicketDraft, TicketStatus, TicketType

PRIORITY_NAMES = {
    Priority.CRITICAL: ("Immediate", "Urgent"),
    Priority.HIGH: ("High", "Urgent"),
    Priority.MEDIUM: ("Normal",),
    Priority.LOW: ("Low",),
}


class RedmineTickets(KeyedComments):
    name = "redmine"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        project: str,
        alert_field_id: int,
        users: dict[str, int] | None = None,
        client: Any = None,
        text_formatting: str = "common_mark",
    ) -> None:
        self.http = client or ticket_http("Redmine", base_url, {"X-Redmine-API-Key": api_key})
        # The server's Settings > Text formatting: OpsLink writes inert text for it.
        if text_formatting not in ("common_mark", "markdown", "textile"):
            raise ConfigurationError(
                f"Redmine text_formatting {text_formatting!r}: common_mark, markdown or textile"
            )
        self.markup = "textile" if text_formatting == "textile" else "markdown"
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.field = int(alert_field_id)
        self.users = users or {}

    @cached_property
    def _priorities(self) -> dict[str, int]:
        doc = self.http.request("GET", "/enumerations/issue_priorities.json", what="priorities")
        return {str(p["name"]): int(p["id"]) for p in require(doc, "issue_priorities", "Redmine")}

    @cached_property
    def _statuses(self) -> list[dict[str, Any]]:
        doc = self.http.request("GET", "/issue_statuses.json", what="statuses")
        return list(require(doc, "issue_statuses", "Redmine"))

    def _status_id(self, status: TicketStatus) -> int:
        by_name = {str(s["name"]): s for s in self._statuses}
        for name in STATUS_NAMES[status]:
            if name in by_name:
                return int(by_name[name]["id"])
        closed = status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        for s in self._statuses:  # any status of the right kind
            if bool(s.get("is_closed")) == closed:
                return int(s["id"])
        raise TicketSystemRejected(f"Redmine: no issue status for {status.value}")

    def _ticket(self, issue: dict[str, Any]) -> Ticket:
        issue_id = require(issue, "id", "Redmine")
        state = status_of(issue.get("status") or {}, bool(issue.get("closed_on")))
        prio = str((issue.get("priority") or {}).get("name", ""))
        priority = next(
            (p for p, names in PRIORITY_NAMES.items() if prio == names[0]), Priority.MEDIUM
        )
        fields = {
            str(f.get("id")): f.get("value")
            for f in issue.get("custom_fields") or []
            if isinstance(f, dict)
        }
        mark = str(fields.get(str(self.field)) or "")
        due = issue.get("due_date")
        return Ticket(
            id=str(issue_id),
            provider=self.name,
            alert_id=mark.removeprefix("opslink-") if mark.startswith("opslink-A-") else None,
            title=str(issue.get("subject", "")),
            status=state,
            priority=priority,
            ticket_type=TicketType.INCIDENT,
            assignee=(issue.get("assigned_to") or {}).get("name"),
            due_at=datetime.fromisoformat(due).replace(tzinfo=UTC)
            if isinstance(due, str) and due
            else None,
            url=f"{self.base_url}/issues/{issue_id}",
            description=str(issue.get("description") or ""),
            created_at=parse_time(issue.get("created_on"), "Redmine", "created_on"),
            updated_at=parse_time(issue.get("updated_on"), "Redmine", "updated_on"),
            custom_fields={"marker": mark} if mark else {},
        )

    def get(self, ticket_id: str) -> Ticket | None:
        path = f"/issues/{ticket_id}.json"
        return get_by_number(self.http, ticket_id, path, "issue", "Redmine", self._ticket)

    def _find(self, key: str) -> Ticket | None:
        doc = self.http.request(
            "GET",
            "/issues.json",
            params={
                f"cf_{self.field}": marker(key),
                "status_id": "*",
                "project_id": self.project,
                "sort": "id",
                "limit": 1,
            },
            what="find issue by alert",
        )
        issues = require(doc, "issues", "Redmine")
        if not issues:
            return None
        found = self._ticket(issues[0])
        if found.custom_fields.get("marker") != marker(key):  # the filter was ignored
            raise self._unmarked(f"its search by the field answered issue {found.id}")
        return found

    def _unmarked(self, what: str) -> TicketSystemRejected:
        """Redmine ignores a filter, and drops a value, of a custom field that is not one of
        the project's (wrong id, not for this project or tracker, not a filter): OpsLink
        would take another issue for the alarm's, or lose track of its own."""
        return TicketSystemRejected(
            f"Redmine: the alert_id custom field (TicketOptions alert_field_id "
            f"{self.field}) is not usable in project {self.project!r}: {what}, without this "
            "alert's marker. Check the field's id, that it is for this project and its "
            "trackers, and 'Used as a filter' (Administration → Custom fields)"
        )

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        return self._find(alert_id)

    def changed_since(self, since: datetime) -> list[Ticket]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out: list[Ticket] = []
        offset = 0
        while True:
            doc = self.http.request(
                "GET",
                "/issues.json",
                params={
                    "project_id": self.project,
                    "status_id": "*",
                    "updated_on": f">={stamp}",
                    "sort": "updated_on",
                    "limit": 100,
                    "offset": offset,
                },
                what="changed issues",
            )
            page = require(doc, "issues", "Redmine")
            mine = [
                i
                for i in page
                if self.field
                and any(
                    str(f.get("id")) == str(self.field) and f.get("value")
                    for f in i.get("custom_fields") or []
                )
            ]
            out += parse_each(mine, self._ticket, "Redmine")
            offset += len(page)
            if not page or offset >= int(doc.get("total_count", 0)):
                return out

    def create(self, draft: TicketDraft) -> Ticket:
        key = draft_key(draft)
        existing = self._find(key)
        if existing is not None:
            return existing
        prio_ids = self._priorities
        priority_id = next(
            (prio_ids[n] for n in PRIORITY_NAMES[draft.priority] if n in prio_ids), None
        )
        issue: dict[str, Any] = {
            "project_id": self.project,
            "subject": draft.title,
            "description": draft.description,
            "due_date": draft.due_at.astimezone(UTC).date().isoformat(),
            # Redmine refuses a due date before the start date, which defaults to today:
            # an alarm delivered late (a redrive, an outage) has its due date in the past.
            "start_date": min(draft.due_at.astimezone(UTC).date(), utcnow().date()).isoformat(),
            "custom_fields": [{"id": self.field, "value": marker(key)}],
        }
        if priority_id is not None:
            issue["priority_id"] = priority_id
        if draft.assignee and draft.assignee in self.users:
            issue["assigned_to_id"] = self.users[draft.assignee]
        doc = self.http.request(
            "POST", "/issues.json", json={"issue": issue}, idempotent=False, what="create issue"
        )
        created = self._ticket(require(doc, "issue", "Redmine"))
        if created.custom_fields.get("marker") != marker(key):
            raise self._unmarked(f"issue {created.id} was created and the field's value dropped")
        return created

    def _post_comment(self, ticket_id: str, notes: str, author: str) -> None:
        self.http.request(
            "PUT",
            f"/issues/{ticket_id}.json",
            json={"issue": {"notes": notes}},
            idempotent=False,  # a repeated PUT adds the note again
            what=f"comment on {ticket_id}",
            expect="none",
        )

    def comment_texts(self, ticket_id: str) -> list[str]:
        doc = self.http.request(
            "GET",
            f"/issues/{ticket_id}.json",
            params={"include": "journals"},
            what=f"notes of {ticket_id}",
        )
        journals = (doc or {}).get("issue", {}).get("journals") or []
        return [str(j.get("notes") or "") for j in journals]

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        current = self.get(ticket_id)
        if current is None:
            raise TicketSystemRejected(f"Redmine: issue {ticket_id} not found")
        prio_ids = self._priorities
        issue: dict[str, Any] = {
            "subject": handover.title(current.title),
            "due_date": handover.due_at.astimezone(UTC).date().isoformat(),
            "notes": handover.note,
        }
        priority_id = next(
            (prio_ids[n] for n in PRIORITY_NAMES[handover.priority] if n in prio_ids), None
        )
        if priority_id is not None:
            issue["priority_id"] = priority_id
        if handover.assignee and handover.assignee in self.users:
            issue["assigned_to_id"] = self.users[handover.assignee]
        self.http.request(
            "PUT",
            f"/issues/{ticket_id}.json",
            json={"issue": issue},
            what=f"hand over {ticket_id}",
            expect="none",
        )
        return reread(self.get, ticket_id, "Redmine: issue")

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        if assignee not in self.users:
            known = ", ".join(sorted(self.users)) or "none configured"
            raise TicketSystemRejected(
                f"Redmine: no user id for {assignee!r} (TICKET_OPTIONS users: {known}); {ticket_id} "
                "not assigned"
            )
        self.http.request(
            "PUT",
            f"/issues/{ticket_id}.json",
            json={"issue": {"assigned_to_id": self.users[assignee]}},
            what=f"assign {ticket_id}",
            expect="none",
        )
        return reread(self.get, ticket_id, "Redmine: issue")

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        return change_status(self, ticket_id, status, note, key)
