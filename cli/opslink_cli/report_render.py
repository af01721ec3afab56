"""The report as PNG charts and one self-contained HTML page (images inlined, no network
fetch: it opens offline). Labels in English, or Chinese with lang="zh" — drawn with a CJK
font (Noto Sans CJK, installed by the project's set-up), never as boxes."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from opslink_cli.kpi_report import Report

LABELS = {
    "en": {
        "title": "OpsLink automation report",
        "trend": "Automation trends per day",
        "rates": "Rate (%)",
        "automation_rate": "Automation rate",
        "ticket_rate": "Ticket creation rate",
        "success_rate": "Verified success rate",
        "not_run": "Not run in this period",
        "mtta": "Mean time to automation (min)",
        "minutes": "Minutes",
        "day": "Day",
        "runbooks": "Verified-fix rate per runbook",
        "runs": "runs",
        "kpi": "KPI",
        "value": "Value",
        "previous": "Previous period",
        "change": "Change",
        "findings": "Findings",
        "none": "No findings: every KPI is on target.",
        "severity": "Severity",
        "evidence": "Evidence",
        "recommendation": "Recommendation",
        "team": "Team",
        "deadline": "Deadline",
        "period": "Period",
        "service": "Service",
        "all": "all services",
        "to": "to",
        "places": "By account and region",
        "account": "Account",
        "region": "Region",
        "alerts": "Alerts",
        "ticket_creation_rate": "Ticket creation rate",
        "success_rate_verified": "Verified success rate",
    },
    "zh": {
        "title": "OpsLink 自动化报告",
        "trend": "每日自动化趋势",
        "rates": "比率（%）",
        "automation_rate": "自动化率",
        "ticket_rate": "工单创建率",
        "success_rate": "验证成功率",
        "not_run": "本期未运行",
        "mtta": "平均自动化时间（分钟）",
        "minutes": "分钟",
        "day": "日期",
        "runbooks": "各运行手册的验证修复率",
        "runs": "次运行",
        "kpi": "指标",
        "value": "数值",
        "previous": "上一周期",
        "change": "变化",
        "findings": "发现的问题",
        "none": "没有发现问题：所有指标均达标。",
        "severity": "严重程度",
        "evidence": "依据",
        "recommendation": "建议",
        "team": "负责团队",
        "deadline": "截止日期",
        "period": "周期",
        "service": "服务",
        "all": "全部服务",
        "to": "至",
        "places": "按账户和区域",
        "account": "账户",
        "region": "区域",
        "alerts": "告警",
        "ticket_creation_rate": "工单创建率",
        "success_rate_verified": "验证成功率",
    },
}
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR"]


def _pyplot(lang: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    if lang == "zh":
        installed = {f.name for f in font_manager.fontManager.ttflist}
        cjk = [f for f in CJK_FONTS if f in installed]
        if not cjk:
            raise RuntimeError(
                "no CJK font found for --lang zh: install fonts-noto-cjk (make install does)"
            )
        plt.rcParams["font.family"] = "sans-serif"
        plt.rcParams["font.sans-serif"] = [*cjk, "DejaVu Sans"]
    else:
        plt.rcParams["font.family"] = "sans-serif"
        plt.rcParams["font.sans-serif"] = ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def trend_png(report: Report, path: Path, lang: str = "en") -> Path:
    """The two-panel figure: automation and ticket creation rates (%), and mean time to
    automation (minutes), per day."""
    plt = _pyplot(lang)
    t = LABELS[lang]
    days = [d.day.strftime("%m-%d") for d in report.days]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    top.plot(
        days, [_nan(d.automation_rate) for d in report.days], marker="o", label=t["automation_rate"]
    )
    top.plot(
        days,
        [_nan(d.ticket_creation_rate) for d in report.days],
        marker="s",
        label=t["ticket_rate"],
    )
    top.plot(
        days,
        [_nan(d.success_rate_verified) for d in report.days],
        marker="^",
        label=t["success_rate"],
    )
    top.set_ylim(0, 105)
    top.set_ylabel(t["rates"])
    top.legend(loc="lower left")
    top.grid(alpha=0.3)
    bottom.bar(days, [d.mtta_minutes or 0 for d in report.days], color="#4c72b0")
    bottom.set_ylabel(t["minutes"])
    bottom.set_title(t["mtta"], fontsize=10)
    bottom.set_xlabel(t["day"])
    bottom.grid(alpha=0.3, axis="y")
    fig.suptitle(t["trend"])
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def runbooks_png(report: Report, path: Path, lang: str = "en") -> Path:
    plt = _pyplot(lang)
    t = LABELS[lang]
    rates = [r for r in report.runbooks if r.jobs][:12]  # 0 runs: listed, never drawn
    fig, ax = plt.subplots(figsize=(9, 0.5 + 0.45 * max(1, len(rates))))
    names = [f"{r.runbook} ({r.jobs} {t['runs']})" for r in rates] or ["-"]
    values = [r.verified_rate or 0 for r in rates] or [0]
    ax.barh(names, values, color="#55a868")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("%")
    ax.set_title(t["runbooks"])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _nan(v: float | None) -> float:
    return float("nan") if v is None else v


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    text = f"{v:.1f}" if isinstance(v, float) else str(v)
    return f"{text} {unit}".strip()


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def html_page(report: Report, charts: list[Path], lang: str = "en") -> str:
    t = LABELS[lang]
    e = html.escape
    rows = "".join(
        f'<tr data-kpi="{e(r["key"])}"><td>{e(r["kpi"])}</td><td class="value">{e(_fmt(r["value"], r["unit"]))}</td>'
        f"<td>{e(_fmt(r['previous'], r['unit']))}</td><td>{e(_fmt(r['change']))}</td></tr>"
        for r in report.kpi_table(lang)
    )
    if report.findings:
        texts = [(f, f.text(lang)) for f in report.findings]
        findings = "".join(
            f'<tr class="{e(f.severity)}"><td>{e(x["severity"])}</td><td><b>{e(x["title"])}</b><br>'
            f"{e(x['evidence'])}</td><td>{e(x['recommendation'])}</td><td>{e(x['team'])}</td>"
            f"<td>{e(f.deadline.isoformat())}</td></tr>"
            for f, x in texts
        )
        findings_html = (
            f"<table><tr><th>{t['severity']}</th><th>{t['evidence']}</th>"
            f"<th>{t['recommendation']}</th><th>{t['team']}</th><th>{t['deadline']}</th></tr>"
            f"{findings}</table>"
        )
    else:
        findings_html = f"<p>{e(t['none'])}</p>"
    images = "".join(_img(p, p.stem) for p in charts)
    idle = [r.runbook for r in report.runbooks if not r.jobs]
    if idle:
        images += f'<p id="not-run">{e(t["not_run"])}: {e(", ".join(idle))}</p>'
    scope = e(report.service or t["all"])
    places_html = ""
    if report.places:
        from opslink_cli.kpi_report import PLACE_COLUMNS, place_rows

        head = "".join(f"<th>{e(t[c])}</th>" for c in PLACE_COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{e(r[c])}</td>" for c in PLACE_COLUMNS) + "</tr>"
            for r in place_rows(report, lang)
        )
        places_html = f'<h2>{e(t["places"])}</h2><table id="places"><tr>{head}</tr>{body}</table>'

    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<title>{e(t["title"])}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", "DejaVu Sans", sans-serif; margin: 2em; color: #222; max-width: 60em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }}
tr.high td:first-child {{ color: #b00; font-weight: bold; }}
tr.medium td:first-child {{ color: #a60; }}
img {{ max-width: 100%; display: block; margin: 1em 0; }}
</style></head><body>
<h1>{e(t["title"])}</h1>
<p>{e(t["period"])}: {report.start.isoformat()} {e(t["to"])} {report.end.isoformat()} · {e(t["service"])}: {scope}</p>
<table id="kpis"><tr><th>{e(t["kpi"])}</th><th>{e(t["value"])}</th><th>{e(t["previous"])}</th><th>{e(t["change"])}</th></tr>{rows}</table>
{places_html}
<h2>{e(t["findings"])}</h2>
{findings_html}
{images}
</body></html>
"""


def write(report: Report, out_dir: Path, lang: str = "en") -> dict[str, Path]:
    """report.html plus its PNGs in `out_dir`; the paths by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if lang == "en" else f"-{lang}"
    trend = trend_png(report, out_dir / f"kpi-trends{suffix}.png", lang)
    runbooks = runbooks_png(report, out_dir / f"runbook-fix-rates{suffix}.png", lang)
    page = out_dir / f"report{suffix}.html"
    page.write_text(html_page(report, [trend, runbooks], lang), encoding="utf-8")
    return {"html": page, "trend": trend, "runbooks": runbooks}
