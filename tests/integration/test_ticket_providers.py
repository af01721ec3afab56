"""Jira, ServiceNow, Zendesk and GitHub providers against contract servers on 127.0.0.1:
the lifecycle OpsLink needs, idempotent creation, and the errors real systems answer
(401, 403, 404, 409, 429 with Retry-After, 5xx, timeouts, unexpected shapes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.adapters.tickets.common import ticket_http
from opslink.adapters.tickets.github import GitHubTickets
from opslink.adapters.tickets.jira import JiraTickets
from opslink.adapters.tickets.servicenow import ServiceNowTickets
from opslink.adapters.tickets.zendesk import ZendeskTickets
from opslink.errors import TicketSystemError, TicketSystemRejected
from opslink.models import Priority, TicketDraft, TicketStatus, TicketType
from tests.integration.contract_servers import App, Fault, serve
from tests.integration.ticket_servers import GitHubApi, JiraApi, ServiceNowApi, ZendeskApi, basic

DRAFT = TicketDraft(
    alert_id="A-0123456789abcdef0123",
    title="[HIGH] checkout - CPU above 85%",
    description="## What fired\n\n| Alarm | prod-checkout-cpu |\n\n```\nload 12.3\n```\n",
    ticket_type=TicketType.PERFORMANCE,
    priority=Priority.HIGH,
    assignee="alice@example.com",
    due_at=datetime(2026, 11, 27, 18, tzinfo=UTC),
    custom_fields={"alert_id": "A-0123456789abcdef0123"},
)


def fast(system: str, url: str, headers: dict[str, str], auth: Any = None) -> Any:
    # Generous timeouts: a loaded 2-core machine is slow, not down (timeout tests set their own).
    return ticket_http(
        system, url, headers, auth=auth, timeout=(5.0, 15.0), retries=3, backoff=0.01
    )


def scrubbed_jira(url: str) -> Any:
    """Jira Cloud (REST v3) behind the egress guard every deployment has (scrubbed.py)."""
    from opslink.adapters.tickets.scrubbed import ScrubbedTickets

    return ScrubbedTickets(
        JiraTickets(url, "OPS", "ops@example.com", "jira-token",
                    client=fast("Jira", url, {}, ("ops@example.com", "jira-token")))
    )  # fmt: skip


def make(name: str, url: str) -> Any:
    if name == "jira":
        return JiraTickets(
            url,
            "OPS",
            "ops@example.com",
            "jira-token",
            client=fast("Jira", url, {}, ("ops@example.com", "jira-token")),
        )
    if name == "servicenow":
        return ServiceNowTickets(
            url,
            "opslink",
            "snow-pass",
            client=fast("ServiceNow", url, {}, ("opslink", "snow-pass")),
        )
    if name == "zendesk":
        return ZendeskTickets(
            url,
            "ops@example.com",
            "zd-token",
            client=fast("Zendesk", url, {}, ("ops@example.com/token", "zd-token")),
        )
    return GitHubTickets(
        "acme/ops", "gh-token", client=fast("GitHub", url, {"Authorization": "Bearer gh-token"})
    )


APPS = {"jira": JiraApi, "servicenow": ServiceNowApi, "zendesk": ZendeskApi, "github": GitHubApi}
GET_PATH = {
    "jira": r"/rest/api/3/issue/.+",
    "servicenow": r"/api/now/table/incident/.+",
    "zendesk": r"/api/v2/tickets/\d+\.json",
    "github": r"/repos/acme/ops/issues/\d+",
}
CREATE_PATH = {
    "jira": r"/rest/api/3/issue",
    "servicenow": r"/api/now/table/incident",
    "zendesk": r"/api/v2/tickets\.json",
    "github": r"/repos/acme/ops/issues",
}


@pytest.fixture(params=sorted(APPS))
def provider(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any, App]]:
    app = APPS[request.param]()
    with serve(app) as url:
        yield request.param, make(request.param, url), app


def test_lifecycle_create_comment_resolve_reopen(provider: tuple[str, Any, App]) -> None:
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    assert ticket.provider == name and ticket.status is TicketStatus.OPEN
    assert ticket.title == DRAFT.title and ticket.alert_id == DRAFT.alert_id
    again = tickets.create(DRAFT)  # a retry after a timeout: found by its alert marker
    assert again.id == ticket.id
    assert (
        sum(
            1
            for r in app.requests
            if r.method == "POST"
            and r.path.split("?")[0]
            .rstrip("/")
            .endswith(CREATE_PATH[name].replace("\\", "").split("/")[-1])
        )
        == 1
    )
    assert tickets.find_by_alert(DRAFT.alert_id).id == ticket.id
    tickets.comment(ticket.id, "Runbook restart_service launched.")
    resolved = tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Fixed by OpsLink")
    assert resolved.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    reopened = tickets.set_status(ticket.id, TicketStatus.OPEN, note="Fired again")
    assert reopened.status in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)
    changed = tickets.changed_since(datetime.now(UTC) - timedelta(days=1))
    assert ticket.id in [t.id for t in changed]
    assert tickets.get("999999" if name != "servicenow" else "f" * 32) is None


def test_provider_specific_shapes(provider: tuple[str, Any, App]) -> None:
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    created = next(r for r in app.requests if r.method == "POST").body
    if name == "jira":
        fields = created["fields"]
        assert fields["description"]["type"] == "doc"  # ADF on REST v3
        assert {"opslink", "opslink-A-0123456789abcdef0123"} <= set(fields["labels"])
        assert fields["priority"] == {"name": "High"} and fields["duedate"] == "2026-11-27"
        assert fields["assignee"] == {
            "accountId": "5b10ac8d82e05b22cc7d4ef5"
        }  # looked up by e-mail
    elif name == "servicenow":
        assert (created["impact"], created["urgency"]) == (
            "1",
            "2",
        ) and ticket.priority is Priority.HIGH
        assert created["correlation_id"] == "opslink-A-0123456789abcdef0123"
    elif name == "zendesk":
        assert (
            created["ticket"]["priority"] == "high"
            and created["ticket"]["comment"]["public"] is False
        )
        assert created["ticket"]["external_id"] == "opslink-A-0123456789abcdef0123"
    else:
        assert "priority:high" in created["labels"] and "type:performance" in created["labels"]
        assert created["body"].startswith("**Due:** 2026-11-27T18:00:00+00:00")
        closed = tickets.set_status(ticket.id, TicketStatus.CLOSED)
        assert closed.closed_by == "octocat"


def test_bad_credentials_are_rejected_clearly(provider: tuple[str, Any, App]) -> None:
    name, tickets, app = provider
    app.auth_value = "Bearer nope" if name == "github" else basic("x", "y")
    with pytest.raises(TicketSystemRejected, match=r"authentication refused \(401\)"):
        tickets.create(DRAFT)


@pytest.mark.parametrize(("status", "match"), [(403, r"\(403\)"), (409, r"conflict \(409\)")])
def test_forbidden_and_conflict_on_create(
    provider: tuple[str, Any, App], status: int, match: str
) -> None:
    name, tickets, app = provider
    app.faults.append(Fault("POST", CREATE_PATH[name], status, b'{"message": "nope"}'))
    with pytest.raises(TicketSystemRejected, match=match):
        tickets.create(DRAFT)


def test_429_retry_after_is_honoured(provider: tuple[str, Any, App]) -> None:
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    method = "GET"
    app.faults.append(Fault(method, GET_PATH[name], 429, b"{}", {"Retry-After": "1"}))
    started = time.monotonic()
    assert tickets.get(ticket.id).id == ticket.id
    assert 0.95 <= time.monotonic() - started < 5


def test_transient_5xx_retried_and_persistent_5xx_retryable(provider: tuple[str, Any, App]) -> None:
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    app.faults.append(Fault("GET", GET_PATH[name], 502, b"bad gateway", times=2))
    assert tickets.get(ticket.id).id == ticket.id
    app.faults.append(Fault("GET", GET_PATH[name], 503, b"down", times=10))
    with pytest.raises(TicketSystemError) as err:
        tickets.get(ticket.id)
    assert not isinstance(err.value, TicketSystemRejected)


def test_timeout_is_retryable(provider: tuple[str, Any, App]) -> None:
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    tickets.http.timeout = (1.0, 0.3)
    app.faults.append(Fault("GET", GET_PATH[name], 200, b"{}", times=10, delay=0.6))
    with pytest.raises(TicketSystemError, match=r"unreachable|still failing"):
        tickets.get(ticket.id)


def test_unexpected_shape_names_provider_and_field(provider: tuple[str, Any, App]) -> None:
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    app.faults.append(Fault("GET", GET_PATH[name], 200, b'{"unexpected": true}'))
    with pytest.raises(TicketSystemRejected) as err:
        tickets.get(ticket.id)
    system = {"jira": "Jira", "servicenow": "ServiceNow", "zendesk": "Zendesk", "github": "GitHub"}[
        name
    ]
    assert str(err.value).startswith(f"{system}: ") and "field" in str(err.value)


def test_jira_v2_sends_plain_descriptions() -> None:
    class JiraV2(JiraApi):
        routes = [(m, p.replace("/api/3/", "/api/2/"), h) for m, p, h in JiraApi.routes] + [
            ("GET", r"/rest/api/2/search", "search")
        ]

        def create(self, body: Any, query: str = "") -> Any:
            assert isinstance(body["fields"]["description"], str)
            body["fields"]["description"] = {"type": "doc"}
            return super().create(body, query)

    app = JiraV2()
    with serve(app) as url:
        tickets = JiraTickets(
            url,
            "OPS",
            None,
            "pat",
            api_version=2,
            client=fast("Jira", url, {"Authorization": "Bearer pat"}),
        )
        app.auth_value = "Bearer pat"
        created = tickets.create(DRAFT)
        assert (
            created.id == "OPS-1" and created.assignee == "alice@example.com"
        )  # v2 assigns by user name


def test_jira_through_atlassian_s_api_gateway_links_to_the_site() -> None:
    """Scoped API tokens reach Jira Cloud through https://api.atlassian.com/ex/jira/<cloud
    id>: the calls go there (Cloud's search), the tickets' links to the site
    (TicketOptions browse_url); without it the configuration is refused by name."""
    from opslink.adapters.tickets.registry import _provider
    from opslink.config import CommonSettings
    from opslink.errors import ConfigurationError

    prefix = "/ex/jira/5c1d7f3e-0000-4000-8000-00000000cafe"

    class Gateway(JiraApi):
        routes = [(m, prefix + p, h) for m, p, h in JiraApi.routes]

    app = Gateway()
    with serve(app) as url:
        tickets = JiraTickets(f"{url}{prefix}", "OPS", "ops@example.com", "jira-token",
                              client=fast("Jira", f"{url}{prefix}", {}, ("ops@example.com", "jira-token")),
                              browse_url="https://acme.atlassian.net/")  # fmt: skip
        created = tickets.create(DRAFT)
        assert created.url == f"https://acme.atlassian.net/browse/{created.id}"
        assert tickets.find_by_alert(DRAFT.alert_id).id == created.id
        assert {r.path.split("?")[0][: len(prefix)] for r in app.requests} == {prefix}
    env = {"ALERTS_TABLE": "alerts", "TICKETS_TABLE": "tickets", "TICKET_PROVIDER": "jira",
           "TICKET_PROJECT": "OPS", "TICKET_CREDENTIALS_SECRET": "opslink/jira",
           "TICKET_BASE_URL": f"https://api.atlassian.com{prefix}"}  # fmt: skip
    with pytest.raises(ConfigurationError, match="browse_url"):
        _provider(CommonSettings.from_environ(env))


def _notes(name: str, app: Any, ticket_id: str) -> list[Any]:
    if name == "jira":
        return list(app.comments.get(ticket_id, []))
    if name == "servicenow":
        return list(app.records[ticket_id].get("_notes", []))
    if name == "zendesk":
        return [c for c in app.tickets[int(ticket_id)]["comments"][1:]]
    return list(app.issues[int(ticket_id)]["comments"])


def test_a_retried_status_change_applies_once(provider: tuple[str, Any, App]) -> None:
    """The answer to a resolve was lost and the resolve is retried: one note, not two."""
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Resolved by OpsLink")
    tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Resolved by OpsLink")
    assert len(_notes(name, app, ticket.id)) == 1
    tickets.set_status(ticket.id, TicketStatus.OPEN, note="Fired again")  # a real change
    assert len(_notes(name, app, ticket.id)) == 2


def test_a_keyed_comment_lands_once_even_when_its_answer_was_lost(
    provider: tuple[str, Any, App],
) -> None:
    """A comment whose answer was lost is retried with `verify`: the ticket's comments
    are read back, the one carrying the key's reference is found, nothing is posted twice."""
    _, tickets, app = provider
    ticket = tickets.create(DRAFT)
    tickets.comment(ticket.id, "Runbook restart_service launched.", key="A-1:launch:restart")
    posts = sum(1 for r in app.requests if r.method in ("POST", "PUT", "PATCH"))
    # the retry (the first answer never arrived): read back, found, not posted again
    tickets.comment(
        ticket.id, "Runbook restart_service launched.", key="A-1:launch:restart", verify=True
    )
    assert sum(1 for r in app.requests if r.method in ("POST", "PUT", "PATCH")) == posts
    texts = tickets.comment_texts(ticket.id)
    assert sum("restart_service launched" in t for t in texts) == 1
    # another key is another comment
    tickets.comment(ticket.id, "Alarm fired again.", key="A-1:refire:2", verify=True)
    assert sum("fired again" in t for t in tickets.comment_texts(ticket.id)) == 1


def _pad(name: str, app: Any, ticket_id: str, n: int) -> None:
    """`n` comments people wrote on the ticket, straight into the server's state."""
    bodies = [f"Comment {k} by a person." for k in range(n)]
    if name == "jira":
        app.comments.setdefault(ticket_id, []).extend(bodies)
    elif name == "servicenow":
        app.records[ticket_id].setdefault("_notes", []).extend(bodies)
    elif name == "zendesk":
        app.tickets[int(ticket_id)]["comments"].extend({"body": b} for b in bodies)
    else:
        app.issues[int(ticket_id)]["comments"].extend(bodies)


def test_a_keyed_comment_is_found_past_the_first_page_of_a_long_ticket(
    provider: tuple[str, Any, App],
) -> None:
    """An incident's shared ticket collects hundreds of comments: the read-back before a
    retried post reads every page (each system pages its own way), so a comment posted
    after the first page's worth is found, not posted twice."""
    name, tickets, app = provider
    ticket = tickets.create(DRAFT)
    pages = 1100 if name == "servicenow" else 250  # past its first page (1,000 / 100)
    _pad(name, app, ticket.id, pages)
    tickets.comment(ticket.id, "Alarm fired again.", key="A-1:refire:9")
    _pad(name, app, ticket.id, 30)
    posts = sum(1 for r in app.requests if r.method in ("POST", "PUT", "PATCH"))
    tickets.comment(ticket.id, "Alarm fired again.", key="A-1:refire:9", verify=True)
    assert sum(1 for r in app.requests if r.method in ("POST", "PUT", "PATCH")) == posts
    texts = tickets.comment_texts(ticket.id)
    assert sum("fired again" in t for t in texts) == 1
    assert texts.index(next(t for t in texts if "fired again" in t)) >= pages  # in order


def test_servicenow_read_back_follows_the_link_past_an_instance_s_row_cap() -> None:
    """An instance returning fewer journal rows per request than asked (its own cap): a
    short page is not the last, the read-back follows the Link header, and a retried work
    note past the first page is found, not posted twice."""
    app = ServiceNowApi()
    app.journal_page_cap = 100
    with serve(app) as url:
        tickets = ServiceNowTickets(url, "opslink", "snow-pass")
        ticket = tickets.create(DRAFT)
        _pad("servicenow", app, ticket.id, 250)
        tickets.comment(ticket.id, "Alarm fired again.", key="A-1:refire:9")
        posts = sum(1 for r in app.requests if r.method == "PATCH")
        tickets.comment(ticket.id, "Alarm fired again.", key="A-1:refire:9", verify=True)
        assert sum(1 for r in app.requests if r.method == "PATCH") == posts
        texts = tickets.comment_texts(ticket.id)
        assert len(texts) == 251 and sum("fired again" in t for t in texts) == 1


def test_redmine_create_with_a_due_date_in_the_past_sets_its_start_date() -> None:
    """Redmine refuses a due date before the start date (which defaults to today): an
    alarm delivered late (a redrive, an outage) must still get its ticket."""
    from opslink.adapters.tickets.redmine import RedmineTickets

    sent: list[Any] = []

    class Client:
        def request(self, method: str, path: str, **kw: Any) -> Any:
            sent.append((method, path, kw.get("json")))
            if path.startswith("/enumerations"):
                return {"issue_priorities": [{"id": 3, "name": "High"}]}
            if method == "GET":
                return {"issues": [], "total_count": 0}
            sent_fields = kw["json"]["issue"]["custom_fields"]  # echoed, as Redmine does
            return {"issue": {"id": 7, "subject": "s", "status": {"name": "New"},
                              "custom_fields": sent_fields,
                              "created_on": "2026-12-05T10:00:00Z",
                              "updated_on": "2026-12-05T10:00:00Z"}}  # fmt: skip

    RedmineTickets("https://redmine.example", "k", "ops", 4, client=Client()).create(DRAFT)
    [issue] = [body["issue"] for method, _, body in sent if method == "POST"]
    assert issue["due_date"] == "2026-11-27" and issue["start_date"] <= issue["due_date"]


ASSIGNABLE = {"jira": "alice@example.com", "servicenow": "alice@example.com",
              "zendesk": "alice@example.com", "github": "octocat"}  # fmt: skip
UNKNOWN = {"jira": ("nobody@example.com", "no user"),
           "servicenow": ("nobody@example.com", "no user"),
           "zendesk": ("alice", "by e-mail address"),
           "github": ("mallory", "422")}  # fmt: skip


def test_assign_gives_the_ticket_to_a_known_user_and_refuses_anyone_else(
    provider: tuple[str, Any, App],
) -> None:
    """`opslink alerts assign`: the system's own user form; an unknown user is refused with
    why, and the ticket keeps its assignee."""
    name, tickets, _ = provider
    ticket = tickets.create(DRAFT.model_copy(update={"assignee": None}))
    assert ticket.assignee is None
    assigned = tickets.assign(ticket.id, ASSIGNABLE[name])
    # Read back as the system names its users: account id, login, user name, agent id.
    expected = {"jira": "5b10ac8d82e05b22cc7d4ef5", "servicenow": "alice@example.com", "zendesk": "77",
                "github": "octocat"}  # fmt: skip
    assert assigned.assignee == expected[name]
    who, why = UNKNOWN[name]
    with pytest.raises(TicketSystemRejected, match=why):
        tickets.assign(ticket.id, who)
    assert tickets.get(ticket.id).assignee == assigned.assignee
