"""Selection that learns faster (a break in a runbook's record is noticed; other services'
and environments' records are a shrunk prior) and polls placed from each runbook's own
duration history."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.ingest import IngestDeps
from opslink.learning import POOL_STRENGTH, Evidence, decayed, pooled_prior, week_of
from opslink.remediation import run_task
from opslink.remediation.catalog import load_catalog
from opslink.remediation.poll_schedule import MIN_HISTORY, expected, wait_after
from opslink.remediation.selection import Stats, eligible, rank
from tests.conftest import ROOT
from tests.unit.conftest import Clock
from tests.unit.fakes import FakePlatform, opened_alert, remediate_deps

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
THIS_WEEK = week_of(NOW)


def test_a_runbook_that_stopped_working_loses_its_old_record() -> None:
    history = {THIS_WEEK - w: (5, 0) for w in range(3, 8)}  # 25 fixes, weeks ago
    broke = history | {THIS_WEEK: (0, 4)}  # then 4 misses in a row this week
    assert decayed(broke, NOW) == Evidence(0, 4)
    steady = history | {THIS_WEEK: (2, 1)}  # an ordinary week: everything counts
    got = decayed(steady, NOW)
    assert got.fixes > 20 and got.misses == pytest.approx(1.0)


def test_old_weeks_weigh_less() -> None:
    old, new = decayed({THIS_WEEK - 52: (10, 0)}, NOW), decayed({THIS_WEEK - 2: (10, 0)}, NOW)
    assert 0 < old.fixes < new.fixes < 10


def test_the_pooled_prior_keeps_the_rate_and_caps_the_weight() -> None:
    prior = pooled_prior([Evidence(30, 10), Evidence(10, 0)])
    assert prior.runs == pytest.approx(POOL_STRENGTH)
    assert prior.fixes / prior.runs == pytest.approx(40 / 50)
    assert pooled_prior([]) == Evidence()


def test_a_new_context_starts_from_the_runbooks_record_elsewhere() -> None:
    """No evidence here: the runbook that fixes this alert type elsewhere goes first."""
    catalog = load_catalog(str(ROOT / "runbooks"))
    matches = eligible(catalog, "cpu_usage", "billing", "production")
    assert {rb.name for rb, _ in matches} == {"restart_service", "scale_up"}
    stats = {"scale_up": Stats(0, 0, 3.6, 0.4), "restart_service": Stats(0, 0, 0.8, 3.2)}
    rng = random.Random(1)
    picks = [rank(matches, stats, rng)[0].runbook.name for _ in range(300)]
    assert picks.count("scale_up") > 0.75 * len(picks)


def test_the_store_pools_other_contexts_and_keeps_its_own(deps: IngestDeps) -> None:
    store = deps.store
    for _ in range(8):  # scale_up fixes cpu_usage for search, in production
        store.record_runbook_outcome("scale_up", "cpu_usage", "search", "production", True, NOW)
    store.record_runbook_outcome("scale_up", "cpu_usage", "billing", "production", False, NOW)
    got = store.runbook_evidence(["scale_up"], "cpu_usage", "billing", "production", NOW)
    fixes, misses, prior_fixes, prior_misses = got["scale_up"]
    assert (fixes, misses) == (0, 1)
    assert prior_fixes == pytest.approx(POOL_STRENGTH) and prior_misses == 0


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
    assert rdeps.store.job_durations("fake", "restart_service") == [75.0] * MIN_HISTORY
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
    assert rdeps.store.job_durations("fake", "restart_service") == []
