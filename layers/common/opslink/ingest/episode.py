"""One ALARM episode of an alarm, as a delivery opens it: the typed object the ingest
path hands from step to step instead of eight loose arguments.

An episode is the alarm state change, the alert it opens (or finishes opening), what
enrichment made of it, its grouping key (alert correlation), the ticket a previous delivery already made (if any), the episode
of the same alarm that came before it (resolved: the reopen window decides its ticket),
and when an earlier delivery last held it (its ticket create may exist)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from opslink.models import Alarm, Alert

if TYPE_CHECKING:  # not at import: the reconciler (track) finishes episodes too
    from opslink.correlation import Grouping, Signal
    from opslink.enrichment import Enrichment
    from opslink.ingest.deps import IngestDeps, IngestPolicy


def alarm_tags(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> dict[str, str]:
    """The alarm's tags: as its notification carried them (CloudWatch's tag propagation:
    no call), else read (ReadAlarmTags: the container's snapshot or ListTagsForResource)."""
    if alarm.tags is not None:
        return alarm.tags
    return deps.tags.tags(alarm.arn, alarm.state_changed_at) if policy.read_alarm_tags else {}


@dataclass(frozen=True)
class PreviousEpisode:
    """The alarm's last alert, resolved before this ALARM came."""

    alert_id: str
    resolved_at: datetime
    ticket_id: str | None = None

    @classmethod
    def of(cls, facts: dict[str, str] | None) -> PreviousEpisode | None:
        """From the dedup lock's record of it (None: the alarm's first episode)."""
        if not facts or not facts.get("alert_id") or not facts.get("resolved_at"):
            return None
        return cls(
            alert_id=facts["alert_id"],
            resolved_at=datetime.fromisoformat(facts["resolved_at"]),
            ticket_id=facts.get("ticket_id") or None,
        )

    def facts(self) -> dict[str, str]:
        """As the dedup lock keeps it."""
        out = {"alert_id": self.alert_id, "resolved_at": self.resolved_at.isoformat()}
        return out | ({"ticket_id": self.ticket_id} if self.ticket_id else {})


@dataclass(frozen=True)
class Episode:
    alarm: Alarm
    alert: Alert
    enrichment: Enrichment
    ticket_id: str | None = None  # made by an earlier delivery: read, never made again
    previous: PreviousEpisode | None = None
    earlier_attempt_at: datetime | None = None  # an earlier delivery held it until then
    # Correlation: the alert as grouping sees it and its grouping key (None: off).
    signal: Signal | None = None
    grouping: Grouping | None = None

    def finishing(
        self,
        alert: Alert | None = None,
        ticket_id: str | None = None,
        previous: PreviousEpisode | None = None,
        earlier_attempt_at: datetime | None = None,
    ) -> Episode:
        """The episode as a later delivery finds it (what the lock says got done)."""
        return replace(
            self,
            alert=alert or self.alert,
            ticket_id=ticket_id,
            previous=previous,
            earlier_attempt_at=earlier_attempt_at,
        )
