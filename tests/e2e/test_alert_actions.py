"""`opslink alerts ack|assign|snooze` on the emulator: done by the track function, so the
ticket follows in the configured ticket system; each is on the alert and in the audit
trail, and a bad request is refused with why, nothing recorded."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from opslink.models import TicketStatus
from opslink_cli import connection, samples
from opslink_cli.alert_commands import alerts_act
from opslink_cli.connection import NotFound, OperatorError
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def _act(stack: Stack, command: str, alert_id: str, **kw: Any) -> dict[str, Any]:
    conn = connection.Connection(stack.alerts, stack.tickets, stack.sfn,
                               stack.local.arns["RemediationStateMachine"],
                               session=boto3.Session(region_name="us-east-1"))  # fmt: skip
    base = {"alerts_command": command, "alert_id": alert_id, "by": "dana", "reason": "",
            "output": "json", "query": None, "until": None, "hours": None}  # fmt: skip
    out = io.StringIO()
    assert alerts_act(conn, argparse.Namespace(**(base | kw)), out) == 0
    return dict(json.loads(out.getvalue()))


def test_ack_assign_snooze_follow_the_ticket_and_the_audit(stack: Stack) -> None:
    stack.local.publish_alarm(samples.metric_alarm("prod-checkout-api-cpu-high", samples.T0))
    [alert] = stack.alerts.list_alerts()
    ticket_id = alert.ticket_id or ""

    acked = _act(stack, "ack", alert.alert_id, reason="looking at the pool")
    assert acked["changed"] and acked["ticket_id"] == ticket_id
    again = _act(stack, "ack", alert.alert_id, by="lee")  # once: the first one stands
    assert not again["changed"] and again["acknowledged_by"] == "dana"
    ticket = stack.tickets.get(ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.IN_PROGRESS
    assert sum("Acknowledged by dana" in c["text"] for c in ticket.comments) == 1

    assigned = _act(stack, "assign", alert.alert_id, assignee="lee")
    assert assigned["assignee"] == "lee"
    until = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    snoozed = _act(stack, "snooze", alert.alert_id, until=until, reason="vendor fix at 18:00")
    assert snoozed["snoozed_until"] == until.isoformat()

    ticket = stack.tickets.get(ticket_id)
    assert ticket is not None and ticket.assignee == "lee"
    texts = [c["text"] for c in ticket.comments]
    assert any("Assigned to lee by dana" in t for t in texts)
    assert any(f"Snoozed by dana until {until.isoformat()}: vendor fix" in t for t in texts)
    stored = stack.alerts.get(alert.alert_id)
    assert stored is not None and stored.acknowledged_by == "dana" and stored.assignee == "lee"
    assert stored.snoozed_until == until
    kinds = [(e["kind"], e["by"]) for e in stack.alerts.journal.events([], alert_id=alert.alert_id)]
    for kind in ("alert_acknowledged", "alert_assigned", "alert_snoozed"):
        assert (kind, "dana") in kinds

    # Refused with why; nothing recorded.
    with pytest.raises(OperatorError, match="at most 7 days"):
        _act(stack, "snooze", alert.alert_id, until=datetime.now(UTC) + timedelta(days=8))
    with pytest.raises(OperatorError, match="not in the future"):
        _act(stack, "snooze", alert.alert_id, until=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(NotFound):
        _act(stack, "ack", "A-nope")
    stored_after = stack.alerts.get(alert.alert_id)
    assert stored_after is not None and stored_after.snoozed_until == until
