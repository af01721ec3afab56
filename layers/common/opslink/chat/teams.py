"""Microsoft Teams activities on the track function's URL (`/chat/teams`, the bot's
messaging endpoint): the approval card's Action.Execute buttons and replies in its
thread.

Every activity is authenticated first (chat/teams_auth.py: the Bot Framework's signed
token, for this bot, for this activity's service URL) and taken once (its id is recorded
a day: a replayed activity does nothing more). A button (`invoke`, name
`adaptiveCard/action`) decides through chat/decisions.py — the same mapping
(`chat_users`: "teams:<Entra object id>"), permissions and one-decision rule as Slack
and the CLI — and the invoke response replaces the card for everyone with the outcome,
who decided and when; a refusal is shown to the person only. A reply in the card's
thread becomes a comment on the alert's ticket (scrubbed, inert)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opslink import json_input
from opslink.adapters.chat.teams_cards import CONTENT_TYPE, outcome_card
from opslink.adapters.chat.teams_messages import PREFIX
from opslink.chat.decisions import ACTIONS, Answer, Press, answer, refused
from opslink.chat.slack_commands import USAGE, slash
from opslink.chat.teams_auth import BotKeys, BotRefused, verify
from opslink.chat.thread_notes import copy_reply
from opslink.errors import OpsLinkError
from opslink.inert import strip_html
from opslink.ports import AutomationControl, TaskCallbacks
from opslink.scrub import scrub_excerpt
from opslink.service_map import ServiceMap
from opslink.track_service import TrackDeps
from opslink.webhook_service import WebhookRequest

TEAMS_PATH = "/chat/teams"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
_EXECUTION = re.compile(r"remediate-A-[0-9a-f]{20}")
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)


def handle(
    req: WebhookRequest,
    app_id: str,
    keys: BotKeys,
    deps: TrackDeps,
    callbacks: TaskCallbacks,
    smap: ServiceMap,
    control: AutomationControl | None = None,
    bot: Callable[[], Any] | None = None,
    tenant: str = "",
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): an invoke response for a button, {} for anything else taken;
    401 untrusted, 400 malformed. `bot` answers commands sent to it (TeamsApprovalMessages);
    with `tenant` (a single-tenant bot's), activities from other tenants are refused."""
    now = deps.clock()
    try:
        activity = json_input.loads(req.body)
        if not isinstance(activity, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError):
        return 400, {"error": "not a Bot Framework activity (JSON object)"}
    try:
        verify(req.headers.get("authorization", ""), activity, app_id, keys, now)
    except BotRefused as exc:
        return exc.status, {"error": exc.reason}
    if tenant and _tenant_of(activity) != tenant:
        return 401, {"error": f"from tenant {_tenant_of(activity)[:40]!r}, not TeamsTenantId"}
    activity_id = str(activity.get("id") or "")
    if not activity_id:
        return 400, {"error": "the activity has no id"}
    kind, claim = activity.get("type"), f"teams:{activity_id[:200]}"
    words = _command(activity) if kind == "message" else None
    if kind == "message" and words is None:  # a note, maybe
        return 200, _reply(activity, deps, smap, claim, now)  # claimed if copied
    if kind not in ("invoke", "message"):
        return 200, {}  # conversationUpdate, typing…: nothing to do
    if not deps.bookkeeping.claim_delivery(claim, now):  # a press or a command: taken once
        if kind == "invoke":
            return 200, _toast("This press was received before: nothing more was done.")
        return 200, {}
    if kind == "invoke" and activity.get("name") == "adaptiveCard/action":
        return 200, _invoke(activity, deps, callbacks, smap, control, now)
    if words is not None:
        return 200, _answer_command(activity, words, deps, smap, control, bot, now)
    return 200, {}


def _invoke(
    activity: dict[str, Any],
    deps: TrackDeps,
    callbacks: TaskCallbacks,
    smap: ServiceMap,
    control: AutomationControl | None,
    now: datetime,
) -> dict[str, Any]:
    try:
        action = activity["value"]["action"]
        verb, data = str(action.get("verb") or ""), action.get("data") or {}
        execution = str(data.get("execution") or "")
        user = activity["from"]
        aad, label = str(user.get("aadObjectId") or ""), str(user.get("name") or "")
    except (KeyError, TypeError, AttributeError):
        return _toast("Not an OpsLink button.")
    said: Answer
    if action.get("type") != "Action.Execute" or verb not in ACTIONS:
        said = refused(f"Unknown action {verb[:40]!r}: approve, reject or pause.")
    elif not _EXECUTION.fullmatch(execution):
        said = refused(f"{execution[:80]!r} is not an OpsLink execution.")
    elif not aad:
        said = refused("Your Teams user has no Entra object id (aadObjectId): nothing was decided.")
    else:
        reason = str(data.get("reason") or "")[:500] if verb == "reject" else None
        press = Press("Teams", f"teams:{aad}", label, verb, execution, reason)
        said = answer(press, deps, callbacks, smap, now, control)
    if said.outcome == "decided":  # the card, for everyone: the outcome, buttons gone
        card = outcome_card(said.text, str(data.get("title") or ""))
        return {"statusCode": 200, "type": CONTENT_TYPE, "value": card}
    return _toast(said.text)


def _reply(
    activity: dict[str, Any], deps: TrackDeps, smap: ServiceMap, claim: str, now: datetime
) -> dict[str, Any]:
    """A reply in the thread of an OpsLink card: a comment on the alert's ticket."""
    conversation = str(_obj(activity.get("conversation")).get("id") or "")
    channel, _, root = conversation.partition(";messageid=")
    root = root or str(activity.get("replyToId") or "")
    if not root:
        return {"ignored": "not a thread reply"}
    user = f"teams:{_obj(activity.get('from')).get('aadObjectId', '')}"
    text = strip_html(str(activity.get("text") or ""))
    return copy_reply(deps, smap, f"{PREFIX}{channel}/{root}", user, "Teams", text,
                      str(activity.get("id")), claim, now)  # fmt: skip


def _command(activity: dict[str, Any]) -> str | None:
    """The command of a message addressed to the bot ("@OpsLink pause checkout 2h …", or
    anything in a personal chat with it): status, pause or help; None for other text."""
    bot_id = str(_obj(activity.get("recipient")).get("id") or "")
    mentioned = any(
        e.get("type") == "mention" and _obj(e.get("mentioned")).get("id") == bot_id
        for e in _list(activity.get("entities")) if isinstance(e, dict)
    )  # fmt: skip
    personal = _obj(activity.get("conversation")).get("conversationType") == "personal"
    text = strip_html(_MENTION.sub(" ", str(activity.get("text") or ""))).strip()
    first = text.split(maxsplit=1)[0].lower() if text else ""
    if (mentioned or personal) and first in ("status", "pause", "help"):
        return text
    return None


def _answer_command(
    activity: dict[str, Any], text: str, deps: TrackDeps, smap: ServiceMap,
    control: AutomationControl | None, bot: Callable[[], Any] | None, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """`status` / `pause <service> <duration> <reason>`, as Slack's /opslink: the answer
    is a reply in the conversation (Teams has no private answers in a channel)."""
    aad = str(_obj(activity.get("from")).get("aadObjectId") or "")
    email = smap.chat_users.get(f"teams:{aad}")
    if not email:
        said = (f"Your Teams user ({aad or 'no Entra object id'}) is not mapped to a directory "
                "identity (the service map's chat_users): nothing was changed.")  # fmt: skip
    elif text.lower().startswith("help"):
        said = f"Commands: {USAGE.replace('/opslink ', '@OpsLink ')}"
    else:
        said = str(slash(text, email, control, deps.journal, smap, now, "Teams")["text"])
    if bot is None:
        return {"ignored": "no bot credentials to answer with"}
    conversation = str(_obj(activity.get("conversation")).get("id") or "")
    try:
        bot().reply(conversation, str(activity.get("id")), said)
    except OpsLinkError as exc:  # the change (if any) stands; the answer is lost
        return {"ok": False, "error": scrub_excerpt(str(exc), 200)}
    return {"ok": True}


def _tenant_of(activity: dict[str, Any]) -> str:
    tenant = _obj(_obj(activity.get("channelData")).get("tenant")).get("id")
    return str(tenant or _obj(activity.get("conversation")).get("tenantId") or "")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object of the activity, or {} for anything else (a sender may send any type)."""
    return value if isinstance(value, dict) else {}


def _toast(text: str) -> dict[str, Any]:
    """Shown to the person who pressed only; the card stays as it is."""
    return {"statusCode": 200, "type": MESSAGE_TYPE, "value": text}
