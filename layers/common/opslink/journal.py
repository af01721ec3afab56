"""The lifecycle journal: one immutable event per lifecycle step, written in the same
DynamoDB transaction as the state change it describes, and the counters it feeds.

An event's identity is (alert, kind, key): a Lambda retry or a duplicate delivery writes the
same identity, the conditional put fails, and nothing is counted twice. Counters are
pre-aggregated per day and per scope (all, service, runbook, alert type), on the day the
alarm fired (its cohort): so "automated alerts / alerts" of a day compares the same
alerts, and a KPI for any window reads one partition per day.

An event recorded on time (within FOLD_SLACK of its own time) carries its increments and
is added to the rows later, in journal order, by the fold (adapters/store/kpi_counters.py);
one recorded late — a redelivered alarm's opening keeps the alarm's time — writes them in
its own transaction, as the fold may have passed its time already.

Pure: no I/O. The store (adapters/store/journal.py) writes what `counter_updates` says.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

# Latencies (alarm -> job launched, alarm -> resolved) are counted in a mergeable,
# log-spaced sketch (DDSketch's mapping): key k holds (g^(k-1), g^k] seconds with
# g = (1+a)/(1-a), so any quantile read back is within a = 2 % of the true value, at any
# duration (30 days is key 370), and days and scopes merge by adding counts.
SKETCH_ALPHA = 0.02
SKETCH_GAMMA = (1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA)
# An event recorded within FOLD_SLACK of its time is folded into the counter rows once it
# is FOLD_LAG old: by then its transaction has committed (it was sent within FOLD_SLACK of
# its time; a write ends within 15 minutes — a Lambda's limit, the SDK's retries) and the
# journal index shows it (seconds). Anything recorded later writes its counters itself.
FOLD_SLACK = timedelta(minutes=20)
FOLD_LAG = timedelta(minutes=45)
# Counters written before the sketch: fixed buckets (upper bounds, seconds), still read.
BUCKETS: tuple[int, ...] = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 86400)


class EventKind(StrEnum):
    ALERT_OPENED = "alert_opened"
    ALERT_RESOLVED = "alert_resolved"
    TICKET_CREATED = "ticket_created"
    TICKET_ESCALATED = "ticket_escalated"
    RUNBOOK_SELECTED = "runbook_selected"
    JOB_LAUNCHED = "job_launched"
    BATCH_LAUNCHED = "batch_launched"  # the next batch of a multi-host run, after the canary
    JOB_CANCELLED = "job_cancelled"
    FIX_VERIFIED = "fix_verified"  # job exited 0 and the alarm is back to OK
    FIX_NOT_VERIFIED = "fix_not_verified"  # job exited 0, the alarm still fires
    JOB_FAILED = "job_failed"
    JOB_TIMED_OUT = "job_timed_out"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_GRANTED = "approval_granted"
    APPROVAL_DENIED = "approval_denied"
    AUTOMATION_SUPPRESSED = "automation_suppressed"
    OPERATOR_ACTION = "operator_action"  # kill switch, maintenance, runbook mode
    DIAGNOSTIC_STARTED = "diagnostic_started"  # its job ref: a retried task reuses the job
    DIAGNOSTIC_RUN = "diagnostic_run"  # evidence gathered; never a launch or a fix
    CATALOG_LOADED = "catalog_loaded"  # a runbook catalog not seen before went live
    ALERT_ACKNOWLEDGED = "alert_acknowledged"  # someone is on it (opslink alerts ack)
    ALERT_ASSIGNED = "alert_assigned"
    ALERT_SNOOZED = "alert_snoozed"  # reminders held until a time
    INCIDENT_OPENED = "incident_opened"  # correlation: the alert opened an incident
    INCIDENT_JOINED = "incident_joined"  # ...joined one: on its ticket, no ticket of its own
    INCIDENT_CORRECTED = "incident_corrected"  # an operator split or merged: a grouping error


@dataclass(frozen=True)
class LifecycleEvent:
    alert_id: str  # "" for events about OpsLink itself (operator actions)
    kind: EventKind
    at: datetime
    service: str = ""
    alert_type: str = ""
    cohort: datetime | None = None  # when the alarm fired: the day its counters go to
    runbook: str | None = None
    by: str = "opslink"  # who: alarm, automation, a human (AWS principal, ticket user)
    why: str = ""
    key: str = ""  # what makes two writes the same event (a retry), beside alert and kind
    latency_seconds: int | None = None  # alarm -> this step (launched, resolved)
    counted: bool = True  # False: journal only (e.g. a second launch's "automated" flag)
    detail: dict[str, str] = field(default_factory=dict)
    account: str = ""  # the alarm's account and region: a member account's are sliced
    region: str = ""

    @property
    def day_of(self) -> datetime:
        return self.cohort or self.at


@dataclass(frozen=True)
class FoldResult:
    events: int  # events added to the rows by this fold
    rows: int  # row updates written
    transactions: int
    through: str  # the fold's checkpoint now (journal order)
    raced: bool = False  # another fold moved the checkpoint first: it counts the rest

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# Why an alert was left to humans (the state machine's escalation kinds), as reported.
HANDOVER_REASONS: dict[str, str] = {
    "no_runbook": "no_runbook",
    "approval_rejected": "approval_rejected",
    "approval_timeout": "approval_expired",
    "failed": "fix_failed",
    "not_fixed": "fix_failed",
    "timeout": "fix_failed",
    "parameter_rejected": "refused_by_checks",
    "budget": "budget",
    "platform_down": "platform_down",
    "platform_error": "platform_down",
    "automation_error": "automation_error",
}


WHERE_SCOPE = "where#"  # where#<account>#<region>: a member account's alarms in a region


def sketch_key(seconds: float) -> int:
    """The sketch key of a latency: 0 for a second or less, else ceil(log_g seconds)."""
    if seconds <= 1:
        return 0
    return max(1, math.ceil(math.log(seconds) / math.log(SKETCH_GAMMA)))


def sketch_value(key: int) -> float:
    """The value key `key` stands for: within 2 % of every latency counted in it."""
    if key <= 0:
        return 0.5
    return 2 * SKETCH_GAMMA**key / (SKETCH_GAMMA + 1)


def bucket(seconds: int) -> int:
    """Index of the latency bucket `seconds` falls in (the last one catches the rest)."""
    for i, upper in enumerate(BUCKETS):
        if seconds <= upper:
            return i
    return len(BUCKETS) - 1


def _latency(prefix: str, seconds: int | None) -> dict[str, int]:
    if seconds is None:
        return {}
    s = max(0, int(seconds))
    return {f"{prefix}_sum": s, f"{prefix}_n": 1, f"{prefix}_s{sketch_key(s)}": 1}


def counter_updates(event: LifecycleEvent, first_launch: bool = False) -> dict[str, int]:
    """The counter fields this event increments (the same for every scope)."""
    if not event.counted:
        return {}
    k = EventKind
    match event.kind:
        case k.ALERT_OPENED:
            return {"alerts": 1}
        case k.TICKET_CREATED:
            return {"tickets": 1}
        case k.JOB_LAUNCHED:
            # The first launch for an alert makes it an automated alert, and its latency is
            # the time to automation.
            return {"runs": 1} | (
                {"automated": 1} | _latency("tta", event.latency_seconds) if first_launch else {}
            )
        case k.FIX_VERIFIED:
            return {"jobs": 1, "jobs_ok": 1, "verified": 1}
        case k.FIX_NOT_VERIFIED:
            return {"jobs": 1, "jobs_ok": 1}
        case k.JOB_FAILED:
            return {"jobs": 1, "failures": 1}
        case k.JOB_TIMED_OUT:
            return {"jobs": 1, "timeouts": 1}
        case k.TICKET_ESCALATED:  # by reason, from a closed list (bounded fields)
            reason = HANDOVER_REASONS.get(event.detail.get("reason") or event.key, "other")
            return {"escalations": 1, f"handed_over_{reason}": 1}
        case k.AUTOMATION_SUPPRESSED:
            return {"suppressions": 1}
        case k.APPROVAL_REQUESTED:
            return {"approvals_requested": 1}
        case k.APPROVAL_GRANTED:
            return {"approvals_granted": 1}
        case k.APPROVAL_DENIED:
            return {"approvals_denied": 1}
        case k.INCIDENT_JOINED:
            return {"joined": 1}
        case k.INCIDENT_CORRECTED:  # a split makes one incident more, a merge one fewer
            return {"corrections": 1, "joined": 1 if event.detail.get("how") == "merge" else -1}
        case k.ALERT_RESOLVED:
            who = event.by if event.by in ("alarm", "automation") else "human"
            return {"resolved": 1, f"resolved_by_{who}": 1} | _latency("ttr", event.latency_seconds)
    return {}


def folds_later(at: datetime, now: datetime) -> bool:
    """Whether an event of time `at`, recorded `now`, leaves its counting to the fold."""
    return abs(now - at) <= FOLD_SLACK


def scopes(event: LifecycleEvent, home_account: str = "") -> list[str]:
    """The counter rows an event counts in: overall, its service, its alert type, (for
    a run) its runbook, and — for an alarm of a member account — its account and region
    (the stack's own account is what remains: a single-account stack writes nothing
    more). Bounded: services and runbooks are the catalog's and the map's, accounts the
    allowed ones."""
    out = ["all"]
    if event.service:
        out.append(f"service#{event.service}")
    if event.alert_type:
        out.append(f"type#{event.alert_type}")
    if event.runbook:
        out.append(f"runbook#{event.runbook}")
    if home_account and event.account and event.account != home_account:
        out.append(f"{WHERE_SCOPE}{event.account}#{event.region or '-'}")
    return out


def seconds_between(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, int((end - start).total_seconds()))


def about(alert: object, kind: EventKind, at: datetime, **kw: object) -> LifecycleEvent:
    """An event about an alert (Alert or RemediationInput: alert_id, service, alert_type,
    triggered_at), on the alert's cohort day."""
    cohort = getattr(alert, "triggered_at", None)
    return LifecycleEvent(
        alert_id=str(getattr(alert, "alert_id", "")),
        kind=kind,
        at=at,
        service=str(getattr(alert, "service", "")),
        alert_type=str(getattr(alert, "alert_type", "")),
        cohort=cohort if isinstance(cohort, datetime) else None,
        account=str(getattr(alert, "account_id", "") or ""),
        region=str(getattr(alert, "region", "") or ""),
        **kw,  # type: ignore[arg-type]
    )
