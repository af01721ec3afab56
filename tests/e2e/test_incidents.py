"""Alert correlation on the emulator, end to end: a burst of one alarm across an Auto
Scaling group through SNS is one incident with one ticket and one remediation;
`opslink incidents list|show|split|merge` read and correct it through the track function."""

from __future__ import annotations

import argparse
import io
import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from opslink.models import TicketStatus
from opslink_cli import connection, samples
from opslink_cli.connection import OperatorError
from opslink_cli.incident_commands import incidents_correct, incidents_list, incidents_show
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def _conn(stack: Stack) -> connection.Connection:
    return connection.Connection(stack.alerts, stack.tickets, stack.sfn,
                               stack.local.arns["RemediationStateMachine"],
                               session=boto3.Session(region_name="us-east-1"))  # fmt: skip


def _run(stack: Stack, command: str, **kw: Any) -> dict[str, Any]:
    base = {"incidents_command": command, "by": "dana", "reason": "", "output": "json",
            "query": None}  # fmt: skip
    out = io.StringIO()
    run = incidents_show if command == "show" else incidents_correct
    assert run(_conn(stack), argparse.Namespace(**(base | kw)), out) == 0
    return dict(json.loads(out.getvalue()))


def _list(stack: Stack, status: str | None = None) -> list[dict[str, Any]]:
    args = argparse.Namespace(status=status, limit=20, alerts=200, output="json", query=None)
    out = io.StringIO()
    assert incidents_list(_conn(stack), args, out) == 0
    return list(json.loads(out.getvalue()))


def _burst(stack: Stack, family: str, n: int, start: float = 0) -> None:
    for i in range(n):
        stack.local.publish_alarm(samples.metric_alarm(
            f"{family}-i-0abc{i:013x}", samples.T0 + timedelta(minutes=start + i * 0.5),
            dimensions={"AutoScalingGroupName": "search-asg",
                        "InstanceId": f"i-0abc{i:013x}"}))  # fmt: skip


def test_a_burst_is_one_incident_shown_split_and_merged_by_operators(stack: Stack) -> None:
    _burst(stack, "prod-search-cpu-high", 4)
    alerts = sorted(stack.alerts.list_alerts(), key=lambda a: a.triggered_at)
    assert len(alerts) == 4 and len({a.ticket_id for a in alerts}) == 1
    assert [bool(a.execution_name) for a in alerts] == [True, False, False, False]
    incident = alerts[0].incident_id
    assert incident and all(a.incident_id == incident for a in alerts)

    shown = _run(stack, "show", incident_id=alerts[2].alert_id)  # by one of its alerts
    assert shown["incident"] == incident and shown["ticket"] == alerts[0].ticket_id
    assert [m["role"] for m in shown["members"]] == ["opened", "joined", "joined", "joined"]
    assert all(m["firing"] for m in shown["members"])
    assert "builtin:burst" in shown["members"][1]["why"]

    split = _run(stack, "split", alert_id=alerts[3].alert_id, reason="its own disk")
    assert split["from"] == incident and split["ticket_id"] != alerts[0].ticket_id
    assert len(_run(stack, "show", incident_id=incident)["members"]) == 3

    _burst(stack, "prod-search-disk-full", 2, start=3)
    disk = [a for a in stack.alerts.list_alerts() if "disk-full" in a.alarm_name]
    merged = _run(stack, "merge", source=disk[0].alert_id, into=incident)
    assert sorted(merged["moved"]) == sorted(a.alert_id for a in disk)
    old = stack.tickets.get(disk[0].ticket_id or "")
    assert old is not None and old.status is TicketStatus.RESOLVED
    assert len(_run(stack, "show", incident_id=incident)["members"]) == 5

    # Listed through their alerts: the burst's incident (5 alerts, its ticket) and the
    # split-out alert's own, both open; the disk alarms' first incident, merged away, has
    # no alert left and is not.
    listed = _list(stack)
    by_id = {row["incident"]: row for row in listed}
    assert set(by_id) == {incident, split["incident_id"]}
    assert by_id[incident]["alerts"] == 5 and by_id[incident]["ticket"] == alerts[0].ticket_id
    assert by_id[incident]["opener"] == alerts[0].alarm_name
    assert by_id[split["incident_id"]]["ticket"] == split["ticket_id"]
    assert {row["status"] for row in listed} == {"open"}
    assert _list(stack, "resolved") == []
    # The split-out alert's alarm clears: its incident is resolved, listed after the open.
    stack.local.publish_alarm(samples.metric_alarm(
        alerts[3].alarm_name, samples.T0 + timedelta(minutes=9), state="OK", old="ALARM",
        dimensions={"AutoScalingGroupName": "search-asg", "InstanceId": "i-0abc0000000000003"}))  # fmt: skip
    assert [(r["incident"], r["status"]) for r in _list(stack)] == [
        (incident, "open"), (split["incident_id"], "resolved")]  # fmt: skip
    assert [r["incident"] for r in _list(stack, "resolved")] == [split["incident_id"]]

    with pytest.raises(OperatorError, match="opened incident"):
        _run(stack, "split", alert_id=alerts[0].alert_id)
    with pytest.raises(OperatorError, match="not found"):
        _run(stack, "show", incident_id="INC-nope")
