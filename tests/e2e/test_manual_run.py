"""`opslink runbooks run` on the emulator: an operator runs one runbook for an open alert
through the remediation state machine — the same checks (shadow, kill switch, match),
exact targets, budget and audit as an automated run; `--dry-run` changes nothing."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from opslink.journal import EventKind
from opslink.models import AlertStatus, TicketStatus
from opslink_cli import automation_commands, samples
from opslink_cli.connection import OperatorError
from opslink_cli.emulator import LocalStack
from opslink_cli.runbook_commands import runbooks_run
from tests.e2e.conftest import Stack
from tests.e2e.conftest import operator_connection as _connection

pytestmark = pytest.mark.e2e


def _args(**kw: Any) -> argparse.Namespace:
    base = {
        "stack_name": "opslink",
        "output": "json",
        "query": None,
        "dry_run": False,
        "reason": "",
        "by": "dana",
        "parameter": "/opslink/automation-control",
    }
    return argparse.Namespace(**(base | kw))


def _jobs(local: LocalStack) -> list[str]:
    jobs = local.state_dir / "jobs"  # type: ignore[operator]
    return sorted(json.loads((d / "job.json").read_text())["runbook"] for d in jobs.iterdir())


def test_an_operator_runs_one_runbook_with_the_checks_of_automation(tmp_path: Path) -> None:
    with LocalStack(log_path=tmp_path / "lambda.log", mirror_alarms=True) as local:
        stack = Stack(local)
        conn = _connection(local, stack)
        for runbook in ("scale_up", "restart_service"):  # nothing runs on its own
            automation_commands.automation_mode(
                conn,
                _args(runbook=runbook, mode="shadow", reason="trial", catalog="runbooks"),
                io.StringIO(),
            )
        local.publish_alarm(
            samples.metric_alarm(
                "prod-checkout-api-cpu-high",
                samples.T0,
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            )
        )
        local.wait_for_executions(timeout=90)
        [alert] = stack.alerts.list_alerts()
        assert alert.status is AlertStatus.OPEN
        before = _jobs(local)

        # A shadowed runbook is refused on demand too; a diagnostic is no fix.
        for name, why in (
            ("scale_up", "shadow mode"),
            ("diagnostics", "does not match"),
            ("nope", "not in the catalog"),
        ):
            out = io.StringIO()
            assert (
                runbooks_run(conn, _args(name=name, alert=alert.alert_id, dry_run=True), out) == 1
            )
            assert why in json.loads(out.getvalue())["refused"], out.getvalue()
            with pytest.raises(OperatorError, match=why):
                runbooks_run(conn, _args(name=name, alert=alert.alert_id), io.StringIO())

        # The dry run: exactly the hosts, canary, parameters and budget; nothing runs.
        automation_commands.automation_mode(
            conn,
            _args(runbook="restart_service", mode="catalog", reason="", catalog="runbooks"),
            io.StringIO(),
        )
        out = io.StringIO()
        assert (
            runbooks_run(
                conn, _args(name="restart_service", alert=alert.alert_id, dry_run=True), out
            )
            == 0
        ), out.getvalue()
        plan = json.loads(out.getvalue())
        groups = local.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=["checkout-api-asg"]
        )["AutoScalingGroups"]
        hosts = [i["InstanceId"] for i in groups[0]["Instances"]]
        assert plan["runnable"] and plan["mode"] == "auto" and plan["platform"] == "local"
        assert sorted(plan["hosts"]) == sorted(hosts) and plan["batches"][0] == [plan["hosts"][0]]
        assert [h for b in plan["batches"] for h in b] == plan["hosts"]
        assert {p["name"] for p in plan["parameters"]} >= {"SERVICE"}
        assert plan["budget"]["service_runs_this_hour"] == 0
        assert _jobs(local) == before

        # The run: through the state machine, audited as dana's, resolving the alert.
        out = io.StringIO()
        runbooks_run(
            conn, _args(name="restart_service", alert=alert.alert_id, reason="customer impact"), out
        )
        started = json.loads(out.getvalue())
        assert started["execution"].startswith(f"remediate-{alert.alert_id}--run-")
        statuses = local.wait_for_executions([started["execution"]], timeout=120)
        assert statuses[started["execution"]] == "SUCCEEDED"
        assert "restart_service" in _jobs(local)
        done = stack.alerts.get(alert.alert_id)
        assert done is not None and done.status is AlertStatus.RESOLVED
        assert done.resolution["by"] == "dana" and "on demand" in done.resolution["how"]
        ticket = stack.tickets.get(alert.ticket_id or "")
        assert ticket is not None and ticket.status is TicketStatus.RESOLVED
        assert any("requested by dana (customer impact)" in c["text"] for c in ticket.comments)
        events = stack.alerts.journal.events([], alert_id=alert.alert_id)
        launched = [e for e in events if e["kind"] == EventKind.JOB_LAUNCHED.value]
        assert [e["by"] for e in launched] == ["dana"]
        counters = stack.alerts.journal.kpi_counters(samples.T0)["all"]
        assert counters.get("runs") == 1 and not counters.get("automated")  # not automation
        # The track function's hourly fold (the schedule's Input reaches it: its checkpoint
        # appears); the run is too recent to fold, and reads the same unfolded.
        checkpoint = {"pk": {"S": "CHECKPOINT"}, "sk": {"S": "kpi-fold"}}
        alerts_table = local.names["AlertsTable"]
        ddb = local.client("dynamodb")
        assert "Item" not in ddb.get_item(TableName=alerts_table, Key=checkpoint)
        assert local.advance(3600).count(local.names["TrackFunction"]) == 13  # 12 sweeps + fold
        assert "Item" in ddb.get_item(TableName=alerts_table, Key=checkpoint)
        folded, error = local.invoke("TrackFunction", {"action": "fold_kpis"})
        assert error is None and folded["events"] == 0 and not folded["raced"], folded
        assert stack.alerts.journal.kpi_counters(samples.T0)["all"] == counters

        # A resolved alert is not run again.
        with pytest.raises(OperatorError, match="nothing to fix"):
            runbooks_run(conn, _args(name="restart_service", alert=alert.alert_id), io.StringIO())
