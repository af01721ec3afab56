"""Pydantic v2 models shared by every function: the parsed alarm, the alert, tickets,
links and the payloads that cross function and state-machine boundaries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opslink.text_fit import fit


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class AlarmKind(StrEnum):
    METRIC = "metric"
    METRIC_MATH = "metric_math"
    ANOMALY_DETECTION = "anomaly_detection"
    COMPOSITE = "composite"


class AlarmSource(StrEnum):
    SNS = "sns"
    EVENTBRIDGE = "eventbridge"
    ALARM_ACTION = "alarm_action"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(StrEnum):
    CRITICAL = "Critical"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


class TicketType(StrEnum):
    DATABASE = "database"
    NETWORK = "network"
    PERFORMANCE = "performance"
    STORAGE = "storage"
    INCIDENT = "incident"


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


# A ticket whose work is over; one being worked on (open and in progress alike: a
# reopening may land on either).
FINISHED_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
ACTIVE_STATUSES = frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS})


class Outcome(StrEnum):
    """What ingest did with one record; the `opslink local run` contract."""

    CREATED = "created"
    DUPLICATE = "duplicate"
    RESOLVED = "resolved"
    IGNORED = "ignored"
    REJECTED = "rejected"


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class MetricRef(_Frozen):
    """One metric an alarm watches (or, for metric math, one input of the expression)."""

    id: str | None = None
    namespace: str | None = None
    name: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str | None = None
    period: int | None = None
    expression: str | None = None
    label: str | None = None

    @field_validator("id", "namespace", "name", "stat", "expression", "label", mode="before")
    @classmethod
    def _capped(cls, value: Any) -> Any:
        """Every text that reaches a ticket is bounded, whatever the message carried."""
        if value is None:
            return None
        text = str(value)
        return text if len(text) <= 1024 else text[:1024] + "…"


class Alarm(_Frozen):
    """A CloudWatch alarm state change, whatever form it arrived in."""

    name: str
    arn: str
    account_id: str
    region: str
    state: AlarmState
    previous_state: AlarmState | None = None
    reason: str = ""
    description: str = ""
    state_changed_at: datetime
    kind: AlarmKind
    source: AlarmSource
    metrics: tuple[MetricRef, ...] = ()
    threshold: float | None = None
    comparison: str | None = None
    alarm_rule: str | None = None
    triggering_children: tuple[str, ...] = ()
    # A composite's ActionsSuppressor (the alarm whose ALARM holds its actions back) and,
    # when CloudWatch held them back for this change, why (Alarm | WaitPeriod | ExtensionPeriod).
    actions_suppressor: str | None = None
    actions_suppressed_by: str | None = None
    arn_derived: bool = False  # the message carried no AlarmArn: built from account/region/name
    tags: dict[str, str] | None = None  # as the notification carried them; None: not carried

    @property
    def dimensions(self) -> dict[str, str]:
        """All dimensions of the watched metrics, first occurrence wins."""
        merged: dict[str, str] = {}
        for metric in self.metrics:
            for key, value in metric.dimensions.items():
                merged.setdefault(key, value)
        return merged

    @property
    def primary_metric(self) -> MetricRef | None:
        with_name = [m for m in self.metrics if m.name]
        return with_name[0] if with_name else None


class Enrichment(_Frozen):
    """Who and what an alarm is about, and where each fact came from."""

    service: str
    team: str | None = None
    owner: str | None = None
    environment: str
    alert_type: str
    severity: Severity
    critical_service: bool = False
    service_kind: str | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    # Where, in words and links (the service map's `accounts` and `console_portal`).
    account_name: str | None = None
    console_role: str | None = None
    console_portal: str | None = None


class TicketDraft(_Frozen):
    """Everything a ticket system needs to open a ticket for an alert."""

    alert_id: str
    # Idempotency key of this ticket (default: the alert id). A manual follow-up ticket
    # for the same alert has its own key.
    key: str | None = None
    title: str
    description: str
    ticket_type: TicketType
    priority: Priority
    assignee: str | None = None
    due_at: datetime
    labels: tuple[str, ...] = ()
    custom_fields: dict[str, str] = Field(default_factory=dict)
    # When an earlier delivery may already have sent this create (its answer lost): the
    # adapter must find that ticket, or be sure there is none, before creating one.
    earlier_attempt_at: datetime | None = None
    # A ticket closed for good that this one follows up (Zendesk via_followup_source_id).
    follows: str | None = None


class HandOver(_Frozen):
    """What turns an alert's own ticket into a hand-over to a human after automation
    failed: marked as failed automation, priority raised, on-call assigned, due soon,
    and the job's output as a comment."""

    marker: str = "[FAILED_AUTO]"  # title prefix
    label: str = "failed_auto"
    priority: Priority
    assignee: str | None = None
    due_at: datetime
    note: str

    def title(self, current: str, limit: int = 255) -> str:
        """The title marked, within `limit` as the ticket systems count (text_fit.py)."""
        return fit(
            current if current.startswith(self.marker) else f"{self.marker} {current}", limit
        )


class Ticket(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")

    id: str
    provider: str
    alert_id: str | None = None
    title: str
    status: TicketStatus
    priority: Priority
    ticket_type: TicketType
    assignee: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    due_at: datetime | None = None
    url: str | None = None
    description: str = ""
    created_at: datetime
    updated_at: datetime
    comments: list[dict[str, str]] = Field(default_factory=list)
    custom_fields: dict[str, str] = Field(default_factory=dict)


class Alert(BaseModel):
    """OpsLink's record of one alarm episode: from ALARM until it is resolved."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    alert_id: str
    fingerprint: str
    alarm_name: str
    alarm_arn: str
    account_id: str
    region: str
    status: AlertStatus = AlertStatus.OPEN
    service: str
    team: str | None = None
    owner: str | None = None
    environment: str
    alert_type: str
    severity: Severity
    priority: Priority
    triggered_at: datetime
    last_transition_at: datetime
    occurrences: int = 1
    last_comment_at: datetime | None = None
    last_reminder_at: datetime | None = None
    ticket_id: str | None = None
    execution_name: str | None = None
    resolved_at: datetime | None = None
    resolution: dict[str, str] = Field(default_factory=dict)
    notes: list[dict[str, str]] = Field(default_factory=list)
    notes_archived: int = 0  # its oldest notes, moved off its item (alert_notes.py)
    dimensions: dict[str, str] = Field(default_factory=dict)
    lease_until: datetime | None = None
    # The alarm state change that opened it: the reconciler finishes an alert left
    # without its ticket from this, whatever happened to the delivery.
    source_alarm: str | None = None
    fallback_notified_at: datetime | None = None
    flapping_since: datetime | None = None  # automation suppressed while it flaps
    awaiting_approval: bool = False  # its remediation waits for a human's decision
    approval_runbook: str | None = None  # ... on this runbook (the latest asked)
    # The alarm returned to OK before the alert's ticket could be made: the OK's facts,
    # applied (ticket created, then resolved) as soon as the ticket exists.
    pending_ok: dict[str, str] | None = None
    # Hand-over tickets linked to it, counted with each link (ticket_lockstep); None on an
    # alert stored before they were counted: its links are looked up.
    followups: int | None = None
    # An operator's hand on it (`opslink alerts ack|assign|snooze`), mirrored on the ticket.
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    assignee: str | None = None
    snoozed_until: datetime | None = None  # no reminders until then
    # Alert correlation (incidents.py): the incident it opened or joined, and why; an
    # alert grouping left alone carries only the why.
    incident_id: str | None = None
    incident_role: str | None = None  # opened | joined
    incident_why: str | None = None
    chat_message: str | None = None  # its approval request in chat ("<channel>/<ts>")


class RecordResult(BaseModel):
    """The outcome of one ingested record: what the handler returns per record."""

    model_config = ConfigDict(defer_build=True)

    index: int
    outcome: Outcome
    reason: str
    alert_id: str | None = None
    ticket_id: str | None = None
    execution_name: str | None = None
    retryable: bool = False
    # A member whose incident had no ticket yet: it joins once its opener has made it.
    awaiting_incident: str | None = None
