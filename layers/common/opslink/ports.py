"""Ports: what the domain needs from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from opslink.automation_control import Control
    from opslink.faults import Fault
    from opslink.journal import LifecycleEvent
    from opslink.remediation_models import JobOutput, JobRef, JobRequest, JobStatus

from opslink.models import Alert, HandOver, Ticket, TicketDraft, TicketStatus


class CommentQueue(Protocol):
    def queue_comment(
        self, ticket_id: str, key: str, text: str, at: datetime, alert_id: str = ""
    ) -> None:
        """Keep a comment until it is known to be on its ticket (once per key)."""

    def queued_comments(self, ticket_id: str | None = None) -> list[dict[str, Any]]: ...

    def comment_delivered(self, ticket_id: str, key: str) -> None: ...


class AlertStore(CommentQueue, Protocol):
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

    def add_note(
        self,
        alert_id: str,
        text: str,
        at: datetime,
        kind: str = "note",
        event: LifecycleEvent | None = None,
    ) -> None:
        """Append a note; with `event`, the lifecycle event in the same write (once)."""

    def record_event(self, event: LifecycleEvent, first_launch: bool = False) -> bool:
        """A lifecycle event on its own; False when it was recorded before."""

    def get(self, alert_id: str) -> Alert | None: ...

    def find_open(self, fingerprint: str) -> Alert | None: ...

    def alert_for_ticket(self, provider: str, ticket_id: str) -> str | None: ...

    def links(self, alert_id: str) -> list[dict[str, Any]]:
        """The alert's links (tickets with provider/ticket_id/kind, executions, jobs)."""

    def list_alerts(self, status: str | None = None, limit: int = 50) -> list[Alert]: ...

    def record_rejection(self, source: str, reason: str, excerpt: str, at: datetime) -> None: ...


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

    def stop_remediation(self, name: str, cause: str) -> bool:
        """Stop the execution if it still runs; False if it already ended."""


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


class FaultStore(Protocol):
    def open_fault(self, fault: Fault) -> tuple[Fault, bool]:
        """Record `fault` unless one is open for its component and integration (then
        count this occurrence on it); the fault on record and whether it is new."""

    def recover_fault(self, component: str, integration: str, at: datetime) -> Fault | None:
        """Mark the open fault recovered; it, or None when none was open."""


class RemediationStore(AlertStore, Protocol):
    def link_job(
        self,
        alert_id: str,
        job: dict[str, Any],
        event: LifecycleEvent | None = None,
        first_launch: bool = False,
    ) -> None: ...

    def launched_jobs(self, alert_id: str) -> list[dict[str, Any]]: ...

    def link_followup_ticket(
        self, alert_id: str, provider: str, ticket_id: str, kind: str
    ) -> None: ...

    def runbook_stats(
        self, runbooks: list[str], alert_type: str, service: str, environment: str
    ) -> dict[str, tuple[int, int]]: ...

    def runbook_evidence(
        self, runbooks: list[str], alert_type: str, service: str, environment: str, now: datetime
    ) -> dict[str, tuple[float, float, float, float]]:
        """Decayed (fixes, misses) here and the pooled prior (fixes, misses) per runbook."""

    def record_job_duration(
        self, platform: str, runbook: str, seconds: float, job_id: str, at: datetime
    ) -> None: ...

    def job_durations(self, platform: str, runbook: str, limit: int = 20) -> list[float]: ...

    def record_runbook_outcome(
        self,
        runbook: str,
        alert_type: str,
        service: str,
        environment: str,
        fixed: bool,
        at: datetime,
        event: LifecycleEvent | None = None,
    ) -> None: ...

    def resolve_by_id(self, alert_id: str, resolution: dict[str, str], at: datetime) -> bool: ...

    def claim_automation_budget(
        self,
        service: str,
        at: datetime,
        cap: int,
        resource: str | None = None,
        resource_cap: int = 0,
    ) -> bool: ...

    def refund_automation_budget(
        self, service: str, at: datetime, resource: str | None = None
    ) -> None: ...

    def circuit(self, platform: str) -> dict[str, Any]: ...

    def circuit_claim_probe(self, platform: str, now: datetime, until: datetime) -> bool: ...

    def circuit_failure(self, platform: str, now: datetime, threshold: int) -> bool: ...

    def circuit_success(self, platform: str) -> dict[str, Any] | None: ...

    def set_approval_token(self, alert_id: str, token: str) -> None: ...

    def clear_approval_token(self, alert_id: str) -> None: ...

    def events(
        self,
        days: Iterable[datetime],
        alert_id: str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The lifecycle journal of those days, or of one alert."""


class AutomationControl(Protocol):
    def current(self) -> Control: ...


class AlarmStateReader(Protocol):
    def state(self, alarm_name: str, region: str) -> str | None: ...


class TicketLinks(Protocol):
    def links(self, alert_id: str) -> list[dict[str, Any]]: ...


class StatusTickets(Protocol):
    name: str

    def get(self, ticket_id: str) -> Ticket | None: ...

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None
    ) -> Ticket: ...


class SweepableTickets(Commentable, Protocol):
    name: str

    def changed_since(self, since: datetime) -> list[Ticket]: ...

    def get(self, ticket_id: str) -> Ticket | None: ...

    def set_status(
        self, ticket_id: str, status: TicketStatus, note: str | None = None
    ) -> Ticket: ...


class TrackStore(AlertStore, Protocol):
    def get_checkpoint(self, name: str) -> datetime | None: ...

    def set_checkpoint(self, name: str, at: datetime) -> None: ...

    def claim_slot(
        self, alert_id: str, slot: str, previous: datetime | None, now: datetime
    ) -> bool: ...

    def open_alerts(self) -> Iterable[Alert]: ...


class Stopper(Protocol):
    def stop_remediation(self, name: str, cause: str) -> bool: ...


class JobCanceller(Protocol):
    def cancel_jobs(self, alert: Alert, reason: str) -> list[str]:
        """Cancel the alert's launched jobs on their platform; returns their ids."""


class ReplayGuard(Protocol):
    def delivery_seen(self, delivery_id: str) -> bool:
        """True when the delivery was applied before."""

    def claim_delivery(self, delivery_id: str, now: datetime) -> bool:
        """Record an applied delivery (conditional write with a TTL); False if recorded."""


class JournalReader(Protocol):
    def kpi_counters(self, day: datetime, hourly: bool = False) -> dict[str, dict[str, int]]:
        """One day's KPI counter rows by scope (`all`, `service#…`, `runbook#…`, `type#…`)."""

    def events(
        self,
        days: Iterable[datetime],
        alert_id: str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The lifecycle journal of those days, or of one alert."""


class EventRecorder(Protocol):
    def record_event(self, event: LifecycleEvent, first_launch: bool = False) -> bool:
        """Record an event with no other state change; False when it was recorded before."""
