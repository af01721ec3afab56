"""`opslink automation pause` on the emulator: the next alarm's remediation is left to
humans with the reason, and `resume` lets it run again."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from opslink_cli import audit_commands, automation_commands, samples
from opslink_cli.emulator import LocalStack
from tests.e2e.conftest import Stack
from tests.e2e.conftest import operator_connection as _connection

pytestmark = pytest.mark.e2e


def test_pause_and_resume_through_the_cli(tmp_path: Path) -> None:
    with LocalStack(log_path=tmp_path / "lambda.log", mirror_alarms=True) as local:
        stack = Stack(local)
        conn = _connection(local, stack)
        args = argparse.Namespace(
            parameter="/opslink/automation-control",
            reason="incident 4711",
            by="dana",
            output="json",
        )
        out = io.StringIO()
        automation_commands.automation_pause(conn, args, out)
        assert '"paused"' in out.getvalue()
        local.publish_alarm(
            samples.metric_alarm(
                "prod-checkout-api-cpu-high",
                samples.T0,
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            )
        )
        local.wait_for_executions(timeout=60)
        [row] = __import__("opslink_cli.executions", fromlist=["x"]).list_executions(
            stack.sfn, local.arns["RemediationStateMachine"], 10
        )
        assert row["outcome"] == "LeftToHumans"
        assert "automation paused (kill switch by dana: incident 4711)" in row["reason"]
        automation_commands.automation_resume(conn, args, io.StringIO())
        status = io.StringIO()
        automation_commands.automation_status(conn, args, status)
        assert '"running": true' in status.getvalue()


def test_shadow_mode_through_the_cli(tmp_path: Path) -> None:
    with LocalStack(log_path=tmp_path / "lambda.log", mirror_alarms=True) as local:
        stack = Stack(local)
        conn = _connection(local, stack)
        for runbook in ("scale_up", "restart_service"):
            args = argparse.Namespace(
                parameter="/opslink/automation-control",
                runbook=runbook,
                mode="shadow",
                reason="new runbook under evaluation",
                by="dana",
                output="json",
            )
            automation_commands.automation_mode(conn, args, io.StringIO())
        local.publish_alarm(
            samples.metric_alarm(
                "prod-checkout-api-cpu-high",
                samples.T0,
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            )
        )
        local.wait_for_executions(timeout=60)
        from opslink_cli.executions import list_executions

        [row] = list_executions(stack.sfn, local.arns["RemediationStateMachine"], 10)
        assert row["outcome"] == "LeftToHumans" and row["reason"].startswith("Shadow mode:")
        status = io.StringIO()
        automation_commands.automation_status(
            conn, argparse.Namespace(parameter="/opslink/automation-control", output="json"), status
        )
        assert '"by": "dana"' in status.getvalue() and "under evaluation" in status.getvalue()
        jobs = local.state_dir / "jobs"  # type: ignore[operator]
        ran = {json.loads((d / "job.json").read_text())["runbook"] for d in jobs.iterdir()}
        assert ran <= {"diagnostics"}  # evidence only: neither shadowed runbook ran


def test_audit_trail_shows_who_did_what(tmp_path: Path) -> None:
    """Operator actions and the alert's lifecycle, in order, from `opslink audit`."""
    import json
    from datetime import UTC, datetime

    with LocalStack(log_path=tmp_path / "lambda.log", mirror_alarms=True) as local:
        stack = Stack(local)
        conn = _connection(local, stack)
        args = argparse.Namespace(
            parameter="/opslink/automation-control",
            reason="incident 4711",
            by="dana",
            output="json",
        )
        automation_commands.automation_pause(conn, args, io.StringIO())
        automation_commands.automation_resume(conn, args, io.StringIO())
        now = datetime.now(UTC).replace(microsecond=0)
        local.publish_alarm(
            samples.metric_alarm(
                "prod-checkout-api-cpu-high", now, dimensions={"InstanceId": "i-0123456789abcdef0"}
            )
        )
        local.wait_for_executions(timeout=60)
        [alert] = stack.alerts.list_alerts()

        def audit(**kw: object) -> list[dict[str, object]]:
            out = io.StringIO()
            options = {"alert": None, "since": None, "days": 2, "action": None} | kw
            ns = argparse.Namespace(output="json", **options)
            audit_commands.audit(conn, ns, out)
            return list(json.loads(out.getvalue()))

        everything = audit()
        operators = [e for e in everything if e["kind"] == "operator_action"]
        assert [e["detail"]["action"] for e in operators] == [
            "automation_paused",
            "automation_resumed",
        ]
        assert operators[0]["by"] == "dana" and operators[0]["why"] == "incident 4711"
        mine = audit(alert=alert.alert_id)
        kinds = [e["kind"] for e in mine]
        assert kinds[0] == "alert_opened" and "ticket_created" in kinds
        assert "runbook_selected" in kinds  # then a launch, or a hand-over with the reason
        assert "job_launched" in kinds or "ticket_escalated" in kinds, kinds
        only = audit(action=["alert_opened"])
        assert [e["alert_id"] for e in only] == [alert.alert_id]
        # The catalog the remediate function loaded is on record, once.
        [catalog] = audit(action=["catalog_loaded"])
        assert catalog["by"].startswith("deployment")
        assert "restart_service" in catalog["detail"]
        # The audit trail lives in its own (append-only) table, not beside the alerts.
        ddb = local.client("dynamodb")
        kept = ddb.scan(TableName=local.names["AlertsTable"])["Items"]
        assert not [i for i in kept if i["sk"]["S"].startswith("EVENT#")]
        journal = ddb.scan(TableName=local.names["JournalTable"])["Items"]
        records = [i for i in journal if i["sk"]["S"].startswith("EVENT#")]  # not chain heads
        assert len(records) == len(audit())  # every record, catalog included
