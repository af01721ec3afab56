"""One OpsLink for two accounts, on the emulator: an alarm of member account B in region
us-west-2 gets its ticket in the central ticket system; its hosts are read, its runbook
run and its fix verified in B and us-west-2 through the member role — the stack's own
account (123456789012, us-east-1) holds none of it. moto keeps the accounts apart by the
credentials' account, so a read made with the stack's own credentials could not see B."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opslink.models import AlertStatus
from opslink_cli import samples
from opslink_cli.demo import DEMO_PARAMETERS
from opslink_cli.emulator import LocalStack
from opslink_cli.emulator.accounts import account_client
from opslink_cli.emulator.deploy import ACCOUNT, REGION
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
MEMBER, MEMBER_REGION = "210987654321", "us-west-2"
NAME, GROUP = "prod-checkout-api-cpu-high", "checkout-api-asg"
PARAMETERS = DEMO_PARAMETERS  # MemberRoleName, its ExternalId, the member account allowed


def _member_alarm(state: str = "ALARM") -> dict[str, object]:
    message = samples.metric_alarm(NAME, samples.T0, state=state,
                                   dimensions={"AutoScalingGroupName": GROUP})  # fmt: skip
    message |= {"AWSAccountId": MEMBER, "Region": "US West (Oregon)",
                "AlarmArn": f"arn:aws:cloudwatch:{MEMBER_REGION}:{MEMBER}:alarm:{NAME}"}  # fmt: skip
    return message


def test_an_alarm_of_a_member_account_is_fixed_in_that_account(tmp_path: Path) -> None:
    with LocalStack(mirror_alarms=True, log_path=tmp_path / "lambda.log",
                    parameters=PARAMETERS) as local:  # fmt: skip
        stack = Stack(local)
        local.publish_alarm(_member_alarm())
        [alert] = stack.alerts.list_alerts()
        assert (alert.account_id, alert.region) == (MEMBER, MEMBER_REGION)
        status = local.wait_for_executions([alert.execution_name], timeout=120)
        assert status[alert.execution_name] == "SUCCEEDED"
        done = stack.alerts.get(alert.alert_id)
        assert done is not None and done.status is AlertStatus.RESOLVED, done.notes[-3:]
        assert done.resolution["by"] == "automation"
        # the hosts the runbook ran on are B's group's, read in B and us-west-2
        theirs = account_client("autoscaling", MEMBER_REGION, MEMBER).describe_auto_scaling_groups(
            AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]  # fmt: skip
        their_hosts = sorted(i["InstanceId"] for g in theirs for i in g["Instances"])
        jobs = local.alert_store().launched_jobs(alert.alert_id)  # the canary, then a batch
        assert their_hosts and all(job.hosts == their_hosts for job in jobs)
        assert sorted(h for job in jobs for h in job.targets["InstanceId"]) == their_hosts
        assert f"Auto Scaling group {GROUP}" in jobs[0].host_source
        for region in (REGION, MEMBER_REGION):  # none of it exists in the stack's account
            ours = account_client("autoscaling", region).describe_auto_scaling_groups(
                AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]  # fmt: skip
            assert ours == []
            assert account_client("cloudwatch", region).describe_alarms(
                AlarmNames=[NAME])["MetricAlarms"] == []  # fmt: skip
        # the fix was verified in B's CloudWatch, where the alarm is back to OK
        [alarm] = account_client("cloudwatch", MEMBER_REGION, MEMBER).describe_alarms(
            AlarmNames=[NAME])["MetricAlarms"]  # fmt: skip
        assert alarm["StateValue"] == "OK"
        ticket = stack.tickets.get(done.ticket_id or "")
        assert ticket is not None and MEMBER in ticket.description
        assert MEMBER_REGION in ticket.description
        assert ACCOUNT not in ticket.description  # the ticket says where, and only that


def test_without_a_member_role_a_member_alarm_is_handed_over_untouched(tmp_path: Path) -> None:
    params = {k: v for k, v in PARAMETERS.items() if not k.startswith("Member")}
    with LocalStack(mirror_alarms=True, log_path=tmp_path / "lambda.log",
                    parameters=params) as local:  # fmt: skip
        stack = Stack(local)
        local.publish_alarm(_member_alarm())
        [alert] = stack.alerts.list_alerts()
        local.wait_for_executions([alert.execution_name], timeout=120)
        done = stack.alerts.get(alert.alert_id)
        assert done is not None and local.alert_store().launched_jobs(alert.alert_id) == []
        ticket = stack.tickets.get(done.ticket_id or "")
        assert ticket is not None
        said = " ".join(c["text"] for c in ticket.comments) + ticket.description
        assert "unverified origin" in said or "MemberRoleName is not set" in said, said[-600:]


def _forwarder_rules(region: str, bus_arn: str) -> None:
    """What forwarder.yaml makes in the member account (its two named rules)."""
    events = account_client("events", region, MEMBER)
    for rule, pattern in (
        ("opslink-forward-alarms", {"source": ["aws.cloudwatch"]}),
        ("opslink-forward-run-command-ends", {"source": ["aws.ssm"]}),
    ):
        events.put_rule(Name=rule, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=rule, Targets=[{"Id": "opslink-central-bus", "Arn": bus_arn}])


def test_doctor_checks_a_member_account_through_the_remediation_role(tmp_path: Path) -> None:
    """`opslink doctor --member-account`: the remediation function itself enters the
    account and reads what a remediation reads there; each missing piece is one failed
    check that says what to deploy."""
    from opslink_cli.doctor_members import invoke_check, member_rows

    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/opslink-alarms"
    with LocalStack(log_path=tmp_path / "lambda.log", parameters=PARAMETERS) as local:
        probe = invoke_check(local.client("lambda"), local.names["RemediateFunction"])
        assert probe is not None
        before = {r["check"]: r for r in member_rows(probe, [MEMBER], [MEMBER_REGION])}
        assert before[f"member role (account {MEMBER}, {MEMBER_REGION})"]["status"] == "pass"
        missing = [c for c, r in before.items() if r["status"] == "fail"]
        assert [c.split(" (")[0] for c in missing] == [
            "forwarder rule opslink-forward-alarms", "forwarder rule opslink-forward-run-command-ends"]  # fmt: skip
        assert "deploy forwarder.yaml in us-west-2" in before[missing[0]]["fix"]
        _forwarder_rules(MEMBER_REGION, bus)
        after = member_rows(probe, [MEMBER], [MEMBER_REGION])
        assert [r for r in after if r["status"] != "pass"] == []
        assert {r["check"].split(" (")[0] for r in after} >= {
            "verify alarms", "resolve hosts", "resolve groups", "follow Run Command"}  # fmt: skip
        account_client("events", MEMBER_REGION, MEMBER).disable_rule(Name="opslink-forward-alarms")
        [off] = [r for r in member_rows(probe, [MEMBER], [MEMBER_REGION]) if r["status"] == "fail"]
        assert "RuleDisabled" in off["evidence"]
        home = {r["status"] for r in member_rows(probe, [ACCOUNT], [REGION])}
        assert home == {"fail"}  # the stack's own account is no member
    without = {k: v for k, v in PARAMETERS.items() if not k.startswith("Member")}
    with LocalStack(log_path=tmp_path / "again.log", parameters=without) as local:
        probe = invoke_check(local.client("lambda"), local.names["RemediateFunction"])
        [row] = member_rows(probe, [MEMBER], [MEMBER_REGION])
        assert row["status"] == "fail" and "MemberRoleName is not set" in row["evidence"]
    assert member_rows(None, [MEMBER], [MEMBER_REGION])[0]["status"] == "warn"  # --local
