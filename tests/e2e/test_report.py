"""`opslink report`: KPIs planted through the journal come out in the PNG charts and the
self-contained HTML page, which a real browser (Debian's chromium, driven by Playwright)
loads from file with no console error and every chart drawn; the Chinese report draws
every label with a real glyph."""

from __future__ import annotations

import shutil
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.journal import EventKind, LifecycleEvent
from opslink_cli.kpi_report import build
from opslink_cli.main import main
from opslink_cli.report_render import write

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _plant(store: DynamoAlertStore) -> None:
    """10 alerts on checkout; 6 automated (launched 2 min after the alarm), 5 verified
    fixes, 1 failed job; 10 tickets. The day before: 4 alerts, 1 automated."""

    def ev(i: int, kind: EventKind, at: datetime, **kw: Any) -> LifecycleEvent:
        return LifecycleEvent(
            alert_id=f"A-{at:%d}-{i}",
            kind=kind,
            at=at,
            service="checkout",
            alert_type="cpu_usage",
            cohort=at,
            **kw,
        )

    for i in range(10):
        store.journal.record_event(ev(i, EventKind.ALERT_OPENED, DAY))
        store.journal.record_event(ev(i, EventKind.TICKET_CREATED, DAY))
    for i in range(6):
        store.journal.record_event(
            ev(i, EventKind.JOB_LAUNCHED, DAY, runbook="restart_service", latency_seconds=120),
            first_launch=True,
        )
        kind = EventKind.FIX_VERIFIED if i < 5 else EventKind.JOB_FAILED
        store.journal.record_event(ev(i, kind, DAY, runbook="restart_service"))
    before = DAY - timedelta(days=1)
    for i in range(4):
        store.journal.record_event(ev(i, EventKind.ALERT_OPENED, before))
    store.journal.record_event(
        ev(0, EventKind.JOB_LAUNCHED, before, runbook="restart_service", latency_seconds=600),
        first_launch=True,
    )


@pytest.fixture
def store(ddb: Any) -> DynamoAlertStore:
    s = DynamoAlertStore("AlertsTable", ddb)
    _plant(s)
    return s


def test_report_figures_from_planted_events(store: DynamoAlertStore) -> None:
    report = build(store.journal, DAY.date(), DAY.date())
    k = report.current
    assert (k.alerts, k.automated, k.tickets, k.jobs) == (10, 6, 10, 6)
    assert k.automation_rate == 60.0 and k.success_rate_verified == round(500 / 6, 2)
    assert report.previous.alerts == 4 and report.previous.automation_rate == 25.0
    row = next(r for r in report.kpi_table() if r["kpi"] == "Automation rate")
    assert row["change"] == 35.0
    assert report.items_read <= 2 * 4  # two days, at most four scope rows each


def test_html_report_in_a_real_browser(store: DynamoAlertStore, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    paths = write(build(store.journal, DAY.date() - timedelta(days=6), DAY.date()), tmp_path)
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: make install runs scripts/browser-deps.sh"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(paths["html"].as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        cells = page.eval_on_selector_all(
            "#kpis tr[data-kpi]",
            "rows => Object.fromEntries(rows.map(r => [r.dataset.kpi, r.cells[1].innerText]))",
        )
        browser.close()
    assert errors == []
    assert all(not u.startswith("http") for u in requests), requests  # works offline
    assert len(sizes) == 2 and all(ok and w > 0 and h > 0 for ok, w, h in sizes)
    # the week holds both planted days: 14 alerts, 7 automated
    assert cells["alerts"] == "14" and cells["automated"] == "7"
    assert cells["automation_rate"] == "50.0 %"
    assert cells["mtta_minutes"] == f"{(6 * 120 + 600) / 7 / 60:.1f} min"


def test_chinese_report_has_every_glyph(store: DynamoAlertStore, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write(
            build(store.journal, DAY.date() - timedelta(days=6), DAY.date()), tmp_path, "zh"
        )
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []
    page = paths["html"].read_text(encoding="utf-8")
    assert "自动化率" in page and "工单创建率" in page and 'lang="zh-CN"' in page
    # Everything the report says is Chinese: findings, teams, severities included.
    report = build(store.journal, DAY.date() - timedelta(days=6), DAY.date())
    assert report.findings
    for f in report.findings:
        zh, en = f.text("zh"), f.text("en")
        assert zh["title"] in page and en["title"] not in page
        assert zh["team"] in page and zh["severity"] in page
    assert "automation team" not in page and "SRE team" not in page


def test_every_finding_has_every_language() -> None:
    from opslink.finding_texts import FINDINGS, LANGS, render

    sample = {"rate": 12.5, "automated": 1, "alerts": 8, "target": "60", "types": [
        {"name": "cpu", "without": 3, "alerts": 4}], "jobs": 5, "exit0": 40.0, "mean": 9.0,
        "p90": 20.0, "requested": 3, "granted": 1, "rejected": 2, "expired": 0,
        "runbook": "restart_service", "verified": 19, "need_rate": "95", "need_runs": 20,
        "old_rate": "90", "old_jobs": 12, "alert_type": "cpu", "suppressed": 0}  # fmt: skip
    for kind, texts in FINDINGS.items():
        assert set(texts) == set(LANGS), kind
        zh = " ".join(render(kind, sample, "zh"))
        en = " ".join(render(kind, sample, "en"))
        assert zh != en and "{" not in zh and "{" not in en, kind


def test_report_command_end_to_end(
    store: DynamoAlertStore, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    import opslink_cli.connection as connection

    class Conn:
        alerts = store

    monkeypatch.setattr(connection, "connect", lambda args: Conn())
    out_dir = tmp_path / "r"
    code = main(["report", "--from", "2026-11-14", "--to", "2026-11-20", "--out", str(out_dir)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "Automation rate" in text and "50.0 %" in text  # 7 of 14 alerts in the week
    assert f"report: {out_dir / 'report.html'}" in text
    assert (out_dir / "kpi-trends.png").stat().st_size > 5_000
    assert main(["report", "--from", "2026-11-20", "--to", "2026-11-14"]) == 2
    assert "after" in capsys.readouterr().err
