"""Deciding from Microsoft Teams on the emulator: the bot posts the approval card to the
local Teams (signed in with its app id and secret), a press comes back as Teams sends it
— an `invoke` activity with a Bot Framework token — to the track function's URL at
/chat/teams, and the execution runs; the decision reaches the ticket asynchronously; a
reply in the card's thread becomes a ticket comment; a decision from the CLI replaces
the card in place."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from opslink_cli import samples
from opslink_cli.connection import Connection
from opslink_cli.demo import APPROVER, _decide, _orders_db, _wait_for_approval_request
from opslink_cli.emulator import LocalStack
from opslink_cli.emulator.teams import APP_ID, APP_PASSWORD, LocalTeams
from opslink_cli.executions import list_executions
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

DANA = ("0d5e2c1a-7b3f-4e8d-9a61-5f2c8d4e0a17", "Dana")  # the shipped map's chat_users
TEAMS_PARAMETERS = {
    "TeamsAppId": APP_ID,
    "TeamsAppPasswordSecretName": "opslink/teams-bot",
    "TeamsConversation": "19:ops@thread.tacv2",
}


@contextmanager
def teams_stack(log_path: Path) -> Iterator[tuple[LocalStack, LocalTeams]]:
    teams = LocalTeams().start()
    overrides = {f: teams.environment() for f in ("RemediateFunction", "TrackFunction")}
    try:
        with LocalStack(mirror_alarms=True, log_path=log_path, env_overrides=overrides,
                        parameters=TEAMS_PARAMETERS) as local:  # fmt: skip
            local.client("secretsmanager").create_secret(
                Name=TEAMS_PARAMETERS["TeamsAppPasswordSecretName"], SecretString=APP_PASSWORD
            )
            yield local, teams
    finally:
        teams.stop()


def _awaiting(local: LocalStack, teams: LocalTeams) -> tuple[Stack, Any, str, dict[str, Any]]:
    stack = Stack(local)
    local.publish_alarm(_orders_db("prod-orders-db-connections-high", samples.T0))
    [alert] = stack.alerts.list_alerts()
    execution = str(alert.execution_name)
    _wait_for_approval_request(local, execution)
    return stack, alert, execution, teams.message_for(execution)


def _send(local: LocalStack, event: dict[str, Any]) -> dict[str, Any]:
    answer, error = local.invoke("TrackFunction", event)
    assert error is None and isinstance(answer, dict) and answer["statusCode"] == 200, answer
    return dict(json.loads(answer["body"]))


def _comments(stack: Stack, ticket_id: str, wanted: str, wait: float = 30.0) -> str:
    """The ticket's comments once `wanted` is among them (delivered asynchronously)."""
    deadline = time.monotonic() + wait
    while True:
        ticket = stack.tickets.get(ticket_id)
        said = "\n".join(c["text"] for c in ticket.comments)  # type: ignore[union-attr]
        if wanted in said or time.monotonic() > deadline:
            return said
        time.sleep(0.2)


def test_a_teams_press_approves_and_a_thread_reply_reaches_the_ticket(tmp_path: Path) -> None:
    with teams_stack(tmp_path / "lambda.log") as (local, teams):
        stack, alert, execution, message = _awaiting(local, teams)
        assert message["conversation"] == "19:ops@thread.tacv2"
        card = message["cards"][0]
        assert [a.get("verb") for a in card["actions"]][:3] == ["approve", "reject", "pause"]
        empty = _send(local, teams.press(message, "reject", *DANA, reason=" "))
        assert "Say why" in empty["value"] and local.waiting_for_approval(execution)
        reply = _send(local, teams.reply(message, "Checked the pool, go ahead", *DANA))
        assert reply == {"ok": True}
        done = _send(local, teams.press(message, "approve", *DANA))
        assert done["type"] == "application/vnd.microsoft.card.adaptive"
        assert "actions" not in done["value"]
        local.wait_for_executions([execution], timeout=90)
        [row] = list_executions(stack.sfn, local.arns["RemediationStateMachine"], 10)
        assert row["status"] == "SUCCEEDED" and row["outcome"] != "LeftToHumans"
        said = _comments(stack, str(alert.ticket_id), "from Teams (Dana)")
        assert "Approved by dana@example.com from Teams (Dana)" in said
        assert "dana@example.com on Teams" in said and "Checked the pool, go ahead" in said
        assert teams.tokens_issued == 1  # the bot signed in once for its posts


def test_a_decision_from_the_cli_replaces_the_teams_card(tmp_path: Path) -> None:
    with teams_stack(tmp_path / "lambda.log") as (local, teams):
        stack, _, execution, message = _awaiting(local, teams)
        conn = Connection(stack.alerts, stack.tickets, stack.sfn,
                          local.arns["RemediationStateMachine"])  # fmt: skip
        _decide(conn, "reject", execution, APPROVER)
        local.wait_for_executions([execution], timeout=90)
        [card] = next(m for m in teams.messages if m["id"] == message["id"])["cards"]
        text = json.dumps(card)
        assert "Runbook rejected by" in text and "the alert stays with humans" in text
        assert "actions" not in card
