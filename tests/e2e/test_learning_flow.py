"""Learning through the real ASL on the emulator: a runbook whose record broke is passed
over for the next alert, and the execution says why."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opslink.models import AlertStatus
from opslink_cli import samples
from opslink_cli.emulator import LocalStack
from opslink_cli.executions import show_execution
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
ALARM = "prod-search-memory-critical"  # memory_usage on search, production


def test_a_runbook_whose_record_broke_is_passed_over(tmp_path: Path) -> None:
    with LocalStack(log_path=tmp_path / "lambda.log", mirror_alarms=True) as local:
        stack = Stack(local)
        context = ("memory_usage", "search", "production")
        # clear_cache fixed this for months, then stopped; restart_service is modest.
        history = [True] * 30 + [False] * 6
        for i, fixed in enumerate(history):
            at = samples.T0 - timedelta(days=len(history) - i)
            stack.alerts.record_runbook_outcome("clear_cache", *context, fixed, at)
        for i, fixed in enumerate([True, True, False, True, True, True]):
            at = samples.T0 - timedelta(days=10 - i)
            stack.alerts.record_runbook_outcome("restart_service", *context, fixed, at)
        local.publish_alarm(samples.metric_alarm(ALARM, samples.T0, metric="mem_used_percent",
                                                 namespace="CWAgent",
                                                 dimensions={"InstanceId": "i-0123456789abcdef0"}))  # fmt: skip
        [alert] = stack.alerts.list_alerts()
        statuses = local.wait_for_executions([alert.execution_name], timeout=120)
        assert statuses[alert.execution_name] == "SUCCEEDED"
        jobs = [j.runbook for j in stack.alerts.launched_jobs(alert.alert_id)]
        assert jobs == ["restart_service"]  # the broken record's runbook never ran
        done = stack.alerts.get(alert.alert_id)
        assert done is not None and done.status is AlertStatus.RESOLVED
        timeline = show_execution(
            stack.sfn, local.arns["RemediationStateMachine"], str(alert.execution_name)
        )["timeline"]
        said = "\n".join(f"{r['state']}: {r['facts']}" for r in timeline)
        assert "Runbook restart_service chosen" in said
        assert "clear_cache (expected 0." in said and "a break detected in its record" in said
        # ...and the verified fix is appended to restart_service's record.
        [record] = [
            r
            for r in stack.alerts.runbook_records(["restart_service"], "memory_usage")
            if (r.service, r.environment) == ("search", "production")
        ]
        assert len(record.outcomes) == 7 and record.outcomes[-1][1] is True
