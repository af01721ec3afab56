"""One alert, one open ticket: when an alert is resolved, every other ticket linked to
it (a separate hand-over ticket, or the alert's own when the hand-over was closed) is
resolved too — once: a ticket already resolved or closed is left as it is.

Called by whoever resolves the alert (alarm OK in ingest, verified fix in remediate, a
human close in track), after the conditional write that resolved it — and again by a
retry of that step, which finds the alert resolved already."""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger

from opslink.clock import utcnow
from opslink.comment_outbox import noted_status
from opslink.errors import TicketSystemError, TicketSystemRejected
from opslink.models import Alert, TicketStatus
from opslink.ports import AlertStore, CommentQueue, StatusTickets, TicketLinks

CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
logger = Logger(child=True)


def linked_ticket_ids(store: TicketLinks, alert_id: str, provider: str) -> list[str]:
    """The alert's tickets in `provider`: its own first, then hand-over tickets."""
    ids = [
        (str(link.get("kind") or ""), str(link["ticket_id"]))
        for link in store.links(alert_id)
        if str(link.get("sk", "")).startswith(f"TICKET#{provider}#")
        and link.get("ticket_id")
        and link.get("kind") != "left_incident"  # split out of, or merged away from, it
    ]
    return [tid for _, tid in sorted(ids)]


def resolve_counted(
    store: AlertStore,
    alert: Alert,
    resolution: dict[str, str],
    at: datetime,
    alone: bool,
    alarm_change: str | None = None,
) -> tuple[bool, bool]:
    """Resolve `alert` (as just read): (resolved, alone). With `alone` — no hand-over
    counted on it, none other expected — the resolution is conditional on the count
    staying 0, and a true `alone` back means there is no other ticket to resolve (one
    linked after it sees the alert resolved and resolves itself). A hand-over linked
    meanwhile fails that condition: resolved again from a fresh read, and the caller looks
    the alert's tickets up (`alone` false). `alarm_change` is recorded with whichever
    resolution lands (store.resolve), so exactly when `resolved`."""
    if not alone:
        return store.resolve(alert, resolution, at, alarm_change=alarm_change), False
    if store.resolve(alert, resolution, at, alone=True, alarm_change=alarm_change):
        return True, True
    return store.resolve_by_id(alert.alert_id, resolution, at, alarm_change), False


def resolve_other_tickets(
    store: AlertStore,
    tickets: StatusTickets,
    alert_id: str,
    done: str | None,
    note: str,
    *,
    outbox: CommentQueue,
    status: TicketStatus = TicketStatus.RESOLVED,
) -> list[str]:
    """Resolve the alert's tickets other than `done` that are still open; their ids.
    Idempotent, so a retried resolution calls it again and finishes what a failure left.
    A ticket the system refuses (a custom state, a permission) is passed over with a
    note on the alert for a human — never the end of the others, never an error after
    the alert was resolved; one that is away gets the change through the `outbox`."""
    changed = []
    for ticket_id in linked_ticket_ids(store, alert_id, tickets.name):
        if ticket_id == done:
            continue
        try:
            ticket = tickets.get(ticket_id)
            if ticket is None or ticket.status in CLOSED:
                continue
        except TicketSystemRejected as exc:
            _passed_over(store, alert_id, ticket_id, status, exc)
            continue
        except TicketSystemError:
            pass  # unreadable now: the change goes to the outbox below (the reconciler
            # delivers it), as the alert is resolved already and no retry comes back here
        try:  # keyed: exactly once, whatever fails
            noted_status(outbox, tickets, ticket_id, status, note,
                         f"{alert_id}:lockstep:{ticket_id}:{status.value}", utcnow(), alert_id,
                         keep_on_failure=True)  # fmt: skip
        except TicketSystemRejected as exc:
            _passed_over(store, alert_id, ticket_id, status, exc)
            continue
        changed.append(ticket_id)
    return changed


def _passed_over(
    store: AlertStore, alert_id: str, ticket_id: str, status: TicketStatus, exc: Exception
) -> None:
    text = (
        f"Ticket {ticket_id} could not be {status.value} with alert {alert_id}: {exc}. "
        "Set it by hand."
    )
    logger.warning("linked ticket passed over", extra={"ticket_id": ticket_id, "error": str(exc)})
    store.add_note(alert_id, text, utcnow(), kind="ticket_passed_over")
