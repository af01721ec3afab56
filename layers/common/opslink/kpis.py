"""Automation KPIs from the journal's counters (definitions in docs/KPIS.md). Pure.

A window's figures are sums of its days' counter rows: computing any KPI for any window
reads one partition per day, whatever the number of alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opslink.journal import BUCKETS

Counters = Mapping[str, int]


def total(rows: Iterable[Counters]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        for k, v in row.items():
            out[k] = out.get(k, 0) + int(v)
    return out


def _pct(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(100.0 * part / whole, 2)


def percentile(c: Counters, prefix: str, q: float) -> float | None:
    """The q-quantile (0..1) of a latency histogram, in seconds, interpolated linearly
    inside its bucket (bucket 0 starts at 0)."""
    counts = [int(c.get(f"{prefix}_b{i}", 0)) for i in range(len(BUCKETS))]
    n = sum(counts)
    if n == 0:
        return None
    rank = q * n
    seen = 0
    for i, k in enumerate(counts):
        if k and seen + k >= rank:
            low = 0 if i == 0 else BUCKETS[i - 1]
            return round(low + (BUCKETS[i] - low) * (rank - seen) / k, 1)
        seen += k
    return float(BUCKETS[-1])


def _mean_minutes(c: Counters, prefix: str) -> float | None:
    n = int(c.get(f"{prefix}_n", 0))
    return None if n == 0 else round(int(c.get(f"{prefix}_sum", 0)) / n / 60.0, 2)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 2)


@dataclass(frozen=True)
class Kpis:
    alerts: int
    automated: int
    tickets: int
    runs: int
    jobs: int
    automation_rate: float | None  # % of alerts on which a job was launched
    success_rate_exit0: float | None  # % of finished jobs that exited 0 (the original rule)
    success_rate_verified: float | None  # % of finished jobs after which the alarm was OK
    ticket_creation_rate: float | None  # % of alerts that got a new ticket
    escalation_rate: float | None  # % of alerts handed to a human
    suppressions: int
    mtta_minutes: float | None  # alarm -> first job launched
    tta_p50_minutes: float | None
    tta_p90_minutes: float | None
    mttr_minutes: float | None  # alarm -> resolved
    ttr_p50_minutes: float | None
    ttr_p90_minutes: float | None
    resolved_by: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def compute(c: Counters) -> Kpis:
    alerts, jobs = int(c.get("alerts", 0)), int(c.get("jobs", 0))
    return Kpis(
        alerts=alerts,
        automated=int(c.get("automated", 0)),
        tickets=int(c.get("tickets", 0)),
        runs=int(c.get("runs", 0)),
        jobs=jobs,
        automation_rate=_pct(int(c.get("automated", 0)), alerts),
        success_rate_exit0=_pct(int(c.get("jobs_ok", 0)), jobs),
        success_rate_verified=_pct(int(c.get("verified", 0)), jobs),
        ticket_creation_rate=_pct(int(c.get("tickets", 0)), alerts),
        escalation_rate=_pct(int(c.get("escalations", 0)), alerts),
        suppressions=int(c.get("suppressions", 0)),
        mtta_minutes=_mean_minutes(c, "tta"),
        tta_p50_minutes=_minutes(percentile(c, "tta", 0.5)),
        tta_p90_minutes=_minutes(percentile(c, "tta", 0.9)),
        mttr_minutes=_mean_minutes(c, "ttr"),
        ttr_p50_minutes=_minutes(percentile(c, "ttr", 0.5)),
        ttr_p90_minutes=_minutes(percentile(c, "ttr", 0.9)),
        resolved_by={
            who: int(c.get(f"resolved_by_{who}", 0)) for who in ("alarm", "automation", "human")
        },
    )


@dataclass(frozen=True)
class RunbookRate:
    runbook: str
    runs: int
    jobs: int
    verified: int
    verified_rate: float | None


def runbook_rates(rows: Mapping[str, Counters]) -> list[RunbookRate]:
    """Per-runbook verified-fix rate with its run count, busiest first."""
    out = []
    for scope, c in rows.items():
        if scope.startswith("runbook#"):
            jobs, verified = int(c.get("jobs", 0)), int(c.get("verified", 0))
            out.append(
                RunbookRate(
                    scope.removeprefix("runbook#"),
                    int(c.get("runs", 0)),
                    jobs,
                    verified,
                    _pct(verified, jobs),
                )
            )
    return sorted(out, key=lambda r: (-r.runs, r.runbook))


def by_prefix(rows: Mapping[str, Counters], prefix: str) -> dict[str, dict[str, int]]:
    """The rows of one kind of scope (`service#`, `type#`, `runbook#`), by name."""
    return {
        scope.removeprefix(prefix): dict(c) for scope, c in rows.items() if scope.startswith(prefix)
    }


def top_n(rows: Mapping[str, Counters], prefix: str, n: int, by: str) -> dict[str, dict[str, int]]:
    """The n busiest scopes of a kind by `by`, the rest summed as `other`: bounded
    metric cardinality whatever the number of services or runbooks."""
    named = by_prefix(rows, prefix)
    ranked = sorted(named, key=lambda k: (-named[k].get(by, 0), k))
    out = {k: named[k] for k in ranked[:n]}
    rest = [named[k] for k in ranked[n:]]
    if rest:
        out["other"] = total(rest)
    return out
