"""Jira (Cloud REST v3 with ADF descriptions, or Server/Data Center REST v2).

Idempotent creation: every OpsLink issue carries the label `opslink` and a marker label
`opslink-<alert id>`; a create first searches for the marker. Search (`search/jql`) is
eventually consistent: the issues this container created are passed as
`reconcileIssues` (Jira's read-after-write; an id a human has since deleted makes the
search fall back to the plain one), and when an earlier delivery may already have sent
the create (its answer lost, another container), no second issue is created until the
search has had SEARCH_SETTLE seconds to show the first — the delivery is retried instead.
A moved issue (new project, new key) keeps the key OpsLink stored as its identity; an
issue in a final status with no transition back is closed for good (a follow-up issue
takes its place). Status changes go through
the issue's transitions (the workflow decides the names; OpsLink picks the transition
whose target status category is done / new / in progress). Changes are swept with a
relative JQL date (`updated >= -Nm`), which does not depend on the Jira user's time zone.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlparse

from opslink.adapters.tickets.common import (
    COMMENT_PAGES,
    KeyedComments,
    draft_key,
    marker,
    parse_each,
    require,
    require_settled,
    reread,
    ticket_http,
)
from opslink.adapters.tickets.jira_fields import (
    adf,
    adf_text,
    ticket_from_issue,
)
from opslink.adapters.tickets.jira_screens import Screens, notice
from opslink.adapters.tickets.jira_search import search_issues
from opslink.adapters.tickets.jira_transitions import transition
from opslink.clock import utcnow
from opslink.errors import TicketSystemRejected
from opslink.models import HandOver, Priority, Ticket, TicketDraft, TicketStatus

DEFAULT_PRIORITIES = {
    Priority.CRITICAL: "Highest",
    Priority.HIGH: "High",
    Priority.MEDIUM: "Medium",
    Priority.LOW: "Low",
}
FIELDS = "summary,status,priority,assignee,duedate,labels,created,updated,issuetype,description"
SEARCH_SETTLE = 60.0  # seconds after which a created issue is surely in search results


class JiraTickets(KeyedComments):
    name = "jira"

    def __init__(
        self,
        base_url: str,
        project: str,
        email: str | None,
        token: str,
        api_version: int = 3,
        issue_types: dict[str, str] | None = None,
        priorities: dict[str, str] | None = None,
        client: Any = None,
        deployment: str | None = None,
        browse_url: str | None = None,
    ) -> None:
        if api_version not in (2, 3):
            raise TicketSystemRejected(f"Jira: API version {api_version} is not supported (2 or 3)")
        self.api = f"/rest/api/{api_version}"
        self.v3 = api_version == 3
        # v3 takes ADF (built from the regions: untrusted values as code marks and code
        # blocks); v2 takes wiki markup (untrusted spans escaped, blocks in {noformat}).
        self.markup = "adf" if self.v3 else "wiki"
        # Jira Cloud removed /search: search/jql on both API versions there; Data Center
        # keeps /search. Cloud unless said otherwise or the host is not atlassian.net.
        host = str(urlparse(base_url).hostname or "")
        cloud = (deployment or "").lower() == "cloud" or (
            deployment is None and (host.endswith(".atlassian.net") or host == "api.atlassian.com")
        )
        if deployment is not None and deployment.lower() not in ("cloud", "datacenter"):
            raise TicketSystemRejected(
                f"Jira: deployment {deployment!r} is neither 'cloud' nor 'datacenter'"
            )
        self.cloud = cloud or (deployment is None and self.v3)
        # Issues this container created: search/jql is eventually consistent, so they are
        # passed as reconcileIssues (Jira's read-after-write) until search returns them.
        self._recent: dict[str, str] = {}  # marker -> issue id
        self._recent_lock = threading.Lock()  # an adapter may serve threads
        self.screens = Screens()  # fields its create and edit screens were found to lack
        self.project = project
        headers = {} if email else {"Authorization": f"Bearer {token}"}
        self.http = client or ticket_http(
            "Jira", base_url, headers, auth=(email, token) if email else None
        )
        self.base_url = base_url.rstrip("/")
        # Where people open an issue: the site, also when the API is reached another way
        # (scoped API tokens go through https://api.atlassian.com/ex/jira/<cloud id>).
        self.browse_url = (browse_url or base_url).rstrip("/")
        self.issue_types = {"default": "Task", **(issue_types or {})}
        self.priorities = {p.value: n for p, n in DEFAULT_PRIORITIES.items()} | (priorities or {})
        self._accounts: dict[str, str] = {}

    # -- reading ------------------------------------------------------------------------

    def _search(
        self, jql: str, limit: int = 50, reconcile: list[str] | None = None
    ) -> list[dict[str, Any]]:
        return search_issues(self.http, self.api, self.cloud, jql, FIELDS, limit, reconcile)

    def _ticket(self, issue: dict[str, Any]) -> Ticket:
        return ticket_from_issue(issue, self.name, self.browse_url, self.priorities)

    def get(self, ticket_id: str) -> Ticket | None:
        doc = self.http.request(
            "GET",
            f"{self.api}/issue/{quote(ticket_id, safe='')}",
            params={"fields": FIELDS},
            what=f"issue {ticket_id}",
            missing_ok=True,
        )
        if doc is None:
            return None
        ticket = self._ticket(doc)
        if ticket.id.upper() != ticket_id.upper():  # moved: the stored key stays its identity
            return ticket.model_copy(
                update={
                    "id": ticket_id,
                    "custom_fields": ticket.custom_fields | {"moved_to": ticket.id},
                }
            )
        return ticket

    def _find(self, key: str) -> Ticket | None:
        known = self._recent.get(marker(key))
        issues = self._search(
            f'project = "{self.project}" AND labels = "{marker(key)}" ORDER BY created ASC',
            limit=1,
            reconcile=[known] if known else None,  # only ids known for this key
        )
        if not issues and known:  # still invisible to search: read it directly
            found = self.get(known)
            if found is not None:
                return found
        return self._ticket(issues[0]) if issues else None

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        return self._find(alert_id)

    def changed_since(self, since: datetime) -> list[Ticket]:
        minutes = max(1, math.ceil((utcnow() - since).total_seconds() / 60))
        issues = self._search(
            f'project = "{self.project}" AND labels = "opslink" AND updated >= -{minutes}m ORDER BY updated ASC',
            limit=100,
        )
        return parse_each(issues, self._ticket, "Jira")

    # -- writing ------------------------------------------------------------------------

    def create(self, draft: TicketDraft) -> Ticket:
        key = draft_key(draft)
        existing = self._find(key)
        if existing is not None:
            return existing
        require_settled(draft, SEARCH_SETTLE, "Jira", key)  # search may not show it yet
        triage, values = self._triage(draft.priority, draft.due_at, draft.assignee)

        def send(skipped: set[str]) -> Any:
            description = notice(skipped, values) + draft.description
            fields: dict[str, Any] = {
                "project": {"key": self.project},
                "summary": draft.title,
                "description": adf(description) if self.v3 else description,
                "issuetype": {
                    "name": self.issue_types.get(
                        draft.ticket_type.value, self.issue_types["default"]
                    )
                },
                "labels": ["opslink", marker(key), f"opslink-type-{draft.ticket_type.value}"],
            } | triage
            fields = {k: v for k, v in fields.items() if k not in skipped}
            return self.http.request(
                "POST", f"{self.api}/issue", json={"fields": fields}, idempotent=False,
                what="create issue",
            )  # fmt: skip

        doc, _ = self.screens.write("create", send)
        with self._recent_lock:
            self._recent[marker(key)] = str(doc.get("id") or doc.get("key"))
            while len(self._recent) > 50:  # reconcileIssues takes at most 50 ids
                self._recent.pop(next(iter(self._recent)))
        created = self.get(str(require(doc, "key", "Jira")))
        if created is None:
            raise TicketSystemRejected("Jira: the issue just created cannot be read")
        return created

    def _triage(
        self, priority: Priority, due_at: datetime, who: str | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Priority, due date and assignee as Jira takes them (a screen may lack any of
        them), and as the text names them when one is left out (jira_screens.py)."""
        due = due_at.astimezone(UTC).date().isoformat()
        assignee = self._assignee(who)
        fields = {"priority": {"name": self.priorities[priority.value]}, "duedate": due}
        return fields | ({"assignee": assignee} if assignee else {}), {
            "priority": priority.value, "duedate": due, "assignee": who or ""
        }  # fmt: skip

    def _assignee(self, who: str | None) -> dict[str, str] | None:
        """Jira Cloud assigns by accountId (e-mail addresses are private): look it up."""
        if not who:
            return None
        if not self.v3:
            return {"name": who}
        if "@" not in who:
            return {"accountId": who}
        if who not in self._accounts:
            users = self.http.request(
                "GET", f"{self.api}/user/search", params={"query": who}, what="find assignee"
            )
            match = next(
                (u for u in users or [] if isinstance(u, dict) and u.get("accountId")), None
            )
            self._accounts[who] = str(match["accountId"]) if match else ""
        account = self._accounts[who]
        return {"accountId": account} if account else None

    def _post_comment(self, ticket_id: str, plain: str, author: str) -> None:
        self.http.request(
            "POST",
            f"{self.api}/issue/{quote(ticket_id, safe='')}/comment",
            json={"body": adf(plain) if self.v3 else plain},
            idempotent=False,
            what=f"comment on {ticket_id}",
        )

    def comment_texts(self, ticket_id: str) -> list[str]:
        # Page by startAt until `total`: Jira may return fewer than maxResults asks for.
        comments: list[Any] = []
        for _ in range(COMMENT_PAGES):
            doc = self.http.request(
                "GET",
                f"{self.api}/issue/{quote(ticket_id, safe='')}/comment",
                params={"startAt": len(comments), "maxResults": 1000, "orderBy": "created"},
                what=f"comments of {ticket_id}",
            )
            page = (doc or {}).get("comments") or []
            comments += page
            if not page or len(comments) >= int((doc or {}).get("total") or 0):
                break
        return [adf_text(c.get("body")) if self.v3 else str(c.get("body", "")) for c in comments]

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        current = self.get(ticket_id)
        if current is None:
            raise TicketSystemRejected(f"Jira: issue {ticket_id} not found")
        triage, values = self._triage(handover.priority, handover.due_at, handover.assignee)

        def send(skipped: set[str]) -> Any:
            fields: dict[str, Any] = {"summary": handover.title(current.title)} | triage
            return self.http.request(
                "PUT",
                f"{self.api}/issue/{quote(ticket_id, safe='')}",
                json={
                    "fields": {k: v for k, v in fields.items() if k not in skipped},
                    "update": {"labels": [{"add": f"opslink-{handover.label}"}]},
                },
                what=f"hand over {ticket_id}",
                expect="none",
            )

        _, skipped = self.screens.write("edit", send)
        self.comment(ticket_id, notice(skipped, values) + handover.note)
        return reread(self.get, ticket_id, "Jira: issue")

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        account = self._assignee(assignee)
        if account is None:
            raise TicketSystemRejected(f"Jira: no user {assignee!r} to assign {ticket_id} to")
        self.http.request(
            "PUT",
            f"{self.api}/issue/{quote(ticket_id, safe='')}/assignee",
            json=account,
            what=f"assign {ticket_id}",
            expect="none",
        )
        return reread(self.get, ticket_id, "Jira: issue")

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        return transition(self, ticket_id, status, note, key)
