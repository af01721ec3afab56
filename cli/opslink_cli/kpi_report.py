"""`opslink report`: the automation KPIs of a period against the period before, the
quality findings, and the trends — computed from the journal's daily counter rows (one
Query per day, whatever the number of alerts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from opslink.kpis import Kpis, Place, RunbookRate, by_place, compute, runbook_rates
from opslink.ports import JournalReader
from opslink.quality import Finding, Thresholds, assess, window_rows

# (key, English label, Chinese label, unit) of the KPI table, in reading order.
KPI_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("alerts", "Alerts", "告警数", ""),
    ("automated", "Automated alerts", "自动化处理的告警", ""),
    ("automation_rate", "Automation rate", "自动化率", "%"),
    ("success_rate_verified", "Automation success rate (verified)", "自动化成功率（已验证）", "%"),
    ("success_rate_exit0", "Automation success rate (exit 0)", "自动化成功率（退出码 0）", "%"),
    ("ticket_creation_rate", "Ticket creation rate", "工单创建率", "%"),
    ("escalation_rate", "Escalation rate", "升级率", "%"),
    ("suppressions", "Suppressions", "抑制次数", ""),
    ("incidents", "Incidents (correlated alerts count once)", "事件数（关联告警合并计数）", ""),
    ("alerts_per_incident", "Alerts per incident", "每个事件的告警数", ""),
    ("correction_rate", "Grouping corrected by operators", "运维人员纠正的分组", "%"),
    ("mtta_minutes", "Mean time to automation", "平均自动化时间", "min"),
    ("tta_p90_minutes", "p90 time to automation", "自动化时间 p90", "min"),
    ("mttr_minutes", "Mean time to resolve", "平均解决时间", "min"),
    ("ttr_p90_minutes", "p90 time to resolve", "解决时间 p90", "min"),
)


# Why alerts were left to humans, and approvals: rows after KPI_ROWS (name, en, zh).
HANDOVER_ROWS: tuple[tuple[str, str, str], ...] = (
    ("no_runbook", "Left to humans: no runbook", "转人工：无运行手册"),
    ("approval_rejected", "Left to humans: approval rejected", "转人工：审批被拒绝"),
    ("approval_expired", "Left to humans: approval expired", "转人工：审批过期"),
    ("fix_failed", "Left to humans: fix failed", "转人工：修复失败"),
    ("refused_by_checks", "Left to humans: refused by safety checks", "转人工：安全检查拒绝"),
    ("budget", "Left to humans: automation budget", "转人工：自动化预算用尽"),
    ("platform_down", "Left to humans: job platform down", "转人工：作业平台不可用"),
    ("automation_error", "Left to humans: automation error", "转人工：自动化错误"),
    ("other", "Left to humans: other", "转人工：其他"),
)
APPROVAL_ROWS: tuple[tuple[str, str, str], ...] = (
    ("granted", "Approvals granted", "审批通过"),
    ("rejected", "Approvals rejected", "审批拒绝"),
    ("expired", "Approvals expired", "审批过期"),
)


@dataclass(frozen=True)
class DayPoint:
    day: date
    alerts: int
    automation_rate: float | None
    ticket_creation_rate: float | None
    mtta_minutes: float | None
    success_rate_verified: float | None = None


@dataclass
class Report:
    start: date
    end: date
    service: str | None
    current: Kpis
    previous: Kpis
    days: list[DayPoint]
    runbooks: list[RunbookRate]
    findings: list[Finding]
    items_read: int = 0
    places: list[Place] = field(default_factory=list)  # by account and region (members)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def kpi_table(self, lang: str = "en") -> list[dict[str, Any]]:
        rows = []
        cur, prev = self.current.as_dict(), self.previous.as_dict()
        for key, en, zh, unit in KPI_ROWS:
            now, before = cur.get(key), prev.get(key)
            change = (
                round(float(now) - float(before), 2)
                if isinstance(now, (int, float)) and isinstance(before, (int, float))
                else None
            )
            rows.append(
                {
                    "key": key,
                    "kpi": zh if lang == "zh" else en,
                    "value": now,
                    "previous": before,
                    "change": change,
                    "unit": unit,
                }
            )
        for name, en, zh in HANDOVER_ROWS:  # every alert left to humans, by reason
            now_n = self.current.handed_over_by.get(name, 0)
            before_n = self.previous.handed_over_by.get(name, 0)
            if now_n or before_n:
                rows.append({"key": f"handed_over_{name}", "kpi": zh if lang == "zh" else en,
                             "value": now_n, "previous": before_n, "change": now_n - before_n,
                             "unit": ""})  # fmt: skip
        for name, en, zh in APPROVAL_ROWS:
            now_n, before_n = self.current.approvals[name], self.previous.approvals[name]
            if now_n or before_n or self.current.approvals["requested"]:
                rows.append({"key": f"approvals_{name}", "kpi": zh if lang == "zh" else en,
                             "value": now_n, "previous": before_n, "change": now_n - before_n,
                             "unit": ""})  # fmt: skip
        return rows


def _scope(service: str | None) -> str:
    return f"service#{service}" if service else "all"


def _day_at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def build(
    store: JournalReader,
    start: date,
    end: date,
    service: str | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    """The report of [start, end] (whole UTC days) and the same-length period before."""
    if end < start:
        raise ValueError(f"--from {start} is after --to {end}")
    length = (end - start).days + 1
    before = [start - timedelta(days=length - i) for i in range(length)]
    current = [start + timedelta(days=i) for i in range(length)]
    wanted = [*before, *current]
    reads = dict(zip(wanted, store.kpi_rows([_day_at(d) for d in wanted]), strict=True))
    scope = _scope(service)
    rows_now = window_rows([reads[d] for d in current])
    rows_before = window_rows([reads[d] for d in before])
    days = []
    for d in current:
        k = compute(reads[d].get(scope, {}))
        days.append(
            DayPoint(
                d,
                k.alerts,
                k.automation_rate,
                k.ticket_creation_rate,
                k.mtta_minutes,
                k.success_rate_verified,
            )
        )
    if service:  # the service's own rows stand in for "all" in the assessment
        rows_now = {**rows_now, "all": rows_now.get(scope, {})}
    return Report(
        start=start,
        end=end,
        service=service,
        current=compute(rows_now.get("all", {})),
        previous=compute(rows_before.get(scope, {})),
        days=days,
        runbooks=runbook_rates(rows_now),
        findings=assess(rows_now, end, thresholds),
        items_read=sum(sum(1 for _ in r) for r in reads.values()),
        places=[] if service else by_place(rows_now),
    )


def period(args: Any, today: date) -> tuple[date, date]:
    end = args.date_to or today
    if args.date_from:
        return args.date_from, end
    return end - timedelta(days=(args.days or 7) - 1), end


def print_summary(report: Report, paths: dict[str, Any], out: Any, lang: str = "en") -> None:
    """The KPI table and the findings as text, then where the report is."""
    from opslink_cli.render import table

    rows = [
        {
            "kpi": r["kpi"],
            "value": _text(r["value"], r["unit"]),
            "previous": _text(r["previous"], r["unit"]),
            "change": _text(r["change"], ""),
        }
        for r in report.kpi_table(lang)
    ]
    table(rows, ("kpi", "value", "previous", "change"), out, max_width=None)
    if report.places:
        out.write("\n" + ("按账户和区域" if lang == "zh" else "By account and region") + "\n")
        table(place_rows(report, lang), PLACE_COLUMNS, out, max_width=None)
    by = "截止" if lang == "zh" else "by"
    for f in report.findings:
        t = f.text(lang)
        out.write(
            f"[{t['severity']}] {t['title']}: {t['evidence']} -> {t['recommendation']} "
            f"({t['team']}, {by} {f.deadline})\n"
        )
    out.write(("报告" if lang == "zh" else "report") + f": {paths['html']}\n")


PLACE_COLUMNS = ("account", "region", "alerts", "automation_rate", "ticket_creation_rate",
                 "success_rate_verified")  # fmt: skip


def place_rows(report: Report, lang: str = "en") -> list[dict[str, str]]:
    """The report's figures by account and region, as text."""
    own = "本账户（所有区域）" if lang == "zh" else "this account (every region)"
    return [
        {
            "account": p.account or own,
            "region": p.region or "",
            "alerts": str(p.kpis.alerts),
            "automation_rate": _text(p.kpis.automation_rate, "%"),
            "ticket_creation_rate": _text(p.kpis.ticket_creation_rate, "%"),
            "success_rate_verified": _text(p.kpis.success_rate_verified, "%"),
        }
        for p in report.places
    ]


def _text(v: Any, unit: str) -> str:
    if v is None:
        return "-"
    return (f"{v:.1f}" if isinstance(v, float) else str(v)) + (f" {unit}" if unit else "")


def report_command(conn: Any, args: Any, out: Any) -> int:
    from pathlib import Path

    from opslink_cli.cli_args import UsageError
    from opslink_cli.render import emit, style_from
    from opslink_cli.report_render import write

    start, end = period(args, datetime.now(UTC).date())
    if end < start:
        raise UsageError(f"--from {start} is after --to {end}")
    if (end - start).days > 366:
        raise UsageError("a report covers at most 367 days")
    report = build(conn.alerts.journal, start, end, args.service)
    paths = write(report, Path(args.out), args.lang)
    style = style_from(args, out)
    if style.output == "table":
        print_summary(report, paths, out, args.lang)
    else:
        emit(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "service": args.service,
                "kpis": report.current.as_dict(),
                "previous": report.previous.as_dict(),
                "findings": [
                    f.as_dict() | f.text(args.lang) | {"kind": f.kind} for f in report.findings
                ],
                "runbooks": [r.__dict__ for r in report.runbooks],
                "files": {k: str(v) for k, v in paths.items()},
            },
            style,
            out,
        )
    return 0
