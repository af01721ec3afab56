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

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from aws_lambda_powertools import Logger

from opslink.deadline import expired
from opslink.errors import RetryableError, TicketClosedForGood, TicketSystemError
from opslink.models import TicketStatus
from opslink.ports import Commentable, CommentQueue
from opslink.ports.records import QueuedComment

logger = Logger(child=True)


def post_comment(
    outbox: CommentQueue,
    tickets: Commentable,
    ticket_id: str,
    key: str,
    text: str,
    at: datetime,
    alert_id: str = "",
    verify: bool = False,
    queue_checked: bool = False,
) -> bool:
    """True when the comment is on the ticket now; False when it waits in the outbox.
    With `verify` (the comment may be there already: a retried write) the ticket's
    comments are read back first. `queue_checked`: the caller just found the ticket's
    outbox empty (not read again)."""
    if not queue_checked and outbox.has_queued(ticket_id):  # earlier ones first: queue
        outbox.queue_comment(ticket_id, key, text, at, alert_id)
        return drain(outbox, tickets, ticket_id)["failed"] == 0
    try:
        tickets.comment(ticket_id, text, key=key, verify=verify)
    except TicketSystemError as exc:  # failed, or done with the answer lost: verify later
        outbox.queue_comment(ticket_id, key, text, at, alert_id)
        logger.warning("comment queued", extra={"ticket_id": ticket_id, "error": str(exc)})
        return False
    return True


def post_soon(
    outbox: CommentQueue,
    tickets: Commentable,
    ticket_id: str,
    key: str,
    text: str,
    at: datetime,
    alert_id: str,
    courier: Callable[[str], None] | None,
) -> None:
    """A comment that must not keep its caller waiting (a chat request answered within
    seconds): queued in the outbox and handed to `courier`, which delivers the ticket's
    queue asynchronously (the remediate function); the reconciler delivers whatever the
    courier misses. Without a courier it is posted now."""
    if courier is None:
        post_comment(outbox, tickets, ticket_id, key, text, at, alert_id)
        return
    outbox.queue_comment(ticket_id, key, text, at, alert_id)
    try:
        courier(ticket_id)
    except RetryableError as exc:  # queued: the reconciler's next pass delivers it
        logger.warning("comment left for the reconciler", extra={"ticket_id": ticket_id,
                       "error": str(exc)})  # fmt: skip


def noted_status(
    outbox: CommentQueue,
    tickets: Any,
    ticket_id: str,
    status: TicketStatus,
    note: str,
    key: str,
    at: datetime,
    alert_id: str = "",
    keep_on_failure: bool = False,
    queue_checked: bool = False,
) -> Any:
    """A state change and its note as one logical write, exactly once on every ticket
    system: one keyed TicketSystem.set_status — state and note in one request where the
    system takes both; a ticket already in that state (a retry, or someone else moved it)
    is left as it is and gets the note unless it carries it already. Behind comments still
    queued for the ticket, the note queues too (order kept). Returns the ticket; with
    `keep_on_failure`, a ticket system that fails leaves the whole write (state and note)
    in the outbox, delivered by the reconciler, and None is returned. `queue_checked`: the
    caller found the ticket's outbox empty with its own read (an OK, with its alert)."""
    if not queue_checked and outbox.has_queued(ticket_id):  # order: behind the queued ones
        if keep_on_failure:
            outbox.queue_comment(ticket_id, key, note, at, alert_id, status=status.value)
            drain(outbox, tickets, ticket_id)
            return None
        ticket = tickets.set_status(ticket_id, status)
        post_comment(outbox, tickets, ticket_id, key, note, at, alert_id, verify=True)
        return ticket
    try:  # if it fails, whether state or note landed is unknown: a retry makes the same call
        return tickets.set_status(ticket_id, status, note=note, key=key)
    except TicketSystemError as exc:
        if not keep_on_failure:
            raise
        outbox.queue_comment(ticket_id, key, note, at, alert_id, status=status.value)
        logger.warning("state change queued", extra={"ticket_id": ticket_id, "error": str(exc)})
        return None


def drain(
    outbox: CommentQueue, tickets: Commentable, ticket_id: str | None = None
) -> dict[str, int]:
    """Deliver queued comments, oldest first per ticket; a ticket whose comment fails again
    keeps the rest of its queue for the next run."""
    delivered = failed = left = 0
    blocked: set[str] = set()
    for item in outbox.queued_comments(ticket_id):
        tid = str(item["ticket_id"])
        if tid in blocked:
            continue
        if expired(2.0):  # the run's time budget: the rest waits, in order, for the next
            left += 1
            continue
        try:
            if item.get("status"):  # a state change kept with its note: idempotent, then it
                cast(Any, tickets).set_status(tid, TicketStatus(str(item["status"])))
            tickets.comment(tid, str(item["text"]), key=str(item["key"]), verify=True)
        except TicketClosedForGood as exc:
            # It can never land there: kept on the alert's own record instead (a follow-up
            # ticket, when the alarm fires again, gets the ones still waiting).
            _keep_on_alert(outbox, item, exc)
            outbox.comment_delivered(tid, str(item["key"]))
            continue
        except TicketSystemError as exc:
            blocked.add(tid)
            failed += 1
            logger.warning(
                "queued comment still failing", extra={"ticket_id": tid, "error": str(exc)}
            )
            continue
        outbox.comment_delivered(tid, str(item["key"]))
        delivered += 1
    return {"delivered": delivered, "failed": failed, "left": left}


def _keep_on_alert(outbox: CommentQueue, item: QueuedComment, error: Exception) -> None:
    alert_id = str(item.get("alert_id") or "")
    logger.warning("queued comment kept on the alert", extra={"ticket_id": item["ticket_id"],
                   "alert_id": alert_id, "error": str(error)})  # fmt: skip
    if alert_id:
        outbox.keep_on_alert(alert_id,
                            f"Not posted on ticket {item['ticket_id']} ({error}): {item['text']}",
                            datetime.fromisoformat(str(item["at"])))  # fmt: skip
