"""Deciding from chat on the emulator, as it happens in Slack: the approval request is
posted to the local workspace, Reject opens a dialog asking why, its submission decides
(the execution ends with humans, the reason on the ticket) and the original message is
replaced with the outcome; an empty reason is refused in the dialog itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opslink_cli import samples
from opslink_cli.demo import SLACK_USER, _orders_db, _wait_for_approval_request, demo_stack
from opslink_cli.executions import list_executions
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def _awaiting_approval(local: Any, slack: Any) -> tuple[Stack, Any, str, dict[str, Any]]:
    """An orders-db alarm whose only runbook waits for approval, and its Slack request."""
    stack = Stack(local)
    local.publish_alarm(_orders_db("prod-orders-db-connections-high", samples.T0))
    [alert] = stack.alerts.list_alerts()
    execution = str(alert.execution_name)
    _wait_for_approval_request(local, execution)
    return stack, alert, execution, slack.message_for(execution)


def test_reject_asks_why_decides_on_submit_and_updates_the_message(tmp_path: Path) -> None:
    with demo_stack(tmp_path / "lambda.log") as (local, slack):
        stack, alert, execution, message = _awaiting_approval(local, slack)
        links = [e["url"] for b in message["blocks"] for e in b.get("elements", []) if "url" in e]
        assert any(execution in link and "/states/home?region=" in link for link in links)
        answer, error = local.invoke("TrackFunction", slack.click(message, "reject", *SLACK_USER))
        assert error is None and answer["statusCode"] == 200 and json.loads(answer["body"]) == {}
        [dialog] = slack.views
        assert dialog["callback_id"] == "opslink_reject" and dialog["trigger_id"]
        assert local.waiting_for_approval(execution)  # nothing decided by the click alone
        empty, _ = local.invoke("TrackFunction", slack.submit(dialog, "  ", *SLACK_USER))
        assert json.loads(empty["body"])["response_action"] == "errors"
        done, error = local.invoke(
            "TrackFunction",
            slack.submit(dialog, "orders batch import runs until 18:00", *SLACK_USER),
        )
        assert error is None and json.loads(done["body"]) == {"response_action": "clear"}
        local.wait_for_executions([execution], timeout=90)
        [row] = list_executions(stack.sfn, local.arns["RemediationStateMachine"], 10)
        assert row["outcome"] == "LeftToHumans" and row["reason"] == "approval rejected"
        ticket = stack.tickets.get(str(alert.ticket_id))
        said = " ".join(c["text"] for c in ticket.comments)  # type: ignore[union-attr]
        assert "orders batch import runs until 18:00" in said and "dana@example.com" in said
        updated = next(m for m in slack.messages if m["ts"] == message["ts"])
        # replaced once the run moved on (the request was answered at once)
        assert updated["text"].startswith("Runbook rejected by dana@example.com: orders batch")
        assert updated["text"].endswith("the alert stays with humans.")
        assert not any(b.get("type") == "actions" for b in updated["blocks"])  # buttons gone
        # the same dialog submitted again: one decision, told in the dialog
        again, _ = local.invoke("TrackFunction", slack.submit(dialog, "again", *SLACK_USER))
        assert "Already decided" in json.dumps(json.loads(again["body"]))


def test_a_decision_from_the_cli_updates_the_chat_message_in_place(tmp_path: Path) -> None:
    """Whoever decides — here `opslink executions approve` — the request's message in
    Slack is replaced with the decision once the run moves on, its buttons gone."""
    from opslink_cli.connection import Connection
    from opslink_cli.demo import APPROVER, _decide

    with demo_stack(tmp_path / "lambda.log") as (local, slack):
        stack, _, execution, message = _awaiting_approval(local, slack)
        conn = Connection(stack.alerts, stack.tickets, stack.sfn,
                          local.arns["RemediationStateMachine"])  # fmt: skip
        _decide(conn, "approve", execution, APPROVER)
        local.wait_for_executions([execution], timeout=90)
        updated = next(m for m in slack.messages if m["ts"] == message["ts"])
        assert updated["text"].startswith(f"Runbook approved by {APPROVER}")
        assert updated["text"].endswith("the runbook runs now.")
        assert not any(b.get("type") == "actions" for b in updated["blocks"])
