"""Ports: what the domain needs from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from opslink.models import (
    Alert,
    HandOver,
    JobOutput,
    JobRef,
    JobRequest,
    JobStatus,
    Ticket,
    TicketDraft,
    TicketStatus,
)


class OpenAlertConflict(Exception):
    """The alarm already has an open alert: its lock row as the store holds it."""

    def __init__(self, holder: dict[str, Any]) -> None:
        super().__init__(f"alarm already has open alert {holder.get('alert_id')}")
        self.holder = holder


class AlertStore(Protocol):
    def open_alert(
        self,
        alert: Alert,
        lease_until: datetime,
        replace: str | None = None,
        previous: dict[str, str] | None = None,
    ) -> None:
        """Claim the alarm's fingerprint and create the alert in one atomic write.
        Raises OpenAlertConflict carrying the current holder when already claimed; a
        holder whose alert is resolved (st=resolved) is replaced only when named."""

    def take_lease(self, alert: Alert, now: datetime, lease_until: datetime) -> bool:
        """Take over an unfinished alert whose lease ran out; False if someone holds it."""

    def release_lease(self, alert: Alert, now: datetime) -> None:
        """Give up the lease of an unfinished alert (its delivery failed)."""

    def claim_slot(
        self, alert_id: str, slot: str, previous: datetime | None, now: datetime
    ) -> bool:
        """Set a once-per-period timestamp on the alert if nobody moved it since."""

    def open_alerts(self) -> Iterable[Alert]: ...

    def record_transition(
        self, fingerprint: str, at: datetime, state: str, window: timedelta
    ) -> list[tuple[datetime, str]]:
        """Append an alarm state change; the changes within `window` of it."""

    def transitions(self, fingerprint: str) -> list[tuple[datetime, str]]:
        """The alarm's recent state changes, oldest first."""

    def link_opened(
        self, alert: Alert, ticket: Ticket, execution_name: str, new_ticket: bool = True
    ) -> None:
        """Store the ticket and execution on the alert, with links in both directions."""

    def record_refire(self, alert_id: str, at: datetime) -> Alert | None:
        """Count an ALARM transition newer than the alert's last; None if not newer."""

    def claim_comment(self, alert_id: str, previous: datetime | None, now: datetime) -> bool:
        """Atomically take the alert's re-fire comment slot."""

    def resolve(self, alert: Alert, resolution: dict[str, str], at: datetime) -> bool:
        """Resolve an open alert and release its fingerprint; False if already resolved."""

    def add_note(self, alert_id: str, text: str, at: datetime, kind: str = "note") -> None: ...

    def get(self, alert_id: str) -> Alert | None: ...

    def find_open(self, fingerprint: str) -> Alert | None: ...

    def alert_for_ticket(self, provider: str, ticket_id: str) -> str | None: ...

    def links(self, alert_id: str) -> list[dict[str, Any]]:
        """The alert's links (tickets with provider/ticket_id/kind, executions, jobs)."""

    def list_alerts(self, status: str | None = None, limit: int = 50) -> list[Alert]: ...

    def record_rejection(self, source: str, reason: str, excerpt: str, at: datetime) -> None: ...


class TicketSystem(Protocol):
    name: str

    def create(self, draft: TicketDraft) -> Ticket:
        """Open a ticket; idempotent per draft.alert_id."""

    def comment(self, ticket_id: str, text: str, author: str = "opslink") -> None: ...

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None
    ) -> Ticket: ...

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        """Mark the ticket as failed automation (title marker, label), raise its priority,
        assign it, set its due date and add the hand-over note. Idempotent."""

    def get(self, ticket_id: str) -> Ticket | None: ...

    def find_by_alert(self, alert_id: str) -> Ticket | None: ...


class Directory(Protocol):
    def oncall(self, team: str | None) -> str | None:
        """Who is on call for a team right now, if anyone is known."""


class AlarmTagSource(Protocol):
    def tags(self, alarm_arn: str) -> dict[str, str]:
        """Tags of the alarm; empty when it has none or they cannot be read."""


class Workflow(Protocol):
    def start_remediation(self, name: str, payload: dict[str, Any]) -> bool:
        """Start the remediation execution; False when one with that name already ran."""


class Notifier(Protocol):
    def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None: ...


class JobPlatform(Protocol):
    name: str

    def launch(self, request: JobRequest) -> JobRef:
        """Start the runbook on its targets; idempotent per request.idempotency_key."""

    def status(self, ref: JobRef) -> JobStatus: ...

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        """stdout/stderr, the last `limit` characters of each."""

    def cancel(self, ref: JobRef) -> None: ...
