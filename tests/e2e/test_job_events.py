"""Completion events through the real ASL on the emulator: the local job's end wakes the
execution waiting in AwaitJob (no poll), a duplicated event wakes it once, a lost event
is caught by the safety-net poll at the runbook's timeout, and a deployment without
events polls on the schedule as before."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from opslink.models import AlertStatus
from opslink_cli.emulator import LocalStack
from tests.e2e.conftest import Stack
from tests.e2e.test_remediation import CATALOG, cloudwatch_alarm, finish, fire, launched

pytestmark = pytest.mark.e2e
DISK_ALARM = "prod-logs-archive-disk-full"


def _short_catalog(tmp_path: Path, timeout: int) -> Path:
    """The test catalog with fix_disk's timeout cut to `timeout` seconds (the safety-net
    poll of a lost event comes at the runbook's timeout), its job running until the test
    lets it end (a `go` file on the sandbox host) — still running when the wait registers,
    however loaded the machine, so only an event or the safety poll can see its end."""
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog)
    spec = catalog / "fix_disk.yaml"
    spec.write_text(spec.read_text().replace("timeout_seconds: 30", f"timeout_seconds: {timeout}"))
    script = catalog / "scripts" / "fix_disk.sh"
    script.write_text(
        script.read_text()
        + 'for _ in $(seq 1 200); do [ -f "${OPSLINK_TARGET_ROOT}/go" ] && break; sleep 0.05; done\n'
    )
    return catalog


@pytest.fixture
def stack_with(tmp_path: Path) -> Iterator[object]:
    stacks: list[LocalStack] = []

    def start(events: str, catalog: Path = CATALOG) -> Stack:
        overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(catalog)}}
        local = LocalStack(
            log_path=tmp_path / f"lambda-{events}.log",
            env_overrides=overrides,
            job_end_events=events,
        ).start()
        stacks.append(local)
        return Stack(local)

    yield start
    for local in stacks:
        local.stop()


def _remediate(stack: Stack, gated: bool = False) -> tuple[object, list[str]]:
    cw = cloudwatch_alarm(DISK_ALARM)
    alert = fire(stack, DISK_ALARM, "disk_used_percent")
    launched(stack, alert)
    cw.set_alarm_state(AlarmName=DISK_ALARM, StateValue="OK", StateReason="disk freed")
    if gated:  # the job ends only once the execution waits for it (_short_catalog)
        _wait_until_waiting(stack, alert.execution_name)
        (Path(stack.local.state_dir or "") / "host" / "go").touch()
    return finish(stack, alert)


def _await_outputs(stack: Stack, execution_name: str) -> list[dict[str, object]]:
    """The poll state each AwaitJob handed on (what woke it)."""
    import json

    sfn = stack.local.client("stepfunctions")
    arn = stack.local.arns["RemediationStateMachine"].replace(":stateMachine:", ":execution:")
    events = sfn.get_execution_history(executionArn=f"{arn}:{execution_name}")["events"]
    return [
        json.loads(e["stateExitedEventDetails"]["output"])["launch"]["poll"]
        for e in events
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "AwaitJob"
    ]


def test_a_duplicated_event_wakes_the_execution_once(stack_with: object) -> None:
    stack = stack_with("duplicate")  # type: ignore[operator]
    done, states = _remediate(stack)
    assert done.status is AlertStatus.RESOLVED and states[-1] == "VerifyFix"
    assert states.count("AwaitJob") == 1 and "PollJob" not in states
    [poll] = _await_outputs(stack, done.execution_name)
    assert poll["state"] == "succeeded" and poll["woken_by"] in ("opslink.jobs", "registration")
    assert len(stack.local.job_watcher.delivered) == 1  # announced (twice) for one job
    assert stack.local.job_watcher.failures == []
    launches = [n for n in done.notes if n["kind"] == "job_launched"]
    assert len(launches) == 1


def test_a_lost_event_is_caught_by_the_safety_poll(stack_with: object, tmp_path: Path) -> None:
    stack = stack_with("drop", _short_catalog(tmp_path, 10))  # type: ignore[operator]
    done, states = _remediate(stack, gated=True)
    assert done.status is AlertStatus.RESOLVED and states[-1] == "VerifyFix"
    at = states.index("AwaitJob")
    assert states[at : at + 3] == ["AwaitJob", "PollJob", "JobFinished"]  # timed out, polled
    assert stack.local.job_watcher.delivered == []
    assert done.resolution["runbook"] == "fix_disk"


def test_without_events_the_execution_polls_on_the_schedule(stack_with: object) -> None:
    stack = stack_with("off")  # type: ignore[operator]
    done, states = _remediate(stack)
    assert done.status is AlertStatus.RESOLVED and states[-1] == "VerifyFix"
    assert "PollJob" in states  # the wait ended at the schedule's time; the poll saw the end
    assert stack.local.job_watcher is None


# -- Rundeck and AWX: their notifications reach the webhook URL, which passes them on ----------

WEBHOOK_SECRET = "hook-secret"


def _notification(platform: str, body: bytes, query: dict[str, str]) -> dict[str, object]:
    """A Lambda Function URL request, as the job platform's notification arrives."""
    from opslink.job_notifications import notification_token

    return {
        "version": "2.0",
        "rawPath": f"/jobs/{platform}",
        "queryStringParameters": {"token": notification_token(WEBHOOK_SECRET), **query},
        "headers": {
            "content-type": "application/xml" if body.startswith(b"<") else "application/json"
        },
        "requestContext": {"http": {"method": "POST", "path": f"/jobs/{platform}"}},
        "body": body.decode(),
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(("platform", "ending"), [("rundeck", "succeeded"), ("awx", "successful"),
                                                  ("rundeck", "aborted"), ("rundeck", "skipped"),
                                                  ("awx", "counted late")])  # fmt: skip
def test_a_platform_notification_wakes_the_execution(
    tmp_path: Path, platform: str, ending: str
) -> None:
    """The job ends on the platform, which says so on the webhook URL: the execution goes
    on at once — verified and resolved, or (a job aborted on the platform by someone)
    handed over with its output. AWX may notify before it has counted the job's hosts: the
    execution then waits a short while (not the runbook's timeout) and looks again."""
    import json

    import boto3

    from tests.integration.contract_servers import AwxApi, RundeckApi, serve

    app = RundeckApi() if platform == "rundeck" else AwxApi()
    with serve(app) as url:
        params = {
            "JobPlatform": platform,
            "JobPlatformTokenSecret": "opslink/job-token",
            "JobCompletionEvents": "on",
            "WebhookSecretName": "opslink/webhook",
            **(
                {"RundeckUrl": url, "RundeckJobs": json.dumps({"fix_disk": RUNDECK_JOB})}
                if platform == "rundeck"
                else {"AwxUrl": url, "AwxTemplates": json.dumps({"fix_disk": 7})}
            ),
        }
        overrides = {
            "RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG), "POLL_BASE_SECONDS": "2"}
        }
        with LocalStack(
            log_path=tmp_path / "lambda.log", parameters=params, env_overrides=overrides
        ) as local:
            secrets = boto3.client("secretsmanager", region_name="us-east-1")
            secrets.create_secret(Name="opslink/job-token", SecretString="secret-token")
            secrets.create_secret(Name="opslink/webhook", SecretString=WEBHOOK_SECRET)
            stack = Stack(local)
            cw = cloudwatch_alarm(DISK_ALARM)
            alert = fire(stack, DISK_ALARM, "disk_used_percent")
            launched(stack, alert)
            _wait_until_waiting(stack, alert.execution_name)
            skipped = ending == "skipped"
            if skipped:  # the host is no node of Rundeck's project: "succeeded", on none
                app.nodes, ending = set(), "succeeded"  # type: ignore[union-attr]
            elif ending != "aborted":  # the job fixed it
                cw.set_alarm_state(AlarmName=DISK_ALARM, StateValue="OK", StateReason="freed")
            # The job ends on the platform, which says so on the webhook URL.
            if platform == "rundeck":
                [job_id] = list(app.executions)
                app.executions[job_id]["status"] = ending
                trigger = "success" if ending == "succeeded" else "failure"
                body = f'<notification trigger="{trigger}" executionId="{job_id}"/>'
                request = _notification("rundeck", body.encode(), {})
            else:
                [job_id] = list(app.jobs)
                late = ending == "counted late"
                app.jobs[job_id]["status"] = ending = "successful"
                if late:  # successful, its hosts not counted yet (events still processed)
                    app.counting = {job_id}  # type: ignore[union-attr]
                request = _notification("awx", json.dumps({"id": job_id}).encode(), {})
            answer, error = local.invoke("TrackFunction", request)
            assert error is None and answer["statusCode"] == 202, answer  # type: ignore[index]
            if platform == "awx" and late:  # counted once the execution waits again
                _wait_until_waiting(stack, alert.execution_name, waits=2)
                app.counting = set()  # type: ignore[union-attr]
                done, states = finish(stack, alert)
                first, last = _await_outputs(stack, done.execution_name)[0], states[-1]
                assert first["woken_by"] == "awx notification" and first["settling"]
                assert first["state"] == "running" and first["wait_seconds"] == 2
                assert done.status is AlertStatus.RESOLVED and last == "VerifyFix"
                assert states.count("AwaitJob") == 2  # one short wait, then verified
                return
            done, states = finish(stack, alert)
            assert "PollJob" not in states  # woken by the notification, not by a poll
            [poll] = _await_outputs(stack, done.execution_name)
            assert poll["woken_by"] == f"{platform} notification"
            if ending == "aborted":  # cancelled by someone on the platform: to a human
                assert poll["state"] == "cancelled" and states[-1] == "HandedToHumans"
                assert "Escalate" in states and done.status is AlertStatus.OPEN
            elif skipped:  # "succeeded" on none of the hosts named: not a success
                assert poll["state"] == "failed" and "ran on 0 of 1 hosts" in poll["detail"]
                assert states[-1] == "HandedToHumans" and done.status is AlertStatus.OPEN
            else:
                assert done.status is AlertStatus.RESOLVED and states[-1] == "VerifyFix"
                assert poll["state"] == "succeeded"
            # A forged notification for the same job wakes nothing (already woken).
            again, _ = local.invoke("TrackFunction", request)
            assert again["statusCode"] == 202  # type: ignore[index]


RUNDECK_JOB = "3b4c5d6e-0000-4000-8000-000000000001"


def _wait_until_waiting(
    stack: Stack, execution_name: str, timeout: float = 30, waits: int = 1
) -> None:
    """Until AwaitJob's task has registered the wait (the `waits`-th time) and looked at
    the job (the job then ends only after: the notification is what must wake it)."""
    import time

    sfn = stack.local.client("stepfunctions")
    arn = stack.local.arns["RemediationStateMachine"].replace(":stateMachine:", ":execution:")
    deadline = time.monotonic() + timeout
    while (
        sum(
            e["type"] == "TaskSubmitted"
            for e in sfn.get_execution_history(executionArn=f"{arn}:{execution_name}")["events"]
        )
        < waits
    ):
        assert time.monotonic() < deadline, f"{execution_name} never waited for its job"
        time.sleep(0.05)
