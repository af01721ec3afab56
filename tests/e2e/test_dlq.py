"""`opslink dlq list|redrive` on the emulator: parked deliveries are shown without being
consumed, replayed into ingest idempotently, and removed once accepted."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import boto3
import pytest

from opslink_cli import connection, dlq, samples
from opslink_cli.emulator import LocalStack
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def test_list_then_redrive_parked_deliveries(tmp_path: Path) -> None:
    empty = tmp_path / "catalog"
    empty.mkdir()
    with LocalStack(
        log_path=tmp_path / "lambda.log",
        env_overrides={"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(empty)}},
    ) as local:
        stack = Stack(local)
        sqs = local.client("sqs")
        url = sqs.get_queue_url(QueueName="opslink-IngestDeadLetterQueue")["QueueUrl"]
        event = samples.sns_event(samples.metric_alarm("prod-search-cpu-high", samples.T0))
        for _ in range(2):  # the same delivery parked twice (two failed invocations)
            sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "ErrorMessage": {"DataType": "String", "StringValue": "Task timed out"}
                },
            )
        conn = connection.Connection(
            stack.alerts,
            stack.tickets,
            stack.sfn,
            local.arns["RemediationStateMachine"],
            session=boto3.Session(region_name="us-east-1"),
        )
        args = argparse.Namespace(stack_name="opslink", output="json", message_ids=[])
        listed = io.StringIO()
        assert dlq.dlq_list(conn, args, listed) == 0
        rows = json.loads(listed.getvalue())
        assert len(rows) == 2 and rows[0]["alarms"] == "prod-search-cpu-high"
        assert rows[0]["error"] == "Task timed out"
        redriven = io.StringIO()
        assert dlq.dlq_redrive(conn, args, redriven) == 0
        results = json.loads(redriven.getvalue())
        assert sorted(r["detail"] for r in results) == ["created", "duplicate"]
        assert len(stack.alerts.list_alerts()) == 1 and len(stack.tickets.list()) == 1
        again = io.StringIO()
        dlq.dlq_list(conn, args, again)
        assert json.loads(again.getvalue()) == []


def test_a_forged_parked_message_never_launches_a_job(tmp_path: Path) -> None:
    """A message forged into the dead-letter queue (another account, an alarm that never
    existed) is listed as unverified; redriven, it gets its ticket marked unverified and
    no job at all, not even a diagnostic. A real alarm beside it is verified."""
    from opslink_cli.emulator import put_cloudwatch_alarm

    with LocalStack(log_path=tmp_path / "lambda.log") as local:
        stack = Stack(local)
        sqs = local.client("sqs")
        url = sqs.get_queue_url(QueueName="opslink-IngestDeadLetterQueue")["QueueUrl"]
        forged = samples.metric_alarm(
            "prod-checkout-api-cpu-high",
            samples.T0,
            dimensions={"InstanceId": "i-0123456789abcdef0"},
        )
        forged["AWSAccountId"] = "999999999999"
        forged["AlarmArn"] = forged["AlarmArn"].replace(samples.ACCOUNT, "999999999999")
        real = samples.metric_alarm("prod-search-cpu-high", samples.T0)
        put_cloudwatch_alarm("prod-search-cpu-high", samples.REGION)
        for message in (forged, real):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(samples.sns_event(message)))
        conn = connection.Connection(
            stack.alerts,
            stack.tickets,
            stack.sfn,
            local.arns["RemediationStateMachine"],
            session=boto3.Session(region_name="us-east-1"),
        )
        args = argparse.Namespace(stack_name="opslink", output="json", message_ids=[])
        listed = io.StringIO()
        dlq.dlq_list(conn, args, listed)
        origins = {r["alarms"]: r["origin"] for r in json.loads(listed.getvalue())}
        assert origins["prod-search-cpu-high"] == "verified"
        assert origins["prod-checkout-api-cpu-high"].startswith(
            "unverified origin: account 999999999999 is not one OpsLink serves"
        )
        redriven = io.StringIO()
        dlq.dlq_redrive(conn, args, redriven)
        local.wait_for_executions(timeout=60, settle=True)
        [alert] = [a for a in stack.alerts.list_alerts() if a.account_id == "999999999999"]
        ticket = stack.tickets.get(alert.ticket_id)  # type: ignore[arg-type]
        assert ticket is not None and ticket.title.startswith("[UNVERIFIED] ")
        # Said on the ticket: in its text (always), and by the selection's note when the
        # execution got that far (a step failing before it hands the alert over instead).
        said = [ticket.description, *(c["text"] for c in ticket.comments)]
        assert any("unverified origin" in t.lower() for t in said)
        jobs = local.state_dir / "jobs"  # type: ignore[operator]
        ran = [json.loads((d / "job.json").read_text()) for d in jobs.iterdir()]
        assert not [j for j in ran if "i-0123456789abcdef0" in json.dumps(j)]
        assert not any(link["sk"].startswith("JOB#") for link in stack.alerts.links(alert.alert_id))


def test_list_shows_every_parked_message_and_hides_none(tmp_path: Path) -> None:
    with LocalStack(log_path=tmp_path / "lambda.log") as local:
        stack = Stack(local)
        sqs = local.client("sqs")
        url = sqs.get_queue_url(QueueName="opslink-IngestDeadLetterQueue")["QueueUrl"]
        for i in range(30):
            event = samples.sns_event(samples.metric_alarm(f"prod-search-cpu-high-{i}", samples.T0))
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        # hostile bodies among them (nested too deep to decode, a number past the digit
        # limit): listed as unreadable, never ending the listing of the others
        for body in ("[" * 5000 + "]" * 5000, '{"Records": ' + "1" * 5000 + "}"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        conn = connection.Connection(
            stack.alerts,
            stack.tickets,
            stack.sfn,
            local.arns["RemediationStateMachine"],
            session=boto3.Session(region_name="us-east-1"),
        )
        args = argparse.Namespace(stack_name="opslink", output="json", message_ids=[])
        for _ in range(2):  # listing twice in a row: nothing was hidden by the first
            listed = io.StringIO()
            assert dlq.dlq_list(conn, args, listed) == 0
            rows = json.loads(listed.getvalue())
            assert len(rows) == 32 and len({r["message_id"] for r in rows}) == 32
