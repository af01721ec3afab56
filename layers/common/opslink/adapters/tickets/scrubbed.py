"""Every ticket system behind one guard: what OpsLink writes to a ticket (description,
comments, status notes, hand-over notes) passes through `scrub` first, then is rendered
in the provider's markup with every untrusted region inert (opslink/inert.py), whichever
provider is configured and whichever code path wrote it."""

from __future__ import annotations

from typing import Any

from opslink.inert import render
from opslink.models import HandOver, Ticket, TicketDraft, TicketStatus
from opslink.ports import TicketSystem
from opslink.scrub import scrub


class ScrubbedTickets:
    def __init__(self, inner: TicketSystem) -> None:
        self.inner = inner
        self.name = inner.name
        self.markup = str(getattr(inner, "markup", "markdown"))

    def _out(self, text: str) -> str:
        return render(self.markup, scrub(text))

    def create(self, draft: TicketDraft) -> Ticket:
        clean = draft.model_copy(
            update={"title": scrub(draft.title), "description": self._out(draft.description)}
        )
        return self.inner.create(clean)

    def comment(
        self,
        ticket_id: str,
        text: str,
        author: str = "opslink",
        key: str | None = None,
        verify: bool = False,
    ) -> None:
        self.inner.comment(ticket_id, self._out(text), author, key=key, verify=verify)

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        return self.inner.set_status(
            ticket_id, status, note=self._out(note) if note else note, key=key
        )

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        return self.inner.hand_over(
            ticket_id, handover.model_copy(update={"note": self._out(handover.note)})
        )

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        return self.inner.assign(ticket_id, assignee)

    def get(self, ticket_id: str) -> Ticket | None:
        return self.inner.get(ticket_id)

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        return self.inner.find_by_alert(alert_id)

    def __getattr__(self, name: str) -> Any:  # provider extras: changed_since, close, …
        return getattr(self.inner, name)
