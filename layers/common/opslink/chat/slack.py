"""Slack interactivity on the track function's URL (`/chat/slack`): the approve and
reject buttons of a runbook waiting for approval.

A request is trusted only when Slack signed it: the v0 HMAC of `v0:<timestamp>:<body>`
with the app's signing secret (slack_sdk's SignatureVerifier), a timestamp within five
minutes, and a signature never seen before (a replayed request is refused, recorded as a
delivery). The Slack user is mapped to a directory identity (the service map's
`chat_users`, "slack:<user id>" -> e-mail) and must be one of the service's `approvers`.
The decision goes through approvals.py — one decision per request, a double click or two
people at once give one, the second is told who decided — and the answer replaces the
message with the outcome, who decided and when."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from opslink import json_input
from opslink.adapters.chat.slack_messages import REJECT_DIALOG, ChatError
from opslink.chat.decisions import Press, answer, may_decide
from opslink.chat.slack_commands import slash
from opslink.chat.slack_events import event_of, handle_event
from opslink.ports import AutomationControl, ReplayGuard, TaskCallbacks
from opslink.scrub import scrub_excerpt
from opslink.service_map import ServiceMap
from opslink.track_service import TrackDeps
from opslink.webhook_service import WebhookRequest

SLACK_PATH = "/chat/slack"
TOLERANCE_SECONDS = 300
_EXECUTION = re.compile(r"remediate-A-[0-9a-f]{20}")
_ACTIONS = ("approve", "reject", "pause")
LINK_BUTTONS = ("open_ticket", "open_execution")


class SlackRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class SlackAction:
    kind: str  # approve | reject | pause (automation for the alert's service, an hour)
    execution: str
    user_id: str
    user_name: str
    trigger_id: str = ""  # lets a dialog open (Reject asks why)
    message: str = ""  # "<channel>/<ts>" of the request's message, updated with the outcome
    reason: str | None = None  # the reject dialog's answer (None: a button press)

    @property
    def approve(self) -> bool:
        return self.kind == "approve"


def verify(req: WebhookRequest, secret: str, now: datetime, replay: ReplayGuard) -> None:
    """Slack signed this request, lately, and once; SlackRefused(401) otherwise."""
    from slack_sdk.signature import Clock, SignatureVerifier

    ts = req.headers.get("x-slack-request-timestamp", "")
    signature = req.headers.get("x-slack-signature", "")
    if not ts or not signature:
        raise SlackRefused(401, "not signed: X-Slack-Signature and its timestamp are required")
    if not ts.isdigit():
        raise SlackRefused(401, f"timestamp {ts[:20]!r} is not a Unix time")
    if abs(now.timestamp() - int(ts)) > TOLERANCE_SECONDS:
        raise SlackRefused(401, "stale: signed more than five minutes from now")

    class _Now(Clock):
        def now(self) -> float:
            return now.timestamp()

    if not SignatureVerifier(secret, clock=_Now()).is_valid(req.body, ts, signature):
        raise SlackRefused(
            401, "signature does not match (another app's secret, or a changed body)"
        )
    if not replay.claim_delivery(f"slack:{ts}:{signature}", now):
        raise SlackRefused(401, "replayed: this signed request was received before")


def parse(req: WebhookRequest) -> SlackAction:
    """The button an interactive payload reports; SlackRefused(400) for anything else."""
    try:
        form = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
        payload = json_input.loads(form["payload"][0])
        user = payload["user"]
        user_id, user_name = str(user["id"]), str(user.get("username") or user.get("name") or "")
        if payload.get("type") == "view_submission":
            return _dialog(payload["view"], user_id, user_name)
        action = payload["actions"][0]
        kind = str(action["action_id"])
        if kind in LINK_BUTTONS:  # Slack reports link clicks too: nothing to do
            return SlackAction(kind, "", user_id, user_name)
        execution = str(action["value"])
        box = payload.get("container") or {}
        message = f"{box.get('channel_id', '')}/{box.get('message_ts', '')}"
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, UnicodeDecodeError) as exc:
        raise SlackRefused(400, f"not an OpsLink button press ({type(exc).__name__})") from None
    if payload.get("type") != "block_actions" or kind not in _ACTIONS:
        raise SlackRefused(400, f"unknown action {kind[:40]!r}: approve, reject or pause")
    if not _EXECUTION.fullmatch(execution):
        raise SlackRefused(400, f"{execution[:80]!r} is not an OpsLink execution")
    trigger = str(payload.get("trigger_id") or "")
    return SlackAction(kind, execution, user_id, user_name, trigger, message.strip("/"))


def _dialog(view: dict[str, Any], user_id: str, user_name: str) -> SlackAction:
    """The reject dialog's submission: the execution it was opened for, and why."""
    if view.get("callback_id") != REJECT_DIALOG:
        raise SlackRefused(400, f"unknown dialog {str(view.get('callback_id'))[:40]!r}")
    meta = json_input.loads(view["private_metadata"])
    execution = str(meta["execution"])
    if not _EXECUTION.fullmatch(execution):
        raise SlackRefused(400, f"{execution[:80]!r} is not an OpsLink execution")
    reason = view["state"]["values"]["reason"]["reason"].get("value") or ""
    return SlackAction("reject", execution, user_id, user_name, "", str(meta.get("message", "")),
                       reason=str(reason)[:500])  # fmt: skip


def handle(
    req: WebhookRequest,
    secret: str,
    deps: TrackDeps,
    callbacks: TaskCallbacks,
    service_map: ServiceMap,
    control: AutomationControl | None = None,
    web: Any = None,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, the JSON answer Slack shows): 200 with the message's new text, or
    the refusal (401 untrusted, 400 malformed; a refused person gets 200 and a message
    only they see, saying why). `/opslink` slash commands arrive here too."""
    now = deps.clock()
    try:
        verify(req, secret, now, deps.bookkeeping)
        if (event := event_of(req.body)) is not None:  # the Events API: thread replies
            return handle_event(event, deps, service_map, now)
        command = slash_command(req)
        action = None if command else parse(req)
    except SlackRefused as exc:
        return exc.status, {"error": exc.reason}
    if command is not None:
        user, text = command
        email = service_map.chat_users.get(f"slack:{user}")
        if not email:
            return 200, _only_you(f"Your Slack user ({user}) is not mapped to a directory "
                                  "identity (the service map's chat_users).")  # fmt: skip
        return 200, slash(text, email, control, deps.journal, service_map, now)
    assert action is not None
    if action.kind in LINK_BUTTONS:
        return 200, {}
    dialog = action.reason is not None
    if action.kind == "reject" and not dialog and web is not None and action.trigger_id:
        press = Press("Slack", f"slack:{action.user_id}", action.user_name, "reject",
                      action.execution)  # fmt: skip
        if refusal := may_decide(press, deps, service_map):
            return 200, _only_you(refusal)
        try:  # Reject asks why first; the dialog's submission decides
            web.open_reject_dialog(action.trigger_id, action.execution, action.message)
        except ChatError as exc:
            return 200, _only_you(f"The reject dialog did not open ({scrub_excerpt(str(exc), 200)}); "
                                  f"`opslink executions reject {action.execution} --reason …` "
                                  "rejects with a reason.")  # fmt: skip
        return 200, {}
    press = Press("Slack", f"slack:{action.user_id}", action.user_name, action.kind,
                  action.execution, action.reason)  # fmt: skip
    # A dialog's outcome reaches the message through the run (decision_to_chat): the
    # request is answered now, the message replaced once the run moves on.
    said = answer(press, deps, callbacks, service_map, now, control, shows_decision=not dialog)
    if dialog:
        if said.outcome in ("decided", "partial"):
            return 200, {"response_action": "clear"}
        return 200, {"response_action": "errors", "errors": {"reason": said.text[:150]}}
    if said.outcome == "decided":
        return 200, {"replace_original": True, "text": said.text}
    if said.changed:  # a pause, a step-up's first approval: the buttons stay
        return 200, {"response_type": "in_channel", "replace_original": False, "text": said.text}
    return 200, _only_you(said.text)


def slash_command(req: WebhookRequest) -> tuple[str, str] | None:
    """(user id, text) of an `/opslink` slash command; None for an interactive payload."""
    try:
        form = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    if "command" not in form:
        return None
    if form["command"][0] != "/opslink" or not form.get("user_id", [""])[0]:
        raise SlackRefused(400, f"unknown command {form['command'][0][:40]!r}: /opslink")
    return form["user_id"][0], form.get("text", [""])[0]


def _only_you(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}
