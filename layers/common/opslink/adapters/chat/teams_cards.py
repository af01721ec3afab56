"""Adaptive Cards for Microsoft Teams: the approval request with its Action.Execute
buttons (approve, reject with a reason, pause the service), a hand-over, and the outcome
that replaces a request once decided. Every value from an alarm is escaped for the
cards' Markdown (a backslash before each Markdown character): an alarm named
`[click](https://evil)` or `**x**` is shown as written, never as a link or formatting;
Teams mentions need an explicit `msteams` entity, which OpsLink never sends."""

from __future__ import annotations

import re
from typing import Any

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"  # Action.Execute (Universal Actions) needs 1.4
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
_MARKDOWN = re.compile(r"([\\`*_\[\]#|~<>])")  # emphasis, links, code, headings, tables


def md(text: str) -> str:
    """A value shown verbatim in a TextBlock or FactSet (both render Markdown)."""
    return _MARKDOWN.sub(r"\\\1", text)


def _card(
    body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION,
                            "body": body}  # fmt: skip
    if actions:
        card["actions"] = actions
    return card


def _title(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "weight": "Bolder", "size": "Medium", "wrap": True}


def request_title(facts: dict[str, str]) -> str:
    """As written (escaped where shown): the buttons carry it to the outcome card."""
    return (f"Approval needed: runbook {facts['runbook']} on {facts['service']} "
            f"({facts['environment']}) for alarm {facts['alarm']}")  # fmt: skip


def request_card(facts: dict[str, str]) -> dict[str, Any]:
    """The approval request: what would run where, and the buttons."""
    title = request_title(facts)
    rows = [("Risk", f"{facts.get('risk') or 'approval'} — {facts.get('description', '')}"),
            ("Alert", facts["alert_id"]), ("Ticket", facts.get("ticket") or "none yet"),
            ("Where", facts.get("where", "")), ("Parameters", facts.get("parameters", "")),
            ("Exact targets", facts.get("targets", "")),
            ("Diagnostics", facts.get("diagnostics", ""))]  # fmt: skip
    body: list[dict[str, Any]] = [
        _title(md(title)),
        {"type": "FactSet", "facts": [{"title": k, "value": md(v)} for k, v in rows if v]},
    ]
    needed = int(facts.get("approvals") or 1)
    if needed > 1:
        body.append({"type": "TextBlock", "wrap": True, "text": (
            f"Step-up: {needed} different people must approve (one click each); one "
            "rejection stops it.")})  # fmt: skip
    body.append({"type": "Input.Text", "id": "reason", "isMultiline": True, "maxLength": 500,
                 "placeholder": "Why not? (needed to reject; goes on the ticket)"})  # fmt: skip
    data = {"execution": facts["execution"], "title": title[:300]}

    def execute(verb: str, label: str, style: str = "default", inputs: str = "none") -> dict[str, Any]:  # fmt: skip
        return {"type": "Action.Execute", "verb": verb, "title": label, "style": style,
                "data": data, "associatedInputs": inputs}  # fmt: skip

    actions = [
        execute("approve", "Approve", "positive"),
        execute("reject", "Reject", "destructive", inputs="auto"),
        execute("pause", f"Pause {facts['service']} 1 h"),
    ]
    for label, key in (("Open ticket", "ticket_url"), ("Execution", "execution_url")):
        if facts.get(key, "").startswith("https://"):
            actions.append({"type": "Action.OpenUrl", "title": label, "url": facts[key]})
    return _card(body, actions)


def handover_card(facts: dict[str, str]) -> dict[str, Any]:
    title = (f"Handed to a human: {facts['why']} — alarm {facts['alarm']} on "
             f"{facts['service']} ({facts['environment']})")  # fmt: skip
    rows = [("Alert", facts["alert_id"]), ("Ticket", facts.get("ticket") or "none"),
            ("Assigned to", facts.get("assignee") or "nobody"),
            ("Where", facts.get("where", ""))]  # fmt: skip
    return _card([_title(md(title)), {"type": "FactSet", "facts": [
        {"title": k, "value": md(v)} for k, v in rows if v]}])  # fmt: skip


def outcome_card(text: str, title: str = "") -> dict[str, Any]:
    """What replaces a request once decided: its title and the outcome, buttons gone."""
    body = [_title(md(title[:300]))] if title else []
    return _card([*body, {"type": "TextBlock", "text": md(text), "wrap": True}])


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CONTENT_TYPE, "content": card}
