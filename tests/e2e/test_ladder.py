"""The fallback ladder through the real ASL on the emulator, with the simulated host and
CloudWatch: a first runbook that does not fix (dropping caches does not bring memory
down), a second that does (restarting the service), and one hand-over, listing both,
only when both fail. Diagnostics run first and are reported, never counted as a fix."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from opslink.models import AlertStatus, TicketStatus
from opslink_cli import samples
from opslink_cli.emulator import LocalStack
from tests.conftest import ROOT
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
ALARM = "prod-search-memory-critical"


def _catalog(tmp_path: Path, second_fixes: bool) -> Path:
    """The shipped catalog, with clear_cache the exact match for search's memory alarms
    (so it is tried first) and restart_service the next candidate."""
    catalog = tmp_path / "runbooks"
    shutil.copytree(ROOT / "runbooks", catalog)
    clear = catalog / "clear_cache.yaml"
    clear.write_text(
        clear.read_text().replace("tags: [memory_usage]", "tags: [memory_usage_search]")
    )
    if not second_fixes:  # restart_service reports success and changes nothing
        (catalog / "scripts" / "restart_service.sh").write_text("#!/bin/bash\necho checked\n")
    return catalog


def _stack(tmp_path: Path, catalog: Path) -> Iterator[Stack]:
    overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(catalog)}}
    with LocalStack(
        log_path=tmp_path / "lambda.log", env_overrides=overrides, mirror_alarms=True
    ) as local:
        yield Stack(local)


def _run(stack: Stack) -> tuple[object, list[str]]:
    stack.local.publish_alarm(samples.metric_alarm(ALARM, samples.T0, metric="mem_used_percent",
                                                   namespace="CWAgent",
                                                   dimensions={"InstanceId": "i-0123456789abcdef0"}))  # fmt: skip
    [alert] = stack.alerts.list_alerts()
    statuses = stack.local.wait_for_executions([alert.execution_name], timeout=120)
    assert statuses[alert.execution_name] == "SUCCEEDED"
    return stack.alerts.get(alert.alert_id), stack.states_entered(alert.execution_name)


def test_a_second_runbook_fixes_what_the_first_did_not(tmp_path: Path) -> None:
    for stack in _stack(tmp_path, _catalog(tmp_path, second_fixes=True)):
        alert, states = _run(stack)
        assert alert is not None and alert.service == "search"
        assert states.count("LaunchJob") == 2 and states.count("NextAttempt") == 1
        assert states[-1] == "VerifyFix" and "Escalate" not in states
        assert alert.status is AlertStatus.RESOLVED
        assert alert.resolution["runbook"] == "restart_service"
        ticket = stack.tickets.get(alert.ticket_id)
        assert ticket.status is TicketStatus.RESOLVED
        texts = [c["text"] for c in ticket.comments]
        assert not any("could not fix" in t for t in texts)  # no hand-over
        assert sum("Trying the next runbook" in t for t in texts) == 1
        assert sum("Diagnostics for alert" in t for t in texts) == 1
        got = stack.alerts.runbook_stats(
            ["clear_cache", "restart_service", "diagnostics"],
            alert.alert_type,
            alert.service,
            alert.environment,
        )
        # each attempt is its own outcome; the diagnostic is no outcome at all
        assert got.get("clear_cache") == (0, 1) and got.get("restart_service") == (1, 0)
        assert got.get("diagnostics", (0, 0)) == (0, 0)
        assert [j.runbook for j in stack.alerts.launched_jobs(alert.alert_id)] == [
            "clear_cache",
            "restart_service",
        ]
        # The executions timeline tells it all: evidence, each rung, polls, learning.
        from opslink_cli.executions import show_execution

        doc = show_execution(
            stack.sfn, stack.local.arns["RemediationStateMachine"], str(alert.execution_name)
        )
        facts = [(r["state"], r["facts"]) for r in doc["timeline"]]
        said = "\n".join(f"{state}: {fact}" for state, fact in facts)
        assert "diagnostics: passed" in said
        assert (
            "NextAttempt: learning: clear_cache recorded a miss (not_fixed); next attempt: restart_service"
            in said
        )
        assert "woken by the job's end event" in said  # the launch says how it waits
        # Woken by the job's end event, or — a job that ended before its wait registered,
        # as under load — by the registration's own look (tests/e2e/test_job_events.py
        # gates the job to test each path).
        assert "AwaitJob: job succeeded after" in said
        assert "woken by opslink.jobs" in said or "woken by registration" in said
        assert "VerifyFix: alarm is OK; learning: restart_service recorded a verified fix" in said


def test_one_hand_over_when_both_runbooks_fail(tmp_path: Path) -> None:
    for stack in _stack(tmp_path, _catalog(tmp_path, second_fixes=False)):
        alert, states = _run(stack)
        assert states.count("LaunchJob") == 2 and states.count("Escalate") == 1
        assert states[-1] == "HandedToHumans"
        assert alert.status is AlertStatus.OPEN
        ticket = stack.tickets.get(alert.ticket_id)
        handovers = [c["text"] for c in ticket.comments if "could not fix" in c["text"]]
        assert len(handovers) == 1
        assert "Earlier attempts in this episode (1)" in handovers[0]
        assert "**clear_cache**" in handovers[0] and "restart_service" in handovers[0]
