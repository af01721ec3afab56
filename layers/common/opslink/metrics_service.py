"""The metrics function's work: a day's KPIs as CloudWatch datapoints (overall, per
service and per runbook, the busiest N of each and the rest as `other`), and the weekly
quality assessment sent to the operators. Reads only the journal's counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from opslink.clock import Clock, utcnow
from opslink.errors import InvalidTaskInput
from opslink.kpis import Counters, compute, top_n
from opslink.ports import JournalReader, Notifier
from opslink.quality import Finding, Thresholds, assess, window_rows

RECORD_WEEKS = 4


@dataclass
class MetricsDeps:
    journal: JournalReader
    clock: Clock = field(default=utcnow)
    notifier: Notifier | None = None
    top_n: int = 10
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class Datapoint:
    name: str
    unit: str  # Powertools MetricUnit name: Count, Percent, Seconds, NoUnit
    value: float
    dimensions: tuple[tuple[str, str], ...] = ()


def _overall(c: Counters, dims: tuple[tuple[str, str], ...]) -> list[Datapoint]:
    k = compute(c)
    points = [
        Datapoint("Alerts", "Count", k.alerts, dims),
        Datapoint("AutomatedAlerts", "Count", k.automated, dims),
        Datapoint("TicketsCreated", "Count", k.tickets, dims),
        Datapoint("Runs", "Count", k.runs, dims),
        Datapoint("Escalations", "Count", int(c.get("escalations", 0)), dims),
        Datapoint("Suppressions", "Count", k.suppressions, dims),
        Datapoint("Incidents", "Count", k.incidents, dims),
        Datapoint("GroupingCorrections", "Count", k.corrections, dims),
    ]
    if k.alerts_per_incident is not None:
        points.append(Datapoint("AlertsPerIncident", "NoUnit", k.alerts_per_incident, dims))
    rates = {
        "AutomationRate": k.automation_rate,
        "AutomationSuccessRate": k.success_rate_verified,
        "JobExitZeroRate": k.success_rate_exit0,
        "TicketCreationRate": k.ticket_creation_rate,
        "EscalationRate": k.escalation_rate,
    }
    points += [Datapoint(n, "Percent", v, dims) for n, v in rates.items() if v is not None]
    times = {
        "TimeToAutomationMean": k.mtta_minutes,
        "TimeToAutomationP50": k.tta_p50_minutes,
        "TimeToAutomationP90": k.tta_p90_minutes,
        "TimeToResolveMean": k.mttr_minutes,
        "TimeToResolveP90": k.ttr_p90_minutes,
    }
    points += [
        Datapoint(n, "Seconds", round(v * 60, 1), dims) for n, v in times.items() if v is not None
    ]
    return points


def day_datapoints(rows: dict[str, dict[str, int]], n: int) -> list[Datapoint]:
    """A day's datapoints: overall, per service and per runbook (bounded cardinality)."""
    points = _overall(rows.get("all", {}), ())
    for service, c in top_n(rows, "service#", n, by="alerts").items():
        points += _overall(c, (("Service", service),))
    for runbook, c in top_n(rows, "runbook#", n, by="runs").items():
        k = compute(c)
        dims = (("Runbook", runbook),)
        points.append(Datapoint("Runs", "Count", k.runs, dims))
        if k.success_rate_verified is not None:
            points.append(Datapoint("VerifiedFixRate", "Percent", k.success_rate_verified, dims))
    return points


def publish_day(deps: MetricsDeps, day: date) -> tuple[list[Datapoint], dict[str, object]]:
    at = datetime(day.year, day.month, day.day, tzinfo=deps.clock().tzinfo)
    rows = deps.journal.kpi_counters(at)
    return day_datapoints(rows, deps.top_n), compute(rows.get("all", {})).as_dict()


def weekly_assessment(deps: MetricsDeps, days: int = 7) -> list[Finding]:
    """The last `days` days (today included) assessed; the findings go to the operators."""
    now = deps.clock()
    start = now - timedelta(days=days - 1)
    rows = window_rows(deps.journal.kpi_rows([start + timedelta(days=i) for i in range(days)]))
    # The record a runbook's window is held against: the RECORD_WEEKS weeks before it.
    back = start - timedelta(weeks=RECORD_WEEKS)
    record = window_rows(
        deps.journal.kpi_rows([back + timedelta(days=i) for i in range(RECORD_WEEKS * 7)])
    )
    findings = assess(rows, now.date(), deps.thresholds, record)
    if findings and deps.notifier is not None:
        lines = [
            f"[{f.severity.upper()}] {f.title}\n  evidence: {f.evidence}\n  do: "
            f"{f.recommendation} — {f.team}, by {f.deadline.isoformat()}"
            for f in findings
        ]
        deps.notifier.notify(
            f"[OpsLink] automation review: {len(findings)} findings"[:100],
            f"OpsLink quality assessment, {start.date()} to {now.date()}:\n\n" + "\n\n".join(lines),
            {"service": "opslink", "team": "operators", "priority": "Medium", "kind": "quality"},
        )
    return findings


def day_of(event: object, today: date) -> date:
    """The day an invocation is about: today (the schedule), "yesterday" or YYYY-MM-DD."""
    raw = event.get("day") if isinstance(event, dict) else None
    if raw is None:
        return today
    if raw == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidTaskInput(
            f"metrics: 'day' must be YYYY-MM-DD, not {str(raw)[:40]!r}"
        ) from None
