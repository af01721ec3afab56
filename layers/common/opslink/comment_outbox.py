"""Comments exactly once and in order, whatever fails.

Every comment OpsLink writes has a key (what it is about: the alert, the step, the
transition). It is posted carrying the key's reference. When the post fails, or its
answer is lost after the ticket system did the work, the comment goes to a durable outbox
(the alerts table); the drainer — the reconciler every 5 minutes, and the next comment
for the same ticket — reads the ticket's comments back and posts only what is missing,
oldest first (comment_drain.py). A ticket with queued comments gets new ones queued
behind them, so the order holds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from opslink.comment_drain import drain
from opslink.errors import RetryableError, TicketSystemError
from opslink.models import TicketStatus
from opslink.ports import Commentable, CommentQueue

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
        done = drain(outbox, tickets, ticket_id)
        return done["failed"] == done["busy"] == done["left"] == 0
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
    is left as it is and gets the note unless it carries it already. It never jumps a
    state change still queued for the ticket: with `keep_on_failure` it queues behind the
    queue; without, a queued state change is delivered first (TicketSystemError when it
    cannot be: the caller's retry comes back); behind queued comments only, the note
    queues. Returns the ticket; with
    `keep_on_failure`, a ticket system that fails leaves the whole write (state and note)
    in the outbox, delivered by the reconciler, and None is returned. `queue_checked`: the
    caller found the ticket's outbox empty with its own read (an OK, with its alert)."""
    if not queue_checked and outbox.has_queued(ticket_id):  # order: behind the queued ones
        if keep_on_failure:
            outbox.queue_comment(ticket_id, key, note, at, alert_id, status=status.value)
            drain(outbox, tickets, ticket_id)
            return None
        if not any(item.get("status") for item in outbox.queued_comments(ticket_id)):
            ticket = tickets.set_status(ticket_id, status)  # only comments wait: the note
            post_comment(outbox, tickets, ticket_id, key, note, at, alert_id, verify=True)
            return ticket  # queues behind them (a follow-up ticket takes them along)
        # A state change waits: it goes first, or it would undo this one when delivered
        # after it (a resolution queued in an outage, then the re-fire's reopening).
        done = drain(outbox, tickets, ticket_id)
        if done["failed"] or done["busy"] or done["left"]:
            raise TicketSystemError(
                f"ticket {ticket_id}: an earlier state change still waits in the outbox; "
                f"the {status.value} change follows it"
            )
    try:  # if it fails, whether state or note landed is unknown: a retry makes the same call
        return tickets.set_status(ticket_id, status, note=note, key=key)
    except TicketSystemError as exc:
        if not keep_on_failure:
            raise
        outbox.queue_comment(ticket_id, key, note, at, alert_id, status=status.value)
        logger.warning("state change queued", extra={"ticket_id": ticket_id, "error": str(exc)})
        return None


__all__ = ["drain", "noted_status", "post_comment", "post_soon"]
