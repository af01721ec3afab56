"""The shapes that cross the ports, named in their signatures instead of untyped dicts.
The store adapters build the records from their items; an item may carry more attributes
than these (keys, index attributes), which are no part of the contract."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias, TypedDict

# A JSON document handed to AWS as it is: a task's output, a waiting task's request.
JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"


class AlertLink(TypedDict, total=False):
    """One of an alert's links: to a ticket, its execution, a job or a launch."""

    sk: str  # what it links to: TICKET#<provider>#<id>, EXECUTION#<name>, JOB#…, LAUNCH#…
    alert_id: str
    ticket_id: str
    provider: str
    kind: str  # a follow-up ticket's kind; `left_incident` once split or merged away
    execution_name: str
    linked_at: str
    job: str  # a job or launch link: the job as JSON
    idempotency_key: str


class QueuedComment(TypedDict, total=False):
    """A comment (with `status`, a state change and its note) waiting in the outbox."""

    ticket_id: str
    key: str
    text: str
    at: str  # ISO 8601: the outbox delivers oldest first
    alert_id: str
    status: str | None


class JournalRecord(TypedDict, total=False):
    """A lifecycle event as the journal keeps it (opslink/journal.py)."""

    sk: str
    kind: str
    at: str
    alert_id: str
    service: str
    alert_type: str
    runbook: str | None
    by: str
    why: str
    latency_seconds: int | None
    cohort: str | None
    detail: str | None  # JSON object of strings
    seq: int  # its place in the alert's hash chain
    prev: str | None
    hash: str


class CircuitState(TypedDict, total=False):
    """A job platform's circuit breaker (remediation/circuit.py)."""

    state: str  # closed, open, half_open
    failures: int
    since: str  # first failure of the current run of failures
    opened_at: str
    probe_until: str


class BudgetClaim(StrEnum):
    """The outcome of claiming an automated run's budget: true only when claimed; when
    refused, which limit was hit (the service's hourly cap or the resource's)."""

    CLAIMED = "claimed"
    SERVICE_CAP = "service"
    RESOURCE_CAP = "resource"

    def __bool__(self) -> bool:
        return self is BudgetClaim.CLAIMED
