"""The fallback ladder's decisions, task by task: the next untried unattended runbook; a
stop when a human resolved the alert or the alarm is back to OK; the end when the
attempts, the candidates or the budget run out; each attempt's outcome counted once; one
hand-over listing every attempt."""

from __future__ import annotations

from typing import Any

import pytest

from opslink.errors import AutomationBudgetExhausted
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.models import TicketStatus
from opslink.remediation import run_task
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import FakeAlarms, FakePlatform, remediate_deps


def selection(name: str) -> dict[str, Any]:
    return {"runbook": {"name": name, "tier": "alert_type", "timeout_seconds": 300}}


@pytest.fixture
def world(deps: IngestDeps, clock: Clock) -> dict[str, Any]:
    platform = FakePlatform(clock)
    rdeps = remediate_deps(deps, platform, clock)
    rdeps.alarms = FakeAlarms("ALARM")  # the runbook did not fix it
    # An instance of an Auto Scaling group: restart_service and scale_up can both run.
    event = samples.sns_event(
        samples.metric_alarm(
            "prod-checkout-api-cpu-high",
            samples.T0,
            dimensions={
                "InstanceId": "i-0123456789abcdef0",
                "AutoScalingGroupName": "checkout-asg",
            },
        )
    )
    [result] = ingest_event(event, deps, IngestPolicy())
    alert = dict(deps.workflow.started[result.execution_name])  # type: ignore[attr-defined]
    return {"alert": alert, "platform": platform, "rdeps": rdeps, "deps": deps}


def _attempt(
    w: dict[str, Any], runbook: str, ladder: dict[str, Any], kind: str = "not_fixed"
) -> dict[str, Any]:
    """Launch `runbook`, then ask the ladder what next (as the state machine does)."""
    launched = run_task(
        {"action": "launch", "alert": w["alert"], "selection": selection(runbook)}, w["rdeps"]
    )
    return run_task(
        {
            "action": "next_attempt",
            "alert": w["alert"],
            "job": launched["job"],
            "selection": selection(runbook),
            "escalation": {"kind": kind, "detail": "ALARM"},
            "ladder": ladder,
        },
        w["rdeps"],
    )


def _stats(w: dict[str, Any], runbook: str) -> tuple[int, int]:
    a = w["alert"]
    got = w["deps"].store.runbook_stats([runbook], a["alert_type"], a["service"], a["environment"])
    return got.get(runbook, (0, 0))


def test_a_runbook_that_did_not_fix_is_followed_by_the_next_untried_one(
    world: dict[str, Any],
) -> None:
    out = _attempt(world, "restart_service", {"attempts": []})
    assert out["next"] is True and out["stop"] == ""
    assert out["selection"]["runbook"]["name"] == "scale_up"  # cpu_usage's other runbook
    assert [(a["runbook"], a["outcome"]) for a in out["attempts"]] == [
        ("restart_service", "not_fixed")
    ]
    assert _stats(world, "restart_service") == (0, 1)  # its own outcome, for learning
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    assert any("attempt 2 of 2" in c["text"] for c in ticket.comments)


def test_a_retried_ladder_step_counts_the_outcome_once(world: dict[str, Any]) -> None:
    launched = run_task(
        {"action": "launch", "alert": world["alert"], "selection": selection("restart_service")},
        world["rdeps"],
    )
    step = {
        "action": "next_attempt",
        "alert": world["alert"],
        "job": launched["job"],
        "escalation": {"kind": "failed"},
        "ladder": {"attempts": []},
    }
    first = run_task(step, world["rdeps"])
    again = run_task(step, world["rdeps"])  # Step Functions retried the task
    assert first == again
    assert _stats(world, "restart_service") == (0, 1)


def test_the_ladder_ends_after_max_attempts_without_a_third_runbook(
    world: dict[str, Any],
) -> None:
    first = _attempt(world, "restart_service", {"attempts": []})
    second = _attempt(world, "scale_up", first)
    assert second["next"] is False and second["stop"] == ""
    assert second["reason"] == "2 of 2 attempts used"
    assert [a["runbook"] for a in second["attempts"]] == ["restart_service", "scale_up"]
    assert len(world["platform"].launched) == 2


def test_no_other_candidate_ends_the_ladder(world: dict[str, Any]) -> None:
    world["rdeps"].max_attempts_per_episode = 5
    first = _attempt(world, "restart_service", {"attempts": []})
    second = _attempt(world, "scale_up", first)
    assert second["next"] is False
    assert second["reason"] == "no other unattended runbook matches this alert"


def test_a_human_resolving_the_alert_stops_the_ladder(world: dict[str, Any]) -> None:
    ticket_id = world["alert"]["ticket_id"]
    world["deps"].tickets.set_status(ticket_id, TicketStatus.RESOLVED, note="fixed by hand")
    alert = world["deps"].store.get(world["alert"]["alert_id"])
    world["deps"].store.resolve(
        alert, {"by": "dana", "how": "ticket closed"}, world["rdeps"].clock()
    )
    out = _attempt(world, "restart_service", {"attempts": []})
    assert out["next"] is False and out["stop"] == "resolved"
    assert "dana" in out["reason"]
    assert len(world["platform"].launched) == 1  # nothing more ran


def test_an_alarm_back_to_ok_between_attempts_stops_the_ladder(world: dict[str, Any]) -> None:
    world["rdeps"].alarms = FakeAlarms("OK")
    out = _attempt(world, "restart_service", {"attempts": []}, kind="failed")
    assert out["next"] is False and out["stop"] == "alarm_ok"


def test_the_next_attempt_is_refused_when_the_budget_is_used_up(world: dict[str, Any]) -> None:
    world["rdeps"].runs_per_resource_hour = 1  # this host may take one automated run
    out = _attempt(world, "restart_service", {"attempts": []})
    assert out["next"] is True
    with pytest.raises(AutomationBudgetExhausted):
        run_task(
            {"action": "launch", "alert": world["alert"], "selection": out["selection"]},
            world["rdeps"],
        )
    assert len(world["platform"].launched) == 1


def test_one_hand_over_lists_every_attempt_with_its_output(world: dict[str, Any]) -> None:
    world["platform"].stdout = "restarted checkout, load still 97%"
    first = _attempt(world, "restart_service", {"attempts": []})
    world["platform"].stdout = "scaled to 6 instances, load still 95%"
    launched = run_task(
        {"action": "launch", "alert": world["alert"], "selection": first["selection"]},
        world["rdeps"],
    )
    step = {
        "alert": world["alert"],
        "job": launched["job"],
        "selection": first["selection"],
        "escalation": {"kind": "not_fixed", "detail": "ALARM"},
    }
    last = run_task({"action": "next_attempt", **step, "ladder": first}, world["rdeps"])
    assert last["next"] is False
    out = run_task({"action": "escalate", **step, "ladder": last}, world["rdeps"])
    assert out["handed_over"] is True
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    handovers = [c["text"] for c in ticket.comments if "could not fix" in c["text"]]
    assert len(handovers) == 1
    assert "Earlier attempts in this episode (1)" in handovers[0]
    assert "**restart_service**: the job succeeded but the alarm still fired" in handovers[0]
    assert "load still 97%" in handovers[0] and "load still 95%" in handovers[0]
    assert _stats(world, "scale_up") == (0, 1) and _stats(world, "restart_service") == (0, 1)
