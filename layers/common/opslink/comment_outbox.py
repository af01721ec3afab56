"""Comments exactly once and in order, whatever fails.

Every comment OpsLink writes has a key (what it is about: the alert, the step, the
transition). It is posted carrying the key's reference. When the post fails, or its
answer is lost after the ticket system did the work, the comment goes to a durable outbox
(the alerts table); the drainer — the reconciler every 5 minutes, and the next comment
for the same ticket — reads the ticket's comments back and posts only what is missing,
oldest first. A ticket with queued comments gets new ones queued behind them, so the
order holds.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger

from opslink.errors import TicketSystemError
from opslink.ports import Commentable, CommentQueue

logger = Logger(child=True)


def post_comment(
    store: CommentQueue,
    tickets: Commentable,
    ticket_id: str,
    key: str,
    text: str,
    at: datetime,
    alert_id: str = "",
) -> bool:
    """True when the comment is on the ticket now; False when it waits in the outbox."""
    if store.queued_comments(ticket_id):  # earlier comments first: queue behind them
        store.queue_comment(ticket_id, key, text, at, alert_id)
        return drain(store, tickets, ticket_id)["failed"] == 0
    try:
        tickets.comment(ticket_id, text, key=key)
    except TicketSystemError as exc:  # failed, or done with the answer lost: verify later
        store.queue_comment(ticket_id, key, text, at, alert_id)
        logger.warning("comment queued", extra={"ticket_id": ticket_id, "error": str(exc)})
        return False
    return True


def drain(
    store: CommentQueue, tickets: Commentable, ticket_id: str | None = None
) -> dict[str, int]:
    """Deliver queued comments, oldest first per ticket; a ticket whose comment fails again
    keeps the rest of its queue for the next run."""
    delivered = failed = 0
    blocked: set[str] = set()
    for item in store.queued_comments(ticket_id):
        tid = str(item["ticket_id"])
        if tid in blocked:
            continue
        try:
            tickets.comment(tid, str(item["text"]), key=str(item["key"]), verify=True)
        except TicketSystemError as exc:
            blocked.add(tid)
            failed += 1
            logger.warning(
                "queued comment still failing", extra={"ticket_id": tid, "error": str(exc)}
            )
            continue
        store.comment_delivered(tid, str(item["key"]))
        delivered += 1
    return {"delivered": delivered, "failed": failed}
