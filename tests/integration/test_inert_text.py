"""Alarm text and job output are inert in every ticket system: a mention never pings, an
image never loads, a link from alarm text is not clickable, HTML is stripped and job
output cannot close its code block to inject markup. Each system's test asserts the
exact payload OpsLink sent (contract servers on 127.0.0.1; Redmine through a recording
client, its real server is tested in test_redmine_real)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.adapters.tickets.redmine import RedmineTickets
from opslink.adapters.tickets.scrubbed import ScrubbedTickets
from opslink.alarm_parsing import parse_sns_message
from opslink.inert import ZWSP, code, regions
from opslink.models import Alarm, Enrichment, Severity
from opslink.outcome_texts import HandOverFacts, handover_note
from opslink.ticket_policy import draft_ticket
from opslink_cli import samples
from tests.integration.contract_servers import serve
from tests.integration.test_ticket_providers import APPS, make
from tests.integration.ticket_servers import JiraApi

DESCRIPTION = (
    "@acme/security-team please look <img src=https://track.example/p.gif> "
    "[Reset your SSO password](https://sso.example.evil/reset)"
)
OUTPUT = "restarting\n```\n## Approved by @acme/sre-leads\n![x](https://track.example/i.png)"
HOSTILE_COMMENT = "Alarm " + code("@acme/oncall <b>[click](https://evil.example)</b>") + " fired"


def hostile_alarm() -> Alarm:
    message = samples.metric_alarm(
        "prod-checkout-api-cpu-high",
        samples.T0,
        dimensions={"InstanceId": "i-0123456789abcdef0"},
        description=DESCRIPTION,
    )
    message["NewStateReason"] = "Threshold crossed: see [dashboard](https://evil.example/d) @here"
    return parse_sns_message(json.dumps(message), samples.TOPIC)


def enrichment() -> Enrichment:
    return Enrichment(
        service="checkout",
        team="payments",
        environment="production",
        alert_type="cpu_usage",
        severity=Severity.HIGH,
    )


def note() -> str:
    facts = HandOverFacts(
        alert_id="A-1",
        service="checkout",
        environment="production",
        alarm_name="prod-checkout-api-cpu-high",
        region="eu-west-1",
        runbook="restart_service",
        job="ssm c-1",
        ticket_id="T-1",
    )
    return handover_note(facts, "the job failed", "", OUTPUT, "", None)


def assert_inert_markdown(text: str, job_output: bool = True) -> None:
    """Outside code regions nothing untrusted remains; the job's fence did not close
    OpsLink's block (its heading is inside the block)."""
    outside = "".join(c for kind, c in regions(text) if kind == "text")
    for live in ("@acme", "<img", "](https://sso", "](https://evil", "## Approved", "@here"):
        assert live not in outside, (live, outside)
    assert "<img" not in text and "track.example/p.gif" not in text  # HTML stripped
    if job_output:
        blocks = [c for kind, c in regions(text) if kind == "block"]
        assert any("## Approved by @acme/sre-leads" in b for b in blocks)


def test_the_draft_is_inert_markdown() -> None:
    draft = draft_ticket(hostile_alarm(), enrichment(), "A-1", None)
    assert_inert_markdown(draft.description + "\n" + note())
    assert draft.title == (
        "[HIGH] checkout - @" + ZWSP + "acme/security-team please look [Reset your SSO "
        "password]" + ZWSP + "(https:" + ZWSP + "//sso.example.evil/reset)"
    )
    fence = note().split("### stdout\n", 1)[1].split("\n", 1)[0]
    assert fence == "````"  # longer than the ``` the job printed


def _payloads(app: Any, method: str) -> list[Any]:
    return [r.body for r in app.requests if r.method == method and r.body]


def _send(name: str, url: str) -> ScrubbedTickets:
    tickets = ScrubbedTickets(make(name, url))
    ticket = tickets.create(draft_ticket(hostile_alarm(), enrichment(), "A-1", None))
    tickets.comment(ticket.id, HOSTILE_COMMENT)
    tickets.comment(ticket.id, note())
    return tickets


def test_github_gets_inert_commonmark() -> None:
    app = APPS["github"]()
    with serve(app) as url:
        _send("github", url)
    created, comment, handover = _payloads(app, "POST")[-3:]
    assert_inert_markdown(created["body"], job_output=False)
    assert created["title"].startswith("[HIGH] checkout - @" + ZWSP + "acme")
    assert comment == {"body": "Alarm `@acme/oncall [click](https://evil.example)` fired"}
    assert_inert_markdown(handover["body"])


def test_jira_cloud_gets_adf_with_code_marks() -> None:
    app = APPS["jira"]()
    with serve(app) as url:
        _send("jira", url)
    created = next(b for b in _payloads(app, "POST") if "fields" in b)
    text = json.dumps(created["fields"]["description"])
    assert "mention" not in text and '"link"' not in text and "<img" not in text
    comments = [b["body"] for b in _payloads(app, "POST") if "body" in b]
    assert comments[0] == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Alarm "},
                    {
                        "type": "text",
                        "text": "@acme/oncall [click](https://evil.example)",
                        "marks": [{"type": "code"}],
                    },
                    {"type": "text", "text": " fired"},
                ],
            }
        ],
    }
    handover = json.dumps(comments[1])
    assert '"codeBlock"' in handover and "## Approved by @acme/sre-leads" in handover
    assert (
        '"heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Approved'
        not in handover
    )


class JiraServerApi(JiraApi):
    """Jira Server/Data Center: the same operations under REST v2."""

    routes = [(m, p.replace("/api/3/", "/api/2/"), h) for m, p, h in JiraApi.routes]


def test_jira_server_gets_escaped_wiki_markup() -> None:
    app = JiraServerApi()
    with serve(app) as url:
        from opslink.adapters.tickets.jira import JiraTickets
        from tests.integration.test_ticket_providers import fast

        jira = JiraTickets(
            url,
            "OPS",
            "ops@example.com",
            "jira-token",
            api_version=2,
            client=fast("Jira", url, {}, ("ops@example.com", "jira-token")),
        )
        app.issues["OPS-1"] = {"status": {"name": "Open"}}
        tickets = ScrubbedTickets(jira)
        tickets.comment("OPS-1", HOSTILE_COMMENT)
    [sent] = [r.body for r in app.requests if r.method == "POST" and r.body]
    # The description goes through the same rendering (the v2 create path writes it).
    description = tickets._out(draft_ticket(hostile_alarm(), enrichment(), "A-1", None).description)
    assert "{noformat}\n@" + ZWSP + "acme/security-team" in description
    assert "[Reset your SSO password](https://" not in description
    assert sent == {
        "body": "Alarm {{@" + ZWSP + "acme/oncall \\[click\\](https:" + ZWSP
        + "//evil.example)}} fired"
    }  # fmt: skip


@pytest.mark.parametrize("name", ["servicenow", "zendesk"])
def test_plain_text_systems_get_defanged_text(name: str) -> None:
    app = APPS[name]()
    with serve(app) as url:
        _send(name, url)
    bodies = json.dumps([r.body for r in app.requests if r.body])
    expected = "Alarm @" + ZWSP + "acme/oncall [click](https:" + ZWSP + "//evil.example) fired"
    assert json.dumps(expected)[1:-1] in bodies
    for live in ("@acme/security-team", "https://sso.example.evil", "<img", "@acme/sre-leads"):
        assert live not in bodies, live
    assert "[" + ZWSP + "code]" not in bodies or "[code]" not in bodies


class RecordingRedmine:
    """Redmine's REST API as far as create and comment need it, recording what is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def request(self, method: str, path: str, **kw: Any) -> Any:
        self.sent.append((method, path, kw.get("json")))
        if path.startswith("/enumerations"):
            return {"issue_priorities": [{"id": 3, "name": "High"}]}
        if method == "GET" and path == "/issues.json":
            return {"issues": [], "total_count": 0}
        if method == "POST":
            return {"issue": {"id": 7, "subject": "s", "status": {"name": "New"}}}
        return None


@pytest.mark.parametrize("formatting", ["common_mark", "textile"])
def test_redmine_gets_inert_text_in_its_formatting(formatting: str) -> None:
    client = RecordingRedmine()
    redmine = RedmineTickets("https://redmine.example", "k", "ops", 4, client=client,
                             text_formatting=formatting)  # fmt: skip
    tickets = ScrubbedTickets(redmine)
    tickets.comment("7", HOSTILE_COMMENT)
    [(_method, _path, body)] = client.sent
    if formatting == "textile":
        assert body == {
            "issue": {
                "notes": "Alarm <code>@" + ZWSP + "acme/oncall [click](https:" + ZWSP
                + "//evil.example)</code> fired"
            }
        }  # fmt: skip
    else:
        assert body == {"issue": {"notes": HOSTILE_COMMENT}}
        assert_inert_markdown(note())


def test_the_builtin_system_keeps_inert_markdown(ddb: Any) -> None:
    builtin = BuiltinTicketSystem("TicketsTable", ddb)
    tickets = ScrubbedTickets(builtin)
    ticket = tickets.create(draft_ticket(hostile_alarm(), enrichment(), "A-1", None))
    assert_inert_markdown(tickets.get(ticket.id).description, job_output=False)  # type: ignore[union-attr]
