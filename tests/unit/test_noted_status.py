"""A ticket's state change and its note (noted_status), on the builtin ticket system: one
ticket call on a first write, the note exactly once when retried or when someone else
moved the ticket first, and behind the comments still queued for it."""

from __future__ import annotations

from typing import Any

from opslink.comment_outbox import noted_status
from opslink.models import TicketStatus
from tests.unit.conftest import Clock
from tests.unit.fakes import counted_calls, opened_alert

NOTE = "Alarm returned to OK: resolved by OpsLink."


def _ticket(deps: Any) -> str:
    payload = opened_alert(deps)
    return str(deps.store.get(payload["alert_id"]).ticket_id)


def _notes(deps: Any, ticket_id: str) -> list[str]:
    return [t for t in deps.tickets.comment_texts(ticket_id) if t.startswith(NOTE)]


def test_a_first_state_change_writes_state_and_note_in_one_call(deps: Any, clock: Clock) -> None:
    ticket_id = _ticket(deps)
    calls = counted_calls(deps.tickets)
    ticket = noted_status(deps.outbox, deps.tickets, ticket_id, TicketStatus.RESOLVED, NOTE,
                          "a1:resolved", clock(), keep_on_failure=True)  # fmt: skip
    assert ticket.status is TicketStatus.RESOLVED
    assert dict(calls) == {"update_item": 1}  # no read first: the write is conditional
    assert len(_notes(deps, ticket_id)) == 1


def test_a_retry_leaves_the_note_once(deps: Any, clock: Clock) -> None:
    ticket_id = _ticket(deps)
    for _ in range(3):  # the first write landed, its answer was lost: retried twice
        noted_status(deps.outbox, deps.tickets, ticket_id, TicketStatus.RESOLVED, NOTE,
                     "a1:resolved", clock())  # fmt: skip
    assert deps.tickets.get(ticket_id).status is TicketStatus.RESOLVED
    assert len(_notes(deps, ticket_id)) == 1


def test_a_ticket_someone_else_resolved_still_gets_the_note_once(deps: Any, clock: Clock) -> None:
    ticket_id = _ticket(deps)
    deps.tickets.set_status(ticket_id, TicketStatus.CLOSED, by="dana@example.com")
    for _ in range(2):
        ticket = noted_status(deps.outbox, deps.tickets, ticket_id, TicketStatus.RESOLVED, NOTE,
                              "a1:resolved", clock())  # fmt: skip
        assert ticket.status is TicketStatus.CLOSED  # left as the human left it
    assert len(_notes(deps, ticket_id)) == 1


def test_the_note_waits_behind_comments_still_queued(deps: Any, clock: Clock) -> None:
    ticket_id = _ticket(deps)
    deps.outbox.queue_comment(ticket_id, "a1:earlier", "Earlier comment.", clock(), "a1")
    noted_status(deps.outbox, deps.tickets, ticket_id, TicketStatus.RESOLVED, NOTE,
                 "a1:resolved", clock(), keep_on_failure=True)  # fmt: skip
    texts = deps.tickets.comment_texts(ticket_id)
    earlier = next(i for i, t in enumerate(texts) if t.startswith("Earlier comment."))
    note = next(i for i, t in enumerate(texts) if t.startswith(NOTE))
    assert earlier < note
    assert deps.tickets.get(ticket_id).status is TicketStatus.RESOLVED
    assert deps.outbox.queued_comments(ticket_id) == []
