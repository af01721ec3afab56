"""Ports: what the domain needs from the outside world. Adapters implement them.

One module per concern; every Protocol is importable from here."""

from opslink.ports.integrations import (
    AlarmTagSource,
    ChatMessages,
    Directory,
    FaultListing,
    Notifier,
    ReplayGuard,
    Stopper,
    Workflow,
)
from opslink.ports.remediation import (
    AlarmStateReader,
    AutomationBudgets,
    AutomationControl,
    Circuits,
    HostDirectory,
    JobCanceller,
    JobPlatform,
    JobWaitRegistry,
    MemberAccess,
    RemediationStore,
    TaskCallbacks,
)
from opslink.ports.store import (
    AlertStore,
    CommentQueue,
    EventRecorder,
    FaultStore,
    FlapHistory,
    IncidentStore,
    JournalReader,
    TrackStore,
)
from opslink.ports.tickets import (
    Commentable,
    StatusTickets,
    SweepableTickets,
    TicketLinks,
    TicketSystem,
)

__all__ = [
    "AlarmStateReader",
    "AlarmTagSource",
    "AlertStore",
    "AutomationBudgets",
    "AutomationControl",
    "ChatMessages",
    "Circuits",
    "CommentQueue",
    "Commentable",
    "Directory",
    "EventRecorder",
    "FaultListing",
    "FaultStore",
    "FlapHistory",
    "HostDirectory",
    "IncidentStore",
    "JobCanceller",
    "JobPlatform",
    "JobWaitRegistry",
    "JournalReader",
    "MemberAccess",
    "Notifier",
    "RemediationStore",
    "ReplayGuard",
    "StatusTickets",
    "Stopper",
    "SweepableTickets",
    "TaskCallbacks",
    "TicketLinks",
    "TicketSystem",
    "TrackStore",
    "Workflow",
]
