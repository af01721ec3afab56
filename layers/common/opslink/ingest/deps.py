"""What ingest needs: its ports (IngestDeps) and its rules (IngestPolicy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from opslink.clock import Clock, utcnow
from opslink.config import IngestSettings, InsufficientDataPolicy, OkPolicy
from opslink.faults import FaultReporter
from opslink.ingest.comment_slots import RecentComments
from opslink.ports import (
    AlarmTagSource,
    AlertStore,
    CommentQueue,
    Directory,
    FlapHistory,
    IncidentStore,
    Notifier,
    RejectionLog,
    TicketSystem,
    Workflow,
)
from opslink.service_map import ServiceMap

if TYPE_CHECKING:
    from opslink.ingest.grouping import Correlator

logger = Logger(child=True)


@dataclass(frozen=True)
class IngestPolicy:
    refire_comment_period: timedelta = timedelta(hours=1)
    ok_policy: OkPolicy = OkPolicy.RESOLVE
    insufficient_data_policy: InsufficientDataPolicy = InsufficientDataPolicy.NOTE
    lease: timedelta = timedelta(seconds=90)
    read_alarm_tags: bool = True
    reopen_window: timedelta = timedelta(hours=24)
    # More than this many ALARM/OK changes of one alarm within the window: flapping.
    flap_transitions: int = 6
    flap_window: timedelta = timedelta(minutes=10)
    # Alarms of other accounts get their ticket, marked unverified; never automation.
    allowed_accounts: frozenset[str] = frozenset()
    allowed_regions: frozenset[str] = frozenset()  # AlarmRegions; empty: any
    # A member waits a moment for its incident's ticket (a live delivery, while the
    # opener may be making it); the reconciler, which finishes openers first, never waits.
    wait_for_incident_ticket: bool = True

    @classmethod
    def from_settings(cls, s: IngestSettings) -> IngestPolicy:
        return cls(
            refire_comment_period=timedelta(seconds=s.refire_comment_period_seconds),
            ok_policy=s.ok_policy,
            insufficient_data_policy=s.insufficient_data_policy,
            lease=timedelta(seconds=s.lease_seconds),
            read_alarm_tags=s.read_alarm_tags,
            reopen_window=timedelta(seconds=s.reopen_window_seconds),
            flap_transitions=s.flap_transitions,
            flap_window=timedelta(seconds=s.flap_window_seconds),
            allowed_accounts=s.allowed_account_ids,
            allowed_regions=s.alarm_regions,
        )


@dataclass
class IngestDeps:
    store: AlertStore
    tickets: TicketSystem
    directory: Directory
    tags: AlarmTagSource
    workflow: Workflow
    service_map: ServiceMap
    flaps: FlapHistory  # each alarm's recent state changes (flap damping)
    outbox: CommentQueue  # comments kept until they are on their ticket, in order
    rejections: RejectionLog  # bad input refused, kept with why
    clock: Clock = utcnow
    notifier: Notifier | None = None  # operators' channel: fallback while tickets fail
    faults: FaultReporter | None = None
    fault_seen: bool = False  # this container saw the ticket system fail: report recovery
    # Alert correlation (docs/CORRELATION.md); either None: every alert on its own.
    incidents: IncidentStore | None = None
    correlator: Correlator | None = None
    # Re-fire comment slots this container saw taken (skips a claim that would fail).
    recent_comments: RecentComments = field(default_factory=RecentComments)
