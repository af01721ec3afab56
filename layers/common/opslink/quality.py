"""Quality assessment: the product brief's thresholds applied to a window's KPIs, as
findings a team can act on (severity, evidence, recommendation, team, deadline). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from opslink import finding_texts
from opslink.kpis import Counters, by_prefix, compute, runbook_rates, total


@dataclass(frozen=True)
class Thresholds:
    automation_rate: float = 60.0  # % below: high
    success_rate: float = 80.0  # verified %, below: high
    mtta_minutes: float = 5.0  # above: medium
    runbook_verified_rate: float = 50.0  # % below, with at least `min_runs`: medium
    min_runs: int = 5
    min_alerts: int = 5  # an alert type with this many alerts and no run: medium
    # Graduation: an approval runbook whose approved runs were verified fixes this often,
    # over at least this many runs, is proposed for `risk: auto`.
    graduate_rate: float = 95.0
    graduate_runs: int = 20
    # Demotion: an unattended runbook whose window rate fell this many points below its
    # record (the weeks before) is proposed for `risk: approval`.
    demote_drop_points: float = 20.0


@dataclass(frozen=True)
class Finding:
    severity: str  # high | medium | low
    title: str
    evidence: str
    recommendation: str
    team: str
    deadline: date
    kind: str = ""  # its entry in finding_texts.FINDINGS
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "deadline": self.deadline.isoformat()}

    def text(self, lang: str = "en") -> dict[str, str]:
        """Title, evidence, recommendation, team and severity in `lang`."""
        title, evidence, recommendation = (
            finding_texts.render(self.kind, self.params, lang)
            if self.kind
            else (self.title, self.evidence, self.recommendation)
        )
        return {
            "severity": finding_texts.severity(self.severity, lang),
            "title": title,
            "evidence": evidence,
            "recommendation": recommendation,
            "team": finding_texts.team(self.team, lang),
        }


def finding(kind: str, severity: str, team: str, deadline: date, **params: Any) -> Finding:
    """A finding from the catalog (finding_texts): its English words, kind and parameters."""
    title, evidence, recommendation = finding_texts.render(kind, params, "en")
    return Finding(severity, title, evidence, recommendation, team, deadline, kind, params)


def assess(
    rows: Mapping[str, Counters],
    today: date,
    t: Thresholds | None = None,
    record: Mapping[str, Counters] | None = None,
) -> list[Finding]:
    """Findings for a window whose summed counter rows (by scope) are `rows`; `record`
    (the same rows over the weeks before) is what a runbook's window is compared with."""
    t = t or Thresholds()
    k = compute(rows.get("all", {}))
    out: list[Finding] = []
    week, two, three = (
        today + timedelta(weeks=1),
        today + timedelta(weeks=2),
        today + timedelta(weeks=3),
    )
    if k.automation_rate is not None and k.alerts and k.automation_rate < t.automation_rate:
        types = by_prefix(rows, "type#")
        idle = sorted(
            (n for n, c in types.items() if c.get("alerts", 0) > c.get("automated", 0)),
            key=lambda n: (-(types[n].get("alerts", 0) - types[n].get("automated", 0)), n),
        )
        listed = [
            {"name": n, "alerts": types[n].get("alerts", 0),
             "without": types[n].get("alerts", 0) - types[n].get("automated", 0)}
            for n in idle[:8]
        ]  # fmt: skip
        out.append(finding("automation_rate", "high", "automation team", two,
                           rate=k.automation_rate, automated=k.automated, alerts=k.alerts,
                           target=f"{t.automation_rate:.0f}", types=listed))  # fmt: skip
    if k.success_rate_verified is not None and k.success_rate_verified < t.success_rate:
        out.append(finding("success_rate", "high", "SRE team", week,
                           rate=k.success_rate_verified, jobs=k.jobs,
                           exit0=float(k.success_rate_exit0 or 0), target=f"{t.success_rate:.0f}"))  # fmt: skip
    if k.mtta_minutes is not None and k.mtta_minutes > t.mtta_minutes:
        a = k.approvals
        out.append(finding("mtta", "medium", "platform team", three,
                           mean=float(k.mtta_minutes), p90=float(k.tta_p90_minutes or 0),
                           requested=a["requested"], granted=a["granted"], rejected=a["rejected"],
                           expired=a["expired"], target=f"{t.mtta_minutes:.0f}"))  # fmt: skip
    for r in runbook_rates(rows):
        if r.jobs >= t.min_runs and (r.verified_rate or 0) < t.runbook_verified_rate:
            out.append(finding("runbook_rarely_fixes", "medium", "SRE team", week,
                               runbook=r.runbook, rate=f"{r.verified_rate or 0:.0f}", jobs=r.jobs))  # fmt: skip
    out += autonomy_proposals(rows, record or {}, t, week)
    for alert_type, c in sorted(by_prefix(rows, "type#").items()):
        if c.get("alerts", 0) >= t.min_alerts and not c.get("automated", 0):
            out.append(finding("type_unautomated", "medium", "automation team", two,
                               alert_type=alert_type, alerts=c.get("alerts", 0),
                               suppressed=c.get("suppressions", 0)))  # fmt: skip
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(out, key=lambda f: order[f.severity])


def autonomy_proposals(
    rows: Mapping[str, Counters], record: Mapping[str, Counters], t: Thresholds, deadline: date
) -> list[Finding]:
    """Graduation and demotion from evidence, never applied automatically: raising a
    runbook's autonomy is a catalog change (recorded in the audit trail). A runbook that
    asked for approval in the window is an approval runbook; its jobs are approved runs."""
    before = {r.runbook: r for r in runbook_rates(record)}
    out: list[Finding] = []
    for r in runbook_rates(rows):
        c = rows.get(f"runbook#{r.runbook}", {})
        rate = r.verified_rate or 0.0
        if c.get("approvals_requested", 0):
            if r.jobs >= t.graduate_runs and rate >= t.graduate_rate:
                out.append(finding("runbook_graduate", "low", "SRE team", deadline,
                                   runbook=r.runbook, verified=r.verified, jobs=r.jobs, rate=rate,
                                   need_rate=f"{t.graduate_rate:.0f}", need_runs=t.graduate_runs))  # fmt: skip
            continue
        old = before.get(r.runbook)
        if (
            old is not None
            and old.verified_rate is not None
            and r.jobs >= t.min_runs
            and old.jobs >= 2 * t.min_runs
            and rate < old.verified_rate - t.demote_drop_points
        ):
            out.append(finding("runbook_demote", "medium", "SRE team", deadline,
                               runbook=r.runbook, rate=f"{rate:.0f}", jobs=r.jobs,
                               old_rate=f"{old.verified_rate:.0f}", old_jobs=old.jobs))  # fmt: skip
    return out


def window_rows(days: Sequence[Mapping[str, Counters]]) -> dict[str, dict[str, int]]:
    """Sum each scope's counters over the days of a window."""
    scopes = {s for d in days for s in d}
    return {s: total(d.get(s, {}) for d in days) for s in scopes}
