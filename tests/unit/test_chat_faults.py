"""Integration faults told in chat (chat/fault_notices.py), on the real store (moto) and
the emulator's local Slack and Teams: a ticket system that starts failing is told once
in the default channel with its impact and what OpsLink does meanwhile, its recovery
once; a chat that is away hears it on a later pass; chat's own faults are not told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from opslink.adapters.chat.slack_messages import SlackApprovalMessages
from opslink.adapters.chat.teams_messages import TeamsApprovalMessages
from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.adapters.store.faults import FaultRecords
from opslink.chat.fault_notices import tell_faults
from opslink.errors import JobPlatformError, TicketSystemError
from opslink.faults import FaultReporter
from opslink.ingest import IngestDeps
from opslink_cli.emulator.slack import BOT_TOKEN, LocalSlack
from opslink_cli.emulator.teams import APP_ID, APP_PASSWORD, LocalTeams
from tests.unit.conftest import Clock


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    local = LocalSlack().start()
    yield local
    local.stop()


@pytest.fixture
def teams() -> Iterator[tuple[LocalTeams, TeamsApprovalMessages]]:
    """The emulator's Teams and a bot posting to its ops conversation."""
    local = LocalTeams().start()
    env = local.environment()
    chat = TeamsApprovalMessages(APP_ID, APP_PASSWORD, "19:ops@thread.tacv2",
                                 login_url=env["TEAMS_LOGIN_URL"],
                                 service_url=env["TEAMS_SERVICE_URL"])  # fmt: skip
    yield local, chat
    local.stop()


def _records(deps: IngestDeps) -> tuple[FaultRecords, FaultReporter]:
    records = FaultRecords("AlertsTable", deps.store.client)  # type: ignore[attr-defined]
    return records, FaultReporter(records)


def test_a_fault_and_its_recovery_are_told_once_each(
    deps: IngestDeps, clock: Clock, slack: LocalSlack
) -> None:
    records, reporter = _records(deps)
    chat = SlackApprovalMessages(BOT_TOKEN, "#ops", base_url=slack.api_url)
    reporter.record("ticket_system", "jira", TicketSystemError("HTTP 503 from Jira"), {}, clock())
    reporter.record("chat", "slack", TicketSystemError("Slack is away"), {}, clock())
    [told] = tell_faults(records, Bookkeeping("AlertsTable", deps.store.client), chat, clock())  # type: ignore[arg-type]
    [message] = slack.messages
    assert message["channel"] == "#ops"
    assert message["text"] == "OpsLink fault: jira (ticket_system) failing"
    body = message["blocks"][0]["text"]["text"]
    assert "HTTP 503 from Jira" in body and "Impact: ticket creation" in body
    assert "the reconciler creates their tickets on recovery" in body
    clock.advance(minutes=5)
    reporter.record("ticket_system", "jira", TicketSystemError("HTTP 503 again"), {}, clock())
    assert (
        tell_faults(records, Bookkeeping("AlertsTable", deps.store.client), chat, clock()) == []
    )  # told already
    clock.advance(minutes=20)
    reporter.recovered("ticket_system", "jira", clock())
    assert tell_faults(records, Bookkeeping("AlertsTable", deps.store.client), chat, clock()) == [
        told
    ]  # type: ignore[arg-type]
    assert slack.messages[-1]["text"].startswith("OpsLink recovered: jira (ticket_system)")
    assert "lasted 25 min" in slack.messages[-1]["blocks"][0]["text"]["text"]
    assert len(slack.messages) == 2


def test_a_chat_that_is_away_hears_of_the_fault_on_a_later_pass(
    deps: IngestDeps, clock: Clock, slack: LocalSlack
) -> None:
    records, reporter = _records(deps)
    reporter.record("job_platform", "awx", JobPlatformError("AWX 502"), {}, clock())
    away = SlackApprovalMessages(BOT_TOKEN, "#ops", base_url="http://127.0.0.1:9/api/")
    assert tell_faults(records, Bookkeeping("AlertsTable", deps.store.client), away, clock()) == []  # type: ignore[arg-type]
    chat = SlackApprovalMessages(BOT_TOKEN, "#ops", base_url=slack.api_url)
    clock.advance(minutes=5)
    assert (
        len(tell_faults(records, Bookkeeping("AlertsTable", deps.store.client), chat, clock())) == 1
    )  # type: ignore[arg-type]
    assert "automation paused for the platform (circuit open)" in json_of(slack.messages)


def test_old_faults_are_not_told_again_and_teams_hears_them_as_cards(
    deps: IngestDeps, clock: Clock, teams: tuple[LocalTeams, TeamsApprovalMessages]
) -> None:
    records, reporter = _records(deps)
    reporter.record("ticket_system", "servicenow", TicketSystemError("old"), {}, clock())
    clock.advance(days=2)
    reporter.record("job_platform", "rundeck", JobPlatformError("Rundeck 500"), {}, clock())
    local, chat = teams
    told = tell_faults(
        records,
        Bookkeeping("AlertsTable", deps.store.client),
        chat,
        clock() + timedelta(minutes=1),
    )  # type: ignore[arg-type]
    assert len(told) == 1 and "rundeck" in told[0]
    [card] = local.messages[0]["cards"]
    assert "rundeck" in json_of([card]) and "Rundeck 500" in json_of([card])


def json_of(messages: list[Any]) -> str:
    import json

    return json.dumps(messages)


def test_a_function_with_chat_tells_a_fault_the_moment_it_opens(
    deps: IngestDeps, clock: Clock, slack: LocalSlack
) -> None:
    """The remediate function's reporter has chat: a job platform's circuit opening is
    told at once, its recovery too, and the scheduled pass finds nothing left to tell."""
    records = FaultRecords("AlertsTable", deps.store.client)  # type: ignore[attr-defined]
    chat = SlackApprovalMessages(BOT_TOKEN, "#ops", base_url=slack.api_url)
    reporter = FaultReporter(records, None, chat, Bookkeeping("AlertsTable", deps.store.client))  # type: ignore[arg-type]
    reporter.record("job_platform", "rundeck", JobPlatformError("Rundeck 503"), {}, clock())
    [told] = slack.messages
    assert told["text"] == "OpsLink fault: rundeck (job_platform) failing"
    assert "automation paused for the platform (circuit open)" in json_of(slack.messages)
    reporter.record("job_platform", "rundeck", JobPlatformError("Rundeck 503 again"), {}, clock())
    assert len(slack.messages) == 1  # the same fault: counted, not told again
    assert tell_faults(records, Bookkeeping("AlertsTable", deps.store.client), chat, clock()) == []  # type: ignore[arg-type]
    clock.advance(minutes=7)
    reporter.recovered("job_platform", "rundeck", clock())
    assert slack.messages[-1]["text"].startswith("OpsLink recovered: rundeck (job_platform)")
    assert tell_faults(records, Bookkeeping("AlertsTable", deps.store.client), chat, clock()) == []  # type: ignore[arg-type]
    assert len(slack.messages) == 2


def test_no_secret_reaches_a_channel_or_a_conversation(
    slack: LocalSlack, teams: tuple[LocalTeams, TeamsApprovalMessages]
) -> None:
    """Whatever a message is written from (an error's text, a job's detail), the chat
    adapters scrub it as the ticket guard does every ticket write."""
    token = "ghp_" + "R8kq2ZtLw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2"
    facts = {"service": "checkout", "environment": "prod", "alarm": "cpu-high",
             "alert_id": "A-1", "ticket": "T-1", "why": f"the job failed: password=Hunt3r-Pw {token}",
             "title": f"OpsLink fault: jira failing ({token})",
             "body": f"HTTP 401 from Jira with Authorization: Basic dXNlcjpIdW50M3ItUHc= {token}"}  # fmt: skip
    chat = SlackApprovalMessages(BOT_TOKEN, "#ops", base_url=slack.api_url)
    chat.handed_over(facts)
    chat.fault(facts)
    local, card_chat = teams
    card_chat.handed_over(facts)
    card_chat.fault(facts)
    said = json_of(slack.messages) + json_of(local.messages)
    assert "the job failed" in said and "HTTP 401 from Jira" in said
    for secret in (token, "Hunt3r-Pw", "dXNlcjpIdW50M3ItUHc="):
        assert secret not in said
