"""Slack's Events API on /chat/slack (the same signed URL): a reply in the thread of an
approval request becomes a comment on the alert's ticket — scrubbed of secrets and
fenced, so it stays inert text in any ticket system — by the replier's directory
identity. Replies of people not mapped (the service map's `chat_users`), of bots, and
edits are not copied. Slack's `url_verification` is answered with its challenge. A
retried event (Slack retries when the answer is late) is one comment: its key is the
event's id."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from opslink.comment_outbox import post_soon
from opslink.inert import fenced
from opslink.scrub import scrub
from opslink.service_map import ServiceMap
from opslink.track_service import TrackDeps

MAX_NOTE = 2_000


def event_of(body: bytes) -> dict[str, Any] | None:
    """The Events API document a request carries (JSON), or None (a form: buttons, commands)."""
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        doc = json.loads(body)
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
    store = deps.store
    alert_id = store.alert_of_chat_message(f"{event.get('channel', '')}/{thread}")
    alert = store.get(alert_id) if alert_id else None
    if alert is None or not alert.ticket_id:
        return 200, {"ignored": "not a thread of an OpsLink message"}
    email = smap.chat_users.get(f"slack:{event.get('user', '')}")
    if not email:
        return 200, {"ignored": "the replier is not mapped (chat_users)"}
    text = scrub(str(event.get("text") or ""))[:MAX_NOTE] or "(empty)"
    note = "\n".join([f"{email} on Slack, in the approval request's thread:", "", *fenced(text)])
    event_id = str(doc.get("event_id") or ts)
    if not store.claim_delivery(f"slack-event:{event_id}", now):
        return 200, {"ignored": "copied already (Slack retried the event)"}
    key = f"{alert.alert_id}:slack-note:{event_id}"  # on the ticket soon, in order
    post_soon(store, deps.tickets, alert.ticket_id, key, note, now, alert.alert_id, deps.courier)
    return 200, {"ok": True}
