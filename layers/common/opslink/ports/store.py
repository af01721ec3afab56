"""The alert store and its journal: what ingest, tracking and the KPIs keep."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from opslink.faults import Fault
    from opslink.incidents import IncidentState, TicketRef
    from opslink.journal import FoldResult, LifecycleEvent
    from opslink.lock_holder import LockHolder, Placement

from opslink.models import Alert, Ticket
from opslink.ports.integrations import ReplayGuard
from opslink.ports.records import AlertLink, JournalRecord, QueuedComment


@dataclass(frozen=True)
class ClearingRead:
    """What an OK needs, read together: the open alert, its alarm's recent state changes,
    and whether the alert's ticket has comments waiting in the outbox."""

    alert: Alert
    transitions: list[tuple[datetime, str]]
    ticket_queue_empty: bool  # known empty for `alert.ticket_id` (False: unknown or waiting)
    incident: IncidentState | None = None  # the alert's incident, read with it


@dataclass(frozen=True)
class NoOpenAlert:
    """An OK's read found no open alert: when the alarm's last alert was resolved, and the
    latest OK kept for a late ALARM (None: neither)."""

    resolved_at: datetime | None = None
    kept_ok_at: datetime | None = None

    def keeps(self, at: datetime) -> bool:
        """Whether an OK at `at` tells a late ALARM anything the lock does not say yet."""
        return not any(t is not None and at <= t for t in (self.resolved_at, self.kept_ok_at))


class CommentQueue(Protocol):
    def queue_comment(
        self,
        ticket_id: str,
        key: str,
        text: str,
        at: datetime,
        alert_id: str = "",
        status: str | None = None,
    ) -> None:
        """Keep a comment (with `status`, a state change and its note) until it is known
        to be on its ticket (once per key)."""

    def queued_comments(self, ticket_id: str | None = None) -> list[QueuedComment]: ...

    def has_queued(self, ticket_id: str) -> bool:
        """Whether comments wait for the ticket (a count, not a listing)."""

    def comment_delivered(self, ticket_id: str, key: str) -> None: ...

    def hold_delivery(self, ticket_id: str, holder: str, seconds: float) -> bool:
        """Become (or, as `holder` already, stay) the ticket's one deliverer for
        `seconds`; False while another holds it."""

    def release_delivery(self, ticket_id: str, holder: str) -> None:
        """End `holder`'s hold (a hold taken over since is left alone)."""

    def move_queued_comments(self, old_ticket: str, new_ticket: str) -> int:
        """Queue `old_ticket`'s waiting comments on `new_ticket` (a follow-up of a ticket
        closed for good), in order; the old ones are marked delivered. Returns how many."""

    def keep_on_alert(self, alert_id: str, text: str, at: datetime) -> None:
        """A comment that can never reach its ticket, kept on the alert's own record."""


class FlapHistory(Protocol):
    """Each alarm's recent state changes: what flap damping decides from."""

    def record_transition(
        self, fingerprint: str, at: datetime, state: str, window: timedelta
    ) -> list[tuple[datetime, str]]:
        """Append an alarm state change; the changes within `window` of it."""

    def transitions(self, fingerprint: str) -> list[tuple[datetime, str]]:
        """The alarm's recent state changes, oldest first."""


class AlertStore(Protocol):
    def open_alert(
        self,
        alert: Alert,
        lease_until: datetime,
        replace: str | None = None,
        previous: dict[str, str] | None = None,
        placement: Placement | None = None,
        replace_cleared: str | None = None,
    ) -> None:
        """Claim the alarm's fingerprint and create the alert in one atomic write (with
        `placement`, its incident's writes too; PlacementRefused when they cannot be).
        Raises OpenAlertConflict carrying the current holder when already claimed; a
        holder whose alert is resolved (st=resolved) is replaced only when named, an OK
        kept before any ALARM only when its time is (`replace_cleared`)."""

    def remember_early_ok(self, fingerprint: str, at: datetime, facts: dict[str, str]) -> bool:
        """Keep an OK that found no alert for an ALARM from before it delivered later;
        False when the alarm has an alert, or a later OK is kept."""

    def take_lease(self, alert: Alert, now: datetime, lease_until: datetime) -> bool:
        """Take over an unfinished alert whose lease ran out; False if someone holds it."""

    def release_lease(self, alert: Alert, now: datetime) -> None:
        """Give up the lease of an unfinished alert (its delivery failed)."""

    def claim_slot(
        self, alert_id: str, slot: str, previous: datetime | None, now: datetime
    ) -> bool:
        """Set a once-per-period timestamp on the alert if nobody moved it since."""

    def open_alerts(self) -> Iterable[Alert]: ...

    def link_opened(
        self,
        alert: Alert,
        ticket: Ticket | TicketRef,
        execution_name: str | None,
        new_ticket: bool = True,
        member: bool = False,
    ) -> None:
        """Store the ticket and execution (None: none started) on the alert, with links
        in both directions."""

    def lock_holder(self, fingerprint: str) -> LockHolder | None:
        """The alarm's dedup lock as ingest reads it (None: the alarm has none)."""

    def set_pending_ok(self, alert_id: str, facts: dict[str, str]) -> bool:
        """Keep an OK that came before the ticket; False when the ticket exists by now."""

    def drop_pending_ok(self, alert_id: str, seen: dict[str, str]) -> bool:
        """Forget the kept OK `seen` (the alarm fired again after it); False when another
        is kept by now or the ticket consumed it."""

    def record_refire(self, alert_id: str, at: datetime) -> Alert | None:
        """Count an ALARM transition newer than the alert's last; None if not newer."""

    def record_refire_claiming_comment(
        self, alert_id: str, at: datetime, now: datetime, due_before: datetime
    ) -> tuple[Alert, bool] | None:
        """`record_refire`, and the re-fire comment slot taken in the same write when no
        comment was made since `due_before`: (alert, True) means comment now."""

    def resolve(
        self,
        alert: Alert,
        resolution: dict[str, str],
        at: datetime,
        alone: bool = False,
        alarm_change: str | None = None,
    ) -> bool:
        """Resolve an open alert and release its fingerprint; False if already resolved.
        `alone`: only while no hand-over ticket is linked to it (`followups` is 0) —
        False too when one is, so the caller resolves again and looks the tickets up.
        `alarm_change`: the alarm's state change at `at` (an OK) joins its flap history in
        the same transaction — recorded exactly when the alert is resolved."""

    def resolve_by_id(
        self,
        alert_id: str,
        resolution: dict[str, str],
        at: datetime,
        alarm_change: str | None = None,
    ) -> bool:
        """`resolve`, for an alert known by its id (False: gone or resolved already)."""

    def add_note(
        self,
        alert_id: str,
        text: str,
        at: datetime,
        kind: str = "note",
        event: LifecycleEvent | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Append a note; with `event`, the lifecycle event in the same write (once);
        `fields`: alert attributes set in the same write."""

    def get(self, alert_id: str) -> Alert | None: ...

    def get_with_incident(
        self, alert_id: str, incident_id: str
    ) -> tuple[Alert | None, IncidentState | None]:
        """The alert and its incident, read in one call."""

    def find_open_to_clear(
        self, fingerprint: str, with_incident: bool = True
    ) -> ClearingRead | NoOpenAlert:
        """The alarm's open alert (NoOpenAlert: none, with what the lock says of its last
        resolution and kept OK), with its flap history, whether its ticket
        has comments queued and (`with_incident`) its incident, in two calls (lock, then
        one BatchGetItem)."""

    def alerts_for_ticket(self, provider: str, ticket_id: str) -> list[str]: ...

    def links(self, alert_id: str) -> list[AlertLink]:
        """The alert's links (tickets with provider/ticket_id/kind, executions, jobs)."""

    def list_alerts(self, status: str | None = None, limit: int = 50) -> list[Alert]: ...


class FaultStore(Protocol):
    def open_fault(self, fault: Fault) -> tuple[Fault, bool]:
        """Record `fault` unless one is open for its component and integration (then
        count this occurrence on it); the fault on record and whether it is new."""

    def recover_fault(self, component: str, integration: str, at: datetime) -> Fault | None:
        """Mark the open fault recovered; it, or None when none was open."""


class TrackStore(AlertStore, Protocol):
    def approval_token(self, alert_id: str) -> str | None:
        """The task token of the approval the alert's remediation waits for, if any."""

    def approvals_needed(self, alert_id: str) -> int:
        """Distinct approvers the waiting request needs (1; step-up: more)."""

    def add_approver(self, alert_id: str, request: str, who: str) -> tuple[str, ...] | None:
        """Count `who` as an approver of `request`: its approvers now; None if counted."""

    def move_ticket(
        self,
        alert: Alert,
        provider: str,
        old_ticket: str,
        new_ticket: str,
        created: LifecycleEvent | None = None,
    ) -> None:
        """The alert moves from one ticket to another (an operator's split or merge)."""

    def claim_slot(
        self, alert_id: str, slot: str, previous: datetime | None, now: datetime
    ) -> bool: ...

    def open_alerts(self) -> Iterable[Alert]: ...


class RejectionLog(Protocol):
    def record_rejection(self, source: str, reason: str, excerpt: str, at: datetime) -> None:
        """Keep bad input that was refused, with why (`REJECTED#<day>` items, 30 days)."""


class ChatThreads(Protocol):
    def link_chat_message(self, message: str, alert_id: str, now: datetime) -> None:
        """Remember the alert a posted chat message is about (its thread's replies)."""

    def alert_of_chat_message(self, message: str) -> str | None:
        """The alert a posted chat message ("<channel>/<ts>") is about, if it is ours."""


class Checkpoints(Protocol):
    def get_checkpoint(self, name: str) -> datetime | None: ...

    def set_checkpoint(self, name: str, at: datetime) -> None: ...


class TrackBookkeeping(ReplayGuard, ChatThreads, Checkpoints, Protocol):
    """What tracking keeps beside the alerts: applied deliveries (replays refused), chat
    threads, the sweeps' checkpoints."""


class KpiReader(Protocol):
    def kpi_counters(self, day: datetime) -> dict[str, dict[str, int]]:
        """One day's KPI counter rows by scope (`all`, `service#…`, `runbook#…`, `type#…`),
        the events the fold has not added yet included."""

    def kpi_rows(self, days: list[datetime]) -> list[dict[str, dict[str, int]]]:
        """Several days' counter rows, as kpi_counters, reading the unfolded events once."""


class EventReader(Protocol):
    def events(
        self,
        days: Iterable[datetime],
        alert_id: str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[JournalRecord]:
        """The lifecycle journal of those days, or of one alert."""


class EventRecorder(Protocol):
    def record_event(self, event: LifecycleEvent, first_launch: bool = False) -> bool:
        """Record an event with no other state change; False when it was recorded before."""


class KpiFolder(Protocol):
    def fold_kpis(self) -> FoldResult:
        """Add the journal's settled events to the KPI counter rows (exactly once)."""


class JournalReader(KpiReader, EventReader, Protocol):
    """What the reports read: the counters and the events."""


class EventJournal(EventRecorder, EventReader, Protocol):
    """What remediation keeps in the journal: its events, and an alert's earlier ones."""


class TrackJournal(EventRecorder, KpiFolder, Protocol):
    """What the track function keeps in the journal: decisions, and the hourly fold."""
