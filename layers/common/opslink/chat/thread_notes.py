"""A reply in the thread of an OpsLink chat message (Slack or Teams) becomes a comment on
the alert's ticket: by the replier's directory identity (the service map's
`chat_users`), scrubbed of secrets and fenced so it stays inert text in any ticket
system, queued behind the ticket's other comments and delivered at once (post_soon).
Replies in threads that are not OpsLink's, and of people not mapped, are not copied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opslink.comment_outbox import post_soon
from opslink.inert import fenced
from opslink.scrub import scrub
from opslink.service_map import ServiceMap
from opslink.track_service import TrackDeps

MAX_NOTE = 2_000


def copy_reply(
    deps: TrackDeps,
    smap: ServiceMap,
    message: str,
    user: str,
    platform: str,
    text: str,
    note_id: str,
    claim: str,
    now: datetime,
) -> dict[str, Any]:
    """`message`: the thread's root as stored when posted ("<channel>/<ts>", or
    "teams:<conversation>/<activity>"); `user`: as keyed in chat_users; `note_id`: the
    platform's id of the reply; `claim`: its delivery, recorded once it is to be copied
    (a retried delivery is one comment; other messages cost no write)."""
    alert_id = deps.bookkeeping.alert_of_chat_message(message)
    alert = deps.store.get(alert_id) if alert_id else None
    if alert is None or not alert.ticket_id:
        return {"ignored": "not a thread of an OpsLink message"}
    email = smap.chat_users.get(user)
    if not email:
        return {"ignored": "the replier is not mapped (chat_users)"}
    if not deps.bookkeeping.claim_delivery(claim, now):
        return {"ignored": "copied already (the platform retried it)"}
    body = scrub(text)[:MAX_NOTE] or "(empty)"
    note = "\n".join([f"{email} on {platform}, in the approval request's thread:", "",
                      *fenced(body)])  # fmt: skip
    key = f"{alert.alert_id}:{platform.lower()}-note:{note_id[:100]}"
    post_soon(deps.outbox, deps.tickets, alert.ticket_id, key, note, now, alert.alert_id,
              deps.courier)  # fmt: skip
    return {"ok": True}
