"""GitHub Issues (REST API, fine-grained or classic token).

GitHub issues have no priority, type or due date: they become labels (`priority:high`,
`type:performance`) and a line in the body. Idempotent creation through a marker label
`opslink-<alert id>` (labels are filterable at once; the search API is eventually
consistent) and the same marker in an HTML comment at the end of the body: GitHub drops
labels silently when the token lacks push access (documented for "Create an issue"), so
creation checks that the label survived and fails loudly with the permission to grant,
and a retry finds the issue by its body marker instead of opening a second one.

Closed issues are closed tickets whatever their `state_reason`: "completed" and "not
planned" both end the alert (a human decided; the reason is recorded on the alert as the
ticket's closing reason). Reopening sets the state back to open; a closed issue that is
locked is closed for good (a follow-up issue takes its place). Listings follow the
`Link` header, page after page.

A transferred issue answers 301 (reads and writes): the client follows it on the same
host, and the ticket keeps the number OpsLink stored (its identity here), with where it
went in `moved_to` — never the new number read as if it were in this repository. An
assignee GitHub refuses (422: not a collaborator) never blocks the ticket: the wrapper
every deployment has creates it without one, and the body says so (unassignable.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opslink.adapters.tickets.common import (
    KeyedComments,
    already,
    draft_key,
    keyed_note,
    marker,
    noted_already,
    parse_each,
    parse_time,
    require,
    reread,
    ticket_http,
)
from opslink.errors import TicketClosedForGood, TicketSystemRejected
from opslink.models import HandOver, Priority, Ticket, TicketDraft, TicketStatus, TicketType


def body_marker(key: str) -> str:
    """The second marker: invisible in the rendered issue, found in its body."""
    return f"<!-- opslink-marker: {marker(key)} -->"


def _label_names(issue: Any) -> set[str]:
    labels = issue.get("labels") if isinstance(issue, dict) else None
    return {str(lbl.get("name") if isinstance(lbl, dict) else lbl) for lbl in labels or []}


class GitHubTickets(KeyedComments):
    name = "github"
    # CommonMark: untrusted values arrive as code spans and fenced blocks (inert).
    markup = "markdown"

    def __init__(
        self,
        repository: str,
        token: str,
        base_url: str = "https://api.github.com",
        client: Any = None,
    ) -> None:
        if repository.count("/") != 1:
            raise TicketSystemRejected(f"GitHub: repository must be owner/name, not {repository!r}")
        self.repo = f"/repos/{repository}"
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        self.http = client or ticket_http("GitHub", base_url, headers)

    def _ticket(self, issue: dict[str, Any], asked: str | None = None) -> Ticket:
        number = require(issue, "number", "GitHub")
        extra: dict[str, str] = {}
        where = str(issue.get("repository_url") or "")
        moved = (asked is not None and str(number) != asked) or (
            bool(where) and not where.lower().endswith(self.repo.lower())
        )
        if moved:  # transferred: keep the identity OpsLink knows, say where it went
            repo = where.split("/repos/", 1)[-1] if "/repos/" in where else "another repository"
            extra["moved_to"] = f"{repo}#{number}"
        if issue.get("node_id"):
            extra["node_id"] = str(issue["node_id"])
        if issue.get("locked"):
            extra["locked"] = "true"
        labels = [
            str(label.get("name") if isinstance(label, dict) else label)
            for label in issue.get("labels") or []
        ]
        state = str(issue.get("state", ""))
        if state not in ("open", "closed"):
            raise TicketSystemRejected(f"GitHub: issue {number} has unknown state {state!r}")
        prio = next(
            (x.removeprefix("priority:") for x in labels if x.startswith("priority:")), "medium"
        )
        kind = next((x.removeprefix("type:") for x in labels if x.startswith("type:")), "incident")
        alert = next(
            (x.removeprefix("opslink-") for x in labels if x.startswith("opslink-A-")), None
        )
        if issue.get("state_reason"):
            extra["state_reason"] = str(issue["state_reason"])
        return Ticket(
            id=asked if moved and asked else str(number),
            provider=self.name,
            alert_id=alert,
            title=str(issue.get("title", "")),
            status=TicketStatus.CLOSED if state == "closed" else TicketStatus.OPEN,
            priority=Priority(prio.capitalize())
            if prio.capitalize() in Priority.__members__.values()
            else Priority.MEDIUM,
            ticket_type=TicketType(kind)
            if kind in TicketType.__members__.values()
            else TicketType.INCIDENT,
            assignee=(issue.get("assignee") or {}).get("login"),
            closed_by=(issue.get("closed_by") or {}).get("login"),
            url=issue.get("html_url"),
            description=str(issue.get("body") or ""),
            created_at=parse_time(issue.get("created_at"), "GitHub", "created_at"),
            updated_at=parse_time(issue.get("updated_at"), "GitHub", "updated_at"),
            custom_fields=extra,
        )

    def get(self, ticket_id: str) -> Ticket | None:
        if not ticket_id.isdigit():
            return None
        doc = self.http.request(
            "GET", f"{self.repo}/issues/{ticket_id}", what=f"issue {ticket_id}", missing_ok=True
        )
        if doc is None:
            return None
        return self._ticket(doc, asked=ticket_id)

    def _list(self, params: dict[str, Any], pages: int = 50) -> list[dict[str, Any]]:
        issues: list[dict[str, Any]] = []
        for doc in self.http.pages(
            f"{self.repo}/issues",
            params=params | {"state": "all", "per_page": 100},
            what="list issues",
            limit=pages,
        ):
            if not isinstance(doc, list):
                raise TicketSystemRejected("GitHub: issue list is not a list")
            issues += [i for i in doc if isinstance(i, dict) and "pull_request" not in i]
        return issues

    def _labels_dropped(self, issue: dict[str, Any], key: str) -> TicketSystemRejected:
        repo = self.repo.removeprefix("/repos/")
        return TicketSystemRejected(
            f"GitHub: issue #{issue.get('number')} in {repo} has no {marker(key)} label: GitHub "
            "drops labels without push access. Grant the token write access to Issues "
            f"(fine-grained: 'Issues: Read and write'; classic: 'repo') on {repo}; OpsLink "
            "then finds this issue by the marker in its body and labels it"
        )

    def _find(self, key: str) -> Ticket | None:
        issues = self._list({"labels": marker(key), "sort": "created", "direction": "asc"})
        if issues:
            return self._ticket(issues[0])
        # Labels may have been dropped: the body marker of a recent issue (newest first).
        tag = body_marker(key)
        recent = self._list({"sort": "created", "direction": "desc"}, pages=3)
        found = next((i for i in recent if tag in str(i.get("body") or "")), None)
        if found is None:
            return None
        labels = {
            str(lbl.get("name") if isinstance(lbl, dict) else lbl) for lbl in found["labels"] or []
        }
        repaired = self.http.request(
            "PATCH",
            f"{self.repo}/issues/{found['number']}",
            json={"labels": sorted(labels | {"opslink", marker(key)})},
            what=f"label issue {found['number']}",
        )
        if marker(key) not in _label_names(repaired):
            raise self._labels_dropped(found, key)
        return self._ticket(repaired)

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        return self._find(alert_id)

    def changed_since(self, since: datetime) -> list[Ticket]:
        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        return parse_each(
            self._list(
                {"labels": "opslink", "since": stamp, "sort": "updated", "direction": "asc"}
            ),
            self._ticket,
            "GitHub",
        )

    def create(self, draft: TicketDraft) -> Ticket:
        key = draft_key(draft)
        existing = self._find(key)
        if existing is not None:
            return existing
        body = f"**Due:** {draft.due_at.isoformat()} ({draft.priority.value} priority)\n\n{draft.description}"
        issue: dict[str, Any] = {
            "title": draft.title,
            "body": body[:64_000] + "\n\n" + body_marker(key),
            "labels": [
                "opslink",
                marker(key),
                f"priority:{draft.priority.value.lower()}",
                f"type:{draft.ticket_type.value}",
            ],
        }
        if draft.assignee and "@" not in draft.assignee:
            issue["assignees"] = [draft.assignee]
        # An assignee GitHub refuses (422: not a collaborator) is left out by the wrapper
        # every deployment has (scrubbed.py, unassignable.py), the text saying why.
        created = self.http.request(
            "POST", f"{self.repo}/issues", json=issue, idempotent=False, what="create issue"
        )
        if marker(key) not in _label_names(created):
            raise self._labels_dropped(created, key)
        return self._ticket(created)

    def _post_comment(self, ticket_id: str, body: str, author: str) -> None:
        self.http.request(
            "POST",
            f"{self.repo}/issues/{ticket_id}/comments",
            json={"body": body},
            idempotent=False,
            what=f"comment on {ticket_id}",
        )

    def comment_texts(self, ticket_id: str) -> list[str]:
        pages = self.http.pages(
            f"{self.repo}/issues/{ticket_id}/comments",
            params={"per_page": 100},
            what=f"comments of {ticket_id}",
        )
        return [str(c.get("body", "")) for page in pages for c in (page or [])]

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        doc = self.http.request("GET", f"{self.repo}/issues/{ticket_id}", what=f"issue {ticket_id}")
        labels = [
            str(lbl.get("name") if isinstance(lbl, dict) else lbl)
            for lbl in (doc or {}).get("labels") or []
        ]
        labels = [lbl for lbl in labels if not lbl.startswith("priority:")]
        labels += [f"priority:{handover.priority.value.lower()}", handover.label]
        issue: dict[str, Any] = {
            "title": handover.title(str((doc or {}).get("title", ""))),
            "labels": sorted(set(labels)),
        }
        if handover.assignee and "@" not in handover.assignee:
            issue["assignees"] = [handover.assignee]
        self.http.request(
            "PATCH", f"{self.repo}/issues/{ticket_id}", json=issue, what=f"hand over {ticket_id}"
        )
        due = f"**Due:** {handover.due_at.isoformat()} ({handover.priority.value} priority)"
        self.comment(ticket_id, f"{due}\n\n{handover.note}")
        return reread(self.get, ticket_id, "GitHub: issue")

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        if "@" in assignee:
            raise TicketSystemRejected(
                f"GitHub assigns logins, not {assignee!r} (issue {ticket_id})"
            )
        self.http.request(
            "PATCH",
            f"{self.repo}/issues/{ticket_id}",
            json={"assignees": [assignee]},
            what=f"assign {ticket_id}",
        )
        ticket = reread(self.get, ticket_id, "GitHub: issue")
        if ticket.assignee != assignee:  # GitHub drops a login that may not be assigned
            raise TicketSystemRejected(
                f"GitHub did not assign issue {ticket_id} to {assignee!r} (not a collaborator?)"
            )
        return ticket

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        current = self.get(ticket_id)
        if current is not None and already(current, status):
            return noted_already(self, ticket_id, current, note, key)  # exactly once
        note = keyed_note(note, key)
        closed = status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        if current is not None and not closed and current.custom_fields.get("locked"):
            raise TicketClosedForGood(
                f"GitHub: issue {ticket_id} is closed and locked; it is not reopened"
            )
        body = {"state": "closed", "state_reason": "completed"} if closed else {"state": "open"}
        ticket = self._ticket(
            self.http.request(
                "PATCH", f"{self.repo}/issues/{ticket_id}", json=body, what=f"state of {ticket_id}"
            ),
            asked=ticket_id,
        )
        if note:  # after the state: a retry that finds it changed reads a keyed note back
            self.comment(ticket_id, note)
        return ticket
