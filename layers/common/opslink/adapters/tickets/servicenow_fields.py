"""ServiceNow's incident table as OpsLink maps it: paths, states, priorities (impact x
urgency), categories, and the reading of an instance's own (custom) states."""

from __future__ import annotations

from typing import Any

from opslink.errors import TicketClosedForGood
from opslink.models import FINISHED_STATUSES, Priority, TicketStatus, TicketType

TABLE = "/api/now/table/incident"
USERS = "/api/now/table/sys_user"
JOURNAL = "/api/now/table/sys_journal_field"
IMPACT_URGENCY = {
    Priority.CRITICAL: ("1", "1"),
    Priority.HIGH: ("1", "2"),
    Priority.MEDIUM: ("2", "2"),
    Priority.LOW: ("3", "2"),
}
STATES = {
    "1": TicketStatus.OPEN,
    "2": TicketStatus.IN_PROGRESS,
    "3": TicketStatus.PENDING,
    "6": TicketStatus.RESOLVED,
    "7": TicketStatus.CLOSED,
    "8": TicketStatus.CLOSED,
}
TO_STATE = {
    TicketStatus.OPEN: "2",
    TicketStatus.IN_PROGRESS: "2",
    TicketStatus.PENDING: "3",
    TicketStatus.RESOLVED: "6",
    TicketStatus.CLOSED: "7",
}
PRIORITIES = {
    "1": Priority.CRITICAL,
    "2": Priority.HIGH,
    "3": Priority.MEDIUM,
    "4": Priority.LOW,
    "5": Priority.LOW,
}
CATEGORIES = {
    TicketType.DATABASE: "database",
    TicketType.NETWORK: "network",
    TicketType.STORAGE: "hardware",
    TicketType.PERFORMANCE: "software",
    TicketType.INCIDENT: "inquiry",
}


def custom_state(rec: dict[str, Any]) -> TicketStatus | None:
    """An instance's own state (a custom choice): the record's `active` flag says whether
    it is still being worked on (ServiceNow clears it when an incident is closed)."""
    active = str(rec.get("active", "")).lower()
    if active == "true":
        return TicketStatus.IN_PROGRESS
    if active == "false":
        return TicketStatus.CLOSED
    return None


def closed_for_good(
    ticket_id: str, wanted: TicketStatus, before: TicketStatus | None, after: TicketStatus | None
) -> TicketClosedForGood | None:
    """A finished incident the instance would not reopen: its update refused (a write ACL
    on closed incidents answers 403; `after` None) or answered without the state (a
    business rule or data policy kept it: `after` still finished). The baseline state
    model reopens Resolved incidents only; a follow-up ticket takes its place."""
    if wanted in FINISHED_STATUSES or before not in FINISHED_STATUSES:
        return None
    if after is not None and after not in FINISHED_STATUSES:
        return None
    how = "refuses the update" if after is None else "kept its state"
    return TicketClosedForGood(
        f"ServiceNow: incident {ticket_id} is {before.value} and the instance {how}: it "
        "cannot be reopened"
    )
