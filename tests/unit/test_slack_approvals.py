"""Approve and reject from Slack (the track function URL's /chat/slack), on the real store
(moto) and the builtin ticket system: only requests Slack signed — lately and once — are
heard; only mapped users listed as the service's approvers decide; a double click, a
retry or two people at once give one decision and the second is told who decided."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.chat.slack import handle
from opslink.ingest import IngestDeps
from opslink.service_map import ServiceMap, load_service_map
from opslink.webhook_service import WebhookRequest
from tests.unit.conftest import Clock
from tests.unit.fakes import JSON_VALUES, Callbacks, opened_alert, tracking_on

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def press(
    execution: str,
    action: str = "approve",
    user: str = "U024BE7LH",
    *,
    at: float,
    secret: str = SECRET,
    body: bytes | None = None,
    signed_body: bytes | None = None,
) -> WebhookRequest:
    """A block_actions payload as Slack posts it (form-encoded `payload`), signed v0."""
    payload = {"type": "block_actions", "user": {"id": user, "username": "dana"},
               "actions": [{"action_id": action, "value": execution, "type": "button"}]}  # fmt: skip
    raw = body if body is not None else urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(at))
    base = b"v0:" + ts.encode() + b":" + (signed_body if signed_body is not None else raw)
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    headers = {"x-slack-request-timestamp": ts, "x-slack-signature": sig,
               "content-type": "application/x-www-form-urlencoded"}  # fmt: skip
    return WebhookRequest("POST", headers, raw, path="/chat/slack")


@pytest.fixture
def world(deps: IngestDeps, clock: Clock) -> dict[str, Any]:
    alert = opened_alert(deps)  # checkout's CPU alarm, with its execution
    execution = f"remediate-{alert['alert_id']}"
    deps.store.set_approval_token(alert["alert_id"], "token-1")  # type: ignore[attr-defined]
    base = load_service_map()
    smap = base.model_copy(update={
        "chat_users": {"slack:U024BE7LH": "dana@example.com", "slack:U0LEE": "lee@example.com",
                       "slack:U0EVE": "eve@example.com"},
        "services": base.services | {"checkout": base.services["checkout"].model_copy(
            update={"approvers": ["dana@example.com", "lee@example.com"]})},
    })  # fmt: skip
    track = tracking_on(deps, clock=clock)  # type: ignore[arg-type]
    return {"deps": deps, "track": track, "smap": smap, "execution": execution,
            "alert": alert, "callbacks": Callbacks(), "now": clock.now.timestamp()}  # fmt: skip


def answer(w: dict[str, Any], req: WebhookRequest, smap: ServiceMap | None = None) -> Any:
    return handle(req, SECRET, w["track"], w["callbacks"], smap or w["smap"])


def test_a_signed_approve_decides_once_and_says_who_on_the_message_and_ticket(
    world: dict[str, Any],
) -> None:
    status, doc = answer(world, press(world["execution"], at=world["now"]))
    assert status == 200 and doc["replace_original"]
    assert doc["text"].startswith("Approved by dana@example.com from Slack (dana) at ")
    assert [t for t, _ in world["callbacks"].succeeded] == ["token-1"]
    alert = world["deps"].store.get(world["alert"]["alert_id"])
    assert any(n["kind"] == "approved" and "dana@example.com" in n["text"] for n in alert.notes)
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    assert any("Approved by dana@example.com" in c["text"] for c in ticket.comments)
    # lee clicks reject a moment later: one decision stands, lee is told whose.
    status, doc = answer(world, press(world["execution"], "reject", "U0LEE", at=world["now"] + 1))
    assert status == 200 and doc["response_type"] == "ephemeral"
    assert "Already decided: Runbook approved by dana@example.com" in doc["text"]
    assert world["callbacks"].failed == []


def test_two_people_clicking_at_once_give_one_decision(world: dict[str, Any]) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()
    answers: list[Any] = []
    clicks = [("approve", "U024BE7LH"), ("reject", "U0LEE"), ("approve", "U0LEE")]
    threads = [threading.Thread(target=lambda a=a, u=u, n=n: answers.append(
        answer(world, press(world["execution"], a, u, at=world["now"] + n / 10))))
        for n, (a, u) in enumerate(clicks)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    decided = [d for _, d in answers if d.get("replace_original")]
    assert len(decided) == 1
    assert len(world["callbacks"].succeeded) + len(world["callbacks"].failed) == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"secret": "another-apps-secret"}, "signature does not match"),
        ({"signed_body": b"payload=%7B%7D"}, "signature does not match"),  # body tampered
        ({"at_offset": -600}, "stale"),
        ({"at_offset": 600}, "stale"),
    ],
)
def test_untrusted_requests_are_refused_and_decide_nothing(
    world: dict[str, Any], change: dict[str, Any], words: str
) -> None:
    at = world["now"] + change.pop("at_offset", 0)
    status, doc = answer(world, press(world["execution"], at=at, **change))
    assert status == 401 and words in doc["error"]
    assert world["callbacks"].succeeded == [] and world["callbacks"].failed == []


def test_a_replayed_request_is_refused(world: dict[str, Any]) -> None:
    req = press(world["execution"], "reject", at=world["now"])
    assert answer(world, req)[0] == 200
    status, doc = answer(world, req)
    assert status == 401 and "replayed" in doc["error"]


def test_unmapped_users_and_non_approvers_are_told_why_and_decide_nothing(
    world: dict[str, Any],
) -> None:
    status, doc = answer(world, press(world["execution"], user="U0NOBODY", at=world["now"]))
    assert status == 200 and "not mapped to a directory identity" in doc["text"]
    status, doc = answer(world, press(world["execution"], user="U0EVE", at=world["now"] + 1))
    assert "eve@example.com may not approve runbooks of checkout" in doc["text"]
    assert world["callbacks"].succeeded == [] and world["callbacks"].failed == []


@pytest.mark.parametrize(
    "body",
    [b"payload=not-json", b"nothing=here", urlencode({"payload": "[" * 5000 + "]" * 5000}).encode(),
     urlencode({"payload": json.dumps(
        {"type": "block_actions", "user": {"id": "U024BE7LH"},
         "actions": [{"action_id": "approve", "value": "rm -rf /"}]})}).encode()],
)  # fmt: skip
def test_malformed_presses_are_refused(world: dict[str, Any], body: bytes) -> None:
    status, doc = answer(world, press(world["execution"], at=world["now"], body=body))
    assert status == 400 and doc["error"]


def test_an_approval_request_is_posted_once_with_its_buttons_and_slack_down_blocks_nothing(
    deps: IngestDeps, clock: Clock
) -> None:
    """On a local Slack Web API: the request lands in the service's channel with approve
    and reject buttons carrying the execution; a retried task posts nothing twice; a Slack
    that refuses is a fault and a note, and the execution still waits for the CLI."""
    from opslink.adapters.chat.slack_messages import SlackApprovalMessages
    from opslink.adapters.store.faults import FaultRecords
    from opslink.faults import FaultReporter
    from opslink.remediation import run_task
    from tests.integration.contract_servers import SlackApi, serve
    from tests.unit.fakes import FakePlatform, remediate_deps

    alert = opened_alert(deps)
    execution = f"remediate-{alert['alert_id']}"
    rdeps = remediate_deps(deps, FakePlatform(clock), clock)
    rdeps.faults = FaultReporter(FaultRecords("AlertsTable", deps.store.client))  # type: ignore[attr-defined]
    arn = f"arn:aws:states:eu-west-1:123456789012:execution:opslink-RemediationStateMachine:{execution}"
    task = {"action": "request_approval", "alert": alert, "token": "token-1", "execution": arn,
            "selection": {"runbook": {"name": "restart_db", "tier": "service",
                                      "timeout_seconds": 300}, "approval": True, "reason": "t"}}  # fmt: skip
    app = SlackApi()
    with serve(app) as url:
        rdeps.chat = SlackApprovalMessages("xoxb-test-token", "#ops", {"checkout": "#payments"},
                                           base_url=f"{url}/api/")  # fmt: skip
        assert run_task(task, rdeps) == {"requested": True}
        assert run_task(task, rdeps) == {"requested": True}  # a Step Functions retry
        [posted] = app.posted
        assert posted["channel"] == "#payments" and "restart_db" in posted["text"]
        # its thread is the alert's: replies there become ticket comments
        linked = Bookkeeping(deps.store.table, deps.store.client).alert_of_chat_message(
            "#payments/1765000000.000001"
        )
        assert linked == alert["alert_id"]
        # what the approver needs to decide: where, the parameters, the exact hosts
        shown = posted["blocks"][0]["text"]["text"]
        assert "Where: `123456789012 / eu-west-1`" in shown
        assert "Parameters: `SERVICE=postgresql`" in shown
        assert ("Exact targets: `i-0123456789abcdef0 (alarm dimension InstanceId="
                "i-0123456789abcdef0; canary i-0123456789abcdef0 first)`") in shown  # fmt: skip
        buttons = posted["blocks"][1]["elements"]
        assert [(b["action_id"], b.get("value")) for b in buttons] == [
            ("approve", execution), ("reject", execution), ("pause", execution),
            ("open_execution", None)]  # fmt: skip
        link = buttons[-1]["url"]  # the execution in the Step Functions console, its region
        assert link.startswith(
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        )
        assert link.endswith(execution)
        # Slack refuses the next one (an unknown channel): recorded, never the end of it.
        app.unknown_channels.add("#payments")
        other = dict(task, selection={**task["selection"], "runbook": {
            "name": "restart_service", "tier": "service", "timeout_seconds": 300}})  # fmt: skip
        assert run_task(other, rdeps) == {"requested": True}
    stored = deps.store.get(alert["alert_id"])
    assert stored is not None
    kinds = [n["kind"] for n in stored.notes]
    assert kinds.count("chat_posted") == 1 and kinds.count("chat_failed") == 1
    assert deps.store.approval_token(alert["alert_id"]) == "token-1"  # type: ignore[attr-defined]
    faults = FaultRecords("AlertsTable", deps.store.client).faults()  # type: ignore[attr-defined]
    assert any(f.component == "chat" and f.integration == "slack" for f in faults)


# -- step-up: a runbook that needs several approvers ----------------------------------


def _step_up(world: dict[str, Any], needed: int = 2) -> None:
    world["deps"].store.set_approval_token(world["alert"]["alert_id"], "token-1", needed)
    world["deps"].store.add_note(world["alert"]["alert_id"], "needs approval", world["track"].clock(),
                                 kind="approval_requested")  # fmt: skip


def test_step_up_runs_only_after_two_different_people_approve(world: dict[str, Any]) -> None:
    _step_up(world)
    status, doc = answer(world, press(world["execution"], at=world["now"]))
    assert status == 200 and doc["response_type"] == "in_channel" and not doc["replace_original"]
    assert "1 of 2 approvals" in doc["text"] and world["callbacks"].succeeded == []
    # the same person again counts once
    _, again = answer(world, press(world["execution"], at=world["now"] + 1))
    assert "dana@example.com approved this request already" in again["text"]
    assert world["callbacks"].succeeded == []
    _, done = answer(world, press(world["execution"], user="U0LEE", at=world["now"] + 2))
    assert done["replace_original"] and "dana@example.com, lee@example.com" in done["text"]
    [(token, output)] = world["callbacks"].succeeded
    assert token == "token-1" and output["approved_by"] == "dana@example.com, lee@example.com"
    notes = world["deps"].store.get(world["alert"]["alert_id"]).notes
    assert [n["kind"] for n in notes if n["kind"].startswith("approved")] == [
        "approved_partial", "approved"]  # fmt: skip


def test_step_up_one_rejection_stops_it_and_later_approvals_count_for_nothing(
    world: dict[str, Any],
) -> None:
    _step_up(world)
    answer(world, press(world["execution"], at=world["now"]))
    _, rejected = answer(world, press(world["execution"], "reject", "U0LEE", at=world["now"] + 1))
    assert rejected["replace_original"] and rejected["text"].startswith("Rejected by lee@")
    assert len(world["callbacks"].failed) == 1 and world["callbacks"].succeeded == []
    smap = world["smap"].model_copy(update={"services": world["smap"].services | {
        "checkout": world["smap"].services["checkout"].model_copy(
            update={"approvers": ["dana@example.com", "lee@example.com", "eve@example.com"]})}})  # fmt: skip
    _, late = answer(world, press(world["execution"], user="U0EVE", at=world["now"] + 2), smap)
    assert "Already decided: Runbook rejected by lee@example.com" in late["text"]
    assert world["callbacks"].succeeded == []


def test_step_up_two_approvers_at_once_make_one_decision(world: dict[str, Any]) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()
    _step_up(world)
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda u=u, n=n: answers.append(
        answer(world, press(world["execution"], user=u, at=world["now"] + n / 10))))
        for n, u in enumerate(("U024BE7LH", "U0LEE"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bool(d.get("replace_original")) for _, d in answers) == [False, True]
    assert len(world["callbacks"].succeeded) == 1


def test_step_up_needs_a_runbook_that_waits_for_approval(tmp_path: Any) -> None:
    from opslink.errors import ConfigurationError
    from opslink.remediation.catalog import load_catalog

    (tmp_path / "fix.sh").write_text("#!/bin/bash\ntrue\n")
    (tmp_path / "fix.yaml").write_text(
        "name: fix\ndescription: d\ntags: [cpu_usage]\nenvironments: [production]\n"
        "timeout_seconds: 30\nscript: fix.sh\nmin_approvers: 2\n")  # fmt: skip
    with pytest.raises(ConfigurationError, match="min_approvers 2 needs risk: approval"):
        load_catalog(str(tmp_path))
    (tmp_path / "fix.yaml").write_text((tmp_path / "fix.yaml").read_text() + "risk: approval\n")
    load_catalog.cache_clear() if hasattr(load_catalog, "cache_clear") else None
    [runbook] = load_catalog(str(tmp_path))
    assert runbook.spec.min_approvers == 2


# -- pausing automation from Slack: the button and /opslink -------------------------------


def command(
    text: str, user: str = "U024BE7LH", *, at: float, name: str = "/opslink"
) -> WebhookRequest:
    """A slash command as Slack posts it (form fields), signed v0."""
    raw = urlencode({"command": name, "text": text, "user_id": user, "user_name": "dana",
                     "team_id": "T0001", "channel_id": "C0OPS",
                     "response_url": "https://hooks.slack.com/commands/T0001/1/x"}).encode()  # fmt: skip
    ts = str(int(at))
    sig = "v0=" + hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + raw,
                           hashlib.sha256).hexdigest()  # fmt: skip
    return WebhookRequest("POST", {"x-slack-request-timestamp": ts, "x-slack-signature": sig},
                          raw, path="/chat/slack")  # fmt: skip


@pytest.fixture
def control(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto import mock_aws

    from opslink.automation_control import SsmAutomationControl

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield SsmAutomationControl("/opslink/automation-control")


def _answer(w: dict[str, Any], req: WebhookRequest, control: Any) -> Any:
    return handle(req, SECRET, w["track"], w["callbacks"], w["smap"], control)


def test_the_pause_button_stops_automation_for_the_service_for_an_hour(
    world: dict[str, Any], control: Any
) -> None:
    status, doc = _answer(world, press(world["execution"], "pause", at=world["now"]), control)
    assert status == 200 and doc["response_type"] == "in_channel"
    assert doc["text"].startswith("Automation for checkout paused until ")
    now = world["track"].clock()
    why = control.current(fresh=True).suppression("checkout", now)
    assert why is not None and "paused from Slack by dana@example.com" in why
    assert control.current(fresh=True).suppression("search", now) is None
    assert control.current(fresh=True).suppression("checkout", now + timedelta(minutes=61)) is None
    assert world["callbacks"].succeeded == [] and world["callbacks"].failed == []  # no decision
    events = world["deps"].store.journal.events([now], kinds=["operator_action"])
    assert [(e["by"], json.loads(e["detail"])["action"]) for e in events] == [
        ("dana@example.com", "maintenance_window:checkout")]  # fmt: skip
    # someone mapped but not an approver of checkout: refused, nothing changed
    _, eve = _answer(
        world, press(world["execution"], "pause", "U0EVE", at=world["now"] + 1), control
    )
    assert eve["response_type"] == "ephemeral" and "may not pause automation" in eve["text"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("pause checkout 90m database failover drill", "Automation for checkout paused until"),
        ("pause checkout 8d too long", "a pause lasts from 1 minute to 7 days"),
        ("pause checkout soon reason", "'soon' is not a duration"),
        ("pause nowhere 1h x", "'nowhere' is not a service of the service map"),
        ("pause checkout 1h", "usage: /opslink status"),
        ("reboot everything", "usage: /opslink status"),
    ],
)
def test_opslink_pause_from_slack(
    world: dict[str, Any], control: Any, text: str, words: str
) -> None:
    status, doc = _answer(world, command(text, at=world["now"]), control)
    assert status == 200 and words in doc["text"]
    changed = control.current(fresh=True).maintenance
    assert bool(changed) is (doc["response_type"] == "in_channel")


def test_opslink_status_and_refusals(world: dict[str, Any], control: Any) -> None:
    _, before = _answer(world, command("status", at=world["now"]), control)
    assert before["text"] == "Automation runs. No service is paused."
    _answer(world, command("pause checkout 2h deploy freeze", at=world["now"] + 1), control)
    _, after = _answer(world, command("status", at=world["now"] + 2), control)
    assert "checkout: paused until" in after["text"] and "deploy freeze" in after["text"]
    _, stranger = _answer(world, command("status", "U0NOBODY", at=world["now"] + 3), control)
    assert "is not mapped to a directory identity" in stranger["text"]
    status, other = _answer(world, command("status", at=world["now"] + 4, name="/deploy"), control)
    assert status == 400 and "unknown command '/deploy'" in other["error"]
    signed = command("pause checkout 1h x", at=world["now"] + 5)
    forged = dataclasses.replace(signed, body=signed.body.replace(b"checkout", b"payments"))
    assert _answer(world, forged, control)[0] == 401  # a changed body is not Slack's


def test_an_alarm_name_cannot_mention_the_channel_or_link_from_the_message() -> None:
    from opslink.adapters.chat.slack_messages import SlackApprovalMessages
    from tests.integration.contract_servers import SlackApi, serve

    facts = {"runbook": "restart_db", "service": "orders-db", "environment": "production",
             "alarm": "<!channel> <https://evil.example|click me>", "execution": "remediate-A-x",
             "alert_id": "A-1", "targets": "i-1 `<@U123>`", "parameters": "SERVICE=postgresql"}  # fmt: skip
    app = SlackApi()
    with serve(app) as url:
        SlackApprovalMessages("xoxb-test-token", "#ops", base_url=f"{url}/api/").approval_requested(
            facts
        )
    [posted] = app.posted
    shown = posted["text"] + posted["blocks"][0]["text"]["text"]
    assert "<!channel>" not in shown and "<@U123>" not in shown and "<https://" not in shown
    assert "&lt;!channel&gt;" in posted["text"] and "&lt;@U123&gt;" in shown


# -- thread replies become ticket comments (Events API) ----------------------------------


def event_request(doc: dict[str, Any], *, at: float) -> WebhookRequest:
    raw = json.dumps(doc).encode()
    ts = str(int(at))
    sig = "v0=" + hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + raw,
                           hashlib.sha256).hexdigest()  # fmt: skip
    return WebhookRequest("POST", {"x-slack-request-timestamp": ts, "x-slack-signature": sig,
                                   "content-type": "application/json"}, raw, path="/chat/slack")  # fmt: skip


def reply(
    text: str, user: str = "U024BE7LH", event_id: str = "Ev01", **extra: Any
) -> dict[str, Any]:
    event = {"type": "message", "channel": "C0OPS", "user": user, "text": text,
             "ts": "1765000100.000200", "thread_ts": "1765000000.000100"} | extra  # fmt: skip
    return {"type": "event_callback", "team_id": "T0001", "api_app_id": "A0001",
            "event_id": event_id, "event_time": 1765000100, "event": event}  # fmt: skip


def test_a_reply_in_the_requests_thread_is_a_ticket_comment_once_scrubbed_and_inert(
    world: dict[str, Any],
) -> None:
    now = world["now"]
    world["track"].bookkeeping.link_chat_message(
        "C0OPS/1765000000.000100", world["alert"]["alert_id"], world["track"].clock()
    )
    status, doc = answer(
        world, event_request({"type": "url_verification", "challenge": "3eZbrw1a"}, at=now)
    )
    assert (status, doc) == (200, {"challenge": "3eZbrw1a"})
    text = "checked the pool, password=hunter2-prod <script>alert(1)</script> ok to restart"
    status, doc = answer(world, event_request(reply(text), at=now + 1))
    assert status == 200 and doc["ok"]
    again = answer(world, event_request(reply(text), at=now + 2))  # Slack's retry
    assert again[0] == 200
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    notes = [c["text"] for c in ticket.comments if "on Slack" in c["text"]]
    assert len(notes) == 1 and notes[0].startswith("dana@example.com on Slack")
    assert "hunter2-prod" not in notes[0] and "```" in notes[0]  # scrubbed, fenced
    for ignored in (
        reply("from a bot", bot_id="B01", event_id="Ev02"),
        reply("not mapped", user="U0STRANGER", event_id="Ev03"),
        reply("edited", subtype="message_changed", event_id="Ev04"),
        reply("top level", thread_ts=None, event_id="Ev05"),
        reply("another thread", thread_ts="1700000000.000001", event_id="Ev06"),
    ):
        status, doc = answer(world, event_request(ignored, at=now + 3))
        assert status == 200 and "ignored" in doc
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    assert len([c for c in ticket.comments if "on Slack" in c["text"]]) == 1
    unsigned = event_request(reply("forged", event_id="Ev07"), at=now + 4)
    forged = dataclasses.replace(unsigned, body=unsigned.body.replace(b"forged", b"approve!"))
    assert answer(world, forged)[0] == 401


def test_a_hand_over_is_told_in_the_services_channel_once_and_slack_down_blocks_nothing(
    deps: IngestDeps, clock: Clock
) -> None:
    from opslink.adapters.chat.slack_messages import SlackApprovalMessages
    from opslink.adapters.store.faults import FaultRecords
    from opslink.faults import FaultReporter
    from opslink.remediation import run_task
    from tests.integration.contract_servers import SlackApi, serve
    from tests.unit.fakes import FakePlatform, remediate_deps

    alert = opened_alert(deps)
    rdeps = remediate_deps(deps, FakePlatform(clock), clock)
    rdeps.faults = FaultReporter(FaultRecords("AlertsTable", deps.store.client))  # type: ignore[attr-defined]
    task = {"action": "escalate", "alert": alert, "escalation": {"kind": "no_runbook", "detail": ""},
            "selection": {"runbook": None, "approval": False, "reason": "none"}}  # fmt: skip
    app = SlackApi()
    with serve(app) as url:
        rdeps.chat = SlackApprovalMessages("xoxb-test-token", "#ops", {"checkout": "#payments"},
                                           base_url=f"{url}/api/")  # fmt: skip
        assert run_task(task, rdeps)["handed_over"] is True
        run_task(task, rdeps)  # a Step Functions retry: told once
        [posted] = app.posted
        assert posted["channel"] == "#payments" and posted["text"].startswith("Handed to a human: ")
        assert "prod-checkout-api-cpu-high" in posted["text"] and "blocks" in posted
        assert (
            Bookkeeping(deps.store.table, deps.store.client).alert_of_chat_message(
                "#payments/1765000000.000001"
            )
            == alert["alert_id"]
        )  # type: ignore[attr-defined]
        app.unknown_channels.add("#payments")  # Slack refuses: the hand-over stands
        other = dict(task, escalation={"kind": "failed", "detail": "exit 1"})
        assert run_task(other, rdeps)["handed_over"] is True
    notes = [n["kind"] for n in deps.store.get(alert["alert_id"]).notes]
    assert "chat_failed" in notes


def test_a_link_button_click_is_acknowledged_and_decides_nothing(world: dict[str, Any]) -> None:
    status, doc = answer(world, press(world["execution"], "open_ticket", at=world["now"]))
    assert (status, doc) == (200, {})
    assert world["callbacks"].succeeded == [] and world["callbacks"].failed == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["block_actions", "view_submission", "shortcut", None, 3]),
    user=JSON_VALUES | st.just({"id": "U024BE7LH", "username": "dana"}),
    actions=JSON_VALUES,
    view=JSON_VALUES,
    container=JSON_VALUES,
)
def test_any_signed_payload_is_answered_never_a_crash(
    world: dict[str, Any], kind: Any, user: Any, actions: Any, view: Any, container: Any
) -> None:
    """Whatever a validly signed interactive payload carries — wrong types anywhere — it
    gets an answer (200 or 400; 401 "replayed" when the same example comes again), never
    an exception, and decides nothing."""
    payload = {"type": kind, "user": user, "actions": actions, "view": view,
               "container": container}  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)}).encode()
    status, doc = answer(world, press(world["execution"], at=world["now"], body=body))
    assert status in (200, 400) or (status == 401 and "replayed" in doc["error"])
    assert world["callbacks"].succeeded == [] and world["callbacks"].failed == []


def test_a_decision_that_comes_too_late_is_noted_void_and_not_counted(
    world: dict[str, Any],
) -> None:
    """The decision is noted before the run is woken (the run's own notes follow it); when
    the run no longer waits (timed out, stopped), a void note follows it, the decision is
    not counted, and a later decider is not told it was decided."""
    from opslink.approvals import NotWaiting, decide, latest_decision

    deps, alert_id = world["deps"], world["alert"]["alert_id"]
    world["callbacks"].ended.add("token-1")  # the wait timed out a moment ago
    with pytest.raises(NotWaiting, match="no longer waits"):
        decide(world["track"].store, world["track"].journal, world["callbacks"], world["execution"], False, "dana",
               "too late", world["track"].clock())  # fmt: skip
    notes = deps.store.get(alert_id).notes
    assert [n["kind"] for n in notes[-2:]] == ["rejected", "decision_void"]
    assert latest_decision(notes) is None
    kinds = [e["kind"] for e in deps.store.journal.events([], alert_id=alert_id)]
    assert "approval_denied" not in kinds
