"""When a status change is already applied (a retry whose first answer was lost)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opslink.adapters.tickets.common import already
from opslink.models import Priority, Ticket, TicketStatus, TicketType


def _ticket(status: TicketStatus) -> Ticket:
    now = datetime.now(UTC)
    return Ticket(
        id="1",
        provider="x",
        title="t",
        status=status,
        priority=Priority.HIGH,
        ticket_type=TicketType.INCIDENT,
        created_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize(
    ("current", "target", "done"),
    [
        (TicketStatus.RESOLVED, TicketStatus.RESOLVED, True),
        (TicketStatus.CLOSED, TicketStatus.RESOLVED, True),  # closed is past resolved
        (TicketStatus.RESOLVED, TicketStatus.CLOSED, False),  # closing is still a change
        (TicketStatus.CLOSED, TicketStatus.CLOSED, True),
        (TicketStatus.IN_PROGRESS, TicketStatus.OPEN, True),
        (TicketStatus.RESOLVED, TicketStatus.OPEN, False),  # a reopen
        (TicketStatus.OPEN, TicketStatus.PENDING, False),
    ],
)
def test_already(current: TicketStatus, target: TicketStatus, done: bool) -> None:
    assert already(_ticket(current), target) is done
    assert already(None, target) is False
