"""Ticket ⇄ alert sync on the emulator: a closed ticket stops a running remediation, the
reopen window, and a signed webhook through the track function's URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from opslink.models import AlertStatus, TicketStatus
from opslink_cli import samples
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
CATALOG = Path(__file__).parent / "catalog"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}}
    params = {"WebhookSecretName": "opslink/webhook", "ReopenWindowSeconds": "600"}
    with LocalStack(
        log_path=tmp_path / "lambda.log", env_overrides=overrides, parameters=params
    ) as local:
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="opslink/webhook", SecretString="hook-secret"
        )
        yield Stack(local)


def alarm(name: str, at: datetime, state: str = "ALARM", metric: str = "Latency") -> dict[str, Any]:
    return samples.metric_alarm(
        name,
        at,
        state=state,
        metric=metric,
        namespace="CWAgent",
        old="OK" if state == "ALARM" else "ALARM",
        dimensions={"InstanceId": "i-0123456789abcdef0"},
    )


def test_closing_the_ticket_stops_the_running_remediation(stack: Stack) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    put_cloudwatch_alarm(
        "prod-search-worker-stuck", samples.REGION, tags={"alert_type": "stuck_process"}
    )
    stack.local.publish_alarm(
        alarm("prod-search-worker-stuck", now)
    )  # hang_long: runs until stopped
    [alert] = stack.alerts.list_alerts()
    assert alert.execution_name
    deadline = time.monotonic() + 10
    while (
        "AwaitJob" not in stack.states_entered(alert.execution_name) and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    stack.tickets.set_status(
        alert.ticket_id or "", TicketStatus.CLOSED, note="Network team fixed the route."
    )
    stack.local.advance(300)
    status = stack.local.wait_for_executions([alert.execution_name], timeout=10)[
        alert.execution_name
    ]
    assert status == "ABORTED"
    done = stack.alerts.get(alert.alert_id)
    assert done and done.status is AlertStatus.RESOLVED and done.resolution["by"] == "ticket"
    resolved_note = next(n for n in done.notes if n["kind"] == "resolved_by_ticket")
    assert "stopped" in resolved_note["text"] and "cancelled" in resolved_note["text"]
    # The job itself was cancelled on its platform, not left running.
    cancel_note = next(n for n in done.notes if n["kind"] == "job_cancelled")
    assert "closed by" in cancel_note["text"]
    from tests.e2e.conftest import group_alive, job_groups

    groups = job_groups(stack.local.state_dir, "hang")
    assert groups
    deadline = time.monotonic() + 10
    while any(map(group_alive, groups)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(group_alive, groups))


def test_refire_inside_and_outside_the_reopen_window(stack: Stack) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    name = "prod-checkout-api-health"
    stack.local.publish_alarm(alarm(name, t0, metric="StatusCheckFailed"))
    stack.local.publish_alarm(
        alarm(name, t0 + timedelta(minutes=5), "OK", metric="StatusCheckFailed")
    )
    [first] = stack.alerts.list_alerts()
    # Inside the 10-minute window: same ticket, reopened.
    stack.local.publish_alarm(alarm(name, t0 + timedelta(minutes=9), metric="StatusCheckFailed"))
    second = next(a for a in stack.alerts.list_alerts(status="open"))
    assert second.ticket_id == first.ticket_id
    assert stack.tickets.get(first.ticket_id or "").status is TicketStatus.OPEN  # type: ignore[union-attr]
    stack.local.publish_alarm(
        alarm(name, t0 + timedelta(minutes=12), "OK", metric="StatusCheckFailed")
    )
    # Outside the window: a new ticket that refers to the old one.
    stack.local.publish_alarm(alarm(name, t0 + timedelta(minutes=40), metric="StatusCheckFailed"))
    third = next(a for a in stack.alerts.list_alerts(status="open"))
    assert third.ticket_id != first.ticket_id
    ticket = stack.tickets.get(third.ticket_id or "")
    assert ticket and ticket.custom_fields["previous_ticket"] == first.ticket_id
    stack.local.wait_for_executions()


def _signed(body: dict[str, Any], secret: str = "hook-secret") -> dict[str, Any]:
    raw = json.dumps(body)
    ts = str(int(time.time()))
    sig = (
        "sha256="
        + hmac.new(secret.encode(), ts.encode() + b"." + raw.encode(), hashlib.sha256).hexdigest()
    )
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {
            "X-OpsLink-Timestamp": ts,
            "X-OpsLink-Signature": sig,
            "content-type": "application/json",
        },
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": raw,
        "isBase64Encoded": False,
    }


def test_signed_webhook_through_the_function_url(stack: Stack) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    stack.local.publish_alarm(alarm("prod-payments-api-health", now, metric="StatusCheckFailed"))
    [alert] = stack.alerts.list_alerts()
    stack.local.wait_for_executions()
    stack.tickets.set_status(alert.ticket_id or "", TicketStatus.CLOSED)
    forged, _ = stack.local.invoke(
        "TrackFunction", _signed({"ticket_id": alert.ticket_id}, secret="guess")
    )
    assert isinstance(forged, dict) and forged["statusCode"] == 401
    assert stack.alerts.get(alert.alert_id).status is AlertStatus.OPEN  # type: ignore[union-attr]
    good, _ = stack.local.invoke("TrackFunction", _signed({"ticket_id": alert.ticket_id}))
    assert (
        isinstance(good, dict)
        and good["statusCode"] == 200
        and json.loads(good["body"])["status"] == "resolved"
    )
    assert stack.alerts.get(alert.alert_id).status is AlertStatus.RESOLVED  # type: ignore[union-attr]
