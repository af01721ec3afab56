"""Ticket systems as their vendors document them behaving, beyond the happy path: Zendesk
exports deleted tickets, Jira's search is eventually consistent and Cloud has no /search,
ServiceNow reads display values in the user's time zone, references come back as sys_ids,
close codes are choices, and listings have more than one page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.adapters.tickets.jira import JiraTickets
from opslink.adapters.tickets.jira_fields import adf_text
from opslink.adapters.tickets.servicenow import ServiceNowTickets
from opslink.adapters.tickets.zendesk import ZendeskTickets
from opslink.errors import TicketSystemError
from opslink.models import TicketStatus
from opslink.track_service import TrackDeps, sweep
from tests.integration.contract_servers import Fault, serve
from tests.integration.test_ticket_providers import DRAFT, fast
from tests.integration.ticket_servers import JiraApi, ServiceNowApi, ZendeskApi


def _zendesk(url: str) -> ZendeskTickets:
    return ZendeskTickets(
        url,
        "ops@example.com",
        "zd-token",
        client=fast("Zendesk", url, {}, ("ops@example.com/token", "zd-token")),
    )


class _SweepStore:
    """Enough of the store for a sweep: no alerts, a checkpoint."""

    def __init__(self) -> None:
        self.checkpoint: datetime | None = None

    def alerts_for_ticket(self, provider: str, ticket_id: str) -> list[str]:
        return []

    def get_checkpoint(self, name: str) -> datetime | None:
        return self.checkpoint

    def set_checkpoint(self, name: str, at: datetime) -> None:
        self.checkpoint = at

    def open_alerts(self) -> list[Any]:
        return []


def test_a_deleted_zendesk_ticket_never_stops_the_sweep() -> None:
    app = ZendeskApi()
    with serve(app) as url:
        tickets = _zendesk(url)
        gone = tickets.create(DRAFT)
        kept = tickets.create(DRAFT.model_copy(update={"alert_id": "A-11111111111111111111"}))
        app.delete(int(gone.id))
        changed = tickets.changed_since(datetime.now(UTC) - timedelta(days=1))
        # The deleted one is a ticket closed by a human (who deleted it).
        assert {t.id: t.custom_fields.get("deleted") for t in changed} == {
            kept.id: None,
            gone.id: "true",
        }
        store = _SweepStore()
        result = sweep(
            TrackDeps(store=store, journal=None, outbox=None, bookkeeping=store, tickets=tickets)
        )  # type: ignore[arg-type]
        assert result["changed"] == 2 and store.checkpoint is not None  # the checkpoint moves


def _jira(url: str, **kw: Any) -> JiraTickets:
    return JiraTickets(
        url,
        "OPS",
        "ops@example.com",
        "jira-token",
        client=fast("Jira", url, {}, ("ops@example.com", "jira-token")),
        **kw,
    )


def test_jira_search_lag_never_duplicates_a_just_created_issue() -> None:
    app = JiraApi()
    app.search_lag = 3  # a new issue stays out of search results for three searches
    with serve(app) as url:
        tickets = _jira(url)
        first = tickets.create(DRAFT)
        again = tickets.create(DRAFT)  # a retry right after the create
        assert again.id == first.id
        assert sum(1 for r in app.requests if r.method == "POST") == 1
        searches = [r.path for r in app.requests if "/search/jql" in r.path]
        assert any("reconcileIssues=1" in p for p in searches[1:])


def test_jira_cloud_uses_search_jql_on_api_version_2() -> None:
    class CloudV2(JiraApi):
        routes = [(m, p.replace("/api/3/", "/api/2/"), h) for m, p, h in JiraApi.routes]

        def create(self, body: Any, query: str = "") -> Any:
            body["fields"]["description"] = {"type": "doc"}  # v2 sends plain text
            return super().create(body, query)

    app = CloudV2()
    with serve(app) as url:
        tickets = _jira(url, api_version=2, deployment="cloud")
        created = tickets.create(DRAFT)
        assert tickets.find_by_alert(DRAFT.alert_id).id == created.id  # type: ignore[union-attr]
    paths = {r.path.split("?")[0] for r in app.requests if r.method == "GET"}
    assert "/rest/api/2/search/jql" in paths and "/rest/api/2/search" not in paths


def _servicenow(url: str, **kw: Any) -> ServiceNowTickets:
    return ServiceNowTickets(
        url,
        "opslink",
        "snow-pass",
        client=fast("ServiceNow", url, {}, ("opslink", "snow-pass")),
        **kw,
    )


def test_servicenow_raw_values_due_date_assignee_and_closer() -> None:
    app = ServiceNowApi()
    with serve(app) as url:
        tickets = _servicenow(url)
        ticket = tickets.create(DRAFT)
        record = app.records[ticket.id]
        assert record["due_date"] == "2026-11-27 18:00:00"  # UTC, not shifted
        assert record["assigned_to"] == "a" * 32  # alice's sys_user sys_id
        assert ticket.assignee == "alice@example.com" and ticket.due_at == DRAFT.due_at
        resolved = tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="fixed")
        assert record["close_code"] == "Solution provided"
        assert resolved.closed_by == "erin@example.com"  # resolved_by sys_id → the person


def test_servicenow_close_code_is_configurable() -> None:
    app = ServiceNowApi()
    with serve(app) as url:
        tickets = _servicenow(url, close_code="Workaround provided")
        ticket = tickets.create(DRAFT)
        tickets.set_status(ticket.id, TicketStatus.CLOSED)
        assert app.records[ticket.id]["close_code"] == "Workaround provided"


def test_servicenow_sweep_reads_every_page() -> None:
    app = ServiceNowApi()
    with serve(app) as url:
        app.base_url = url
        tickets = _servicenow(url)
        for i in range(450):
            tickets.create(DRAFT.model_copy(update={"alert_id": f"A-{i:020d}"}))
        changed = tickets.changed_since(datetime.now(UTC) - timedelta(days=1))
    assert len({t.id for t in changed}) == 450


def test_the_largest_alarms_are_ticketed_within_jiras_text_limit() -> None:
    """Jira refuses a description over 32,767 characters (400, nothing created): a
    composite alarm of 100 children or a metric-math alarm of 20 long expressions would
    have been retried until parked, never ticketed."""
    from opslink.adapters.tickets.scrubbed import ScrubbedTickets
    from opslink.ticket_policy import draft_ticket
    from tests.unit.test_ticket_policy import _largest_alarms, enr

    app = JiraApi()
    with serve(app) as url:
        tickets = ScrubbedTickets(_jira(url))
        for ch in ("x", "|", "`"):
            for n, alarm in enumerate(_largest_alarms(ch)):
                alert_id = f"A-{ord(ch):04x}{n:016d}"
                draft = draft_ticket(alarm, enr(), alert_id, None)  # type: ignore[arg-type]
                ticket = tickets.create(draft)
                assert ticket.alert_id == alert_id
    assert len(app.issues) == 6  # each alarm ticketed on its first try
    assert sum(1 for r in app.requests if r.method == "POST" and r.path.endswith("/issue")) == 6


def test_long_titles_with_emoji_or_secrets_fit_jiras_summary() -> None:
    """Jira counts a summary in UTF-16 units (an emoji is two) and refuses more than 255;
    scrubbing a secret lengthens a title. Either made a cut title too long for Jira: 400,
    and the alarm never ticketed."""
    import json as _json

    from opslink.adapters.tickets.scrubbed import ScrubbedTickets
    from opslink.alarm_parsing import parse_sns_message
    from opslink.ticket_policy import draft_ticket
    from tests.conftest import load_event
    from tests.unit.test_ticket_policy import enr

    doc = _json.loads(load_event("sns-metric-alarm.json")["Records"][0]["Sns"]["Message"])
    app = JiraApi()
    with serve(app) as url:
        tickets = ScrubbedTickets(_jira(url))
        for n, first_line in enumerate(
            (
                "\U0001f525" * 300,
                "disk full " + "\U0001f4be" * 10 + " on " + "x" * 300,
                # 255 as drafted; "[REDACTED]" makes it 258
                "x" * (255 - len("[HIGH] checkout -  password=hunter2")) + " password=hunter2",
            )
        ):
            alarm = parse_sns_message(_json.dumps(doc | {"AlarmDescription": first_line}))
            ticket = tickets.create(draft_ticket(alarm, enr(), f"A-{n:020d}", None))
            summary = app.issues[ticket.id]["summary"]
            assert len(summary.encode("utf-16-le")) <= 2 * 255
            assert summary.endswith("…") and "hunter2" not in summary


def test_a_jira_resolve_screen_that_requires_a_resolution_gets_one() -> None:
    """Jira Server/Data Center workflows often put a required Resolution on the resolve
    screen: a transition without it is refused (400), the alert's OK never resolved its
    ticket. The transition listing says so (`expand=transitions.fields`): Fixed is sent."""
    app = JiraApi()
    app.resolution_required = True
    with serve(app) as url:
        tickets = _jira(url)
        ticket = tickets.create(DRAFT)
        done = tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Returned to OK.")
        assert done.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        assert app.issues[ticket.id]["resolution"]["name"] == "Fixed"
        # reopened (no resolution asked for), then resolved again: each transition made
        assert tickets.set_status(ticket.id, TicketStatus.OPEN).status is TicketStatus.OPEN
        assert tickets.set_status(ticket.id, TicketStatus.RESOLVED).status is not TicketStatus.OPEN


def test_a_servicenow_data_policy_refusal_says_which_rule_not_credentials() -> None:
    """ServiceNow answers 403 both for missing rights and for its data policies ("Data
    Policy Exception: … is mandatory"): the refusal carries the instance's words, so an
    operator fixes the policy or the close fields instead of rotating credentials."""
    from opslink.errors import TicketSystemRejected
    from tests.integration.contract_servers import Fault

    app = ServiceNowApi()
    with serve(app) as url:
        tickets = _servicenow(url)
        ticket = tickets.create(DRAFT)
        body = (b'{"error": {"message": "Operation Failed", "detail": "Data Policy Exception: '
                b'\\n Root cause is mandatory\\n"}, "status": "failure"}')  # fmt: skip
        app.faults.append(Fault("PATCH", r"/api/now/table/incident/\w+", 403, body))
        try:
            tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Returned to OK.")
        except TicketSystemRejected as exc:
            assert "Root cause is mandatory" in str(exc)
            assert "authentication" not in str(exc)
        else:
            raise AssertionError("the refusal was not raised")


def test_a_lookup_whose_filter_is_ignored_never_takes_another_ticket() -> None:
    """ServiceNow drops a query condition on a field the user may not read and answers
    every row; a Zendesk listing parameter it does not apply lists every ticket: the first
    answered record would have become the alarm's ticket (and been resolved with it)."""
    from opslink.errors import TicketSystemRejected

    class BlindServiceNow(ServiceNowApi):
        def query(self, body: Any, query: str = "") -> Any:
            return super().query(body, query.replace("correlation_id%3D", "ignored%3D"))

    class BlindZendesk(ZendeskApi):
        def list(self, body: Any, query: str = "") -> Any:
            return super().list(body, "")

    for app, make in ((BlindServiceNow(), _servicenow), (BlindZendesk(), _zendesk)):
        with serve(app) as url:
            tickets = make(url)
            someone_elses = tickets.create(DRAFT)  # the first ticket: nothing to mistake
            other = DRAFT.model_copy(update={"alert_id": "A-99999999999999999999",
                                             "custom_fields": {}})  # fmt: skip
            try:
                mistaken = tickets.create(other)
            except TicketSystemRejected as exc:
                assert "marker" in str(exc)
            else:
                raise AssertionError(f"{mistaken.id} taken for the alarm's ({someone_elses.id})")


def test_a_jira_reopen_screen_that_requires_a_comment_gets_the_note() -> None:
    """A reopen screen asking for a comment refused the transition without one (400): an
    alarm firing again never reopened its ticket. The note goes with the transition."""
    app = JiraApi()
    app.reopen_comment_required = True
    with serve(app) as url:
        tickets = _jira(url)
        ticket = tickets.create(DRAFT)
        tickets.set_status(ticket.id, TicketStatus.RESOLVED)
        again = tickets.set_status(ticket.id, TicketStatus.OPEN, note="Fired again.", key="k1")
        assert again.status is TicketStatus.OPEN
        said = [adf_text(c) for c in app.comments[ticket.id]]
        assert sum("Fired again." in s for s in said) == 1  # with the transition, once
        # retried after a lost answer: already open, the note read back, not said again
        tickets.set_status(ticket.id, TicketStatus.OPEN, note="Fired again.", key="k1")
        assert sum("Fired again." in adf_text(c) for c in app.comments[ticket.id]) == 1
        # without a note of its own the screen still gets one
        tickets.set_status(ticket.id, TicketStatus.RESOLVED)
        assert tickets.set_status(ticket.id, TicketStatus.OPEN).status is TicketStatus.OPEN


def test_a_resolve_retried_after_its_transition_failed_says_its_note_once() -> None:
    """On a done status that locks the issue the note is said before the transition; a
    retry of the same change (the transition failed) reads it back, never says it twice."""
    app = JiraApi()
    app.done_locked = True
    with serve(app) as url:
        tickets = _jira(url)
        ticket = tickets.create(DRAFT)
        app.faults.append(Fault("POST", r".*/transitions", 503, b"", times=10))
        with pytest.raises(TicketSystemError):
            tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Fixed by X.", key="ok1")
        app.faults.clear()
        done = tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Fixed by X.", key="ok1")
        assert done.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        assert sum("Fixed by X." in adf_text(c) for c in app.comments[ticket.id]) == 1


def test_a_done_issue_whose_workflow_reopens_only_to_in_progress_is_reopened_there() -> None:
    """A workflow whose Reopen leads back to In Progress (no transition to a To Do status)
    was taken as closed for good: the alarm firing again got a follow-up issue instead of
    its own reopened. Any active status will do; with none the issue is closed for good."""
    from opslink.errors import TicketClosedForGood

    app = JiraApi()
    app.done_leads_to = ("21",)  # Done -> In Progress only
    with serve(app) as url:
        tickets = _jira(url)
        ticket = tickets.create(DRAFT)
        tickets.set_status(ticket.id, TicketStatus.RESOLVED)
        again = tickets.set_status(ticket.id, TicketStatus.OPEN, note="Fired again.", key="r1")
        assert again.status is TicketStatus.IN_PROGRESS
        tickets.set_status(ticket.id, TicketStatus.RESOLVED)
        app.done_leads_to = ()  # no way out of Done
        with pytest.raises(TicketClosedForGood):
            tickets.set_status(ticket.id, TicketStatus.OPEN, note="Fired again.", key="r2")
