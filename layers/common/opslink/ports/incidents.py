"""Incidents (alert correlation): the items that group alerts and the keys that lead
to them (docs/CORRELATION.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from opslink.correlation import Decision, Grouping, Signal
    from opslink.incidents import IncidentState, TicketRef
    from opslink.lock_holder import Placement


class IncidentStore(Protocol):
    """Incidents and the grouping keys that lead to them (correlation)."""

    def place(
        self,
        s: Signal,
        g: Grouping,
        new_incident_id: str,
        lock_of: tuple[str, str] | None = None,
        height: int = 0,
    ) -> Decision: ...

    def opening_placement(
        self, s: Signal, g: Grouping, new_incident_id: str, height: int = 0
    ) -> Placement | None:
        """The placement to write with the alert's opening when its key has no item yet
        (None where a read must decide)."""

    def placement_after(
        self,
        found: tuple[object, ...],
        s: Signal,
        g: Grouping,
        new_incident_id: str,
        height: int = 0,
    ) -> Placement | None:
        """The placement decided again from what refused the first (None: read and place)."""

    def claim_root(self, incident_id: str, alert_id: str, height: int) -> bool: ...

    def incident(self, incident_id: str) -> IncidentState | None: ...

    def opener_stalled(self, incident_id: str, at: datetime) -> None:
        """The opener's delivery failed before the incident's ticket existed."""

    def claim_comment_slot(
        self, incident_id: str, now: datetime, due_before: datetime
    ) -> tuple[bool, datetime | None]:
        """Take the incident's re-fire comment slot unless taken after `due_before`:
        whether taken now, and the slot's stored time."""

    def member_cleared(self, incident_id: str, alert_id: str) -> IncidentState | None: ...

    def mark_resolved(self, state: IncidentState, at: datetime, how: str) -> bool: ...

    def resolved_by_clearing(
        self, read: IncidentState, alert_id: str, at: datetime, how: str
    ) -> bool:
        """The member cleared and the incident resolved in one write, when the incident is
        still as `read` (False: it changed; clear the member and decide again)."""

    def remove_member(self, incident_id: str, alert_id: str) -> IncidentState | None: ...

    def add_members(
        self, incident_id: str, members: set[str], firing: set[str]
    ) -> IncidentState | None: ...

    def open_alone(
        self, incident_id: str, alert_id: str, at: datetime, why: str, ticket: TicketRef
    ) -> None: ...
