"""Quality assessment: the product brief's thresholds applied to a window's KPIs, as
findings a team can act on (severity, evidence, recommendation, team, deadline). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

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

    def as_dict(self) -> dict[str, str]:
        return {**self.__dict__, "deadline": self.deadline.isoformat()}


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
        out.append(
            Finding(
                "high",
                "Automation rate below target",
                f"automation rate {k.automation_rate:.1f} % ({k.automated} of {k.alerts} alerts "
                f"had a runbook launched); target {t.automation_rate:.0f} %",
                "add or widen runbooks for the alert types below that run nothing; review "
                "suppressions and approvals",
                "automation team",
                two,
            )
        )
    if k.success_rate_verified is not None and k.success_rate_verified < t.success_rate:
        out.append(
            Finding(
                "high",
                "Automation success rate below target",
                f"verified success {k.success_rate_verified:.1f} % of {k.jobs} finished jobs "
                f"(exit 0: {k.success_rate_exit0 or 0:.1f} %); target {t.success_rate:.0f} %",
                "review the runbooks with the lowest verified-fix rate (below)",
                "SRE team",
                week,
            )
        )
    if k.mtta_minutes is not None and k.mtta_minutes > t.mtta_minutes:
        waited = int(rows.get("all", {}).get("approvals_requested", 0))
        out.append(
            Finding(
                "medium",
                "Time to automation above target",
                f"mean {k.mtta_minutes:.1f} min, p90 {k.tta_p90_minutes or 0:.1f} min from alarm "
                f"to job launched; {waited} runs waited for a human's approval; target "
                f"{t.mtta_minutes:.0f} min",
                "move proven runbooks from approval to auto; shorten the first poll and the "
                "alarm's evaluation period",
                "platform team",
                three,
            )
        )
    for r in runbook_rates(rows):
        if r.jobs >= t.min_runs and (r.verified_rate or 0) < t.runbook_verified_rate:
            out.append(
                Finding(
                    "medium",
                    f"Runbook {r.runbook} rarely fixes the problem",
                    f"verified-fix rate {r.verified_rate or 0:.0f} % over {r.jobs} runs",
                    f"review runbook {r.runbook} (or switch it to shadow mode while it is fixed)",
                    "SRE team",
                    week,
                )
            )
    out += autonomy_proposals(rows, record or {}, t, week)
    for alert_type, c in sorted(by_prefix(rows, "type#").items()):
        if c.get("alerts", 0) >= t.min_alerts and not c.get("automated", 0):
            out.append(
                Finding(
                    "medium",
                    f"No automation for alert type {alert_type}",
                    f"{c.get('alerts', 0)} alerts of type {alert_type}, none remediated "
                    f"({c.get('suppressions', 0)} suppressed)",
                    f"add a runbook for {alert_type} (or check why the matching one is suppressed)",
                    "automation team",
                    two,
                )
            )
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
                out.append(
                    Finding(
                        "low",
                        f"Runbook {r.runbook} is ready to run unattended",
                        f"{r.verified} of {r.jobs} approved runs were verified fixes "
                        f"({rate:.1f} %; graduation needs >= {t.graduate_rate:.0f} % over "
                        f">= {t.graduate_runs} runs)",
                        f"change runbooks/{r.runbook}.yaml to `risk: auto` (a catalog "
                        "change, reviewed and recorded in the audit trail)",
                        "SRE team",
                        deadline,
                    )
                )
            continue
        old = before.get(r.runbook)
        if (
            old is not None
            and old.verified_rate is not None
            and r.jobs >= t.min_runs
            and old.jobs >= 2 * t.min_runs
            and rate < old.verified_rate - t.demote_drop_points
        ):
            out.append(
                Finding(
                    "medium",
                    f"Runbook {r.runbook} fixes less than its record: demote it",
                    f"verified-fix rate {rate:.0f} % over {r.jobs} runs this window, "
                    f"{old.verified_rate:.0f} % over {old.jobs} runs before",
                    f"set `risk: approval` in runbooks/{r.runbook}.yaml (or `opslink "
                    f"automation mode {r.runbook} approval` now) until it is understood",
                    "SRE team",
                    deadline,
                )
            )
    return out


def window_rows(days: list[Mapping[str, Counters]]) -> dict[str, dict[str, int]]:
    """Sum each scope's counters over the days of a window."""
    scopes = {s for d in days for s in d}
    return {s: total(d.get(s, {}) for d in days) for s in scopes}
