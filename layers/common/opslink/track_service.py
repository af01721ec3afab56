"""Ticket → alert sync: a ticket closed or resolved by a human resolves its alert.

The scheduled sweep asks the ticket system only for tickets changed since its last
checkpoint (with an overlap, since change times are coarse) and is idempotent: resolving
an already resolved alert is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from opslink.models import Ticket, TicketStatus
from opslink.ports import AlertStore

OVERLAP = timedelta(seconds=5)
FIRST_SWEEP = timedelta(days=1)
CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class SweepableTickets(Protocol):
    name: str

    def changed_since(self, since: datetime) -> list[Ticket]: ...


class Checkpoints(Protocol):
    def get_checkpoint(self, name: str) -> datetime | None: ...

    def set_checkpoint(self, name: str, at: datetime) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class TrackDeps:
    store: AlertStore
    tickets: SweepableTickets
    checkpoints: Checkpoints
    clock: Callable[[], datetime] = _utcnow


def sweep(deps: TrackDeps) -> dict[str, Any]:
    now = deps.clock()
    name = f"track#{deps.tickets.name}"
    since = (deps.checkpoints.get_checkpoint(name) or now - FIRST_SWEEP) - OVERLAP
    resolved: list[str] = []
    for ticket in deps.tickets.changed_since(since):
        if ticket.status not in CLOSED:
            continue
        alert_id = deps.store.alert_for_ticket(ticket.provider, ticket.id) or ticket.alert_id
        alert = deps.store.get(alert_id) if alert_id else None
        if alert is None or alert.status != "open":
            continue
        resolution = {
            "by": "ticket",
            "how": f"ticket {ticket.id} was {ticket.status.value}",
            "who": ticket.assignee or "unknown",
            "at": ticket.updated_at.isoformat(),
            "status": ticket.status.value,
        }
        if deps.store.resolve(alert, resolution, ticket.updated_at):
            resolved.append(alert.alert_id)
    deps.checkpoints.set_checkpoint(name, now)
    return {"since": since.isoformat(), "resolved": resolved}
