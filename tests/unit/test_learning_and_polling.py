"""Polls placed from each runbook's own duration history (selection's learning:
test_learning.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.ingest import IngestDeps
from opslink.remediation import run_task
from opslink.remediation.poll_schedule import MIN_HISTORY, expected, wait_after
from tests.unit.conftest import Clock
from tests.unit.fakes import FakePlatform, opened_alert, remediate_deps

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_polls_are_placed_from_the_duration_history() -> None:
    assert expected([120.0] * (MIN_HISTORY - 1)) is None  # too little history: today's rule
    plan = expected([110, 115, 118, 120, 121, 124, 130, 135])
    assert plan is not None and plan.tolerance == 15
    first = wait_after(0, 0, plan, 15, 900, 600)
    assert plan.low - 1 <= first <= plan.low + 1  # just before it usually ends
    assert wait_after(first, 1, plan, 15, 900, 600) == 15  # then densely around it
    assert wait_after(400, 5, plan, 15, 900, 600) == 400  # overdue: backing off...
    assert wait_after(400, 5, plan, 15, 900, 100) == 100  # ...never past the timeout
    assert wait_after(0, 0, None, 15, 900, 600) == 15  # no history: PollBaseSeconds
    long_job = expected([1750, 1780, 1800, 1810, 1830, 1850])
    assert long_job is not None and long_job.tolerance == pytest.approx(180.5)


def test_the_poll_task_learns_durations_and_plans_the_next_run(
    deps: IngestDeps, clock: Clock
) -> None:
    platform = FakePlatform(clock)
    rdeps = remediate_deps(deps, platform, clock)
    rdeps.runs_per_service_hour = rdeps.runs_per_resource_hour = 100
    selection = {"runbook": {"name": "restart_service", "tier": "alert_type"}}
    for i in range(MIN_HISTORY):
        alert = opened_alert(deps, f"prod-checkout-api-cpu-high-{i}")
        platform.state = platform.state.RUNNING
        launched: dict[str, Any] = run_task(
            {"action": "launch", "alert": alert, "selection": selection}, rdeps
        )
        assert launched["poll"]["plan"] is None  # no history yet
        clock.advance(seconds=60)
        first = run_task({"action": "poll", "alert": alert, **launched}, rdeps)["poll"]
        platform.state, platform.exit_code = platform.state.SUCCEEDED, 0
        # It ended 15 s after the first poll; polls alone would say "somewhere in 60-120 s".
        platform.ran_for = 75.0
        clock.advance(seconds=60)
        run_task({"action": "poll", "alert": alert, "job": launched["job"], "poll": first}, rdeps)
    assert rdeps.durations.job_durations("fake", "restart_service") == [75.0] * MIN_HISTORY
    alert = opened_alert(deps, "prod-checkout-api-cpu-high-next")
    launched = run_task({"action": "launch", "alert": alert, "selection": selection}, rdeps)
    assert launched["poll"]["plan"]["typical"] == 75.0
    assert launched["poll"]["wait_seconds"] == 75  # first poll where it usually ends
    assert "from 5 past runs" in launched["poll"]["schedule"]
    assert timedelta(seconds=launched["poll"]["wait_seconds"]) < timedelta(minutes=2)


def test_a_platform_that_does_not_time_its_jobs_teaches_nothing(
    deps: IngestDeps, clock: Clock
) -> None:
    """Poll times only bound when a job ended: without the platform's own times nothing
    is recorded, rather than a guess the schedule would then trust."""
    platform = FakePlatform(clock)
    rdeps = remediate_deps(deps, platform, clock)
    alert = opened_alert(deps)
    selection = {"runbook": {"name": "restart_service", "tier": "alert_type"}}
    launched = run_task({"action": "launch", "alert": alert, "selection": selection}, rdeps)
    platform.state, platform.exit_code = platform.state.SUCCEEDED, 0
    clock.advance(seconds=40)
    done = run_task({"action": "poll", "alert": alert, **launched}, rdeps)["poll"]
    assert done["state"] == "succeeded"
    assert rdeps.durations.job_durations("fake", "restart_service") == []
