"""Ticket systems: create, change, comment, read back, sweep."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    pass

from opslink.models import HandOver, Ticket, TicketDraft, TicketStatus
from opslink.ports.records import AlertLink


class Commentable(Protocol):
    def comment(
        self,
        ticket_id: str,
        text: str,
        author: str = "opslink",
        key: str | None = None,
        verify: bool = False,
    ) -> None:
        """Add a comment. With `key`, at most one comment per key: it carries the key's
        reference, and `verify` reads the ticket back first (a retry after an unknown
        outcome)."""


class TicketSystem(Commentable, Protocol):
    name: str

    def create(self, draft: TicketDraft) -> Ticket:
        """Open a ticket; idempotent per draft.alert_id."""

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket:
        """Move the ticket to `status` with `note`; a ticket already there is left as it is
        (no note). With `key` the note carries the key's reference, as a keyed comment
        does: state and note go in one request where the system takes both (builtin,
        ServiceNow, Zendesk, Redmine), else the state first and then the note (Jira,
        GitHub) — so a retry that finds the state changed can read the note back."""

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        """Mark the ticket as failed automation (title marker, label), raise its priority,
        assign it, set its due date and add the hand-over note. Idempotent."""

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        """Give the ticket to `assignee` (the system's own user form: login, e-mail, account
        id); TicketSystemRejected when the system has no such user."""

    def get(self, ticket_id: str) -> Ticket | None: ...

    def find_by_alert(self, alert_id: str) -> Ticket | None: ...


class TicketLinks(Protocol):
    def links(self, alert_id: str) -> list[AlertLink]: ...


class StatusTickets(Protocol):
    name: str

    def get(self, ticket_id: str) -> Ticket | None: ...

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket: ...


class SweepableTickets(Commentable, Protocol):
    name: str

    def changed_since(self, since: datetime) -> list[Ticket]: ...

    def create(self, draft: TicketDraft) -> Ticket:
        """Open a ticket (an alert split out of its incident); idempotent per alert."""

    def assign(self, ticket_id: str, assignee: str) -> Ticket: ...

    def get(self, ticket_id: str) -> Ticket | None: ...

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None, key: str | None = None
    ) -> Ticket: ...
