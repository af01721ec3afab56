"""The whole stack on the local emulator: SNS → ingest → DynamoDB, tickets, Step Functions."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from opslink.models import AlertStatus, Priority, TicketStatus, TicketType
from opslink_cli import samples
from tests.conftest import load_event
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
T0 = samples.T0


def cpu(at_min: float = 0, state: str = "ALARM") -> dict[str, Any]:
    return samples.metric_alarm(
        "prod-checkout-api-cpu-high",
        T0 + timedelta(minutes=at_min),
        state=state,
        old="OK" if state == "ALARM" else "ALARM",
        dimensions={"AutoScalingGroupName": "checkout-api-asg"},
        description="CPU above 85% on the checkout API fleet",
    )


def test_sns_publish_opens_ticket_links_and_execution(stack: Stack) -> None:
    sqs = stack.local.client("sqs")
    queue = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    stack.local.client("sns").subscribe(TopicArn=stack.local.arns["NotificationTopic"],
                                        Protocol="sqs", Endpoint=arn["QueueArn"])  # fmt: skip
    stack.local.publish_alarm(cpu())
    [alert] = stack.alerts.list_alerts()
    assert alert.service == "checkout" and alert.environment == "production"
    assert alert.alert_type == "cpu_usage" and alert.priority is Priority.HIGH

    ticket = stack.tickets.get(alert.ticket_id or "")
    assert ticket is not None
    assert ticket.title == "[MEDIUM] checkout - CPU above 85% on the checkout API fleet"
    assert ticket.ticket_type is TicketType.PERFORMANCE
    assert ticket.priority is Priority.HIGH  # medium severity, business-critical service
    assert ticket.assignee == "alice@example.com"
    assert ticket.due_at == T0 + timedelta(hours=8)
    assert ticket.custom_fields["alert_id"] == alert.alert_id
    assert ticket.custom_fields["severity"] == "medium"

    links = {link["sk"] for link in stack.alerts.links(alert.alert_id)}
    assert links == {f"TICKET#builtin#{ticket.id}", f"EXECUTION#{alert.execution_name}"}
    assert stack.alerts.alert_for_ticket("builtin", ticket.id) == alert.alert_id

    assert alert.execution_name
    statuses = stack.local.wait_for_executions([alert.execution_name])
    assert statuses == {alert.execution_name: "SUCCEEDED"}
    assert stack.states_entered(alert.execution_name) == [
        "Diagnose",  # announces the alert; no diagnostic to wait for: selects at once
        "NextStep",
        "RecordNoRunbook",
        "LeftToHumans",
    ]
    # The alert is announced once on the notification topic, with the attributes
    # subscribers filter on.
    [notice] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(notice["Body"])
    assert body["Subject"] == "[High] checkout: prod-checkout-api-cpu-high"
    assert alert.alert_id in body["Message"]
    attrs = {k: v["Value"] for k, v in body["MessageAttributes"].items()}
    assert attrs == {"service": "checkout", "priority": "High", "team": "payments"}
    # No runbook yet: the alert and its ticket say so, and the alert stays with humans.
    noted = stack.alerts.get(alert.alert_id)
    assert noted and noted.notes[-1]["kind"] == "no_runbook" and noted.status is AlertStatus.OPEN
    comments = stack.tickets.get(ticket.id).comments  # type: ignore[union-attr]
    assert "No runbook" in comments[-1]["text"]


def test_same_delivery_three_times_concurrently(stack: Stack) -> None:
    event = samples.sns_event(cpu())
    results: list[list[dict[str, Any]]] = []
    barrier = threading.Barrier(3)

    def deliver() -> None:
        barrier.wait()
        payload, error = stack.local.invoke("IngestFunction", event)
        if error == "IngestIncomplete":  # in progress elsewhere: Lambda retries it later
            payload = json.loads(payload["errorMessage"])  # type: ignore[index]
        results.append(payload["results"])  # type: ignore[index]

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = sorted(r[0]["outcome"] for r in results)
    assert first.count("created") == 1
    # The others are duplicates, or retryable while the first was still opening the alert
    # (never a second ticket): their retry is a duplicate.
    for r in results:
        if r[0]["outcome"] != "created":
            assert r[0]["outcome"] == "duplicate" or r[0]["retryable"]
    assert [r["outcome"] for r in stack.ingest(event)] == ["duplicate"]
    stack.local.wait_for_executions()
    assert len(stack.alerts.list_alerts()) == 1
    assert len(stack.tickets.list()) == 1
    assert len(stack.local.executions()) == 1


def test_same_message_published_three_times_concurrently(stack: Stack) -> None:
    message = json.dumps(cpu())
    threads = [
        threading.Thread(target=stack.local.publish_alarm, args=(message,)) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stack.local.wait_for_executions()
    [alert] = stack.alerts.list_alerts()
    assert alert.occurrences == 1
    assert len(stack.tickets.list()) == 1
    assert [e["name"] for e in stack.local.executions()] == [alert.execution_name]


def test_alarm_then_ok_resolves_alert_and_ticket(stack: Stack) -> None:
    stack.local.publish_alarm(cpu(0))
    stack.local.publish_alarm(cpu(20, state="OK"))
    [alert] = stack.alerts.list_alerts()
    assert alert.status is AlertStatus.RESOLVED
    assert alert.resolution["how"] == "alarm returned to OK"
    ticket = stack.tickets.get(alert.ticket_id or "")
    assert ticket and ticket.status is TicketStatus.RESOLVED
    assert "returned to OK" in ticket.comments[-1]["text"] or any(
        "returned to OK" in c["text"] for c in ticket.comments
    )


def test_batch_with_one_malformed_record(stack: Stack) -> None:
    results = stack.ingest(load_event("bad-batch-one-malformed.json"))
    assert [r["outcome"] for r in results] == ["created", "rejected", "created"]
    assert "not JSON" in results[1]["reason"]
    stack.local.wait_for_executions()
    assert {a.alarm_name for a in stack.alerts.list_alerts()} == {
        "prod-search-cpu-high",
        "staging-checkout-api-memory-warning",
    }
    [rejection] = _rejections_today(stack)
    assert "not JSON" in rejection["reason"] and rejection["excerpt"].startswith(
        '{"AlarmName": "broken"'
    )


def _rejections_today(stack: Stack) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

    from opslink.adapters.store.bookkeeping import Bookkeeping

    return Bookkeeping(stack.alerts.table, stack.alerts.client).rejections(datetime.now(UTC))


def test_insufficient_data_and_eventbridge_form(stack: Stack) -> None:
    results = stack.ingest(load_event("eventbridge-alarm-state-change.json"))
    assert results[0]["outcome"] == "created"
    # The same transition forwarded through SNS is the same alert: a duplicate.
    again = stack.ingest(load_event("sns-eventbridge-forwarded.json"))
    assert again[0]["outcome"] == "duplicate" and again[0]["alert_id"] == results[0]["alert_id"]
    stack.local.publish_alarm(cpu(0))
    stack.local.publish_alarm(cpu(10, state="INSUFFICIENT_DATA"))
    alert = next(a for a in stack.alerts.list_alerts() if a.service == "checkout")
    kinds = [n["kind"] for n in alert.notes]
    assert alert.status is AlertStatus.OPEN and "insufficient_data" in kinds, alert.notes


def test_ticket_closed_by_a_human_resolves_alert_on_sweep(stack: Stack) -> None:
    stack.local.publish_alarm(cpu(0))
    [alert] = stack.alerts.list_alerts()
    stack.tickets.set_status(alert.ticket_id or "", TicketStatus.CLOSED, note="fixed by hand")
    fired = stack.local.advance(300)
    assert "opslink-TrackFunction" in fired
    resolved = stack.alerts.get(alert.alert_id)
    assert resolved and resolved.status is AlertStatus.RESOLVED
    assert resolved.resolution["by"] == "ticket" and resolved.resolution["status"] == "closed"
    # The next ALARM of the same alarm is a new alert, and reopens the ticket.
    from datetime import UTC, datetime

    later = (datetime.now(UTC) - T0).total_seconds() / 60 + 1
    stack.local.publish_alarm(cpu(later))
    [reopened] = stack.alerts.list_alerts(status="open")
    assert reopened.alert_id != alert.alert_id and reopened.ticket_id == alert.ticket_id
    assert stack.tickets.get(alert.ticket_id or "").status is TicketStatus.OPEN  # type: ignore[union-attr]
