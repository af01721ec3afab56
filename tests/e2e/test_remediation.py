"""Remediation through the real ASL on the emulator, with the local shell job platform
running a test catalog: success, job failure, timeout -> cancel, no runbook, fixed but
the alarm still firing, a rejected parameter, an approval-only runbook."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from opslink import ticket_policy
from opslink.adapters.store.reliability import ReliabilityRecords
from opslink.models import AlertStatus, Priority, TicketStatus
from opslink_cli import connection, samples
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
CATALOG = Path(__file__).parent / "catalog"
REGION = samples.REGION


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}}
    with LocalStack(log_path=tmp_path / "lambda.log", env_overrides=overrides) as local:
        yield Stack(local)


def cloudwatch_alarm(name: str, state: str = "ALARM", tags: dict[str, str] | None = None) -> Any:
    return put_cloudwatch_alarm(name, REGION, state, tags)


def fire(stack: Stack, name: str, metric: str, dims: dict[str, str] | None = None) -> Any:
    stack.local.publish_alarm(
        samples.metric_alarm(
            name,
            samples.T0,
            metric=metric,
            namespace="CWAgent",
            dimensions=dims or {"InstanceId": "i-0123456789abcdef0"},
        )
    )
    [alert] = [a for a in stack.alerts.list_alerts() if a.alarm_name == name]
    return alert


def finish(stack: Stack, alert: Any) -> tuple[Any, list[str]]:
    assert (
        stack.local.wait_for_executions([alert.execution_name], timeout=90)[alert.execution_name]
        == "SUCCEEDED"
    )
    return stack.alerts.get(alert.alert_id), stack.states_entered(alert.execution_name)


def handed_over(stack: Stack, alert_id: str) -> tuple[Any, str]:
    """The hand-over happens on the alert's own ticket (the default): no second ticket.
    Returns that ticket and the hand-over note."""
    links = [link for link in stack.alerts.links(alert_id) if link["sk"].startswith("TICKET#")]
    assert [link.get("kind") for link in links] == [None]
    alert = stack.alerts.get(alert_id)
    ticket = stack.tickets.get(alert.ticket_id)  # type: ignore[union-attr]
    assert ticket is not None and ticket.title.startswith("[FAILED_AUTO] ")
    note = next(c["text"] for c in reversed(ticket.comments) if "could not fix" in c["text"])
    return ticket, note


def launched(stack: Stack, alert: Any, timeout: float = 30) -> None:
    """Wait until the alert's job is launched (its JOB link exists)."""
    deadline = time.monotonic() + timeout
    while not any(k["sk"].startswith("JOB#") for k in stack.alerts.links(alert.alert_id)):
        assert time.monotonic() < deadline, "no job was launched"
        time.sleep(0.05)


def test_success_verified_fix_resolves_alert_and_ticket(stack: Stack) -> None:
    cw = cloudwatch_alarm("prod-logs-archive-disk-full")
    alert = fire(stack, "prod-logs-archive-disk-full", "disk_used_percent")
    launched(stack, alert)  # in ALARM when remediation started (provenance), then fixed
    cw.set_alarm_state(
        AlarmName="prod-logs-archive-disk-full", StateValue="OK", StateReason="disk freed"
    )
    done, states = finish(stack, alert)
    # VerifyFix ends the execution when the alarm is back to OK (no Choice, no Succeed).
    assert states[-2:] == ["WaitBeforeVerify", "VerifyFix"]
    # The job's end woke the execution: no poll, no Wait state in between.
    assert states[states.index("LaunchJob") :][:3] == ["LaunchJob", "AwaitJob", "JobFinished"]
    assert "PollJob" not in states
    assert done.status is AlertStatus.RESOLVED
    assert done.resolution["by"] == "automation" and done.resolution["runbook"] == "fix_disk"
    assert (
        "freed 2 GiB for logs-archive on i-0123456789abcdef0" in done.resolution["output_excerpt"]
    )
    ticket = stack.tickets.get(done.ticket_id)
    assert (
        ticket
        and ticket.status is TicketStatus.RESOLVED
        and "fix_disk" in ticket.comments[-1]["text"]
    )
    links = {link["sk"].split("#")[0] for link in stack.alerts.links(alert.alert_id)}
    assert "JOB" in links  # alert -> job link (and job -> alert, below)
    job_link = next(
        link for link in stack.alerts.links(alert.alert_id) if link["sk"].startswith("JOB#")
    )
    reverse = stack.local.client("dynamodb").query(
        TableName=stack.local.names["AlertsTable"],
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": job_link["sk"]}},
    )["Items"]
    assert reverse[0]["alert_id"]["S"] == alert.alert_id
    # The runbook scores one verified fix for (disk_usage, logs-archive, production).
    stats = stack.alerts.runbook_stats(["fix_disk"], "disk_usage", "logs-archive", "production")
    assert stats == {"fix_disk": (1, 0)}


def test_job_failure_escalates_with_stderr(stack: Stack) -> None:
    cloudwatch_alarm("prod-search-memory-high")
    alert = fire(stack, "prod-search-memory-high", "mem_used_percent")
    done, states = finish(stack, alert)
    # the test catalog has no other memory_usage runbook: the ladder ends, one hand-over
    assert states[-5:] == [
        "EscalateFailed",
        "NextAttempt",
        "TryNextRunbook",
        "Escalate",
        "HandedToHumans",
    ]
    assert done.status is AlertStatus.OPEN
    ticket, note = handed_over(stack, alert.alert_id)
    assert ticket.priority is Priority.HIGH and ticket.assignee == "carol@example.com"
    handed_at = datetime.fromisoformat(ticket.comments[-1]["at"])
    # Due in 2 h, unless the ticket was due sooner already (a hand-over never delays it).
    due_before = ticket_policy.due_at(Priority.MEDIUM, samples.T0)
    expected = min(due_before, handed_at.replace(microsecond=0) + timedelta(hours=2))
    assert abs((ticket.due_at - expected).total_seconds()) <= 5
    assert "the runbook failed" in note
    assert "cache daemon not responding" in note and "checking caches" in note
    assert stack.alerts.runbook_stats(["fail_memory"], "memory_usage", "search", "production") == {
        "fail_memory": (0, 1)
    }
    assert len(stack.tickets.list(limit=50)) == 1  # one alert, one ticket


def test_timeout_cancels_the_job(stack: Stack) -> None:
    cloudwatch_alarm("prod-search-latency-high")
    alert = fire(stack, "prod-search-latency-high", "Latency")
    done, states = finish(stack, alert)
    assert "CancelJob" in states
    assert states[-5:] == [
        "EscalateTimeout",
        "NextAttempt",
        "TryNextRunbook",
        "Escalate",
        "HandedToHumans",
    ]
    from tests.e2e.conftest import group_alive, job_groups

    groups = job_groups(stack.local.state_dir, "hang")  # each cancelled job's process group
    assert groups and not any(map(group_alive, groups))
    assert any(n["kind"] == "job_cancelled" for n in done.notes)
    assert "timeout" in handed_over(stack, alert.alert_id)[1]


def test_no_runbook_leaves_alert_to_humans(stack: Stack) -> None:
    alert = fire(stack, "prod-cdn-edge-degraded-health", "StatusCheckFailed")
    done, states = finish(stack, alert)
    assert states[-2:] == ["RecordNoRunbook", "LeftToHumans"]
    assert done.notes[-1]["kind"] == "no_runbook" and done.status is AlertStatus.OPEN


def test_fixed_but_alarm_still_firing_escalates(stack: Stack) -> None:
    cloudwatch_alarm("prod-logs-archive-disk-full")  # stays in ALARM
    alert = fire(stack, "prod-logs-archive-disk-full", "disk_used_percent")
    done, states = finish(stack, alert)
    assert states[-6:] == [
        "VerifyFix",  # its caught AlarmStillFiring
        "EscalateNotFixed",
        "NextAttempt",
        "TryNextRunbook",
        "Escalate",
        "HandedToHumans",
    ]
    assert done.status is AlertStatus.OPEN
    assert "still firing" in handed_over(stack, alert.alert_id)[1]
    assert stack.alerts.runbook_stats(["fix_disk"], "disk_usage", "logs-archive", "production") == {
        "fix_disk": (0, 1)
    }


def test_rejected_parameter_stops_the_run(stack: Stack) -> None:
    name = "prod-search-cpu-high"
    cloudwatch_alarm(name)
    alert = fire(stack, name, "CPUUtilization", {"InstanceId": "i-0123; rm -rf /"})
    done, states = finish(stack, alert)
    assert states[-3:] == ["EscalateParameterRejected", "EscalateWithoutJob", "HandedToHumans"]
    assert "PollJob" not in states
    note = next(n for n in done.notes if n["kind"] == "parameter_rejected")
    assert "target InstanceId='i-0123; rm -rf /'" in note["text"]
    assert not (Path(stack.local.state_dir or "") / "host" / "runs.log").exists()  # nothing ran
    assert "rejected" in handed_over(stack, alert.alert_id)[1]


def _waiting_for_approval(stack: Stack, alert: Any) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = stack.alerts.get(alert.alert_id)
        if done and any(n["kind"] == "approval_requested" for n in done.notes):
            return
        time.sleep(0.1)
    raise AssertionError("no approval requested")


def fire_needing_approval(stack: Stack) -> Any:
    """A payments-db connection alarm: only risky_db (risk: approval) matches it."""
    cloudwatch_alarm("prod-payments-db-connections")
    alert = fire(
        stack,
        "prod-payments-db-connections",
        "DatabaseConnections",
        {"DBInstanceIdentifier": "payments-db-1"},
    )
    _waiting_for_approval(stack, alert)
    return alert


def _operator(stack: Stack, *argv: str) -> int:
    import argparse
    import io

    from opslink_cli import operator

    conn = connection.Connection(
        stack.alerts, stack.tickets, stack.sfn, stack.local.arns["RemediationStateMachine"]
    )
    args = argparse.Namespace(
        name=argv[1], by="dana", reason="database maintenance tonight", output="table"
    )
    handler = {"approve": operator.executions_approve, "reject": operator.executions_reject}[
        argv[0]
    ]
    return handler(conn, args, io.StringIO())


def test_approval_runbook_waits_for_a_human_then_runs(stack: Stack) -> None:
    from opslink_cli.connection import OperatorError

    alert = fire_needing_approval(stack)
    assert (
        stack.local.wait_for_executions([alert.execution_name], timeout=1)[alert.execution_name]
        == "RUNNING"
    )
    ticket = stack.tickets.get(alert.ticket_id)
    assert (
        ticket
        and f"opslink executions approve {alert.execution_name}" in ticket.comments[-1]["text"]
    )
    assert _operator(stack, "approve", alert.execution_name) == 0
    with pytest.raises(OperatorError, match="already decided: Runbook approved by dana"):
        _operator(stack, "reject", alert.execution_name)  # a second person, a moment later
    done, states = finish(stack, alert)
    at = states.index("RequestApproval")
    assert states[at : at + 3] == ["RequestApproval", "LaunchJob", "AwaitJob"]
    assert any(n["kind"] == "approved" and "dana" in n["text"] for n in done.notes)
    assert not any(n["kind"] == "rejected" for n in done.notes)  # no note says otherwise
    assert "risky_db" in next(n["text"] for n in done.notes if n["kind"] == "job_launched")


def test_rejected_approval_leaves_the_alert_to_humans(stack: Stack) -> None:
    from opslink_cli.connection import OperatorError

    alert = fire_needing_approval(stack)
    assert _operator(stack, "reject", alert.execution_name) == 0
    done, states = finish(stack, alert)
    assert states[-3:] == ["RequestApproval", "RecordRejection", "LeftToHumans"]
    assert any(
        n["kind"] == "rejected" and "rejected by dana: database maintenance tonight" in n["text"]
        for n in done.notes
    )
    assert done.notes[-1]["kind"] == "approval_rejected"
    assert not any(n["kind"] == "job_launched" for n in done.notes)
    with pytest.raises(OperatorError, match="already decided"):
        _operator(stack, "approve", alert.execution_name)


def test_an_ok_alarm_withdraws_a_request_waiting_for_approval(stack: Stack) -> None:
    """One alert, one truth: the alarm recovered, so nobody is left asked to approve."""
    from opslink_cli.connection import OperatorError

    alert = fire_needing_approval(stack)
    stack.local.publish_alarm(
        samples.metric_alarm(
            "prod-payments-db-connections",
            samples.T0 + timedelta(minutes=5),
            state="OK",
            old="ALARM",
            metric="DatabaseConnections",
            namespace="CWAgent",
            dimensions={"DBInstanceIdentifier": "payments-db-1"},
        )
    )
    arn = stack.local.execution_arn(alert.execution_name)
    deadline = time.monotonic() + 20
    while stack.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution was not stopped"
        time.sleep(0.1)
    # ABORTED, as on AWS (the emulator keeps a stop from being overwritten by the woken wait).
    assert stack.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    done = stack.alerts.get(alert.alert_id)
    assert done is not None and done.status is AlertStatus.RESOLVED
    assert done.resolution["by"] == "alarm"
    kinds = [n["kind"] for n in done.notes]
    assert "approval_withdrawn" in kinds and "job_launched" not in kinds
    ticket = stack.tickets.get(alert.ticket_id)
    assert ticket is not None and not any("could not fix" in c["text"] for c in ticket.comments)
    with pytest.raises(OperatorError):
        _operator(stack, "approve", alert.execution_name)


def test_executions_show_gives_a_readable_timeline(stack: Stack) -> None:
    from opslink_cli.executions import list_executions, show_execution

    cloudwatch_alarm("prod-search-memory-high")
    alert = fire(stack, "prod-search-memory-high", "mem_used_percent")
    finish(stack, alert)
    sfn = stack.local.client("stepfunctions")
    [row] = list_executions(sfn, stack.local.arns["RemediationStateMachine"], 10)
    assert row["execution"] == alert.execution_name and row["outcome"] == "HandedToHumans"
    doc = show_execution(sfn, stack.local.arns["RemediationStateMachine"], alert.execution_name)
    facts = {r["state"]: r["facts"] for r in doc["timeline"]}
    assert facts["LaunchJob"].startswith("fail_memory as local job ")
    assert facts["AwaitJob"].startswith("job failed after")
    assert facts["Escalate"].startswith("handed over on ticket OPS-")
    assert doc["transitions"] == len(doc["timeline"])


def test_http_job_platform_with_token_from_secrets_manager(tmp_path: Path) -> None:
    """The generic HTTP job API, wired as a deployment would: URL parameter, token in
    Secrets Manager. A garbage answer from the platform is an escalation, not a crash."""
    from tests.integration.contract_servers import Fault, GenericJobApi, serve

    app = GenericJobApi()
    with serve(app) as url:
        params = {
            "JobPlatform": "http",
            "JobApiUrl": url,
            "JobPlatformTokenSecret": "opslink/job-api",
        }
        overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}}
        with LocalStack(
            log_path=tmp_path / "lambda.log", parameters=params, env_overrides=overrides
        ) as local:
            boto3.client("secretsmanager", region_name="us-east-1").create_secret(
                Name="opslink/job-api", SecretString="secret-token"
            )
            stack = Stack(local)
            cloudwatch_alarm("prod-logs-archive-disk-full")
            alert = fire(stack, "prod-logs-archive-disk-full", "disk_used_percent")
            app.faults.append(
                Fault("GET", r"/jobs/.+", 200, b'{"id": "job-1", "status": "melted"}', times=1)
            )
            _, states = finish(stack, alert)
            _, note = handed_over(stack, alert.alert_id)
    assert app.requests[0].headers["Authorization"] == "Bearer secret-token"
    assert app.requests[0].body["parameters"] == {
        "SERVICE": "logs-archive",
        "INSTANCE": "i-0123456789abcdef0",
    }
    assert states[-3:] == ["EscalateUnreadableJob", "Escalate", "HandedToHumans"]
    assert "unusable answer" in note
    assert "unknown status 'melted'" in note
    assert "job-1" in note  # the human gets the job id to check on it


def test_automation_budget_stops_runaway_remediation(tmp_path: Path) -> None:
    overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}}
    params = {"AutomationRunsPerServiceHour": "1"}
    with LocalStack(
        log_path=tmp_path / "lambda.log", env_overrides=overrides, parameters=params
    ) as local:
        stack = Stack(local)
        cloudwatch_alarm("prod-logs-archive-disk-full")
        cloudwatch_alarm("prod-logs-archive-inode-full")
        first = fire(stack, "prod-logs-archive-disk-full", "disk_used_percent")
        second = fire(stack, "prod-logs-archive-inode-full", "disk_used_percent")
        outcomes = {a.alert_id: finish(stack, a)[1] for a in (first, second)}
        # The two executions race for the one run left this hour: exactly one gets it.
        ran = [a for a, states in outcomes.items() if "AwaitJob" in states]
        stopped = [a for a, states in outcomes.items() if "EscalateBudgetExhausted" in states]
        assert len(ran) == 1 and len(stopped) == 1
        assert outcomes[stopped[0]][-2:] == ["EscalateWithoutJob", "HandedToHumans"]
        _, note = handed_over(stack, stopped[0])
        runs = (Path(local.state_dir or "") / "host" / "runs.log").read_text().splitlines()
    assert "runaway protection" in note
    assert len(runs) == 1  # only one runbook ran


# -- EscalationTicket=separate: two tickets, moving in lockstep --------------------------------


@pytest.fixture
def separate(tmp_path: Path) -> Iterator[Stack]:
    overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}}
    with LocalStack(
        log_path=tmp_path / "lambda.log",
        env_overrides=overrides,
        parameters={"EscalationTicket": "separate"},
    ) as local:
        yield Stack(local)


def _separate_handover(stack: Stack) -> tuple[Any, Any]:
    cloudwatch_alarm("prod-search-memory-high")
    alert = fire(stack, "prod-search-memory-high", "mem_used_percent")
    done, _ = finish(stack, alert)
    manual = [link for link in stack.alerts.links(alert.alert_id) if link.get("kind") == "manual"]
    assert len(manual) == 1
    ticket = stack.tickets.get(manual[0]["ticket_id"])
    assert ticket and ticket.title.startswith("[FAILED_AUTO] search - ")
    assert "cache daemon not responding" in ticket.description
    own = stack.tickets.get(done.ticket_id)
    assert (
        own and not own.title.startswith("[FAILED_AUTO]") and ticket.id in own.comments[-1]["text"]
    )
    return done, ticket


def test_separate_handover_ticket_resolves_with_the_alarm(separate: Stack) -> None:
    alert, manual = _separate_handover(separate)
    ok = samples.metric_alarm(
        "prod-search-memory-high",
        samples.T0 + timedelta(minutes=9),
        state="OK",
        old="ALARM",
        metric="mem_used_percent",
        namespace="CWAgent",
        dimensions={"InstanceId": "i-0123456789abcdef0"},
    )
    separate.local.publish_alarm(ok)
    assert separate.alerts.get(alert.alert_id).status is AlertStatus.RESOLVED  # type: ignore[union-attr]
    both = [separate.tickets.get(alert.ticket_id), separate.tickets.get(manual.id)]
    assert [t.status for t in both] == [TicketStatus.RESOLVED, TicketStatus.RESOLVED]  # type: ignore[union-attr]
    separate.local.publish_alarm(ok)  # a second delivery changes nothing
    again = separate.tickets.get(manual.id)
    assert again and len(again.comments) == len(both[1].comments)  # type: ignore[union-attr]


def test_closing_the_handover_ticket_resolves_alert_and_its_ticket(separate: Stack) -> None:
    alert, manual = _separate_handover(separate)
    separate.tickets.set_status(manual.id, TicketStatus.CLOSED, note="fixed by hand")
    separate.local.advance(300)  # the track sweep
    done = separate.alerts.get(alert.alert_id)
    assert done and done.status is AlertStatus.RESOLVED and done.resolution["by"] == "ticket"
    own = separate.tickets.get(alert.ticket_id)
    assert own and own.status is TicketStatus.RESOLVED
    assert manual.id in own.comments[-1]["text"]
    separate.local.advance(300)  # a later sweep does not touch them again
    assert len(separate.tickets.get(alert.ticket_id).comments) == len(own.comments)  # type: ignore[union-attr]


def test_job_platform_down_opens_the_circuit_and_hands_over_honestly(tmp_path: Path) -> None:
    """The job platform answers 503 to every launch: each failed launch ends in a hand-over
    on the alert's ticket, the circuit opens after three, and the next alert is handed over
    without calling the platform at all; no budget is consumed."""
    from tests.integration.contract_servers import Fault, GenericJobApi, serve

    app = GenericJobApi()
    app.faults.append(Fault("POST", r"/jobs", 503, b'{"error": "down"}', times=10_000))
    with serve(app) as url:
        params = {
            "JobPlatform": "http",
            "JobApiUrl": url,
            "JobPlatformTokenSecret": "opslink/job-api",
            "AutomationRunsPerServiceHour": "3",
            "Correlation": "false",  # one alert per disk: one launch each, to trip the circuit
        }
        overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}}
        with LocalStack(
            log_path=tmp_path / "lambda.log", parameters=params, env_overrides=overrides
        ) as local:
            boto3.client("secretsmanager", region_name="us-east-1").create_secret(
                Name="opslink/job-api", SecretString="secret-token"
            )
            stack = Stack(local)
            for i in range(3):
                cloudwatch_alarm(f"prod-logs-archive-disk-full-{i}")
            cloudwatch_alarm("prod-logs-archive-disk-full-late")
            first = [
                fire(stack, f"prod-logs-archive-disk-full-{i}", "disk_used_percent")
                for i in range(3)
            ]
            for alert in first:
                _, states = finish(stack, alert)
                assert states[-3:] == [
                    "EscalatePlatformDown",
                    "EscalateWithoutJob",
                    "HandedToHumans",
                ]
            calls = len([r for r in app.requests if r.method == "POST"])
            late = fire(stack, "prod-logs-archive-disk-full-late", "disk_used_percent")
            done, states = finish(stack, late)
            assert states[-3:] == ["EscalatePlatformDown", "EscalateWithoutJob", "HandedToHumans"]
            assert len([r for r in app.requests if r.method == "POST"]) == calls  # not called
            _, note = handed_over(stack, late.alert_id)
            assert "job platform is unreachable" in note and "unreachable since" in note
            assert any(n["kind"] == "circuit_open" for n in done.notes)
            # Budget counts launches that happened: none did.
            now, budgets = (
                datetime.now(UTC),
                ReliabilityRecords(stack.alerts.table, stack.alerts.client),
            )
            assert all(budgets.claim_automation_budget("logs-archive", now, 3) for _ in range(3))
