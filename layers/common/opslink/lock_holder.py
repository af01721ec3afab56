"""The dedup lock as ingest sees it: which alert holds an alarm, and the conflict a store
raises when an alert already holds it. Storage names (`st`, `previous_*`) stay in the
store adapter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opslink.correlation import Decision


@dataclass(frozen=True)
class LockHolder:
    """Which alert holds an alarm's dedup lock, and how far its opening got."""

    alert_id: str
    resolved: bool  # the alarm's last episode is over: a new ALARM starts another
    resolved_at: datetime | None = None
    ticket_id: str | None = None
    execution_name: str | None = None
    lease_until: datetime | None = None
    previous: dict[str, str] | None = None  # the episode before (alert, ticket, resolved_at)
    member_of: str | None = None  # linked to this incident's ticket (no execution of its own)
    # The incident decision its first delivery made (incident_id, incident_role, incident_why).
    incident: dict[str, str] | None = None
    # An OK that found no open alert, kept (its facts, "at" its time; with no alert_id: the
    # alarm had none): an ALARM from before it opens its alert already cleared.
    cleared: dict[str, str] | None = None

    @property
    def finished(self) -> bool:
        """Its opening is done: a ticket and an execution, or a ticket as an incident's
        member (the incident's opener runs the remediation)."""
        return bool(self.ticket_id and (self.execution_name or self.member_of))


class OpenAlertConflict(Exception):
    """The alarm already has an alert: the lock's current holder."""

    def __init__(self, holder: LockHolder) -> None:
        super().__init__(f"alarm already has alert {holder.alert_id}")
        self.holder = holder


class AlarmClearedFirst(Exception):
    """The alarm returned to OK before the alert's ticket was linked (its OK is kept on
    the alert): the opening ends with the ticket resolved, not with a remediation."""


DECISION_FIELDS = ("incident_id", "incident_role", "incident_why")  # on the lock and alert


def decision_fields(d: Decision) -> dict[str, str]:
    """An incident decision as the alert and its lock keep it."""
    return {"incident_id": d.incident_id, "incident_role": "joined" if d.joined else "opened",
            "incident_why": f"{d.rule}: {d.why}"[:1000]}  # fmt: skip


@dataclass(frozen=True)
class Placement:
    """An alert's place in an incident, written in the transaction that opens the alert:
    the decision, and the store's writes for it (opaque outside the store)."""

    decision: Decision
    writes: tuple[object, ...]

    @property
    def fields(self) -> dict[str, str]:
        return decision_fields(self.decision)


class PlacementRefused(Exception):
    """The opening's placement assumed what the store did not hold (its grouping key had
    an item, or the alarm a composite's link): nothing was written; `found` is what the
    refusing items hold (as the store returned them), to decide again without a read."""

    def __init__(self, found: tuple[object, ...]) -> None:
        super().__init__("the placement's conditions did not hold")
        self.found = found
