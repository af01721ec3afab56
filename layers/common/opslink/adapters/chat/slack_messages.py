"""Approval requests posted to Slack (chat.postMessage through the official slack-sdk),
in the service's channel (the service map's `chat_channel`) or the default one, with the
approve and reject buttons chat/slack.py answers. A Slack that fails raises ChatError: the
caller records a fault and the remediation goes on waiting (the CLI still decides)."""

from __future__ import annotations

import json
from typing import Any

from opslink.errors import RetryableError
from opslink.scrub import scrub, scrub_fields

REJECT_DIALOG = "opslink_reject"  # the modal's callback_id


class ChatError(RetryableError):
    """The chat platform did not take the message."""


class SlackApprovalMessages:
    name = "slack"

    def __init__(
        self,
        token: str,
        default_channel: str,
        channels: dict[str, str] | None = None,
        base_url: str | None = None,
    ) -> None:
        self.default_channel = default_channel
        self.channels = channels or {}
        self._token, self._base_url = token, base_url
        self._client: Any = None

    def _web(self) -> Any:
        if self._client is None:
            from slack_sdk import WebClient

            base = self._base_url or "https://slack.com/api/"
            self._client = WebClient(token=self._token, timeout=5, base_url=base)
        return self._client

    def approval_requested(self, facts: dict[str, str]) -> str:
        """Post the request; the message posted, "<channel id>/<ts>" (as Slack's events
        name it: its thread's replies are found by it)."""
        facts = scrub_fields(facts)  # as every ticket write: no secret reaches a channel
        channel = self.channels.get(facts["service"]) or self.default_channel
        text = (f"Approval needed: runbook {facts['runbook']} on {_escape(facts['service'])} "
                f"({_escape(facts['environment'])}) for alarm {_escape(facts['alarm'])}")  # fmt: skip
        return self._post(channel, text, _blocks(facts, text))

    def handed_over(self, facts: dict[str, str]) -> str:
        """A hand-over, in the service's channel (no buttons: the ticket is the place)."""
        facts = scrub_fields(facts)
        channel = self.channels.get(facts["service"]) or self.default_channel
        text = (f"Handed to a human: {_escape(facts['why'])} — alarm {_escape(facts['alarm'])} "
                f"on {_escape(facts['service'])} ({_escape(facts['environment'])})")  # fmt: skip
        lines = [f"*{text}*", f"Alert {facts['alert_id']}; ticket {facts.get('ticket') or 'none'}; "
                 f"assigned to {_escape(facts.get('assignee') or 'nobody')}"]  # fmt: skip
        if facts.get("where"):
            lines.append(f"Where: {_plain(facts['where'])}")
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
        return self._post(channel, text, blocks)

    def fault(self, facts: dict[str, str]) -> str:
        """A fault opened or recovered, in the default channel (the operators')."""
        facts = scrub_fields(facts)
        text = _escape(facts["title"])
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(
            [f"*{text}*", *(_escape(line) for line in facts["body"].splitlines())])}}]  # fmt: skip
        return self._post(self.default_channel, text, blocks)

    def _post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> str:
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            out = self._web().chat_postMessage(channel=channel, text=text, blocks=blocks)
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise ChatError(f"Slack chat.postMessage to {channel}: {exc}") from exc
        return f"{out.get('channel') or channel}/{out.get('ts') or ''}"

    def check(self) -> str:
        """Whether the bot token works (auth.test; nothing is posted): what it is."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            out = self._web().auth_test()
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise ChatError(f"Slack auth.test: {exc}") from exc
        return (f"Slack: bot {out.get('user') or '?'} in workspace {out.get('team') or '?'}; "
                f"default channel {self.default_channel or '(none)'}")  # fmt: skip

    def open_reject_dialog(self, trigger_id: str, execution: str, message: str) -> None:
        """Ask the person who pressed Reject why (a modal; its submission decides)."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        view = {
            "type": "modal", "callback_id": REJECT_DIALOG,
            "private_metadata": json.dumps({"execution": execution, "message": message}),
            "title": {"type": "plain_text", "text": "Reject the runbook"},
            "submit": {"type": "plain_text", "text": "Reject"},
            "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [{"type": "input", "block_id": "reason",
                        "label": {"type": "plain_text", "text": "Why? (goes on the ticket)"},
                        "element": {"type": "plain_text_input", "action_id": "reason",
                                    "multiline": True, "max_length": 500}}],
        }  # fmt: skip
        try:
            self._web().views_open(trigger_id=trigger_id, view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise ChatError(f"Slack views.open: {exc}") from exc

    def replace(self, message: str, text: str) -> None:
        """Replace a posted message (`<channel>/<ts>`) with the outcome, buttons gone."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        channel, _, ts = message.partition("/")
        text = scrub(text)
        try:
            self._web().chat_update(channel=channel, ts=ts, text=text, blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": _escape(text)}}])  # fmt: skip
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise ChatError(f"Slack chat.update of {message}: {exc}") from exc


def _blocks(facts: dict[str, str], text: str) -> list[dict[str, Any]]:
    lines = [f"*{text}*", f"Risk: {facts.get('risk') or 'approval'} — {_escape(facts.get('description', ''))}",
             f"Alert {facts['alert_id']}; ticket {facts.get('ticket') or 'none yet'}"]  # fmt: skip
    for label, key in (
        ("Where", "where"),
        ("Parameters", "parameters"),
        ("Exact targets", "targets"),
        ("Diagnostics", "diagnostics"),
    ):
        if facts.get(key):
            lines.append(f"{label}: {_plain(facts[key])}")
    needed = int(facts.get("approvals") or 1)
    if needed > 1:
        lines.append(f"Step-up: {needed} different people must approve (one click each); "
                     "one rejection stops it.")  # fmt: skip
    buttons = [
        {"type": "button", "action_id": "approve", "style": "primary", "value": facts["execution"],
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "reject", "style": "danger", "value": facts["execution"],
         "text": {"type": "plain_text", "text": "Reject"}},
        {"type": "button", "action_id": "pause", "value": facts["execution"],
         "text": {"type": "plain_text", "text": f"Pause {facts['service']} 1 h"}},
    ]  # fmt: skip
    for action, label, key in (("open_ticket", "Open ticket", "ticket_url"),
                               ("open_execution", "Execution", "execution_url")):  # fmt: skip
        if facts.get(key, "").startswith("https://"):
            buttons.append({"type": "button", "action_id": action, "url": facts[key],
                            "text": {"type": "plain_text", "text": label}})  # fmt: skip
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "actions", "block_id": "opslink-approval", "elements": buttons},
    ]


def _plain(text: str) -> str:
    """A fact as Slack mrkdwn shows it verbatim: no mention, link or formatting runs
    (Slack's own escaping of &, < and >; backticks make a code span)."""
    return f"`{_escape(text).replace('`', chr(39))}`"


def _escape(text: str) -> str:
    """Slack's escaping: an alarm name like `<!channel>` is shown, never a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
