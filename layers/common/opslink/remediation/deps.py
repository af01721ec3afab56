"""What the remediation tasks need: ports, catalog, tunables and the clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from opslink.clock import Clock, utcnow
from opslink.errors import ConfigurationError
from opslink.faults import FaultReporter
from opslink.ports import (
    AlarmStateReader,
    AutomationBudgets,
    AutomationControl,
    ChatMessages,
    ChatThreads,
    Circuits,
    CommentQueue,
    Directory,
    EventJournal,
    HostDirectory,
    IncidentStore,
    JobDurations,
    JobPlatform,
    JobWaitRegistry,
    MemberAccess,
    Notifier,
    RemediationStore,
    TaskCallbacks,
    TicketSystem,
)
from opslink.provenance import Reach
from opslink.remediation.catalog import Runbook
from opslink.service_map import ServiceMap


@dataclass
class RemediateDeps:
    store: RemediationStore
    tickets: TicketSystem
    circuits: Circuits  # one breaker per job platform
    budgets: AutomationBudgets  # the runaway brake
    journal: EventJournal  # remediation's events (diagnostics, selection, manual runs)
    outbox: CommentQueue  # comments kept until they are on their ticket, in order
    durations: JobDurations  # successful runs' durations: what the poll schedule plans on
    chat_threads: ChatThreads  # the alert each posted approval request is about
    jobs: JobPlatform | None = None
    # Completion events: the job's end wakes the waiting execution (remediation/completion).
    job_events: bool = False  # the platform announces job ends: wait long, poll as a net
    waits: JobWaitRegistry | None = None
    callbacks: TaskCallbacks | None = None
    catalog: Sequence[Runbook] = ()
    alarms: AlarmStateReader | None = None
    directory: Directory | None = None
    hosts: HostDirectory | None = None  # an Auto Scaling group's / a service's hosts
    service_map: ServiceMap | None = None  # bounds parameters (runbooks, units, deny list)
    allowed_accounts: frozenset[str] = frozenset()  # AllowedAccountIds; empty: any found
    reach: Reach = field(default_factory=Reach)  # accounts and regions jobs may run in
    members: MemberAccess | None = None  # member accounts entered through their role
    alarm_bus_arn: str = ""  # the organization's bus (member checks: the forwarder's target)
    poll_base_seconds: int = 15
    poll_max_seconds: int = 900
    runs_per_service_hour: int = 10
    runs_per_resource_hour: int = 3
    escalation_ticket: str = "own"  # own | separate
    max_attempts_per_episode: int = 2  # the fallback ladder's rungs, first attempt included
    verify_grace_seconds: int = 120  # job succeeded -> alarm checked (WaitBeforeVerify)
    approval_timeout_seconds: int = 3600  # RequestApproval's token wait
    control: AutomationControl | None = None
    notifier: Notifier | None = None
    faults: FaultReporter | None = None
    incidents: IncidentStore | None = None  # a fix resolves its incident's ticket as it says
    chat: ChatMessages | None = None  # approval requests posted with buttons (Slack)
    clock: Clock = field(default=utcnow)

    def runbook(self, name: str) -> Runbook:
        for rb in self.catalog:
            if rb.name == name:
                return rb
        raise ConfigurationError(f"runbook {name!r} is not in the catalog")

    def platform(self) -> JobPlatform:
        if self.jobs is None:
            raise ConfigurationError("no job platform is configured for this function")
        return self.jobs
