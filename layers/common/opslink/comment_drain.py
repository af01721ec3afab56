"""Delivering a ticket's queued comments (comment_outbox.py queues them): oldest first, one
deliverer per ticket at a time, each comment verified on the ticket before it is posted,
with its state change; what a ticket can never take is kept on its alert."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, cast
from uuid import uuid4

from aws_lambda_powertools import Logger

from opslink.deadline import MARGIN_SECONDS, expired, remaining
from opslink.errors import (
    StoreError,
    TicketClosedForGood,
    TicketSystemError,
    TicketSystemRejected,
)
from opslink.models import FINISHED_STATUSES, TicketStatus
from opslink.ports import Commentable, CommentQueue
from opslink.ports.records import QueuedComment

logger = Logger(child=True)


def drain(
    outbox: CommentQueue, tickets: Commentable, ticket_id: str | None = None
) -> dict[str, int]:
    """Deliver queued comments, oldest first per ticket; a ticket whose comment fails again
    keeps the rest of its queue for the next run. One deliverer per ticket at a time (a
    hold on the ticket's queue): a ticket another run is delivering is left to it
    (`busy`), since two that read its comments back at once would both post what neither
    sees yet — the members of an incident comment on one shared ticket."""
    done = {"delivered": 0, "failed": 0, "left": 0, "busy": 0}
    if ticket_id is not None:
        waiting = {ticket_id: 1}
    else:  # which tickets have comments waiting, the ticket with the oldest first
        waiting = {}
        for item in outbox.queued_comments():
            tid = str(item["ticket_id"])
            waiting[tid] = waiting.get(tid, 0) + 1
    for tid, count in waiting.items():
        if expired(2.0):  # the run's time budget: the rest waits, in order, for the next
            done["left"] += count
            continue
        holder = uuid4().hex
        if not outbox.hold_delivery(tid, holder, _hold_seconds()):
            done["busy"] += count
            continue
        try:
            _deliver_ticket(outbox, tickets, tid, done, holder)
        finally:
            _release(outbox, tid, holder)
    return done


def _release(outbox: CommentQueue, ticket_id: str, holder: str) -> None:
    try:
        outbox.release_delivery(ticket_id, holder)
    except StoreError as exc:  # the hold then runs out with this run; nothing is lost
        logger.warning("delivery hold kept until it runs out",
                       extra={"ticket_id": ticket_id, "error": str(exc)})  # fmt: skip


UNBOUNDED_HOLD_SECONDS = 120.0


def _hold_seconds() -> float:
    """As long as this run can last (Lambda ends it by then); an unbounded run (the CLI)
    holds for 2 minutes and renews its hold as it goes: killed, it keeps the ticket's
    queue from the reconciler for 2 minutes at most (it was 15)."""
    left = remaining()
    return UNBOUNDED_HOLD_SECONDS if left is None else max(left, 0.0) + MARGIN_SECONDS + 10.0


class _Hold:
    """An unbounded run's hold on a ticket's queue, renewed once half of it has passed;
    lost for good when it ran out and another deliverer took the ticket over."""

    def __init__(self, outbox: CommentQueue, ticket_id: str, holder: str) -> None:
        self.outbox, self.ticket_id, self.holder = outbox, ticket_id, holder
        self.taken_at, self.lost = time.monotonic(), False

    def kept(self) -> bool:
        if self.lost or remaining() is not None:  # a Lambda run holds for all of itself
            return not self.lost
        if time.monotonic() - self.taken_at >= UNBOUNDED_HOLD_SECONDS / 2:
            self.taken_at = time.monotonic()
            self.lost = not self.outbox.hold_delivery(
                self.ticket_id, self.holder, UNBOUNDED_HOLD_SECONDS
            )
        return not self.lost


def _deliver_ticket(
    outbox: CommentQueue, tickets: Commentable, ticket_id: str, done: dict[str, int], holder: str
) -> None:
    """The ticket's queue in order, read while holding it; then read again for comments
    queued meanwhile by runs that found it held, until none is new. A comment that fails
    once after the ticket took one this run is tried once more (a flaky system, not a
    down one: an incident's shared ticket would otherwise take a pass per failure)."""
    tried: set[str] = set()
    took = False
    hold = _Hold(outbox, ticket_id, holder)
    while True:
        fresh = [i for i in outbox.queued_comments(ticket_id) if str(i["key"]) not in tried]
        if not fresh:
            return
        for item in fresh:
            key = str(item["key"])
            tried.add(key)
            if expired(2.0) or not hold.kept():  # the rest waits for the next run, in order
                done["left"] += 1
                continue
            try:
                posted = _deliver(outbox, tickets, ticket_id, item, again=took)
            except TicketSystemError as exc:
                done["failed"] += 1
                logger.warning("queued comment still failing",
                               extra={"ticket_id": ticket_id, "error": str(exc)})  # fmt: skip
                return  # the rest of its queue keeps its order for the next run
            took |= posted
            done["delivered"] += posted
        if expired(2.0):
            return


def _deliver(
    outbox: CommentQueue, tickets: Commentable, ticket_id: str, item: QueuedComment, again: bool
) -> bool:
    """One queued comment (with its state change), verified first, then marked done: True
    when it is on the ticket, False when it was kept on its alert instead."""
    key, posted = str(item["key"]), True
    status = TicketStatus(str(item["status"])) if item.get("status") else None
    for attempt in (1, 2):
        try:
            refused = _apply(tickets, ticket_id, item, status)
            if refused is not None:  # refused for what it says (its state change made)
                _keep_on_alert(outbox, item, refused)
                posted = False
            break
        except TicketClosedForGood as exc:
            # It can never land there: kept on the alert's own record instead (a follow-up
            # ticket, when the alarm fires again, gets the ones still waiting).
            _keep_on_alert(outbox, item, exc)
            posted = False
            break
        except TicketSystemRejected as exc:
            if not _locked_finished(tickets, ticket_id, exc, status):
                raise  # credentials, rights, a conflict: the queue waits for a fix
            # Refused at every pass, it would hold every later one (the resolution, the
            # reopening of the ticket when the alarm fires again): kept on the alert.
            _keep_on_alert(outbox, item, exc)
            posted = False
            break
        except TicketSystemError:
            if attempt == 2 or not again or expired(2.0):
                raise
    outbox.comment_delivered(ticket_id, key)
    return posted


# Answers that refuse a comment's content, never the caller: 400, 413 (too large), 422.
REFUSED_FOR_WHAT_IT_SAYS = frozenset({400, 413, 422})


def _apply(
    tickets: Commentable, ticket_id: str, item: QueuedComment, status: TicketStatus | None
) -> TicketSystemRejected | None:
    """A queued comment, with its state change (idempotent) when it carries one; the note
    is said while the ticket takes comments: before a move to a finished status (one may
    lock the ticket: a Jira status that is not editable), after any other move. A comment
    refused for what it says (its length, Jira's per-issue comment limit: 413) would be
    refused at every pass: that refusal is returned, and a state change is made all the
    same."""

    def say() -> TicketSystemRejected | None:
        try:
            tickets.comment(ticket_id, str(item["text"]), key=str(item["key"]), verify=True)
        except TicketSystemRejected as exc:
            if exc.status not in REFUSED_FOR_WHAT_IT_SAYS:
                raise
            return exc
        return None

    refused = say() if status in FINISHED_STATUSES else None
    if status is not None:
        cast(Any, tickets).set_status(ticket_id, status)
    return say() if status not in FINISHED_STATUSES else refused


def _locked_finished(
    tickets: Commentable, ticket_id: str, exc: TicketSystemRejected, status: TicketStatus | None
) -> bool:
    """A comment refused (403) on a ticket that is finished: no pass will ever post it —
    systems lock finished tickets (a Jira status that is not editable, a locked GitHub
    issue, an ACL on closed ServiceNow incidents). A 403 on an open ticket is the caller's
    rights: the queue waits for them to be fixed. A state change is never given up, but
    one to a finished status the ticket has reached is done."""
    get = getattr(tickets, "get", None)
    if exc.status != 403 or get is None or (status is not None and status not in FINISHED_STATUSES):
        return False
    try:
        ticket = get(ticket_id)
    except TicketSystemError:
        return False
    return ticket is not None and ticket.status in FINISHED_STATUSES


def _keep_on_alert(outbox: CommentQueue, item: QueuedComment, error: Exception) -> None:
    alert_id = str(item.get("alert_id") or "")
    logger.warning("queued comment kept on the alert", extra={"ticket_id": item["ticket_id"],
                   "alert_id": alert_id, "error": str(error)})  # fmt: skip
    if alert_id:
        outbox.keep_on_alert(alert_id,
                            f"Not posted on ticket {item['ticket_id']} ({error}): {item['text']}",
                            datetime.fromisoformat(str(item["at"])))  # fmt: skip
