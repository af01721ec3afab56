"""A member account's alarm is remediated in that account and the alarm's region: its
hosts are read there and its Run Command is sent, followed and cancelled there, through
the member role — on moto, which keeps accounts apart by the credentials' account. The
stack's own credentials never touch a member account's hosts, and without a member role
(or on a job platform that cannot reach it) the alarm is handed over, saying why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from opslink.adapters.directory.alarm_state import CloudWatchAlarmState
from opslink.adapters.directory.ec2_hosts import Ec2HostDirectory
from opslink.adapters.jobs.ssm import SsmRunCommandPlatform
from opslink.adapters.member_accounts import MemberSessions
from opslink.errors import ConfigurationError, JobPlatformRejected
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.provenance import Reach, provenance_problem
from opslink.remediation import run_task
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import JobRequest
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import opened_alert, remediate_deps

HOME, MEMBER, REGION, HOME_REGION = "123456789012", "210987654321", "eu-west-1", "us-east-1"
GROUP = "checkout-web-asg"
RESTART = {
    "runbook": {"name": "restart_service", "tier": "alert_type", "timeout_seconds": 300},
    "approval": False,
    "reason": "test",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", HOME_REGION)
    with mock_aws():
        yield


def _in(account: str, service: str, region: str = REGION) -> Any:
    """A client acting as `account` (the stack's own: its default credentials)."""
    if account == HOME:
        return boto3.client(service, region_name=region)
    creds = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])  # fmt: skip


def _group(account: str, region: str, size: int) -> list[str]:
    """An Auto Scaling group named GROUP in that account and region, `size` InService."""
    _in(account, "ec2", region).create_launch_template(
        LaunchTemplateName="web", LaunchTemplateData={"ImageId": "ami-0e0e0e0e0e0e0e0e0"}
    )
    asg = _in(account, "autoscaling", region)
    asg.create_auto_scaling_group(AutoScalingGroupName=GROUP, MinSize=size, MaxSize=size,
                                  DesiredCapacity=size, LaunchTemplate={"LaunchTemplateName": "web"},
                                  AvailabilityZones=[f"{region}a"])  # fmt: skip
    groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]
    return sorted(i["InstanceId"] for i in groups[0]["Instances"])


def _alarm(account: str, name: str, state: str = "ALARM") -> str:
    cw = _in(account, "cloudwatch")
    cw.put_metric_alarm(AlarmName=name, MetricName="CPUUtilization", Namespace="AWS/EC2",
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=90,
                        ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
    return str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"])


def _commands(account: str, region: str = REGION) -> list[dict[str, Any]]:
    return list(_in(account, "ssm", region).list_commands()["Commands"])


def _member_world(deps: IngestDeps, clock: Clock) -> tuple[Any, dict[str, Any]]:
    members = MemberSessions("OpsLinkMemberRole", "ext-1", HOME)
    platform = SsmRunCommandPlatform(members=members)
    rdeps = remediate_deps(deps, platform, clock)  # type: ignore[arg-type]
    rdeps.alarms = CloudWatchAlarmState(members=members)
    rdeps.hosts = Ec2HostDirectory(members=members)
    rdeps.allowed_accounts = frozenset({HOME, MEMBER})
    rdeps.reach = Reach(HOME)
    name = "prod-checkout-api-cpu-high"
    alert = opened_alert(deps, name) | {
        "account_id": MEMBER, "region": REGION, "alarm_arn": _alarm(MEMBER, name),
        "dimensions": {"AutoScalingGroupName": GROUP},
    }  # fmt: skip
    return rdeps, alert


def test_a_member_accounts_alarm_is_remediated_in_its_own_account_and_region(
    aws: None, deps: IngestDeps, clock: Clock
) -> None:
    theirs = _group(MEMBER, REGION, 3)
    ours = _group(HOME, HOME_REGION, 3)  # a group of the same name in the stack's account
    rdeps, alert = _member_world(deps, clock)
    chosen = run_task({"action": "select", "alert": alert}, rdeps)
    assert chosen["runbook"] is not None, chosen["reason"]
    launch = run_task({"action": "launch", "alert": alert, "selection": RESTART}, rdeps)
    assert launch["job"]["hosts"] == theirs and not set(ours) & set(launch["job"]["hosts"])
    assert launch["job"]["targets"] == {"InstanceId": theirs[:1]}  # the canary
    [sent] = _commands(MEMBER)  # (moto lists the account's instances, never ours)
    assert sent["CommandId"] == launch["job"]["job_id"] and set(sent["InstanceIds"]) <= set(theirs)
    assert _commands(HOME, HOME_REGION) == [] and _commands(HOME) == []
    assert _commands(MEMBER, HOME_REGION) == []  # the alarm's region, not the stack's
    # sent by a client that makes the call once (a lost answer is looked up, never re-sent)
    sender = rdeps.jobs.members._clients[("ssm", MEMBER, REGION, True)][1]
    assert sender.meta.config.retries["total_max_attempts"] == 1
    # followed there: the canary's end is read in the member account, the next batch too
    polled = run_task({"action": "poll", "alert": alert, **launch}, rdeps)
    assert polled["job"]["batch"] == 1 and len(_commands(MEMBER)) == 2
    assert _commands(HOME, HOME_REGION) == []
    # and cancelled there (moto has no CancelCommand: the call is caught as it leaves,
    # with the credentials it is signed with)
    cancels: list[tuple[str, str, str]] = []

    def caught(params: dict[str, Any], request_signer: Any, **_: Any) -> tuple[Any, Any]:
        creds = request_signer._credentials
        command = json.loads(params["body"])["CommandId"]
        cancels.append((command, creds.access_key, request_signer._region_name))
        from types import SimpleNamespace

        return SimpleNamespace(status_code=200), {}  # answered here, as SSM would

    for client in rdeps.jobs.members._clients.values():
        client[1].meta.events.register("before-call.ssm.CancelCommand", caught)
    run_task({"action": "cancel", "alert": alert, "job": polled["job"]}, rdeps)
    member_key = rdeps.jobs.members._credentials[MEMBER].values["AccessKeyId"]
    assert cancels == [(polled["job"]["job_id"], member_key, REGION)]
    # the fix is verified in the member account's CloudWatch
    _in(MEMBER, "cloudwatch").set_alarm_state(AlarmName=alert["alarm_name"], StateValue="OK",
                                              StateReason="fixed")  # fmt: skip
    verdict = run_task({"action": "verify", "alert": alert, **polled}, rdeps)
    assert verdict["alarm_state"] == "OK" and verdict["resolution"] is not None
    stored = deps.store.get(alert["alert_id"])
    assert stored is not None and stored.status.value == "resolved"


def test_without_a_member_role_nothing_is_sent_with_the_stacks_credentials(aws: None) -> None:
    _group(MEMBER, REGION, 2)
    platform = SsmRunCommandPlatform(home_account=HOME)
    request = JobRequest(runbook="restart_service", script_path="/x/restart.sh", script="true",
                         environment={}, targets={"InstanceId": ("i-0123456789abcdef0",)},
                         timeout_seconds=60, idempotency_key="A-1:restart_service",
                         account=MEMBER, region=REGION)  # fmt: skip
    with pytest.raises(JobPlatformRejected, match=f"account {MEMBER} are out of reach"):
        platform.launch(request)
    assert _commands(HOME) == [] and _commands(HOME, HOME_REGION) == []
    with pytest.raises(ConfigurationError, match="MemberRoleName is not set"):
        Ec2HostDirectory(home_account=HOME).group_instances(GROUP, MEMBER, REGION)
    # the stack's own account is unchanged: its own credentials, where the stack runs
    assert Ec2HostDirectory(home_account=HOME).group_instances(GROUP, HOME, REGION) == []


def test_a_role_denied_at_launch_is_a_hand_over_that_says_why_not_a_retry() -> None:
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="x",
                       aws_secret_access_key="y")  # fmt: skip
    stub = Stubber(sts)
    stub.add_client_error("assume_role", service_error_code="AccessDenied")
    stub.activate()
    members = MemberSessions("OpsLinkMemberRole", "ext-1", HOME, sts=sts)
    request = JobRequest(runbook="restart_service", script_path="/x/restart.sh", script="true",
                         environment={}, targets={"InstanceId": ("i-0123456789abcdef0",)},
                         timeout_seconds=60, idempotency_key="A-1:restart_service",
                         account=MEMBER, region=REGION)  # fmt: skip
    with pytest.raises(JobPlatformRejected, match="AssumeRole denied"):
        SsmRunCommandPlatform(members=members).launch(request)
    with pytest.raises(ConfigurationError, match="AssumeRole denied"):  # remembered: no 2nd call
        Ec2HostDirectory(members=members).tagged_instances("Service", "web", MEMBER, REGION)
    stub.assert_no_pending_responses()


def test_a_denied_role_at_host_resolution_hands_the_alert_over(
    aws: None, deps: IngestDeps, clock: Clock
) -> None:
    rdeps, alert = _member_world(deps, clock)
    sts = boto3.client("sts", region_name=REGION)
    stub = Stubber(sts)
    stub.add_client_error("assume_role", service_error_code="AccessDenied")
    stub.activate()
    rdeps.hosts = Ec2HostDirectory(members=MemberSessions("OpsLinkMemberRole", "e", HOME, sts=sts))
    from opslink.errors import ParameterRejectedError

    with pytest.raises(ParameterRejectedError, match=f"cannot act in account {MEMBER}"):
        run_task({"action": "launch", "alert": alert, "selection": RESTART}, rdeps)
    assert _commands(MEMBER) == [] and _commands(HOME, HOME_REGION) == []


def _input(account: str, region: str) -> RemediationInput:
    from datetime import UTC, datetime

    from opslink.models import Severity

    return RemediationInput(
        alert_id="A-1", ticket_id="T-1", alarm_name="prod-web-cpu-high", alarm_arn="",
        account_id=account, region=region, service="web", environment="production",
        alert_type="cpu_usage", severity=Severity.HIGH, notification={},
        triggered_at=datetime(2026, 12, 6, tzinfo=UTC),
    )  # fmt: skip


class _Found:
    def describe(self, name: str, region: str, account: str = "") -> tuple[str, str]:
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}", "ALARM"

    def state(self, name: str, region: str, account: str = "") -> str:
        return "ALARM"


@pytest.mark.parametrize(
    ("account", "region", "reach", "words"),
    [
        (MEMBER, REGION, Reach(HOME), None),
        (HOME, REGION, Reach(HOME, members="MemberRoleName is not set"), None),
        (MEMBER, REGION, Reach(HOME, members="MemberRoleName is not set"),
         f"alarm of account {MEMBER} (verified there): MemberRoleName is not set"),
        (MEMBER, REGION, Reach(HOME, regions=frozenset({HOME_REGION})),
         f"region {REGION} is not one OpsLink serves (AlarmRegions: {HOME_REGION})"),
        ("999999999999", REGION, Reach(HOME), "account 999999999999 is not one OpsLink serves"),
    ],
)  # fmt: skip
def test_jobs_run_only_in_accounts_and_regions_in_reach(
    account: str, region: str, reach: Reach, words: str | None
) -> None:
    why = provenance_problem(_input(account, region), _Found(), frozenset({HOME, MEMBER}), reach)
    assert why == words if words is None else (why is not None and words in why)


def test_the_platform_decides_whether_member_accounts_are_in_reach() -> None:
    from opslink.config import RemediateSettings
    from opslink.wiring import _reach

    env = {"ALERTS_TABLE": "alerts", "TICKETS_TABLE": "tickets", "JOURNAL_TABLE": "journal",
           "STACK_ACCOUNT_ID": HOME, "ALARM_REGIONS": "eu-west-1,us-east-1"}  # fmt: skip
    ssm = _reach(RemediateSettings.model_validate(env | {"MEMBER_ROLE_NAME": "OpsLinkMemberRole"}))
    assert ssm == Reach(HOME, frozenset({REGION, HOME_REGION}), "")
    rundeck = _reach(RemediateSettings.model_validate(
        env | {"MEMBER_ROLE_NAME": "OpsLinkMemberRole", "JOB_PLATFORM": "rundeck"}))  # fmt: skip
    assert "rundeck job platform runs jobs in this stack's own account" in rundeck.members
    assert "MemberRoleName is not set" in _reach(RemediateSettings.model_validate(env)).members
    with pytest.raises(ValueError, match="not region names: eu-west"):
        RemediateSettings.model_validate(env | {"ALARM_REGIONS": "eu-west"})


def test_an_alarm_of_a_region_not_served_gets_an_unverified_ticket(deps: IngestDeps) -> None:
    message = samples.metric_alarm("prod-checkout-api-cpu-high", samples.T0)
    policy = IngestPolicy(allowed_regions=frozenset({"ap-southeast-2"}))
    [result] = ingest_event(samples.sns_event(message), deps, policy)
    ticket = deps.tickets.get(result.ticket_id)
    assert ticket.title.startswith("[UNVERIFIED] ")
    assert "region eu-west-1 is not one OpsLink serves (AlarmRegions)" in ticket.description


def test_a_member_accounts_run_command_end_wakes_its_execution(
    aws: None, deps: IngestDeps, clock: Clock
) -> None:
    """forwarder.yaml forwards the member account's Run Command ends to the central bus;
    the waking look reads the command's status in the member account (the stack's own
    account has no such command: a look there could never wake it)."""
    from opslink.adapters.store.job_waits import JobWaits
    from opslink.job_events import SSM_COMMAND_EVENT
    from tests.unit.fakes import Callbacks

    _group(MEMBER, REGION, 1)
    rdeps, alert = _member_world(deps, clock)
    rdeps.job_events = True
    rdeps.waits = JobWaits(deps.store.table)  # type: ignore[attr-defined]
    rdeps.callbacks = Callbacks()
    launch = run_task({"action": "launch", "alert": alert, "selection": RESTART}, rdeps)
    woke = run_task({"action": "await_job", "alert": alert, **launch, "token": "t-1"}, rdeps)
    assert woke == {"woken": True, "why": "job succeeded"}  # moto's commands end at once
    [(token, result)] = rdeps.callbacks.succeeded
    assert token == "t-1" and result["poll"]["state"] == "succeeded"
    event = {"source": "aws.ssm", "account": MEMBER, "region": REGION,
             "detail-type": SSM_COMMAND_EVENT,
             "detail": {"command-id": launch["job"]["job_id"], "status": "Success",
                        "document-name": "AWS-RunShellScript"}}  # fmt: skip
    assert run_task(event, rdeps) == {"woken": False, "why": "already woken"}


def test_a_forwarder_sending_elsewhere_fails_its_check(aws: None) -> None:
    from opslink.adapters.member_check import check_member_account

    bus = f"arn:aws:events:{HOME_REGION}:{HOME}:event-bus/opslink-alarms"
    events = _in(MEMBER, "events")
    for rule in ("opslink-forward-alarms", "opslink-forward-run-command-ends"):
        events.put_rule(Name=rule, EventPattern='{"source": ["aws.cloudwatch"]}', State="ENABLED")
        events.put_targets(Rule=rule, Targets=[{"Id": "x", "Arn": bus}])
    events.put_targets(Rule="opslink-forward-alarms", Targets=[
        {"Id": "x", "Arn": bus.replace(HOME, "999999999999")}])  # fmt: skip
    rows = check_member_account(
        MemberSessions("OpsLinkMemberRole", "ext", HOME), MEMBER, REGION, bus
    )
    failed = {r["check"]: r["evidence"] for r in rows if r["status"] == "fail"}
    assert list(failed) == [f"forwarder rule opslink-forward-alarms (account {MEMBER}, {REGION})"]
    assert "WrongTarget" in next(iter(failed.values())) and bus in next(iter(failed.values()))
