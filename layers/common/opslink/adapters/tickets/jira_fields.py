"""Jira's shapes: Atlassian Document Format (ADF) from and to markdown-ish text, and a
Jira issue as an OpsLink ticket."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from opslink.adapters.tickets.common import parse_time, require
from opslink.errors import TicketSystemRejected
from opslink.inert import spans
from opslink.models import Priority, Ticket, TicketStatus, TicketType


def _inline(line: str) -> list[dict[str, Any]]:
    """A line's text nodes: code spans (untrusted values) carry ADF's code mark; ADF text
    is literal (no mention, link or image unless a node says so)."""
    nodes: list[dict[str, Any]] = []
    for kind, text in spans(line):
        if not text:
            continue
        node: dict[str, Any] = {"type": "text", "text": text}
        if kind == "code":
            node["marks"] = [{"type": "code"}]
        nodes.append(node)
    return nodes or [{"type": "text", "text": " "}]


def adf(markdown: str) -> dict[str, Any]:
    """Markdown-ish text → Atlassian Document Format: headings, code blocks, paragraphs."""
    content: list[dict[str, Any]] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(`{3,})\s*$", line)
        if fence:
            block = []
            i += 1
            while i < len(lines) and lines[i].strip() != fence.group(1):
                block.append(lines[i])
                i += 1
            content.append(
                {
                    "type": "codeBlock",
                    "content": [{"type": "text", "text": "\n".join(block) or " "}],
                }
            )
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)
            content.append(
                {
                    "type": "heading",
                    "attrs": {"level": level},
                    "content": [{"type": "text", "text": line.lstrip("# ") or " "}],
                }
            )
        elif line.strip():
            para = [line]
            while (
                i + 1 < len(lines)
                and lines[i + 1].strip()
                and not lines[i + 1].startswith(("#", "```"))
            ):
                i += 1
                para.append(lines[i])
            nodes: list[dict[str, Any]] = []
            for n, text in enumerate(para):
                if n:
                    nodes.append({"type": "hardBreak"})
                nodes += _inline(text)
            content.append({"type": "paragraph", "content": nodes})
        i += 1
    return {
        "type": "doc",
        "version": 1,
        "content": content or [{"type": "paragraph", "content": []}],
    }


def adf_text(doc: Any) -> str:
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    if doc.get("type") == "text":
        return str(doc.get("text", ""))
    inner = "".join(adf_text(c) for c in doc.get("content") or [])
    return inner + ("\n" if doc.get("type") in ("paragraph", "heading", "codeBlock") else "")


def ticket_from_issue(
    issue: dict[str, Any], provider: str, base_url: str, priorities: dict[str, str]
) -> Ticket:
    """A Jira issue as an OpsLink ticket: status from its category, type and alert from labels."""
    key = require(issue, "key", "Jira")
    fields = require(issue, "fields", "Jira")
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key")
    name = str(status.get("name", "")).lower()
    if category == "done":
        state = TicketStatus.RESOLVED if "resolv" in name else TicketStatus.CLOSED
    elif category == "indeterminate":
        state = (
            TicketStatus.PENDING
            if ("wait" in name or "pending" in name)
            else TicketStatus.IN_PROGRESS
        )
    elif category == "new":
        state = TicketStatus.OPEN
    else:
        raise TicketSystemRejected(f"Jira: issue {key} has no status category")
    labels = [str(x) for x in fields.get("labels") or []]
    prio_name = (fields.get("priority") or {}).get("name", "")
    priority = next((Priority(p) for p, n in priorities.items() if n == prio_name), Priority.MEDIUM)
    type_label = next(
        (x.removeprefix("opslink-type-") for x in labels if x.startswith("opslink-type-")),
        "incident",
    )
    assignee = fields.get("assignee") or {}
    alert = next((x.removeprefix("opslink-") for x in labels if x.startswith("opslink-A-")), None)
    return Ticket(
        id=str(key),
        provider=provider,
        alert_id=alert,
        title=str(fields.get("summary", "")),
        status=state,
        priority=priority,
        ticket_type=TicketType(type_label)
        if type_label in TicketType.__members__.values()
        else TicketType.INCIDENT,
        assignee=assignee.get("emailAddress") or assignee.get("name") or assignee.get("accountId"),
        due_at=datetime.fromisoformat(fields["duedate"]).replace(tzinfo=UTC)
        if fields.get("duedate")
        else None,
        url=f"{base_url}/browse/{key}",
        description=adf_text(fields.get("description")),
        created_at=parse_time(fields.get("created"), "Jira", "created"),
        updated_at=parse_time(fields.get("updated"), "Jira", "updated"),
    )


_WORDS = {"done": ("resolve", "done", "close"), "new": ("reopen", "to do", "open")}


def pick_transition(transitions: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The transition to a status of category `wanted` (done / new / indeterminate); the
    one whose name says so when several do (Resolve over Close …); None when none leads
    there."""
    choices = [
        t
        for t in transitions
        if ((t.get("to") or {}).get("statusCategory") or {}).get("key") == wanted
    ]
    words = _WORDS.get(wanted, ("progress",))
    named = (t for t in choices if any(w in str(t.get("name", "")).lower() for w in words))
    return next(named, choices[0] if choices else None)


# A resolution preferred when a transition's screen asks for one (Jira's defaults first).
_RESOLUTIONS = ("fixed", "done", "resolved")


def transition_fields(transition: dict[str, Any]) -> dict[str, Any]:
    """What a transition's screen requires that OpsLink can fill: a resolution (Jira
    Server/Data Center workflows put a required Resolution on their resolve screens; the
    transition is refused without it — 400 "Resolution is required"). Read from the
    transition listing's `fields` (`expand=transitions.fields`)."""
    field = (transition.get("fields") or {}).get("resolution") or {}
    if not field.get("required") or field.get("hasDefaultValue"):
        return {}
    allowed = [v for v in field.get("allowedValues") or [] if isinstance(v, dict) and v.get("id")]
    if not allowed:
        return {}
    named = {str(v.get("name", "")).lower(): v for v in allowed}
    chosen = next((named[n] for n in _RESOLUTIONS if n in named), allowed[0])
    return {"resolution": {"id": str(chosen["id"])}}
