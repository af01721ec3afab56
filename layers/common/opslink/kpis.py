"""Automation KPIs from the journal's counters (definitions in docs/KPIS.md). Pure.

A window's figures are sums of its days' counter rows: computing any KPI for any window
reads one partition per day, whatever the number of alerts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opslink.journal import BUCKETS, WHERE_SCOPE, sketch_value

Counters = Mapping[str, int]


def total(rows: Iterable[Counters]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        for k, v in row.items():
            out[k] = out.get(k, 0) + int(v)
    return out


def _pct(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(100.0 * part / whole, 2)


def _histogram(c: Counters, prefix: str) -> list[tuple[float, int]]:
    """(value, count) pairs of a latency: the sketch's keys (within 2 %), and buckets of
    counters written before the sketch (their midpoint; the last one, open-ended, at its
    lower bound)."""
    pairs: list[tuple[float, int]] = []
    sketch, legacy = f"{prefix}_s", f"{prefix}_b"
    for name, count in c.items():
        if not count:
            continue
        if name.startswith(sketch) and name[len(sketch) :].isdigit():
            pairs.append((sketch_value(int(name[len(sketch) :])), int(count)))
        elif name.startswith(legacy) and name[len(legacy) :].isdigit():
            i = int(name[len(legacy) :])
            low = 0 if i == 0 else BUCKETS[min(i, len(BUCKETS)) - 1]
            high = BUCKETS[min(i, len(BUCKETS) - 1)]
            pairs.append(((low + high) / 2 if i < len(BUCKETS) - 1 else float(low), int(count)))
    return sorted(pairs)


def percentile(c: Counters, prefix: str, q: float) -> float | None:
    """The q-quantile (0..1, nearest rank) of a latency, in seconds: within 2 % of the
    exact value (the sketch's bound) at any duration."""
    pairs = _histogram(c, prefix)
    n = sum(k for _, k in pairs)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for value, k in pairs:
        seen += k
        if seen >= rank:
            return round(value, 1)
    return round(pairs[-1][0], 1)


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
    handed_over_by: dict[str, int] = field(default_factory=dict)  # reason -> alerts
    approvals: dict[str, int] = field(default_factory=dict)  # requested/granted/rejected/expired
    # Correlation: incidents (alerts that opened one or stood alone), alerts per incident
    # (compression) and operators' corrections (split/merge) per 100 incidents.
    incidents: int = 0
    alerts_per_incident: float | None = None
    corrections: int = 0
    correction_rate: float | None = None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def compute(c: Counters) -> Kpis:
    alerts, jobs = int(c.get("alerts", 0)), int(c.get("jobs", 0))
    incidents = max(0, alerts - int(c.get("joined", 0)))
    corrections = int(c.get("corrections", 0))
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
        handed_over_by={
            name.removeprefix("handed_over_"): int(v)
            for name, v in sorted(c.items())
            if name.startswith("handed_over_") and int(v)
        },
        approvals={
            "requested": int(c.get("approvals_requested", 0)),
            "granted": int(c.get("approvals_granted", 0)),
            "rejected": int(c.get("approvals_denied", 0)),
            "expired": int(c.get("handed_over_approval_expired", 0)),
        },
        incidents=incidents,
        alerts_per_incident=round(alerts / incidents, 2) if incidents else None,
        corrections=corrections,
        correction_rate=_pct(corrections, incidents),
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


@dataclass(frozen=True)
class Place:
    """The KPIs of the alarms of one account and region; account "" is the stack's own
    account (every region), what remains of the whole once member accounts are taken."""

    account: str
    region: str
    kpis: Kpis


def by_place(rows: Mapping[str, Counters]) -> list[Place]:
    """The window's figures by account and region (its `where#` rows), the stack's own
    account first; empty when no member account's alarm counted."""
    members = sorted(s for s in rows if s.startswith(WHERE_SCOPE))
    if not members:
        return []
    taken = total(rows[s] for s in members)
    own = {k: v - taken.get(k, 0) for k, v in rows.get("all", {}).items()}
    places = [Place("", "", compute({k: v for k, v in own.items() if v > 0}))]
    for scope in members:
        account, _, region = scope.removeprefix(WHERE_SCOPE).partition("#")
        places.append(Place(account, region, compute(rows[scope])))
    return places
