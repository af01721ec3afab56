"""Alarms of member accounts are verified in their own account, through the member role
(moto keeps accounts apart by the account of the assumed role's credentials): found
there and not in the stack's account; a role that refuses the stack is one AssumeRole
call, a ConfigurationError the caller hands over on, and a fault record — never a storm."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from opslink.adapters.directory.alarm_state import CloudWatchAlarmState
from opslink.adapters.member_accounts import MemberAccountDenied, MemberSessions
from opslink.provenance import origin_problem

HOME, MEMBER, REGION = "123456789012", "210987654321", "eu-west-1"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _member_alarm(name: str) -> str:
    """An alarm created in the member account (through a role assumed there)."""
    sts = boto3.client("sts", region_name=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/setup",
                            RoleSessionName="setup")["Credentials"]  # fmt: skip
    cw = boto3.client("cloudwatch", region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"])  # fmt: skip
    cw.put_metric_alarm(AlarmName=name, MetricName="CPUUtilization", Namespace="AWS/EC2",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=90,
                        ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    return str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"])


def test_a_member_accounts_alarm_is_verified_in_its_own_account(aws: None) -> None:
    arn = _member_alarm("prod-web-cpu-high")
    assert f":{MEMBER}:" in arn
    calls: list[str] = []
    sts = boto3.client("sts", region_name=REGION)
    sts.meta.events.register("before-call.sts.AssumeRole", lambda **_: calls.append("assume"))
    members = MemberSessions("OpsLinkMemberRole", "ext-1", HOME, sts=sts)
    alarms = CloudWatchAlarmState(members=members)
    assert alarms.describe("prod-web-cpu-high", REGION, MEMBER) == (arn, "ALARM")
    assert alarms.describe("prod-web-cpu-high", REGION, HOME) is None  # not the stack's
    assert origin_problem("prod-web-cpu-high", arn, MEMBER, REGION, alarms,
                          frozenset({HOME, MEMBER}), firing=True) is None  # fmt: skip
    alarms.state("prod-web-cpu-high", REGION, MEMBER)
    assert calls == ["assume"]  # credentials kept per account until shortly before expiry


def test_a_role_that_refuses_the_stack_is_asked_once_recorded_and_handed_over() -> None:
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="x",
                       aws_secret_access_key="y")  # fmt: skip
    stub = Stubber(sts)
    stub.add_client_error("assume_role", service_error_code="AccessDenied",
                          service_message="not authorized to perform sts:AssumeRole")  # fmt: skip
    stub.activate()
    denied: list[tuple[str, str]] = []
    now = [1_000.0]
    members = MemberSessions("OpsLinkMemberRole", "ext-1", HOME, sts=sts,
                             on_denied=lambda a, e: denied.append((a, str(e))),
                             clock=lambda: now[0])  # fmt: skip
    alarms = CloudWatchAlarmState(members=members)
    for _ in range(5):  # a burst of alarms from that account
        with pytest.raises(MemberAccountDenied, match=f"cannot act in account {MEMBER}"):
            alarms.describe("prod-web-cpu-high", REGION, MEMBER)
    assert len(denied) == 1 and denied[0][0] == MEMBER  # one call, one fault
    stub.assert_no_pending_responses()
    why = origin_problem("prod-web-cpu-high", "", MEMBER, REGION, alarms,
                         frozenset({HOME, MEMBER}))  # fmt: skip
    assert why is not None and "AssumeRole denied" in why and "unverified origin" in why


def test_the_stacks_own_account_never_assumes_a_role(aws: None) -> None:
    class NoSts:
        def assume_role(self, **_: Any) -> Any:
            raise AssertionError("the stack's own account assumed a role")

    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName="own", MetricName="m", Namespace="n", Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    alarms = CloudWatchAlarmState(members=MemberSessions("R", "x", HOME, sts=NoSts()))
    assert alarms.describe("own", REGION, HOME) is not None
    assert alarms.describe("own", REGION, "") is not None


def test_a_verified_member_alarm_runs_only_where_the_stack_can_reach_it(aws: None) -> None:
    """A member account's alarm, proven real in its account, gets a job only when the
    stack can act there (its member role, on SSM); else it is handed over, saying why."""
    from datetime import UTC, datetime

    from opslink.models import Severity
    from opslink.provenance import Reach, provenance_problem
    from opslink.remediation_input import RemediationInput

    arn = _member_alarm("prod-web-cpu-high")
    alarms = CloudWatchAlarmState(members=MemberSessions("OpsLinkMemberRole", "ext-1", HOME))
    alert = RemediationInput(
        alert_id="A-1", ticket_id="T-1", alarm_name="prod-web-cpu-high", alarm_arn=arn,
        account_id=MEMBER, region=REGION, service="web", environment="production",
        alert_type="cpu_usage", severity=Severity.HIGH, notification={},
        triggered_at=datetime(2026, 12, 6, tzinfo=UTC),
    )  # fmt: skip
    allowed = frozenset({HOME, MEMBER})
    assert provenance_problem(alert, alarms, allowed, Reach(HOME)) is None
    cut_off = Reach(HOME, members="the awx job platform runs jobs in this stack's own account")
    why = provenance_problem(alert, alarms, allowed, cut_off)
    assert why is not None and f"alarm of account {MEMBER} (verified there): the awx" in why
    home_alarm = alert.model_copy(update={"account_id": HOME})
    assert "does not exist in CloudWatch" in (provenance_problem(home_alarm, alarms, allowed,
                                                                 Reach(HOME)) or "")  # fmt: skip
