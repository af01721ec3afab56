"""One alert, one open ticket: when an alert is resolved, every other ticket linked to
it (a separate hand-over ticket, or the alert's own when the hand-over was closed) is
resolved too — once: a ticket already resolved or closed is left as it is.

Called by whoever won the alert's resolution (alarm OK in ingest, verified fix in
remediate, a human close in track), after the conditional write that resolved it."""

from __future__ import annotations

from typing import cast

from opslink.clock import utcnow
from opslink.comment_outbox import noted_status
from opslink.models import TicketStatus
from opslink.ports import CommentQueue, StatusTickets, TicketLinks

CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def linked_ticket_ids(store: TicketLinks, alert_id: str, provider: str) -> list[str]:
    """The alert's tickets in `provider`: its own first, then hand-over tickets."""
    ids = [
        (str(link.get("kind") or ""), str(link["ticket_id"]))
        for link in store.links(alert_id)
        if str(link.get("sk", "")).startswith(f"TICKET#{provider}#") and link.get("ticket_id")
    ]
    return [tid for _, tid in sorted(ids)]


def resolve_other_tickets(
    store: TicketLinks,
    tickets: StatusTickets,
    alert_id: str,
    done: str | None,
    note: str,
    status: TicketStatus = TicketStatus.RESOLVED,
) -> list[str]:
    """Resolve the alert's tickets other than `done` that are still open; their ids."""
    changed = []
    for ticket_id in linked_ticket_ids(store, alert_id, tickets.name):
        if ticket_id == done:
            continue
        ticket = tickets.get(ticket_id)
        if ticket is None or ticket.status in CLOSED:
            continue
        key = f"{alert_id}:lockstep:{ticket_id}:{status.value}"
        if hasattr(store, "queue_comment"):  # keyed: exactly once, whatever fails
            queue = cast(CommentQueue, store)
            noted_status(queue, tickets, ticket_id, status, note, key, utcnow(), alert_id,
                         keep_on_failure=True)  # fmt: skip
        else:
            tickets.set_status(ticket_id, status, note=note)
        changed.append(ticket_id)
    return changed
