"""Diagnostics are evidence, not fixes: they run before the remediation, their verdicts and
output reach the ticket once, and they never count as a launch, an automated alert, a
runaway-budget run or a verified fix."""

from __future__ import annotations

from typing import Any

import pytest

from opslink.automation_control import Control
from opslink.ingest import IngestDeps
from opslink.remediation import run_task
from opslink.remediation_models import JobState
from tests.unit.conftest import Clock
from tests.unit.fakes import FakePlatform, opened_alert, remediate_deps


@pytest.fixture
def world(deps: IngestDeps, clock: Clock) -> dict[str, Any]:
    platform = FakePlatform(clock)
    rdeps = remediate_deps(deps, platform, clock)
    alert = opened_alert(deps) | {"alert_type": "database_connection"}
    return {"alert": alert, "platform": platform, "rdeps": rdeps, "deps": deps}


def test_matching_diagnostics_run_first_and_report_once(
    world: dict[str, Any], clock: Clock
) -> None:
    world["platform"].stdout = "postgres connections: 480 of 500 (checkout-worker holds 312)"
    chosen = run_task({"action": "diagnose", "alert": world["alert"]}, world["rdeps"])
    assert chosen["runbook"] is None  # evidence first: selected once the diagnostics are in
    started = chosen["diagnostics"]
    launched = [r.runbook for r in world["platform"].launched]
    assert launched == ["check_connection_pool", "diagnostics"]  # specific first, then generic
    assert started["done"] is False and 1 <= started["wait_seconds"] <= 10
    clock.advance(seconds=10)
    still = run_task(
        {"action": "collect_diagnostics", "alert": world["alert"], "diagnostics": started},
        world["rdeps"],
    )["diagnostics"]
    assert still["done"] is False  # the jobs run
    world["platform"].state, world["platform"].exit_code = JobState.SUCCEEDED, 0
    clock.advance(seconds=10)
    selected = run_task(
        {"action": "collect_diagnostics", "alert": world["alert"], "diagnostics": still},
        world["rdeps"],
    )
    done = selected["diagnostics"]
    assert done["done"] is True
    assert selected["runbook"] is not None and selected["reason"]  # selected in the same task
    assert [(j["runbook"], j["verdict"]) for j in done["jobs"]] == [
        ("check_connection_pool", "passed"),
        ("diagnostics", "passed"),
    ]
    assert "checkout-worker holds 312" in done["jobs"][0]["output"]  # in the execution state
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    evidence = [c["text"] for c in ticket.comments if "Diagnostics for alert" in c["text"]]
    assert len(evidence) == 1 and "not a fix" in evidence[0]
    # Evidence only: no launch on record, no budget used, no fix counted.
    store, a = world["deps"].store, world["alert"]
    assert store.launched_jobs(a["alert_id"]) == []
    stats = store.runbook_stats(
        ["check_connection_pool", "diagnostics"], a["alert_type"], a["service"], a["environment"]
    )
    assert all(v == (0, 0) for v in stats.values())
    day = store.journal.kpi_counters(clock())
    assert day.get("all", {}).get("automated", 0) == 0 and day.get("all", {}).get("runs", 0) == 0


def _collected_past_the_deadline(world: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The alert's diagnostics started, then collected once their deadline has passed."""
    started = run_task({"action": "diagnose", "alert": world["alert"]}, world["rdeps"])[
        "diagnostics"
    ]
    clock.advance(seconds=started["deadline_seconds"] + 1)
    return dict(
        run_task(
            {"action": "collect_diagnostics", "alert": world["alert"], "diagnostics": started},
            world["rdeps"],
        )["diagnostics"]
    )


def test_a_diagnostic_past_the_deadline_is_cancelled(world: dict[str, Any], clock: Clock) -> None:
    done = _collected_past_the_deadline(world, clock)
    assert done["done"] is True
    assert {j["verdict"] for j in done["jobs"]} == {"timed out (cancelled)"}
    assert sorted(world["platform"].cancelled) == ["job-1", "job-2"]


def test_a_diagnostic_whose_cancel_is_refused_is_reported_not_a_failure(
    world: dict[str, Any], clock: Clock
) -> None:
    """A diagnostic that ended between its status and its cancel: the platform refuses
    the cancel (AWX 405). Evidence only, so the collection reports it and goes on — it
    failed the task (and sent the execution down its failure path) before."""
    from opslink.errors import JobPlatformRejected

    def refused(ref: Any) -> None:
        raise JobPlatformRejected(f"AWX: cancel job {ref.job_id}: answered 405: not allowed")

    world["platform"].cancel = refused
    done = _collected_past_the_deadline(world, clock)
    assert done["done"] is True
    assert all(j["verdict"].startswith("timed out (not cancelled: AWX") for j in done["jobs"])


def test_a_diagnostic_that_cannot_run_here_is_reported_as_skipped(
    world: dict[str, Any],
) -> None:
    alert = world["alert"] | {"dimensions": {"InstanceId": "*"}}  # no valid target
    chosen = run_task({"action": "diagnose", "alert": alert}, world["rdeps"])
    done = chosen["diagnostics"]
    assert done["done"] is True and done["jobs"] == []
    assert chosen["reason"]  # nothing to wait for: the selection was made in the same task
    assert [s.split(":")[0] for s in done["skipped"]] == ["check_connection_pool", "diagnostics"]
    assert world["platform"].launched == []


def test_no_diagnostics_while_automation_is_paused(world: dict[str, Any]) -> None:
    class Paused:
        def current(self, fresh: bool = False) -> Control:
            return Control(paused=True, reason="incident 4711")

    world["rdeps"].control = Paused()
    chosen = run_task({"action": "diagnose", "alert": world["alert"]}, world["rdeps"])
    assert chosen["diagnostics"] == {**chosen["diagnostics"], "done": True, "jobs": []}
    assert chosen["runbook"] is None and "incident 4711" in chosen["reason"]
    assert world["platform"].launched == []


def test_a_retried_diagnose_reuses_the_jobs_it_started(world: dict[str, Any]) -> None:
    """Step Functions may retry the task: no diagnostic is started twice (SSM would)."""
    first = run_task({"action": "diagnose", "alert": world["alert"]}, world["rdeps"])["diagnostics"]
    again = run_task({"action": "diagnose", "alert": world["alert"]}, world["rdeps"])["diagnostics"]
    assert len(world["platform"].launched) == 2  # check_connection_pool, diagnostics: once
    assert [j["job_id"] for j in again["jobs"]] == [j["job_id"] for j in first["jobs"]]
