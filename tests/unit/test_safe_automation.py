"""Automation you can trust unattended: exact blast radius (explicit, bounded host lists,
canary then batches), parameters bounded by the catalog and the service map (never by
the alarm's author), provenance before any job, and autonomy that operators may lower but
never raise."""

from __future__ import annotations

import argparse
import io
from datetime import date
from typing import Any

import pytest

from opslink.errors import ParameterRejectedError
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.quality import Thresholds, assess
from opslink.remediation import run_task
from opslink.remediation.select import mode_of
from opslink.remediation_models import JobState, Risk
from opslink.service_map import parse_service_map
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import (
    FakeAlarms,
    FakeFleet,
    FakePlatform,
    LostLaunchAnswers,
    opened_alert,
    remediate_deps,
)

RESTART = {
    "runbook": {"name": "restart_service", "tier": "alert_type", "timeout_seconds": 300},
    "approval": False,
    "reason": "test",
}
FLEET = [f"i-0000000000000000{n}" for n in range(5)]


@pytest.fixture
def world(deps: IngestDeps, clock: Clock) -> dict[str, Any]:
    platform = FakePlatform(clock)
    rdeps = remediate_deps(deps, platform, clock)
    rdeps.hosts = FakeFleet(
        groups={"checkout-web-asg": FLEET[:3], "checkout-big-asg": FLEET, "empty-asg": []},
        tagged={"checkout": FLEET[:2]},
    )
    return {"platform": platform, "rdeps": rdeps, "deps": deps, "clock": clock}


def _alert(w: dict[str, Any], dims: dict[str, str], name: str = "prod-checkout-api-cpu-high"):
    alert = opened_alert(w["deps"], name)
    alert["dimensions"] = dims
    return alert


def _poll(w: dict[str, Any], alert: dict[str, Any], launch: dict[str, Any]) -> dict[str, Any]:
    return run_task({"action": "poll", "alert": alert, **launch}, w["rdeps"])


# -- 1. exact blast radius ---------------------------------------------------------------


def test_a_group_runs_as_a_canary_then_batches_on_exactly_its_hosts(
    world: dict[str, Any],
) -> None:
    alert = _alert(world, {"AutoScalingGroupName": "checkout-web-asg"})
    platform = world["platform"]
    launch = run_task({"action": "launch", "alert": alert, "selection": RESTART}, world["rdeps"])
    assert [r.targets for r in platform.launched] == [{"InstanceId": (FLEET[0],)}]
    assert launch["job"]["hosts"] == FLEET[:3]
    assert launch["job"]["batches"] == [[FLEET[0]], FLEET[1:3]]
    platform.state = JobState.RUNNING
    waiting = _poll(world, alert, launch)  # the canary still runs: nothing else launched
    assert len(platform.launched) == 1 and waiting["poll"]["state"] == "running"
    platform.state, platform.exit_code = JobState.SUCCEEDED, 0
    nxt = _poll(world, alert, launch)
    assert [r.targets for r in platform.launched][1] == {"InstanceId": tuple(FLEET[1:3])}
    assert nxt["job"]["batch"] == 1 and nxt["poll"]["state"] == "queued"
    again = _poll(world, alert, launch)  # a retried poll does not launch the batch twice
    assert len(platform.launched) == 2 and again["job"]["job_id"] == nxt["job"]["job_id"]
    done = _poll(world, alert, nxt)
    assert done["poll"]["state"] == "succeeded" and len(platform.launched) == 2
    notes = world["deps"].store.get(alert["alert_id"]).notes
    texts = [n["text"] for n in notes if n["kind"] in ("job_launched", "batch_launched")]
    assert "(canary)" in texts[0] and "batch 2 of 2" in texts[1]
    assert "InService instances of Auto Scaling group checkout-web-asg" in texts[0]


def test_a_failed_canary_stops_the_run_before_any_other_host(world: dict[str, Any]) -> None:
    alert = _alert(world, {"AutoScalingGroupName": "checkout-web-asg"})
    launch = run_task({"action": "launch", "alert": alert, "selection": RESTART}, world["rdeps"])
    world["platform"].state, world["platform"].exit_code = JobState.FAILED, 1
    out = _poll(world, alert, launch)
    assert out["poll"]["state"] == "failed" and len(world["platform"].launched) == 1
    handed = run_task(
        {
            "action": "escalate",
            "alert": alert,
            "job": out["job"],
            "escalation": {"kind": "failed"},
            "selection": RESTART,
        },
        world["rdeps"],
    )
    assert handed["handed_over"]
    ticket = world["deps"].tickets.get(alert["ticket_id"])
    note = next(c["text"] for c in ticket.comments if "could not fix" in c["text"])
    assert f"| Hosts touched | {FLEET[0]} |" in note  # exactly the canary


@pytest.mark.parametrize(
    ("dims", "words"),
    [
        ({"AutoScalingGroupName": "checkout-big-asg"}, "resolves to 5 hosts, more than"),
        ({"AutoScalingGroupName": "empty-asg"}, "resolves to no host"),
        ({"AutoScalingGroupName": "nosuch-asg"}, "resolves to no host"),
    ],
)
def test_a_host_set_too_large_or_empty_is_refused_never_trimmed(
    world: dict[str, Any], dims: dict[str, str], words: str
) -> None:
    alert = _alert(world, dims)
    with pytest.raises(ParameterRejectedError, match=words):
        run_task({"action": "launch", "alert": alert, "selection": RESTART}, world["rdeps"])
    assert world["platform"].launched == []


def test_a_control_plane_runbook_runs_on_one_host_of_the_service(world: dict[str, Any]) -> None:
    alert = _alert(world, {"AutoScalingGroupName": "checkout-web-asg"})
    scale = {"runbook": {"name": "scale_up", "tier": "alert_type", "timeout_seconds": 120}}
    run_task({"action": "launch", "alert": alert, "selection": scale}, world["rdeps"])
    [request] = world["platform"].launched
    assert request.targets == {"InstanceId": (FLEET[0],)}  # first of Service=checkout
    assert request.environment["ASG_NAME"] == "checkout-web-asg"


# -- 2. parameters bounded by the catalog and the service map -----------------------------


@pytest.mark.parametrize(
    ("service", "words"),
    [
        ("amazon-ssm-agent", "not a service of the service map"),
        ("sshd", "not a service of the service map"),
        ("billing", "not a service of the service map"),
    ],
)
def test_the_alarm_author_does_not_choose_what_is_restarted(
    world: dict[str, Any], service: str, words: str
) -> None:
    alert = _alert(world, {"InstanceId": FLEET[0]})
    alert["service"] = service
    with pytest.raises(ParameterRejectedError, match=words):
        run_task({"action": "launch", "alert": alert, "selection": RESTART}, world["rdeps"])
    assert world["platform"].launched == []


def test_the_deny_list_holds_even_when_the_service_map_allows_the_runbook(
    world: dict[str, Any],
) -> None:
    world["rdeps"].service_map = parse_service_map(
        "services:\n"
        "  agent: {runbooks: [restart_service], unit: amazon-ssm-agent}\n"
        "  web: {runbooks: [restart_service], unit: nginx}\n"
        "  legacy: {runbooks: [restart_service]}\n"
        "denied_units: [legacy*]\n",
        "test",
    )
    for service, words in (("agent", "amazon-ssm-agent"), ("legacy", "legacy")):
        alert = _alert(world, {"InstanceId": FLEET[0]}, f"prod-{service}-cpu-high")
        alert["service"] = service
        with pytest.raises(ParameterRejectedError, match=f"deny list.*{words}|{words}.*deny list"):
            run_task({"action": "launch", "alert": alert, "selection": RESTART}, world["rdeps"])
    alert = _alert(world, {"InstanceId": FLEET[0]}, "prod-web-cpu-high")
    alert["service"] = "web"
    out = run_task({"action": "launch", "alert": alert, "selection": RESTART}, world["rdeps"])
    assert "SERVICE=nginx (from alert.service 'web' via" in out["job"]["parameters"]  # timeline
    [request] = world["platform"].launched
    assert request.environment["SERVICE"] == "nginx"  # the map's unit, not the alarm's word
    note = world["deps"].store.get(alert["alert_id"]).notes[-1]["text"]
    assert "SERVICE=nginx (from alert.service 'web' via the service map (unit nginx))" in note


def test_an_unknown_service_gets_no_fix_and_the_ticket_says_why(world: dict[str, Any]) -> None:
    alert = _alert(world, {"InstanceId": FLEET[0]}, "prod-billing-memory-high")
    alert["service"], alert["alert_type"] = "billing", "memory_usage"
    chosen = run_task({"action": "select", "alert": alert}, world["rdeps"])
    assert chosen["runbook"] is None
    assert "billing is not in the service map" in chosen["reason"]


# -- 3. provenance -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ({"account_id": "999999999999"}, "account 999999999999 is not one OpsLink serves"),
        ({"at_start": None}, "does not exist in CloudWatch"),
        ({"at_start": "OK"}, "is OK in CloudWatch now, not ALARM"),
        (
            {"alarm_arn": "arn:aws:cloudwatch:us-east-1:999999999999:alarm:forged"},
            "not arn:aws:cloudwatch:us-east-1:999999999999:alarm:forged",
        ),
    ],
)
def test_no_job_for_an_alarm_of_unproven_origin(
    world: dict[str, Any], setup: dict[str, Any], words: str
) -> None:
    rdeps = world["rdeps"]
    rdeps.allowed_accounts = frozenset({"123456789012"})
    rdeps.alarms = FakeAlarms("OK", at_start=setup.get("at_start", "ALARM"))
    alert = _alert(world, {"InstanceId": FLEET[0]})
    alert |= {k: v for k, v in setup.items() if k != "at_start"}
    if "alarm_arn" not in setup:
        region = alert["region"]
        alert["alarm_arn"] = f"arn:aws:cloudwatch:{region}:123456789012:alarm:{alert['alarm_name']}"
    chosen = run_task({"action": "select", "alert": alert}, rdeps)
    assert chosen["runbook"] is None and chosen["suppressed"] and words in chosen["reason"]
    diagnosed = run_task({"action": "diagnose", "alert": alert}, rdeps)
    assert (
        diagnosed["diagnostics"]["done"] and world["platform"].launched == []
    )  # not even diagnostics
    assert diagnosed["runbook"] is None and words in diagnosed["reason"]


def test_a_proven_alarm_is_looked_up_once_per_gate(world: dict[str, Any]) -> None:
    rdeps = world["rdeps"]
    rdeps.allowed_accounts = frozenset({"123456789012"})
    alert = _alert(world, {"InstanceId": FLEET[0]})
    alert["alarm_arn"] = ""  # old messages carry no ARN: the lookup by name still proves it
    chosen = run_task({"action": "select", "alert": alert}, rdeps)
    assert chosen["runbook"] is not None and rdeps.alarms.described == [alert["alarm_name"]]


def test_an_alarm_of_another_account_gets_an_unverified_ticket(deps: IngestDeps) -> None:
    message = samples.metric_alarm("prod-checkout-api-cpu-high", samples.T0)
    message["AWSAccountId"] = "999999999999"
    message["AlarmArn"] = message["AlarmArn"].replace("123456789012", "999999999999")
    policy = IngestPolicy(allowed_accounts=frozenset({"123456789012"}))
    [result] = ingest_event(samples.sns_event(message), deps, policy)
    ticket = deps.tickets.get(result.ticket_id)
    assert ticket.title.startswith("[UNVERIFIED] ")
    assert "account 999999999999 is not one OpsLink serves" in ticket.description


# -- 4. autonomy has a ceiling -----------------------------------------------------------


def test_an_override_may_lower_autonomy_never_raise_it(world: dict[str, Any]) -> None:
    catalog = {rb.name: rb for rb in world["rdeps"].catalog}
    assert mode_of(catalog["restart_db"], {"restart_db": "auto"}) is Risk.APPROVAL
    assert mode_of(catalog["restart_service"], {"restart_service": "shadow"}) is Risk.SHADOW
    assert mode_of(catalog["restart_service"], {"restart_service": "approval"}) is Risk.APPROVAL


@pytest.mark.parametrize(
    ("runbook", "mode", "words"),
    [
        ("restart_db", "auto", "never raised to auto"),
        ("nosuch", "auto", "no runbook 'nosuch' in the catalog"),
    ],
)
def test_the_cli_refuses_to_raise_autonomy_or_name_an_unknown_runbook(
    runbook: str, mode: str, words: str
) -> None:
    from opslink_cli.automation_commands import automation_mode
    from opslink_cli.cli_args import UsageError

    args = argparse.Namespace(
        runbook=runbook, mode=mode, parameter="/x", reason="", by="dana", output="json"
    )
    with pytest.raises(UsageError, match=words) as err:
        automation_mode(None, args, io.StringIO())  # type: ignore[arg-type]
    if runbook == "nosuch":
        assert "restart_db, restart_service" in str(err.value)


def _runbook_rows(name: str, jobs: int, verified: int, approvals: int = 0) -> dict[str, Any]:
    row = {"runs": jobs, "jobs": jobs, "verified": verified, "approvals_requested": approvals}
    return {"all": {"alerts": jobs, "automated": jobs}, f"runbook#{name}": row}


def test_graduation_and_demotion_are_proposed_from_evidence() -> None:
    today = date(2026, 12, 5)
    ready = assess(_runbook_rows("restart_db", 20, 19, approvals=20), today)
    [grad] = [f for f in ready if "ready to run unattended" in f.title]
    assert "19 of 20 approved runs" in grad.evidence and "risk: auto" in grad.recommendation
    not_yet = assess(_runbook_rows("restart_db", 19, 19, approvals=19), today)
    assert not [f for f in not_yet if "ready to run unattended" in f.title]
    record = _runbook_rows("restart_service", 40, 36)  # 90 % before
    slipped = assess(_runbook_rows("restart_service", 10, 5), today, Thresholds(), record)
    [demote] = [f for f in slipped if "demote" in f.title]
    assert "50 % over 10 runs" in demote.evidence and "90 % over 40 runs" in demote.evidence
    steady = assess(_runbook_rows("restart_service", 10, 9), today, Thresholds(), record)
    assert not [f for f in steady if "demote" in f.title]


def test_a_batch_whose_launch_answer_was_lost_runs_once(deps: IngestDeps, clock: Clock) -> None:
    from opslink.errors import JobPlatformError

    platform = LostLaunchAnswers(clock, lose={":batch:1"})
    rdeps = remediate_deps(deps, platform, clock)
    rdeps.hosts = FakeFleet(groups={"checkout-web-asg": FLEET[:3]})
    w = {"rdeps": rdeps, "deps": deps}
    alert = _alert(w, {"AutoScalingGroupName": "checkout-web-asg"})
    launch = run_task({"action": "launch", "alert": alert, "selection": RESTART}, rdeps)
    platform.state, platform.exit_code = JobState.SUCCEEDED, 0
    with pytest.raises(JobPlatformError):
        _poll(w, alert, launch)  # the canary succeeded; the batch's launch answer is lost
    nxt = _poll(w, alert, launch)  # the state machine's retry of the poll
    assert len(platform.launched) == 2  # the canary and one batch: not a second batch
    assert nxt["job"]["batch"] == 1 and nxt["job"]["job_id"] == "job-2"
