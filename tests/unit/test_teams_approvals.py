"""Approve, reject and pause from Microsoft Teams (the track function URL's /chat/teams,
the bot's messaging endpoint), on the real store (moto), the builtin ticket system and a
local Teams on 127.0.0.1 (the emulator's: sign-in, Bot Connector, OpenID metadata and
signing keys): only activities the Bot Framework signed for this bot are heard; only
mapped approvers decide; a double press, a replay or two people at once give one
decision; the card is replaced for everyone with the outcome."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslink.adapters.chat.slack_messages import ChatError
from opslink.adapters.chat.teams_cards import request_card
from opslink.adapters.chat.teams_messages import TeamsApprovalMessages
from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.chat.teams import handle
from opslink.chat.teams_auth import BotKeys
from opslink.comment_outbox import drain
from opslink.ingest import IngestDeps
from opslink.service_map import load_service_map
from opslink.webhook_service import WebhookRequest
from opslink_cli.emulator.teams import APP_ID, APP_PASSWORD, LocalTeams
from tests.unit.conftest import Clock
from tests.unit.fakes import JSON_VALUES, Callbacks, opened_alert, tracking_on

DANA, LEE, EVE = "0a6b-dana", "0a6b-lee", "0a6b-eve"  # Entra object ids
CHANNEL = "19:ops@thread.tacv2"


@pytest.fixture(scope="module")
def teams() -> Iterator[LocalTeams]:
    local = LocalTeams().start()
    yield local
    local.stop()


def facts(execution: str, **more: str) -> dict[str, str]:
    return {"execution": execution, "runbook": "restart_service", "service": "checkout",
            "environment": "production", "alarm": "prod-checkout-api-cpu-high",
            "alert_id": "A-1", "risk": "approval", "description": "Restart the unit"} | more  # fmt: skip


@pytest.fixture
def world(deps: IngestDeps, clock: Clock, teams: LocalTeams) -> dict[str, Any]:
    alert = opened_alert(deps)
    execution = f"remediate-{alert['alert_id']}"
    deps.store.set_approval_token(alert["alert_id"], "token-1")  # type: ignore[attr-defined]
    base = load_service_map()
    smap = base.model_copy(update={
        "chat_users": {f"teams:{DANA}": "dana@example.com", f"teams:{LEE}": "lee@example.com",
                       f"teams:{EVE}": "eve@example.com"},
        "services": base.services | {"checkout": base.services["checkout"].model_copy(
            update={"approvers": ["dana@example.com", "lee@example.com"]})},
    })  # fmt: skip
    card = {
        "id": "1765000000001",
        "conversation": CHANNEL,
        "cards": [request_card(facts(execution))],
    }
    couriered: list[str] = []
    track = tracking_on(deps, clock=clock, courier=couriered.append)  # fmt: skip
    return {"deps": deps, "track": track, "smap": smap, "execution": execution, "card": card,
            "alert": alert, "callbacks": Callbacks(), "now": clock.now.timestamp(),
            "keys": BotKeys(teams.openid_url), "couriered": couriered}  # fmt: skip


def send(w: dict[str, Any], event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = WebhookRequest("POST", event["headers"], event["body"].encode(), path="/chat/teams")
    return handle(req, APP_ID, w["keys"], w["track"], w["callbacks"], w["smap"])


def press(w: dict[str, Any], teams: LocalTeams, verb: str, who: str = DANA, reason: str = "",
          at_offset: float = 0) -> tuple[int, dict[str, Any]]:  # fmt: skip
    return send(w, teams.press(w["card"], verb, who, who.split("-")[1], reason,
                               at=w["now"] + at_offset))  # fmt: skip


def rendered(card: dict[str, Any]) -> str:
    """A card's texts as Teams shows them (Markdown escapes taken away)."""
    texts = [b.get("text", "") for b in card["body"]]
    texts += [f["value"] for b in card["body"] for f in b.get("facts", [])]
    return re.sub(r"\\(.)", r"\1", "\n".join(texts))


def delivered(w: dict[str, Any]) -> list[str]:
    """The ticket's comments once the courier's asynchronous delivery ran."""
    for ticket in set(w["couriered"]):
        drain(w["deps"].outbox, w["deps"].tickets, ticket)
    return [c["text"] for c in w["deps"].tickets.get(w["alert"]["ticket_id"]).comments]


def test_a_press_decides_once_and_the_card_shows_who_for_everyone(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    status, doc = press(world, teams, "approve")
    assert status == 200 and doc["type"] == "application/vnd.microsoft.card.adaptive"
    shown = json.dumps(doc["value"])
    assert "Approved by dana@example.com from Teams (dana) at " in shown.replace("\\\\", "")
    assert "actions" not in doc["value"]  # buttons gone
    assert [t for t, _ in world["callbacks"].succeeded] == ["token-1"]
    # answered at once: the ticket comment is queued and handed to the courier
    assert world["couriered"] == [world["alert"]["ticket_id"]]
    assert any("Approved by dana@example.com" in c for c in delivered(world))
    status, doc = press(world, teams, "reject", LEE, "not now", at_offset=1)
    assert doc["type"] == "application/vnd.microsoft.activity.message"
    assert doc["value"].startswith("Already decided: Runbook approved by dana@example.com")
    assert world["callbacks"].failed == []


def test_two_people_pressing_at_once_give_one_decision(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()
    answers: list[Any] = []
    presses = [("approve", DANA, ""), ("reject", LEE, "wait"), ("approve", LEE, "")]
    threads = [threading.Thread(target=lambda v=v, u=u, r=r: answers.append(
        press(world, teams, v, u, r))) for v, u, r in presses]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cards = [d for _, d in answers if d["type"].endswith("card.adaptive")]
    assert len(cards) == 1
    assert len(world["callbacks"].succeeded) + len(world["callbacks"].failed) == 1


def test_a_rejection_needs_a_reason_and_carries_it_to_the_ticket(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    _, doc = press(world, teams, "reject", reason="  ")
    assert "Say why it must not run" in doc["value"] and world["callbacks"].failed == []
    _, doc = press(world, teams, "reject", reason="the DB is being migrated", at_offset=1)
    assert doc["type"].endswith("card.adaptive")
    assert [t for t, _ in world["callbacks"].failed] == ["token-1"]
    assert any("the DB is being migrated (from Teams (dana))" in c for c in delivered(world))


def test_a_replayed_activity_does_nothing_more(world: dict[str, Any], teams: LocalTeams) -> None:
    event = teams.press(world["card"], "approve", DANA, "dana", at=world["now"])
    assert send(world, event)[1]["type"].endswith("card.adaptive")
    status, doc = send(world, event)
    assert status == 200 and "received before" in doc["value"]
    assert len(world["callbacks"].succeeded) == 1


def test_unmapped_users_and_non_approvers_are_told_why_and_decide_nothing(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    _, doc = press(world, teams, "approve", "0a6b-nobody")
    assert "not mapped to a directory identity" in doc["value"]
    _, doc = press(world, teams, "approve", EVE, at_offset=1)
    assert "eve@example.com may not approve runbooks of checkout" in doc["value"]
    assert world["callbacks"].succeeded == [] and world["callbacks"].failed == []


def _hs256(at: float) -> str:
    import jwt

    claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": at + 600}
    return jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": "opslink-local"})


def _other_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        (lambda t, at: t.token(at=at, key=_other_key()), "InvalidSignatureError"),
        (lambda t, at: t.token(at=at, aud="another-bot"), "another bot"),
        (lambda t, at: t.token(at=at, iss="https://sts.example.com"), "not issued by"),
        (lambda t, at: t.token(at=at - 7200), "expired"),
        (lambda t, at: t.token(at=at + 900), "not valid yet"),
        (lambda t, at: t.token(at=at, service_url="https://evil.example/"), "serviceurl"),
        (lambda t, at: "", "not signed"),
        (lambda t, at: _hs256(at), "not RS256"),  # algorithm confusion
    ],
)
def test_untrusted_activities_are_refused_and_decide_nothing(
    world: dict[str, Any], teams: LocalTeams, forge: Any, words: str
) -> None:
    event = teams.press(world["card"], "approve", DANA, "dana", at=world["now"])
    token = forge(teams, world["now"])
    event["headers"]["authorization"] = f"Bearer {token}" if token else ""
    status, doc = send(world, event)
    assert status == 401 and words in doc["error"]
    assert world["callbacks"].succeeded == []


def test_a_key_not_endorsed_for_the_activitys_channel_is_refused(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    event = teams.press(world["card"], "approve", DANA, "dana", at=world["now"])
    activity = json.loads(event["body"]) | {"channelId": "webchat"}
    event["body"] = json.dumps(activity)
    status, doc = send(world, event)
    assert status == 401 and "not endorsed for channel 'webchat'" in doc["error"]


def test_step_up_needs_two_different_teams_approvers(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    alert_id = world["alert"]["alert_id"]
    world["deps"].store.set_approval_token(alert_id, "token-2", needed=2)
    _, doc = press(world, teams, "approve")
    assert "1 of 2 approvals" in doc["value"] and world["callbacks"].succeeded == []
    _, doc = press(world, teams, "approve", at_offset=1)
    assert "approved this request already" in doc["value"]
    _, doc = press(world, teams, "approve", LEE, at_offset=2)
    assert doc["type"].endswith("card.adaptive")
    assert "dana@example.com, lee@example.com" in rendered(doc["value"])
    assert [t for t, _ in world["callbacks"].succeeded] == ["token-2"]


def test_a_thread_reply_becomes_a_scrubbed_ticket_comment(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    message = f"teams:{CHANNEL}/{world['card']['id']}"
    world["track"].bookkeeping.link_chat_message(
        message, world["alert"]["alert_id"], world["track"].clock()
    )
    secret = "AKIAIOSFODNN7EXAMPLE"
    reply = teams.reply(world["card"], f"<at>OpsLink</at> seen it, key {secret}", DANA, "dana")
    reply["headers"]["authorization"] = f"Bearer {teams.token(at=world['now'])}"
    assert send(world, reply) == (200, {"ok": True})
    text = "\n".join(delivered(world))
    assert "dana@example.com on Teams, in the approval request's thread:" in text
    assert "seen it" in text and secret not in text and "<at>" not in text
    assert send(world, reply)[0] == 200  # the same activity again: one comment
    assert "\n".join(delivered(world)).count("seen it") == 1


def test_the_bot_posts_cards_escaped_and_replaces_them(teams: LocalTeams) -> None:
    urls = _urls(teams)
    bot = TeamsApprovalMessages(APP_ID, APP_PASSWORD, CHANNEL, {"orders": "19:db@thread.tacv2"},
                                login_url=urls["login_url"], service_url=urls["service_url"])  # fmt: skip
    before = teams.tokens_issued
    hostile = "[click](https://evil.example) **now** <at>everyone</at>"
    message = bot.approval_requested(facts("remediate-A-" + "0" * 20, alarm=hostile,
                                           ticket_url="https://tickets.example/T-1"))  # fmt: skip
    conversation, _, activity = message.removeprefix("teams:").rpartition("/")
    [posted] = [m for m in teams.messages if m["id"] == activity]
    assert conversation == CHANNEL == posted["conversation"]
    card = posted["cards"][0]
    shown = json.dumps(card["body"])
    assert "\\\\[click\\\\](https://evil.example) \\\\*\\\\*now\\\\*\\\\* \\\\<at\\\\>" in shown
    assert hostile in rendered(card)
    verbs = [(a.get("verb"), a.get("associatedInputs")) for a in card["actions"]]
    assert verbs[:3] == [("approve", "none"), ("reject", "auto"), ("pause", "none")]
    assert card["actions"][3] == {"type": "Action.OpenUrl", "title": "Open ticket",
                                  "url": "https://tickets.example/T-1"}  # fmt: skip
    bot.handed_over({"service": "orders", "environment": "production", "alarm": "x",
                     "why": "no runbook", "alert_id": "A-2"})  # fmt: skip
    assert teams.messages[-1]["conversation"] == "19:db@thread.tacv2"
    assert teams.tokens_issued == before + 1  # signed in once, the token reused
    bot.replace(message, "Approved by dana@example.com")
    assert (
        "Approved by dana" in rendered(posted["cards"][0]) and "actions" not in posted["cards"][0]
    )


def test_a_bot_that_cannot_sign_in_or_post_raises_chat_error(teams: LocalTeams) -> None:
    wrong = TeamsApprovalMessages(
        APP_ID, "not-the-secret", CHANNEL, login_url=_urls(teams)["login_url"]
    )
    with pytest.raises(ChatError, match=r"sign-in .* refused: HTTP 401"):
        wrong.approval_requested(facts("remediate-A-" + "0" * 20))
    gone = TeamsApprovalMessages(APP_ID, APP_PASSWORD, CHANNEL, login_url="http://127.0.0.1:9/")
    with pytest.raises(ChatError, match="sign-in"):
        gone.handed_over(facts("x", why="no runbook"))


def _urls(teams: LocalTeams) -> dict[str, str]:
    env = teams.environment()
    return {"login_url": env["TEAMS_LOGIN_URL"], "service_url": env["TEAMS_SERVICE_URL"]}


def test_a_runbooks_own_approvers_narrow_who_may_approve_it(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    world["deps"].store.set_approval_token(world["alert"]["alert_id"], "token-3",
                                           runbook="restart_service")  # fmt: skip
    checkout = (
        world["smap"]
        .services["checkout"]
        .model_copy(update={"runbook_approvers": {"restart_service": ["lee@example.com"]}})
    )
    world["smap"] = world["smap"].model_copy(
        update={"services": world["smap"].services | {"checkout": checkout}}
    )
    _, doc = press(world, teams, "approve")  # dana approves checkout's other runbooks only
    assert "may not approve runbook restart_service of checkout" in doc["value"]
    assert world["callbacks"].succeeded == []
    _, doc = press(world, teams, "approve", LEE, at_offset=1)
    assert doc["type"].endswith("card.adaptive")
    assert [t for t, _ in world["callbacks"].succeeded] == ["token-3"]


@pytest.fixture
def control(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto import mock_aws

    from opslink.automation_control import SsmAutomationControl

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield SsmAutomationControl("/opslink/automation-control")


def test_commands_to_the_bot_pause_a_service_and_say_the_status(
    world: dict[str, Any], teams: LocalTeams, control: Any
) -> None:
    env = teams.environment()
    bot = TeamsApprovalMessages(APP_ID, APP_PASSWORD, CHANNEL, login_url=env["TEAMS_LOGIN_URL"],
                                service_url=env["TEAMS_SERVICE_URL"])  # fmt: skip

    def say(text: str, who: str = DANA, n: int = 0) -> str:
        event = teams.command(world["card"], text, who, "x", at=world["now"] + n)
        req = WebhookRequest("POST", event["headers"], event["body"].encode(), path="/chat/teams")
        status, doc = handle(req, APP_ID, world["keys"], world["track"], world["callbacks"],
                             world["smap"], control, lambda: bot)  # fmt: skip
        assert (status, doc) == (200, {"ok": True})
        [answer] = [m for m in teams.messages if m["reply_to"] == json.loads(event["body"])["id"]]
        assert answer["conversation"].startswith(CHANNEL + ";messageid=")
        return re.sub(r"\\(.)", r"\1", answer["text"])

    assert say("pause checkout 2h database migration").startswith(
        "Automation for checkout paused until"
    )
    now = world["track"].clock()
    assert control.current(fresh=True).suppression("checkout", now) is not None
    assert "PAUSED" not in say("status", n=1) and "checkout: paused until" in say("status", n=2)
    assert "may not pause automation for checkout" in say("pause checkout 1h x", EVE, n=3)
    assert "not mapped to a directory identity" in say("status", "0a6b-nobody", n=4)
    assert "@OpsLink status" in say("help", n=5)


def test_an_approval_request_reaches_teams_once_and_teams_down_blocks_nothing(
    deps: IngestDeps, clock: Clock, teams: LocalTeams
) -> None:
    """The remediation's request_approval task posts the card once (a retried task posts
    nothing twice) and links its thread to the alert; a Teams that is away is a fault and
    a note, and the execution still waits (the CLI decides)."""
    from opslink.adapters.store.faults import FaultRecords
    from opslink.faults import FaultReporter
    from opslink.remediation import run_task
    from tests.unit.fakes import FakePlatform, remediate_deps

    alert = opened_alert(deps)
    execution = f"remediate-{alert['alert_id']}"
    rdeps = remediate_deps(deps, FakePlatform(clock), clock)
    rdeps.faults = FaultReporter(FaultRecords("AlertsTable", deps.store.client))  # type: ignore[attr-defined]
    task = {"action": "request_approval", "alert": alert, "token": "token-1",
            "execution": f"arn:aws:states:eu-west-1:123456789012:execution:sm:{execution}",
            "selection": {"runbook": {"name": "restart_db", "tier": "service",
                                      "timeout_seconds": 300}, "approval": True, "reason": "t"}}  # fmt: skip
    urls = _urls(teams)
    rdeps.chat = TeamsApprovalMessages(APP_ID, APP_PASSWORD, CHANNEL, login_url=urls["login_url"],
                                       service_url=urls["service_url"])  # fmt: skip
    before = len(teams.messages)
    assert run_task(task, rdeps) == {"requested": True}
    assert run_task(task, rdeps) == {"requested": True}  # a Step Functions retry
    [card] = teams.messages[before:]
    assert card["cards"][0]["actions"][0]["data"]["execution"] == execution
    linked = Bookkeeping(deps.store.table, deps.store.client).alert_of_chat_message(
        f"teams:{CHANNEL}/{card['id']}"
    )
    assert linked == alert["alert_id"]
    rdeps.chat = TeamsApprovalMessages(APP_ID, APP_PASSWORD, CHANNEL,
                                       login_url="http://127.0.0.1:9/")  # fmt: skip
    other = dict(task, selection={**task["selection"], "runbook": {
        "name": "restart_service", "tier": "service", "timeout_seconds": 300}})  # fmt: skip
    assert run_task(other, rdeps) == {"requested": True}
    stored = deps.store.get(alert["alert_id"])
    assert stored is not None
    kinds = [n["kind"] for n in stored.notes]
    assert kinds.count("chat_posted") == 1 and kinds.count("chat_failed") == 1
    assert deps.store.approval_token(alert["alert_id"]) == "token-1"  # type: ignore[attr-defined]
    faults = FaultRecords("AlertsTable", deps.store.client).faults()  # type: ignore[attr-defined]
    assert any(f.component == "chat" and f.integration == "teams" for f in faults)


def test_a_single_tenant_bot_refuses_activities_from_other_tenants(
    world: dict[str, Any], teams: LocalTeams
) -> None:
    from opslink_cli.emulator.teams import TENANT

    def send_as_bot_of(tenant: str, n: int) -> tuple[int, dict[str, Any]]:
        event = teams.press(world["card"], "approve", DANA, "dana", at=world["now"] + n)
        req = WebhookRequest("POST", event["headers"], event["body"].encode(), path="/chat/teams")
        return handle(req, APP_ID, world["keys"], world["track"], world["callbacks"],
                      world["smap"], tenant=tenant)  # fmt: skip

    status, doc = send_as_bot_of("3c1f0e7a-0000-4000-8000-00000000beef", 0)
    assert status == 401 and "not TeamsTenantId" in doc["error"]
    assert world["callbacks"].succeeded == []
    status, doc = send_as_bot_of(TENANT, 1)
    assert status == 200 and doc["type"].endswith("card.adaptive")


def test_a_rotated_client_secret_is_read_again_when_the_sign_in_is_refused(
    teams: LocalTeams,
) -> None:
    reads: list[str] = []

    def reread() -> str:
        reads.append("read")
        return APP_PASSWORD  # the secret as rotated in Secrets Manager

    urls = _urls(teams)
    bot = TeamsApprovalMessages(APP_ID, "the-old-secret", CHANNEL, login_url=urls["login_url"],
                                service_url=urls["service_url"], reread=reread)  # fmt: skip
    assert bot.check().startswith(f"Teams: bot {APP_ID} signs in")
    assert reads == ["read"]
    bot.check()
    assert reads == ["read"]  # read once; the new secret kept


def test_an_activity_nested_too_deep_to_decode_is_refused_as_malformed(
    world: dict[str, Any],
) -> None:
    event = {"headers": {"authorization": "Bearer x"}, "body": "[" * 5000 + "]" * 5000}
    status, doc = send(world, event)
    assert status == 400 and "not a Bot Framework activity" in doc["error"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["invoke", "message", "conversationUpdate", 7, None]),
    name=st.sampled_from(["adaptiveCard/action", "task/fetch", None]),
    value=JSON_VALUES,
    sender=JSON_VALUES,
    conversation=JSON_VALUES,
    text=JSON_VALUES,
)
def test_any_signed_activity_is_answered_never_a_crash(
    world: dict[str, Any], teams: LocalTeams, kind: Any, name: Any, value: Any, sender: Any,
    conversation: Any, text: Any,
) -> None:  # fmt: skip
    """Whatever a (validly signed) activity carries — wrong types anywhere — it gets an
    answer (200 or 400), never an exception, and decides nothing unless it is a press of
    an OpsLink button by a mapped approver."""
    activity = {"id": f"f:{uuid.uuid4().hex}", "type": kind, "name": name, "value": value,
                "from": sender, "conversation": conversation, "text": text,
                "serviceUrl": teams.service_url, "channelId": "msteams",
                "recipient": {"id": f"28:{APP_ID}"}}  # fmt: skip
    event = teams.event(activity, teams.token(at=world["now"]))
    status, doc = send(world, event)
    assert status in (200, 400) and isinstance(doc, dict)
    assert world["callbacks"].succeeded == [] and world["callbacks"].failed == []


def test_without_teams_configured_the_endpoint_says_so_and_needs_no_jwt_library(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack without TeamsAppId has no Teams layer (PyJWT, cryptography): /chat/teams
    answers 404 without importing them."""
    import sys

    from opslink.chat_wiring import chat_answer
    from opslink.config import TrackSettings

    for name in [
        m for m in sys.modules if m == "jwt" or m.startswith(("jwt.", "opslink.chat.teams"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jwt", None)  # importing it now fails
    settings = TrackSettings.from_environ(
        {"ALERTS_TABLE": "AlertsTable", "TICKETS_TABLE": "TicketsTable"}
    )
    req = WebhookRequest("POST", {}, b"{}", path="/chat/teams")
    out = chat_answer(settings, req, world["track"])
    assert out["statusCode"] == 404 and "TeamsAppId" in out["body"]
