"""A job's end wakes its execution once (remediation/completion.py): the registration's
own look, the platform's event, duplicates and races, forged and foreign events, and a
poll that fails after the wake — against a fake platform, the real store on moto and a
recording stand-in for Step Functions' callback API."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from opslink.adapters.store.job_waits import JobWaits
from opslink.errors import JobPlatformError
from opslink.ingest import IngestDeps
from opslink.job_events import SSM_COMMAND_EVENT, job_state_change
from opslink.remediation import run_task
from opslink.remediation_models import JobState
from tests.unit.conftest import Clock
from tests.unit.fakes import Callbacks, FakePlatform, opened_alert, remediate_deps

SELECTION = {
    "runbook": {"name": "restart_service", "tier": "alert_type", "timeout_seconds": 300},
    "approval": False,
    "reason": "test",
}


@pytest.fixture
def world(deps: IngestDeps, clock: Clock) -> dict[str, Any]:
    platform = FakePlatform(clock)
    platform.name = "local"
    rdeps = remediate_deps(deps, platform, clock)
    rdeps.job_events = True
    rdeps.waits = JobWaits(deps.store.table)  # type: ignore[attr-defined]
    rdeps.callbacks = Callbacks()
    alert = opened_alert(deps)
    launched = run_task({"action": "launch", "alert": alert, "selection": SELECTION}, rdeps)
    return {"alert": alert, "platform": platform, "rdeps": rdeps, "launch": launched}


def _await(w: dict[str, Any], token: str = "token-1") -> dict[str, Any]:
    return run_task(
        {"action": "await_job", "alert": w["alert"], **w["launch"], "token": token}, w["rdeps"]
    )


def _event(w: dict[str, Any], job_id: str | None = None) -> dict[str, Any]:
    job = job_id or w["launch"]["job"]["job_id"]
    return run_task(job_state_change("local", job, "opslink.jobs", "succeeded"), w["rdeps"])


def test_with_events_the_wait_lasts_the_runbooks_time(world: dict[str, Any]) -> None:
    poll = world["launch"]["poll"]
    assert poll["wait_seconds"] == 300  # the runbook's timeout: the event ends it sooner
    assert poll["schedule"].startswith("woken by the job's end event")


def test_the_event_wakes_the_waiting_execution_once(world: dict[str, Any]) -> None:
    assert _await(world) == {"woken": False, "why": "the job is running"}
    assert _event(world)["woken"] is False  # still running: an early or forged event
    world["platform"].state, world["platform"].exit_code = JobState.SUCCEEDED, 0
    assert _event(world) == {"woken": True, "why": "job succeeded"}
    assert _event(world) == {"woken": False, "why": "already woken"}  # delivered twice
    [(token, output)] = world["rdeps"].callbacks.succeeded
    assert token == "token-1"
    assert output["poll"]["state"] == "succeeded" and output["poll"]["woken_by"] == "opslink.jobs"
    assert output["job"]["job_id"] == world["launch"]["job"]["job_id"]


def test_a_job_that_ended_before_the_wait_wakes_it_at_registration(
    world: dict[str, Any],
) -> None:
    world["platform"].state, world["platform"].exit_code = JobState.FAILED, 3
    assert _event(world) == {"woken": False, "why": "no execution waits for this job"}
    assert _await(world) == {"woken": True, "why": "job failed"}
    [(_, output)] = world["rdeps"].callbacks.succeeded
    assert output["poll"]["state"] == "failed" and output["poll"]["exit_code"] == 3
    assert output["poll"]["woken_by"] == "registration"


def test_events_racing_wake_it_once(world: dict[str, Any]) -> None:
    _await(world)  # registered while the job runs
    world["platform"].state, world["platform"].exit_code = JobState.SUCCEEDED, 0
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(_event(world))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(world["rdeps"].callbacks.succeeded) == 1
    assert sorted(r["woken"] for r in results) == [False, False, False, True]
    assert all(r["why"] == "already woken" for r in results if not r["woken"])


def test_a_retried_wait_registers_its_new_token(world: dict[str, Any]) -> None:
    _await(world, "token-1")
    _await(world, "token-2")  # the task retried: a new token replaces the old one
    world["platform"].state, world["platform"].exit_code = JobState.SUCCEEDED, 0
    assert _event(world)["woken"] is True
    assert [t for t, _ in world["rdeps"].callbacks.succeeded] == ["token-2"]


def test_events_for_other_jobs_or_platforms_wake_nothing(world: dict[str, Any]) -> None:
    _await(world)
    world["platform"].state = JobState.SUCCEEDED
    assert _event(world, "job-999") == {"woken": False, "why": "no execution waits for this job"}
    other = run_task(job_state_change("rundeck", "job-1", "rundeck notification"), world["rdeps"])
    assert other["woken"] is False and "platform" in other["why"]
    ssm = {"source": "aws.ssm", "detail-type": SSM_COMMAND_EVENT, "detail": {"command-id": "c1"}}
    assert run_task(ssm, world["rdeps"])["woken"] is False
    assert world["rdeps"].callbacks.succeeded == []


def test_an_announced_end_the_platform_cannot_confirm_is_looked_at_again_soon(
    world: dict[str, Any],
) -> None:
    """The event says the job ended; the platform does not answer the look it asks for.
    No event will come again: the execution is woken into a short wait (the schedule's
    base, 15 s), not left to its poll at the runbook's timeout (300 s)."""

    def away(ref: Any) -> Any:
        raise JobPlatformError("connection refused")

    world["platform"].status = away
    assert _await(world)["woken"] is False  # its own look: the job may well run
    out = _event(world)
    assert out == {"woken": True, "why": "job running"}
    [(_, output)] = world["rdeps"].callbacks.succeeded
    poll = output["poll"]
    assert poll["state"] == "running" and poll["settling"] and poll["wait_seconds"] == 15
    assert "unreachable" in poll["detail"]
    assert _event(world) == {"woken": False, "why": "already woken"}
    # The execution waits again (the short wait); its registration's look is no reason to
    # wake it once more — its short wait's poll looks again.
    again = run_task(
        {"action": "await_job", "alert": world["alert"], **output, "token": "token-2"},
        world["rdeps"],
    )
    assert again["woken"] is False and len(world["rdeps"].callbacks.succeeded) == 1
    # still unreachable at the short wait's poll: the announced end is looked at again,
    # less often each time, not at the runbook's timeout
    polled = run_task({"action": "poll", "alert": world["alert"], **output}, world["rdeps"])
    assert polled["poll"]["settling"] and polled["poll"]["wait_seconds"] == 30


def test_an_end_not_counted_yet_wakes_into_a_short_wait_once(world: dict[str, Any]) -> None:
    """AWX announces a job whose hosts it has not counted yet: woken into a short wait;
    the next looks find it counted and go on."""
    platform = world["platform"]
    _await(world)
    platform.settling, platform.state = True, JobState.RUNNING
    assert _event(world)["woken"] is True
    [(_, first)] = world["rdeps"].callbacks.succeeded
    assert first["poll"]["settling"] and first["poll"]["wait_seconds"] == 15
    # waiting again while AWX still counts: neither the look nor an event wakes it
    assert _await(world | {"launch": first}, "token-2")["woken"] is False
    assert _event(world)["woken"] is False
    assert len(world["rdeps"].callbacks.succeeded) == 1
    # its poll while AWX still counts: looked at again, less often each time
    polled = run_task({"action": "poll", "alert": world["alert"], **first}, world["rdeps"])
    assert polled["poll"]["settling"] and polled["poll"]["wait_seconds"] == 30
    polled = run_task({"action": "poll", "alert": world["alert"], **polled}, world["rdeps"])
    assert polled["poll"]["wait_seconds"] == 60
    # the short wait's poll: counted, succeeded
    platform.settling, platform.state, platform.exit_code = False, JobState.SUCCEEDED, 0
    polled = run_task({"action": "poll", "alert": world["alert"], **first}, world["rdeps"])
    assert polled["poll"]["state"] == "succeeded" and not polled["poll"]["settling"]


def test_a_poll_that_fails_after_the_wake_fails_the_wait_by_its_error(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The execution's AwaitJob retries (a new token, a new look) or catches it by name."""
    from opslink.remediation import completion

    _await(world)
    world["platform"].state = JobState.SUCCEEDED

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise JobPlatformError("next batch could not start")

    monkeypatch.setattr(completion, "poll", broken)
    assert _event(world)["woken"] is True
    assert world["rdeps"].callbacks.failed == [("token-1", "JobPlatformError")]


def test_without_events_the_wait_is_the_poll_schedule(world: dict[str, Any]) -> None:
    world["rdeps"].job_events = False
    relaunched = run_task(
        {"action": "launch", "alert": world["alert"], "selection": SELECTION}, world["rdeps"]
    )
    assert relaunched["poll"]["wait_seconds"] < 300  # the schedule's first wait
    world["platform"].state = JobState.SUCCEEDED
    out = run_task(
        {"action": "await_job", "alert": world["alert"], **relaunched, "token": "t"},
        world["rdeps"],
    )
    assert out == {"woken": False, "why": "polled when the wait ends"}
    assert world["rdeps"].waits.job_waiter("local", relaunched["job"]["job_id"]) is None


def test_a_non_job_event_is_refused_by_name(world: dict[str, Any]) -> None:
    from opslink.errors import InvalidTaskInput

    with pytest.raises(InvalidTaskInput, match="not a job event"):
        run_task({"detail-type": "Something Else", "detail": {}}, world["rdeps"])


# Run Command's own event, as EventBridge delivers it (AWS's documented sample, our ids).
SSM_EVENT = {
    "version": "0",
    "id": "51c0891d-0e34-45b1-83d6-95db273d1602",
    "detail-type": "EC2 Command Status-change Notification",
    "source": "aws.ssm",
    "account": "123456789012",
    "time": "2026-12-05T21:51:32Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"],
    "detail": {
        "command-id": "(set by the test)",
        "document-name": "AWS-RunShellScript",
        "expire-after": "2026-12-05T23:51:30.049Z",
        "parameters": {"executionTimeout": ["300"], "commands": ["..."]},
        "requested-date-time": "2026-12-05T21:51:30.049Z",
        "status": "Success",
    },
}


def test_run_commands_status_event_wakes_the_execution(deps: IngestDeps, clock: Clock) -> None:
    """SSM on moto: the command is still running when the wait registers (moto says
    Success at once, so the first look is made to see InProgress); Run Command's
    status-change event then wakes the execution with the command's real status."""
    import boto3

    from opslink.adapters.jobs.ssm import SsmRunCommandPlatform
    from opslink.remediation_models import JobStatus

    class StillRunningAtFirst(SsmRunCommandPlatform):
        looks = 0

        def status(self, ref: Any) -> JobStatus:
            self.looks += 1
            if self.looks == 1:
                return JobStatus(state=JobState.RUNNING, detail="InProgress")
            return super().status(ref)

    platform = StillRunningAtFirst(client=boto3.client("ssm", region_name="us-east-1"))
    rdeps = remediate_deps(deps, platform, clock)  # type: ignore[arg-type]
    rdeps.job_events = True
    rdeps.waits = JobWaits(deps.store.table)  # type: ignore[attr-defined]
    rdeps.callbacks = Callbacks()
    alert = opened_alert(deps)
    launched = run_task({"action": "launch", "alert": alert, "selection": SELECTION}, rdeps)
    command_id = launched["job"]["job_id"]
    assert launched["job"]["platform"] == "ssm"
    waiting = run_task({"action": "await_job", "alert": alert, **launched, "token": "t"}, rdeps)
    assert waiting == {"woken": False, "why": "the job is running"}
    event = SSM_EVENT | {"detail": SSM_EVENT["detail"] | {"command-id": command_id}}  # type: ignore[operator]
    assert run_task(event, rdeps) == {"woken": True, "why": "job succeeded"}
    [(token, output)] = rdeps.callbacks.succeeded
    assert token == "t" and output["poll"]["woken_by"] == "ssm event"
    assert output["poll"]["state"] == "succeeded"


def test_no_next_batch_starts_after_a_human_closed_the_ticket(
    deps: IngestDeps, clock: Clock
) -> None:
    """Closing the ticket stops the execution (a stopped one never polls), but its
    canary's end still arrives as an event: it must not start the next batch."""
    from tests.unit.fakes import FakeFleet

    fleet = [f"i-0000000000000000{n}" for n in range(3)]
    platform = FakePlatform(clock)
    platform.name = "local"
    rdeps = remediate_deps(deps, platform, clock)
    rdeps.hosts = FakeFleet(groups={"checkout-web-asg": fleet})
    rdeps.job_events, rdeps.callbacks = True, Callbacks()
    rdeps.waits = JobWaits(deps.store.table)  # type: ignore[attr-defined]
    alert = opened_alert(deps)
    alert["dimensions"] = {"AutoScalingGroupName": "checkout-web-asg"}
    launched = run_task({"action": "launch", "alert": alert, "selection": SELECTION}, rdeps)
    assert launched["job"]["batches"] == [fleet[:1], fleet[1:]]  # canary, then the rest
    run_task({"action": "await_job", "alert": alert, **launched, "token": "t"}, rdeps)
    stored = deps.store.get(alert["alert_id"])
    deps.store.resolve(stored, {"by": "ticket", "how": "closed by dana"}, clock())
    platform.state, platform.exit_code = JobState.SUCCEEDED, 0
    job_id = launched["job"]["job_id"]
    out = run_task(job_state_change("local", job_id, "opslink.jobs"), rdeps)
    assert out == {
        "woken": False,
        "why": "the alert was closed on its ticket: no further batch starts",
    }
    assert len(platform.launched) == 1  # the canary only
    assert rdeps.callbacks.succeeded == []


def test_the_stacks_rule_routes_opslinks_command_ends_and_nothing_else() -> None:
    """RunCommandEndRule's pattern (EventBridge matching, as moto implements it) lets the
    documented event through, and not a command that still runs or another document's."""
    import json

    from moto.events.models import EventPattern

    from opslink_cli.emulator.template import load_template
    from tests.conftest import ROOT

    rule = load_template(ROOT / "template.yaml")["Resources"]["RunCommandEndRule"]
    pattern = EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))
    assert pattern.matches_event(SSM_EVENT)  # type: ignore[arg-type]
    for change in ({"status": "InProgress"}, {"document-name": "AWS-RunPowerShellScript"}):
        other = SSM_EVENT | {"detail": SSM_EVENT["detail"] | change}  # type: ignore[operator]
        assert not pattern.matches_event(other)
