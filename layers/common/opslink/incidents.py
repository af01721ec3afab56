"""An incident as the store keeps it: its members, which of them still fire, its ticket,
and when a member clearing resolves it (`resolve_on`, docs/CORRELATION.md). Pure.

The incident's ticket is its first alert's: members comment on it instead of opening
their own, and it resolves when the incident does — never when one member clears under
`resolve_on: all` (the default) while others still fire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

RESOLVE_ON = ("all", "first", "last", "never")


def incident_id_for(alert_id: str) -> str:
    """The incident an alert opens (deterministic: a retried opening finds its own)."""
    return "INC-" + alert_id.removeprefix("A-")


@dataclass(frozen=True)
class TicketRef:
    """A ticket known by its id (an incident's, linked to a member without reading it)."""

    provider: str
    id: str
    url: str | None = None


@dataclass(frozen=True)
class IncidentState:
    incident_id: str
    grouping_key: str
    rule: str
    resolve_on: str
    opener: str  # the alert that opened it (its ticket is the incident's)
    opened_at: datetime
    members: tuple[str, ...]  # every alert that joined, the opener first
    firing: tuple[str, ...]  # members not cleared yet
    newest: str  # the member that joined last (`resolve_on: last`)
    root: str = ""  # the member on the deepest dependency: its remediation is the incident's
    root_height: int = 0  # the root's service's dependency levels (0: depends on nothing)
    why: str = ""
    ticket_id: str | None = None
    ticket_url: str | None = None
    follows: str | None = None  # the incident under the same key before it
    resolved_at: datetime | None = None
    resolution: str = ""
    # The opener's delivery failed before its ticket existed (the ticket system failing):
    # members stop waiting for that ticket and leave joining it to their retry.
    opener_stalled_at: datetime | None = None

    def after_clearing(self, alert_id: str) -> tuple[bool, str]:
        """Whether `alert_id` clearing (already taken out of `firing`) resolves the
        incident, and why in words for its ticket."""
        total, left = len(self.members), len(self.firing)
        if self.resolved_at is not None:
            return True, f"Incident {self.incident_id} is resolved ({self.resolution})."
        done = {
            "all": left == 0,
            "first": True,
            "last": alert_id == self.newest,
            "never": False,
        }.get(self.resolve_on, left == 0)
        if done:
            how = {
                "all": f"all {total} alarm(s) of incident {self.incident_id} cleared",
                "first": f"the first of its {total} alarm(s) cleared (resolve_on: first)",
                "last": f"its newest alarm cleared (resolve_on: last; {left} still firing)",
            }.get(self.resolve_on, f"incident {self.incident_id} resolved")
            return True, f"Incident {self.incident_id} resolved: {how}."
        if self.resolve_on == "never":
            return False, (
                f"Incident {self.incident_id} stays open (resolve_on: never): it ends when "
                "its ticket is closed."
            )
        return False, (
            f"Incident {self.incident_id} stays open: {left} of its {total} alarm(s) still "
            f"firing ({', '.join(self.firing[:5])}{', ...' if left > 5 else ''})."
        )
