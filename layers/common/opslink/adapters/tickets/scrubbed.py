"""Every ticket system behind one guard: what OpsLink writes to a ticket (description,
comments, status notes, hand-over notes) passes through `scrub` first, then is rendered
in the provider's markup with every untrusted region inert (opslink/inert.py), whichever
provider is configured and whichever code path wrote it. A write refused for characters
outside the Basic Multilingual Plane is made again without them (narrow_text.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from opslink.adapters.tickets.narrow_text import narrowed, refused_for_astral, same
from opslink.adapters.tickets.unassignable import refused_assignee, unassigned_notice
from opslink.errors import TicketSystemError, TicketSystemRejected
from opslink.inert import render
from opslink.models import HandOver, Ticket, TicketDraft, TicketStatus
from opslink.ports import TicketSystem
from opslink.scrub import scrub
from opslink.text_fit import fit
from opslink.ticket_policy import TITLE_MAX

logger = Logger(child=True)
T = TypeVar("T")
Fix = Callable[[str], str]


class ScrubbedTickets:
    def __init__(self, inner: TicketSystem) -> None:
        self.inner = inner
        self.name = inner.name
        self.markup = str(getattr(inner, "markup", "markdown"))
        # learned from a refusal: this system stores 3-byte UTF-8 only (one per container)
        self.narrow = False

    def _out(self, text: str) -> str:
        return render(self.markup, scrub(text))

    def _write(self, call: Callable[[Fix], T], *texts: str | None) -> T:
        if self.narrow:
            return call(narrowed)
        try:
            return call(same)
        except TicketSystemRejected:
            raise
        except TicketSystemError as exc:
            if not refused_for_astral(exc, *texts):
                raise
            out = call(narrowed)  # a creation looks its ticket up first: never two
            self.narrow = True
            logger.warning(
                f"{self.name} refused text with characters outside the Basic Multilingual "
                "Plane (500) and took it with them replaced by U+FFFD; it does so from now "
                "on. Its database likely stores 3-byte UTF-8 (MySQL utf8): convert it to "
                "utf8mb4 to keep emoji (docs/TICKET_SYSTEMS.md)"
            )
            return out

    def create(self, draft: TicketDraft) -> Ticket:
        # scrubbing may lengthen a title ("[REDACTED]"): fitted again after it
        title = fit(scrub(draft.title), TITLE_MAX)

        def attempt(assignee: str | None, description: str) -> Ticket:
            return self._write(
                lambda fix: self.inner.create(
                    draft.model_copy(
                        update={
                            "assignee": assignee,
                            "title": fix(title),
                            "description": fix(description),
                        }
                    )
                ),
                title,
                description,
            )

        return self._assigning(draft.assignee, attempt, self._out(draft.description))

    def _assigning(self, who: str | None, attempt: Callable[[str | None, str], T], text: str) -> T:
        """`attempt(who, text)`; refused for its assignee, again without one, the text
        saying who could not be assigned and why (unassignable.py)."""
        try:
            return attempt(who, text)
        except TicketSystemRejected as exc:
            if not (who and refused_assignee(exc)):
                raise
            logger.warning(
                f"{self.name} refused assignee {who!r}; the ticket is written without one",
                extra={"answer": str(exc)[:300]},
            )
            return attempt(None, self._out(unassigned_notice(self.name, who, exc)) + text)

    def comment(
        self,
        ticket_id: str,
        text: str,
        author: str = "opslink",
        key: str | None = None,
        verify: bool = False,
    ) -> None:
        out = self._out(text)
        self._write(
            lambda fix: self.inner.comment(ticket_id, fix(out), author, key=key, verify=verify),
            out,
        )

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        out = self._out(note) if note else note
        return self._write(
            lambda fix: self.inner.set_status(
                ticket_id, status, note=fix(out) if out else out, key=key
            ),
            out,
        )

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        def attempt(assignee: str | None, note: str) -> Ticket:
            return self._write(
                lambda fix: self.inner.hand_over(
                    ticket_id, handover.model_copy(update={"note": fix(note), "assignee": assignee})
                ),
                note,
            )

        return self._assigning(handover.assignee, attempt, self._out(handover.note))

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        return self.inner.assign(ticket_id, assignee)

    def get(self, ticket_id: str) -> Ticket | None:
        return self.inner.get(ticket_id)

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        return self.inner.find_by_alert(alert_id)

    def __getattr__(self, name: str) -> Any:  # provider extras: changed_since, close, …
        return getattr(self.inner, name)
