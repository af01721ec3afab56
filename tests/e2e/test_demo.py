"""The demo as a whole-system check: a demo-sized run on the emulator never leaves an
open ticket for a resolved alert, every alert has exactly one ticket, the counters count
what exists, and it shows verified fixes, an approval and a rejection."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from opslink.models import AlertStatus, TicketStatus
from opslink_cli.demo import problems, scenario
from opslink_cli.emulator import LocalStack

pytestmark = pytest.mark.e2e


def test_demo_run_keeps_one_alert_one_truth(tmp_path: Path) -> None:
    log = io.StringIO()
    with LocalStack(mirror_alarms=True, log_path=tmp_path / "lambda.log") as stack:
        run = scenario(stack, lambda text: log.write(text + "\n"))
    tickets = {t.id: t for t in run.tickets}
    for alert in run.alerts:
        ticket = tickets[alert.ticket_id or ""]
        assert ticket.alert_id == alert.alert_id
        if alert.status is AlertStatus.RESOLVED:
            assert ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED), alert.alarm_name
    assert len(run.tickets) == len(run.alerts) == run.counters["tickets_created"]
    assert sum(1 for e in run.executions if e["outcome"] == "Remediated") >= 3
    assert any(r == "approval rejected" for r in (e["reason"] for e in run.executions))
    assert problems(run) == []
    assert "opslink executions approve" in log.getvalue()
