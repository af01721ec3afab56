"""Slack's Events API on /chat/slack (the same signed URL): a reply in the thread of an
approval request becomes a comment on the alert's ticket — scrubbed of secrets and
fenced, so it stays inert text in any ticket system — by the replier's directory
identity. Replies of people not mapped (the service map's `chat_users`), of bots, and
edits are not copied. Slack's `url_verification` is answered with its challenge. A
retried event (Slack retries when the answer is late) is one comment: its key is the
event's id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opslink import json_input
from opslink.chat.thread_notes import copy_reply
from opslink.service_map import ServiceMap
from opslink.track_service import TrackDeps


def event_of(body: bytes) -> dict[str, Any] | None:
    """The Events API document a request carries (JSON), or None (a form: buttons, commands)."""
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        doc = json_input.loads(body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def handle_event(
    doc: dict[str, Any], deps: TrackDeps, smap: ServiceMap, now: datetime
) -> tuple[int, dict[str, Any]]:
    if doc.get("type") == "url_verification":
        return 200, {"challenge": str(doc.get("challenge", ""))[:200]}
    if doc.get("type") != "event_callback" or not isinstance(doc.get("event"), dict):
        return 400, {"error": f"not an Events API callback ({str(doc.get('type'))[:40]!r})"}
    event = doc["event"]
    thread, ts = str(event.get("thread_ts") or ""), str(event.get("ts") or "")
    if event.get("type") != "message" or event.get("subtype") or event.get("bot_id"):
        return 200, {"ignored": "not a person's new message"}
    if not thread or thread == ts:
        return 200, {"ignored": "not a thread reply"}
    event_id = str(doc.get("event_id") or ts)
    return 200, copy_reply(deps, smap, f"{event.get('channel', '')}/{thread}",
                           f"slack:{event.get('user', '')}", "Slack", str(event.get("text") or ""),
                           event_id, f"slack-event:{event_id}", now)  # fmt: skip
