"""The demo as a whole-system check: a demo-sized run on the emulator never leaves an
open ticket for a resolved alert, every alert has exactly one ticket, the counters count
what exists, and it shows verified fixes, an approval and a rejection."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from opslink.models import AlertStatus, TicketStatus
from opslink_cli.demo import (
    MEMBER_ACCOUNT,
    MEMBER_ALARM,
    MEMBER_REGION,
    demo_stack,
    problems,
    scenario,
)
from opslink_cli.emulator import LocalStack
from opslink_cli.emulator.accounts import account_client

pytestmark = pytest.mark.e2e


def test_demo_run_keeps_one_alert_one_truth(tmp_path: Path) -> None:
    log = io.StringIO()
    with demo_stack(tmp_path / "lambda.log") as (stack, slack):
        run = scenario(stack, lambda text: log.write(text + "\n"), slack)
        jobs = {a.alarm_name: stack.alert_store().launched_jobs(a.alert_id) for a in run.alerts}
        groups = account_client("autoscaling", MEMBER_REGION, MEMBER_ACCOUNT)
        theirs = {i["InstanceId"] for g in groups.describe_auto_scaling_groups()[
            "AutoScalingGroups"] for i in g["Instances"]}  # fmt: skip
    tickets = {t.id: t for t in run.tickets}
    still_firing = {a.incident_id for a in run.alerts if a.status is AlertStatus.OPEN}
    for alert in run.alerts:
        ticket = tickets[alert.ticket_id or ""]
        # The payments-db alarm joins checkout's incident (checkout depends on it): one ticket.
        assert ticket.alert_id == alert.alert_id or alert.incident_role == "joined"
        if alert.status is AlertStatus.RESOLVED and alert.incident_id not in still_firing:
            assert ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED), alert.alarm_name
    joined = [a for a in run.alerts if a.incident_role == "joined"]
    assert [a.alarm_name for a in joined] == ["prod-payments-db-connection-pool"]
    assert joined[0].execution_name  # the incident's root: its own remediation
    assert len(run.tickets) == len(run.alerts) - 1 == run.counters["tickets"]
    assert sum(1 for e in run.executions if e["outcome"] == "Remediated") >= 3
    assert any(r == "approval rejected" for r in (e["reason"] for e in run.executions))
    # the member account's alarm: fixed there, on that account's group, through its role
    member = next(a for a in run.alerts if a.alarm_name == MEMBER_ALARM)
    assert (member.account_id, member.region) == (MEMBER_ACCOUNT, MEMBER_REGION)
    assert member.status is AlertStatus.RESOLVED, [n["text"][:300] for n in member.notes]
    assert member.resolution["by"] == "automation"
    ran_on = {h for job in jobs[MEMBER_ALARM] for h in job.hosts}
    assert ran_on and ran_on <= theirs  # hosts read in the member account, run there
    where = tickets[member.ticket_id or ""].description
    assert f"{MEMBER_ACCOUNT} (shipping-prod) / {MEMBER_REGION}" in where
    assert f"switchrole?account={MEMBER_ACCOUNT}&roleName=OnCallReadOnly" in where
    assert f"member account {MEMBER_ACCOUNT}" in log.getvalue()
    # the KPI report slices the member account's alarms out: the rest is this account's
    places = {(p.account, p.region): p.kpis for p in run.report.places}
    assert places[(MEMBER_ACCOUNT, MEMBER_REGION)].alerts == 1
    assert places[(MEMBER_ACCOUNT, MEMBER_REGION)].automation_rate == 100.0
    assert places[("", "")].alerts == len(run.alerts) - 1
    assert problems(run) == []
    # one approval was a click in the local Slack workspace: posted there, signed back
    assert "dana clicks Approve" in log.getvalue()
    [posted] = [m for m in slack.messages if run.slack_approved in json.dumps(m["blocks"])]
    assert posted["channel"] == "#ops" and posted["text"].startswith("Approval needed: runbook")
    clicked = next(a for a in run.alerts if a.execution_name == run.slack_approved)
    assert clicked.status is AlertStatus.RESOLVED and clicked.resolution["by"] == "automation"
    comments = " ".join(c["text"] for c in tickets[clicked.ticket_id or ""].comments)
    assert "Approved by dana@example.com from Slack (dana)" in comments


def test_the_demo_state_is_kept_and_reopened(tmp_path: Path) -> None:
    """What the demo leaves is saved on disk and a fresh local stack reopens it: alerts,
    tickets, the audit trail, and each execution's timeline (which the emulator itself
    can no longer replay)."""
    from opslink_cli.executions import list_executions, show_execution
    from opslink_cli.kept_state import KeptExecutions, restore, save

    with LocalStack(mirror_alarms=True, log_path=tmp_path / "lambda.log") as stack:
        run = scenario(stack, lambda text: None)
        folder = save(stack, tmp_path / "state")
    with LocalStack(log_path=tmp_path / "again.log") as fresh:
        counts = restore(fresh, folder)
        assert counts["executions"] == len(run.executions) and counts["TicketsTable"] == len(
            run.tickets
        )
        store = fresh.alert_store()
        assert {a.alert_id for a in store.list_alerts(limit=100)} == {
            a.alert_id for a in run.alerts
        }
        sfn = KeptExecutions(fresh.client("stepfunctions"), fresh.client("dynamodb"))
        machine = fresh.arns["RemediationStateMachine"]
        listed = list_executions(sfn, machine, 50)
        assert sorted(e["execution"] for e in listed) == sorted(
            e["execution"] for e in run.executions
        )
        name = next(e["execution"] for e in run.executions if e["outcome"] == "Remediated")
        shown = show_execution(sfn, machine, name)
        assert shown["outcome"] == "Remediated" and shown["timeline"]
        with pytest.raises(Exception, match=r"ExecutionDoesNotExist|does not exist"):
            show_execution(sfn, machine, "remediate-A-nope")
