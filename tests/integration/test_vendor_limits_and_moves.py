"""Ticket systems as their vendors document them, round two: rate limits and their
headers, waits bounded by the invocation, transferred/moved/closed/deleted tickets, one
bad ticket in a sweep, and exactly one ticket when a create's answer is lost. Through the
contract servers (real HTTP on 127.0.0.1) and, where an alert is involved, the real
ingest and track flows on moto."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import opslink.adapters.http_client as http_client
from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.reliability import ReliabilityRecords
from opslink.adapters.throttling import is_throttled, throttle_wait
from opslink.adapters.tickets.github import GitHubTickets
from opslink.adapters.tickets.jira import JiraTickets
from opslink.adapters.tickets.jira_fields import adf_text
from opslink.adapters.tickets.scrubbed import ScrubbedTickets
from opslink.adapters.tickets.servicenow import ServiceNowTickets
from opslink.adapters.tickets.zendesk import ZendeskTickets
from opslink.comment_outbox import drain
from opslink.deadline import MARGIN_SECONDS, budget
from opslink.errors import (
    TicketClosedForGood,
    TicketSystemError,
    TicketSystemRejected,
    TicketSystemThrottled,
)
from opslink.faults import FaultReporter
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.models import AlertStatus, Outcome, TicketStatus
from opslink.service_map import load_service_map
from opslink.track_service import TrackDeps, sweep
from opslink.webhook_service import handle_webhook
from opslink_cli import samples
from tests.integration.contract_servers import Fault, serve
from tests.integration.github_openapi import GitHubSpecApi
from tests.integration.test_ticket_providers import DRAFT, fast
from tests.integration.ticket_servers import JiraApi, ServiceNowApi, ZendeskApi
from tests.unit.conftest import Clock, RecordingWorkflow, StaticTags
from tests.unit.fakes import tracking_on


class Sleeps:
    """time.sleep of the HTTP client, recorded instead of slept (the server is real).
    `time.sleep` is the process's: only the test's own thread is recorded — a server's
    or another test's thread sleeping meanwhile still sleeps, and is not counted."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.thread = threading.current_thread()
        self.sleep = time.sleep

    def __call__(self, seconds: float) -> None:
        if threading.current_thread() is not self.thread:
            self.sleep(seconds)
            return
        self.waits.append(seconds)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    recorder = Sleeps()
    monkeypatch.setattr(http_client.time, "sleep", recorder)
    return recorder


class Context:
    """A Lambda context with `seconds` left."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


def _github(url: str) -> GitHubTickets:
    return GitHubTickets("acme/ops", "gh-token", url,
                         client=fast("GitHub", url, {"Authorization": "Bearer gh-token"}))  # fmt: skip


def _jira(url: str) -> JiraTickets:
    return JiraTickets(url, "OPS", "ops@example.com", "jira-token",
                       client=fast("Jira", url, {}, ("ops@example.com", "jira-token")))  # fmt: skip


def _zendesk(url: str) -> ZendeskTickets:
    return ZendeskTickets(url, "ops@example.com", "zd-token",
                          client=fast("Zendesk", url, {}, ("ops@example.com/token", "zd-token")))  # fmt: skip


def _servicenow(url: str) -> ServiceNowTickets:
    return ServiceNowTickets(url, "opslink", "snow-pass",
                             client=fast("ServiceNow", url, {}, ("opslink", "snow-pass")))  # fmt: skip


# -- 1. one throttling policy ---------------------------------------------------------------


class _Resp:
    def __init__(self, status: int, headers: dict[str, str], text: str = "") -> None:
        from requests.structures import CaseInsensitiveDict

        self.status_code, self.headers, self.text = status, CaseInsensitiveDict(headers), text


@pytest.mark.parametrize(
    ("status", "headers", "text", "throttled", "wait"),
    [
        (429, {"retry-after": "7"}, "", True, 7.0),  # Zendesk, Jira, AWX
        (429, {"Retry-After": "Fri, 05 Dec 2036 10:00:30 GMT"}, "", True, 30.0),  # HTTP date
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2082794412"}, "", True, 12.0),
        (403, {"retry-after": "60"}, "secondary rate limit", True, 60.0),
        (403, {}, "You have exceeded a secondary rate limit.", True, 60.0),
        (429, {"X-RateLimit-Reset": "2036-12-05T10:00:45Z"}, "", True, 45.0),  # Jira Cloud
        (403, {}, "Resource not accessible by personal access token", False, None),
        (403, {"x-ratelimit-remaining": "4999"}, "Must have admin rights", False, None),
    ],
)
def test_vendor_rate_limit_answers_are_throttling_with_their_wait(
    status: int, headers: dict[str, str], text: str, throttled: bool, wait: float | None
) -> None:
    now = datetime(2036, 12, 5, 10, 0, tzinfo=UTC).timestamp()
    if "x-ratelimit-reset" in headers:  # epoch seconds: 12 s from `now`
        headers = headers | {"x-ratelimit-reset": str(int(now) + 12)}
    resp = _Resp(status, headers, text)
    assert is_throttled(resp) is throttled
    if throttled:
        assert throttle_wait(resp, now) == pytest.approx(wait, abs=1)


@pytest.mark.parametrize("kind", ["primary", "secondary"])
def test_github_rate_limit_403_waits_as_told_then_succeeds(kind: str, sleeps: Sleeps) -> None:
    app = GitHubSpecApi()
    with serve(app) as url:
        tickets = _github(url)
        created = tickets.create(DRAFT)
        status, headers, body = GitHubSpecApi.rate_limit(kind, wait=2)
        app.faults.append(Fault("GET", r"/repos/acme/ops/issues/\d+", status, body, headers))
        assert tickets.get(created.id) is not None  # not "authentication refused"
    assert len(sleeps.waits) == 1 and 0 <= sleeps.waits[0] <= 3
    assert not app.violations


def test_a_secondary_limit_without_headers_is_throttled_and_left_for_later(sleeps: Sleeps) -> None:
    app = GitHubSpecApi()
    with serve(app) as url:
        tickets = _github(url)
        created = tickets.create(DRAFT)
        status, headers, body = GitHubSpecApi.rate_limit("message-only")
        app.faults.append(Fault("GET", r"/repos/acme/ops/issues/\d+", status, body, headers))
        with pytest.raises(TicketSystemThrottled, match="rate limit hit") as caught:
            tickets.get(created.id)
        assert caught.value.retry_after == 60  # GitHub: wait at least a minute
        assert "authentication" not in str(caught.value)
    assert sleeps.waits == []  # never retried sooner than the vendor asked


def test_a_real_refusal_403_is_still_a_refusal() -> None:
    app = GitHubSpecApi()
    with serve(app) as url:
        tickets = _github(url)
        app.faults.append(Fault("GET", r"/repos/acme/ops/issues/\d+", 403,
                                b'{"message": "Resource not accessible by integration"}'))  # fmt: skip
        with pytest.raises(
            TicketSystemRejected, match=r"refused \(403.*not accessible by integration"
        ):
            tickets.get("1")


def test_jira_429_waits_are_bounded_per_call(sleeps: Sleeps) -> None:
    app = JiraApi()
    with serve(app) as url:
        tickets = _jira(url)
        created = tickets.create(DRAFT)
        status, headers, body = JiraApi.rate_limited(15)
        app.faults.append(
            Fault("GET", r"/rest/api/3/issue/OPS-\d+", status, body, headers, times=5)
        )
        with pytest.raises(TicketSystemThrottled) as caught:
            tickets.get(created.id)
    # One 15 s wait fits; a second would make 30 s in one call (cap 25 s): left for later.
    assert sleeps.waits == [15.0]
    assert caught.value.retry_after == 15


def test_a_wait_past_the_invocation_budget_is_not_taken() -> None:
    app = JiraApi()
    with serve(app) as url:
        tickets = _jira(url)
        created = tickets.create(DRAFT)
        status, headers, body = JiraApi.rate_limited(10)
        app.faults.append(
            Fault("GET", r"/rest/api/3/issue/OPS-\d+", status, body, headers, times=5)
        )
        started = time.monotonic()
        with (
            budget(Context(MARGIN_SECONDS + 3)),
            pytest.raises(TicketSystemThrottled, match="time budget"),
        ):
            tickets.get(created.id)
        assert time.monotonic() - started < 2  # the 10 s were never slept


def test_zendesk_and_servicenow_429s_are_waited_out_as_told() -> None:
    zd, sn = ZendeskApi(), ServiceNowApi()
    with serve(zd) as zurl, serve(sn) as surl:
        zendesk, snow = _zendesk(zurl), _servicenow(surl)
        zt, st = zendesk.create(DRAFT), snow.create(DRAFT)
        zd.faults.append(
            Fault("GET", r"/api/v2/tickets/\d+\.json", 429, b"{}", {"Retry-After": "1"})
        )
        reset = str(int(time.time()) + 1)
        sn.faults.append(Fault("GET", r"/api/now/table/incident/[0-9a-f]{32}", 429,
                               b'{"error": {"message": "Rate limit exceeded"}}', {"X-RateLimit-Reset": reset}))  # fmt: skip
        started = time.monotonic()
        assert zendesk.get(zt.id) is not None and snow.get(st.id) is not None
        assert time.monotonic() - started >= 0.9  # really waited, not retried at once


class _Faults:
    """The fault store: every fault opened, and recoveries."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.recovered: list[tuple[str, str]] = []

    def open_fault(self, fault: Any) -> tuple[Any, bool]:
        self.opened.append(fault)
        return fault, True

    def recover_fault(self, component: str, integration: str, at: datetime) -> Any:
        self.recovered.append((component, integration))
        return None


class _SweepStore:
    def __init__(self) -> None:
        self.checkpoint: datetime | None = None
        self.links: dict[str, str] = {}

    def alerts_for_ticket(self, provider: str, ticket_id: str) -> list[str]:
        return [self.links[ticket_id]] if ticket_id in self.links else []

    def get(self, alert_id: str) -> None:
        return None

    def get_checkpoint(self, name: str) -> datetime | None:
        return self.checkpoint

    def set_checkpoint(self, name: str, at: datetime) -> None:
        self.checkpoint = at

    def open_alerts(self) -> list[Any]:
        return []


def test_a_throttled_sweep_keeps_its_checkpoint_and_records_the_fault() -> None:
    app = ZendeskApi()
    with serve(app) as url:
        tickets = _zendesk(url)
        app.faults.append(
            Fault("GET", r"/api/v2/incremental/.*", 429, b"{}", {"Retry-After": "300"})
        )
        store, faults = _SweepStore(), _Faults()
        before = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        store.checkpoint = before
        # A sweep needs the store's reads and the checkpoints; nothing is journaled.
        track = TrackDeps(store=store, journal=None, outbox=None, bookkeeping=store,
                          tickets=tickets, faults=FaultReporter(faults))  # type: ignore[arg-type]  # fmt: skip
        result = sweep(track)
        assert "rate limit hit" in result["paused"] and store.checkpoint == before
        assert [f.component for f in faults.opened] == ["ticket_system"]
        assert "retry after 300s" in faults.opened[0].error
        # Answering again: the next sweep moves on and marks the fault recovered.
        result = sweep(track)
        assert "paused" not in result and store.checkpoint > before
        assert ("ticket_system", "zendesk") in faults.recovered


def test_a_throttled_webhook_answers_503_with_the_vendors_wait() -> None:
    import hashlib
    import hmac
    import json

    from opslink.webhook_service import WebhookRequest

    app = GitHubSpecApi()
    with serve(app) as url:
        tickets = _github(url)
        created = tickets.create(DRAFT)
        status, headers, body = GitHubSpecApi.rate_limit("secondary", wait=90)
        app.faults.append(Fault("GET", r"/repos/acme/ops/issues/\d+", status, body, headers))
        payload = json.dumps({"action": "closed", "issue": {"number": int(created.id)}}).encode()
        req = WebhookRequest("POST", {
            "x-hub-signature-256": "sha256=" + hmac.new(b"s3cret", payload, hashlib.sha256).hexdigest(),
            "x-github-delivery": "d-1", "x-github-event": "issues"}, payload)  # fmt: skip
        faults = _Faults()

        class Replay:
            def delivery_seen(self, d: str) -> bool:
                return False

            def claim_delivery(self, d: str, at: datetime) -> bool:
                raise AssertionError("a delivery not applied is never claimed")

        deps = TrackDeps(
            store=_SweepStore(),
            journal=None,
            outbox=None,
            bookkeeping=_SweepStore(),
            tickets=tickets,
            faults=FaultReporter(faults),
        )  # type: ignore[arg-type]
        code, doc = handle_webhook(req, deps, "github", "s3cret", Replay())  # type: ignore[arg-type]
    assert code == 503 and doc["retry_after"] == 90 and doc["retry"] is True
    assert faults.opened and faults.opened[0].component == "ticket_system"


# -- 2. tickets that moved, closed for good, or vanished -----------------------------------


@pytest.fixture
def flow(ddb: Any) -> Any:
    """Real ingest and track flows on moto, with the ticket system to be plugged in."""
    clock = Clock(datetime(2026, 11, 27, 10, 1, tzinfo=UTC))
    smap = load_service_map()
    from opslink.adapters.directory.service_map_directory import ServiceMapDirectory

    def make(tickets: Any) -> tuple[IngestDeps, TrackDeps]:
        store = DynamoAlertStore("AlertsTable", ddb)
        ingest = IngestDeps(store=store, outbox=store.outbox, rejections=Bookkeeping(store.table, store.client), tickets=tickets, directory=ServiceMapDirectory(smap),
                            tags=StaticTags(), workflow=RecordingWorkflow(), service_map=smap,
                            flaps=ReliabilityRecords("AlertsTable", ddb), clock=clock)  # fmt: skip
        return ingest, tracking_on(ingest, clock=clock)

    make.clock = clock  # type: ignore[attr-defined]
    return make


def _fire(deps: IngestDeps, name: str, at: datetime, state: str = "ALARM") -> Any:
    old = "OK" if state == "ALARM" else "ALARM"
    [result] = ingest_event(samples.sns_event(samples.metric_alarm(name, at, state=state, old=old)),
                            deps, IngestPolicy())  # fmt: skip
    return result


def test_a_transferred_github_issue_resolves_its_own_alert_never_another(flow: Any) -> None:
    app = GitHubSpecApi()
    with serve(app) as url:
        tickets = _github(url)
        ingest, track = flow(tickets)
        a = _fire(ingest, "prod-search-cpu-high", samples.T0)
        c = _fire(ingest, "prod-checkout-api-cpu-high", samples.T0)
        assert (a.ticket_id, c.ticket_id) == ("1", "2")
        app.transfer(1, 2)  # in acme/infra, issue 1 becomes #2 — C's number here
        moved = tickets.get("1")
        assert moved is not None and moved.id == "1"
        assert moved.custom_fields["moved_to"] == "acme/infra#2"
        tickets.comment("1", "still ours")  # a write follows the 301 too (POST, same body)
        assert app.infra[2]["comments"] == ["still ours"]
        app.infra[2]["state"] = "closed"  # closed by a human where it went
        result = sweep(track)
    assert result["skipped"] == []
    a_after, c_after = track.store.get(a.alert_id), track.store.get(c.alert_id)
    assert a_after is not None and a_after.status is AlertStatus.RESOLVED
    assert c_after is not None and c_after.status is AlertStatus.OPEN  # never C
    assert not app.violations


def test_a_github_assignee_refused_with_422_never_blocks_the_ticket() -> None:
    app = GitHubSpecApi()
    with serve(app) as url:
        wrapped = ScrubbedTickets(_github(url))  # as every deployment has it (registry.py)
        ticket = wrapped.create(DRAFT.model_copy(update={"assignee": "not-a-collaborator"}))
    assert ticket.assignee is None and "could not be assigned" in ticket.description
    assert not app.violations


def test_zendesk_refire_after_close_gets_a_follow_up_with_the_queued_comments(flow: Any) -> None:
    app = ZendeskApi()
    with serve(app) as url:
        tickets = _zendesk(url)
        ingest, _ = flow(tickets)
        first = _fire(ingest, "prod-search-cpu-high", samples.T0)
        ok = _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=5), "OK")
        assert ok.outcome is Outcome.RESOLVED
        app.close(int(first.ticket_id))  # Zendesk closed the solved ticket: read-only now
        ingest.outbox.queue_comment(first.ticket_id, "late-note", "A note still on its way.",
                                   samples.T0 + timedelta(minutes=6), first.alert_id)  # fmt: skip
        again = _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=30))
        assert again.outcome is Outcome.CREATED and again.ticket_id != first.ticket_id
        assert "closed for good" in again.reason and "1 queued comment(s) moved" in again.reason
        follow_up = app.tickets[int(again.ticket_id)]
        assert f"previous ticket {first.ticket_id} is closed for good" in follow_up["description"]
        assert follow_up["via"]["source"] == {
            "rel": "follow_up",
            "from": {"ticket_id": int(first.ticket_id)},
        }
        # The queued comment is delivered on the follow-up by the next drain, not lost.
        drain(ingest.outbox, tickets)
        bodies = [c["body"] for c in follow_up["comments"]]
        assert any("A note still on its way." in b for b in bodies)
        assert ingest.outbox.queued_comments(first.ticket_id) == []


@contextmanager
def _locked_jira(flow: Any) -> Iterator[tuple[JiraApi, JiraTickets, IngestDeps, Any]]:
    """Jira whose done statuses lock the issue (comments refused there: 403), the real
    ingest flow on it, and an alarm that fired: its ticket open."""
    app = JiraApi()
    app.done_locked = True
    with serve(app) as url:
        tickets = _jira(url)
        ingest, _ = flow(tickets)
        yield app, tickets, ingest, _fire(ingest, "prod-search-cpu-high", samples.T0)


def test_a_jira_done_status_that_locks_the_issue_never_loses_or_holds_a_note(
    flow: Any,
) -> None:
    """A Jira workflow whose done statuses are not editable refuses comments there (403).
    The OK's resolution note, said after the transition, was refused: the state change
    and its note were queued and refused at every pass, holding the ticket's queue. The
    note is now said before the move to done; a late note the locked issue refuses is
    kept on the alert and the queue goes on; a 403 on an open issue still holds it."""
    with _locked_jira(flow) as (app, tickets, ingest, first):
        ok = _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=5), "OK")
        key = str(first.ticket_id)
        assert ok.outcome is Outcome.RESOLVED
        assert app.issues[key]["status"]["statusCategory"]["key"] == "done"
        said = [adf_text(c) for c in app.comments[key]]
        assert sum("returned to OK" in c for c in said) == 1
        assert ingest.outbox.queued_comments(key) == []

        ingest.outbox.queue_comment(key, "late-note", "A note still on its way.",
                                    samples.T0 + timedelta(minutes=6), first.alert_id)  # fmt: skip
        done = drain(ingest.outbox, tickets)  # the reconciler's pass
        assert done["failed"] == 0 and ingest.outbox.queued_comments(key) == []
        kept = [str(n) for n in ingest.store.get(first.alert_id).notes]
        assert any("A note still on its way." in n and "403" in n for n in kept)

        again = _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=10))
        assert again.outcome is Outcome.CREATED and again.ticket_id == key
        assert app.issues[key]["status"]["statusCategory"]["key"] == "new"  # reopened

        denied = b'{"errorMessages": ["No permission"]}'
        app.faults.append(Fault("POST", r".*/comment", 403, denied, times=5))
        ingest.outbox.queue_comment(key, "k2", "Held.", samples.T0, again.alert_id)
        assert drain(ingest.outbox, tickets, key)["failed"] == 1  # the caller's rights: held
        assert [c["key"] for c in ingest.outbox.queued_comments(key)] == ["k2"]


def test_an_ok_after_a_human_closed_the_locked_jira_issue_resolves_its_alert(
    flow: Any,
) -> None:
    """The OK arrives before the sweep saw a human close the issue (Done, not editable):
    the state is there, its note is refused (403) — the alert is resolved, the note kept
    on it, and nothing waits in the ticket's queue."""
    with _locked_jira(flow) as (app, tickets, ingest, first):
        key = str(first.ticket_id)
        app.issues[key]["status"] = {"name": "Done", "statusCategory": {"key": "done"}}
        ok = _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=5), "OK")
        assert ok.outcome is Outcome.RESOLVED
        drain(ingest.outbox, tickets)
        assert ingest.outbox.queued_comments(key) == []
        alert = ingest.store.get(first.alert_id)
        assert alert is not None and alert.status is AlertStatus.RESOLVED
        assert any("returned to OK" in str(n) and "403" in str(n) for n in alert.notes)


def test_a_resolution_queued_while_jira_was_down_lands_on_a_locking_done_status(
    flow: Any,
) -> None:
    """The OK's state change and note, queued when Jira failed, are
    delivered note first: after the move the locked issue would refuse it at every pass
    (the note failed here, 503, before the transition was tried)."""
    with _locked_jira(flow) as (app, tickets, ingest, first):
        key = str(first.ticket_id)
        app.faults.append(Fault("POST", r".*/comment", 503, b"", times=20))
        ok = _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=5), "OK")
        assert ok.outcome is Outcome.RESOLVED
        assert [c["status"] for c in ingest.outbox.queued_comments(key)] == ["resolved"]
        app.faults.clear()
        assert drain(ingest.outbox, tickets)["failed"] == 0
        assert app.issues[key]["status"]["statusCategory"]["key"] == "done"
        said = [adf_text(c) for c in app.comments[key]]
        assert sum("returned to OK" in c for c in said) == 1
        assert ingest.outbox.queued_comments(key) == []


def test_a_queued_resolution_whose_note_jira_refuses_still_resolves_the_ticket(
    flow: Any,
) -> None:
    """Jira Cloud refuses a comment past its per-issue limit (413). A queued state change
    whose note is refused so is refused at every pass — the ticket would stay open for
    good, its queue held: the state is changed, the note kept on the alert."""
    with _locked_jira(flow) as (app, tickets, ingest, first):
        key = str(first.ticket_id)
        ingest.outbox.queue_comment(key, "ok-note", "Alarm returned to OK.", samples.T0,
                                    first.alert_id, status="resolved")  # fmt: skip
        limit = b'{"errorMessages": ["Comment limit reached for this issue."]}'
        app.faults.append(Fault("POST", r".*/comment", 413, limit, times=10))
        assert drain(ingest.outbox, tickets)["failed"] == 0
        assert app.issues[key]["status"]["statusCategory"]["key"] == "done"
        assert ingest.outbox.queued_comments(key) == []
        kept = [str(n) for n in ingest.store.get(first.alert_id).notes]
        assert any("Alarm returned to OK." in n and "413" in n for n in kept)


def test_a_zendesk_closed_ticket_is_closed_for_good_for_every_write() -> None:
    app = ZendeskApi()
    with serve(app) as url:
        tickets = _zendesk(url)
        created = tickets.create(DRAFT)
        app.close(int(created.id))
        with pytest.raises(TicketClosedForGood):
            tickets.set_status(created.id, TicketStatus.OPEN)
        with pytest.raises(TicketClosedForGood):
            tickets.comment(created.id, "hello")


def test_jira_moved_issue_keeps_its_identity_and_final_status_is_closed_for_good() -> None:
    app = JiraApi()
    with serve(app) as url:
        tickets = _jira(url)
        created = tickets.create(DRAFT)
        app.move(created.id, "INFRA-9")
        moved = tickets.get(created.id)
        assert moved is not None and moved.id == created.id
        assert moved.custom_fields["moved_to"] == "INFRA-9"
        resolved = tickets.set_status(created.id, TicketStatus.RESOLVED)
        assert resolved.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        app.close_for_good(created.id)
        with pytest.raises(TicketClosedForGood, match="no transition back"):
            tickets.set_status(created.id, TicketStatus.OPEN)


def test_zendesk_export_pages_by_cursor_and_carries_deleted_tickets_as_closed(flow: Any) -> None:
    app = ZendeskApi()
    app.page_size = 2
    with serve(app) as url:
        tickets = _zendesk(url)
        ingest, track = flow(tickets)
        alerts = [_fire(ingest, name, samples.T0) for name in
                  ("prod-search-cpu-high", "prod-checkout-api-cpu-high", "prod-payments-db-cpu-high")]  # fmt: skip
        for n in range(2):  # two more OpsLink tickets nobody links to
            tickets.create(DRAFT.model_copy(update={"alert_id": f"A-{n:020d}"}))
        app.delete(int(alerts[1].ticket_id))
        listed = tickets.changed_since(datetime(2026, 11, 27, 9, tzinfo=UTC))
        assert len(listed) == 5  # three cursor pages
        assert sum(1 for r in app.requests if "incremental" in r.path) == 3
        gone = next(t for t in listed if t.id == alerts[1].ticket_id)
        assert gone.status is TicketStatus.CLOSED and gone.custom_fields == {"deleted": "true"}
        result = sweep(track)
    assert result["resolved"] == [alerts[1].alert_id]
    deleted = track.store.get(alerts[1].alert_id)
    assert deleted is not None and "was deleted" in deleted.resolution["how"]


def test_servicenow_custom_states_follow_the_active_flag() -> None:
    app = ServiceNowApi()
    with serve(app) as url:
        tickets = _servicenow(url)
        waiting = tickets.create(DRAFT)
        cancelled = tickets.create(DRAFT.model_copy(update={"alert_id": "A-11111111111111111111"}))
        app.set_custom_state(waiting.id, "101")  # "Awaiting Vendor": still worked on
        app.set_custom_state(cancelled.id, "102")  # "Cancelled by customer": inactive
        w, c = tickets.get(waiting.id), tickets.get(cancelled.id)
    assert (
        w is not None and w.status is TicketStatus.IN_PROGRESS and w.custom_fields["state"] == "101"
    )
    assert c is not None and c.status is TicketStatus.CLOSED


@pytest.mark.parametrize("closed_records", ["acl", "kept", "writable"])
def test_a_servicenow_incident_closed_by_a_human_is_reopened_or_followed_up(
    flow: Any, closed_records: str
) -> None:
    """Instances commonly protect Closed incidents (a write ACL: 403; or a business rule
    that keeps the state: 200). The alarm firing again was refused at every retry (or
    counted its incident reopened while it stayed Closed): now a follow-up ticket refers
    to it, and a note queued for it is kept on the alert instead of holding its queue."""
    app = ServiceNowApi()
    app.closed_records = closed_records
    with serve(app) as url:
        tickets = _servicenow(url)
        ingest, _ = flow(tickets)
        first = _fire(ingest, "prod-search-cpu-high", samples.T0)
        assert _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=5),
                     "OK").outcome is Outcome.RESOLVED  # fmt: skip
        app.records[first.ticket_id].update(state="7", active="false")  # closed by a human
        ingest.outbox.queue_comment(first.ticket_id, "late", "A late note.",
                                    samples.T0 + timedelta(minutes=6), first.alert_id)  # fmt: skip
        assert drain(ingest.outbox, tickets)["failed"] == 0
        assert ingest.outbox.queued_comments(first.ticket_id) == []
        again = _fire(ingest, "prod-search-cpu-high", samples.T0 + timedelta(minutes=30))
        assert again.outcome is Outcome.CREATED
        if closed_records == "writable":  # the instance lets it be reopened
            assert again.ticket_id == first.ticket_id
            assert app.records[first.ticket_id]["state"] == "2"
            return
        assert again.ticket_id != first.ticket_id and "closed for good" in again.reason
        assert app.records[first.ticket_id]["state"] == "7"
        follow_up = app.records[str(again.ticket_id)]
        assert first.ticket_id in follow_up["description"]


# -- 3. one bad ticket never stops a pass -----------------------------------------------------


def test_one_unreadable_ticket_is_skipped_recorded_and_the_checkpoint_moves(flow: Any) -> None:
    app = ServiceNowApi()
    with serve(app) as url:
        tickets = _servicenow(url)
        ingest, track = flow(tickets)
        bad = _fire(ingest, "prod-search-cpu-high", samples.T0)
        good = _fire(ingest, "prod-checkout-api-cpu-high", samples.T0)
        rec = app.records[bad.ticket_id]
        rec["state"], rec["active"] = "999", ""  # a state nobody can interpret
        app.records[good.ticket_id].update(
            state="7", active="false", sys_updated_on="2026-11-27 10:05:00"
        )
        faults = _Faults()
        track.faults = FaultReporter(faults)
        result = sweep(track)
    assert bad.ticket_id in result["skipped"]
    assert result["resolved"] == [good.alert_id] and result["left"] == 0
    assert track.bookkeeping.get_checkpoint("track#servicenow") is not None
    assert [f.component for f in faults.opened] == ["ticket"]
    assert faults.opened[0].context["ticket_id"] == bad.ticket_id


# -- 4. exactly one ticket across containers and retries ------------------------------------


def test_jira_create_answered_502_then_retried_elsewhere_never_duplicates() -> None:
    app = JiraApi()
    app.search_lag = 50  # the first issue stays out of search results for a while
    with serve(app) as url:
        # The create is applied but its answer lost (502 after the work): ambiguous.
        first = _jira(url)
        original = app.create

        def applied_then_502(body: Any, query: str = "") -> Any:
            original(body, query)
            return 502, {}, b'{"errorMessages": ["Bad gateway"]}'

        app.create = applied_then_502  # type: ignore[method-assign]
        with pytest.raises(TicketSystemError):
            first.create(DRAFT)
        app.create = original  # type: ignore[method-assign]
        attempt = datetime.now(UTC)
        # Another container (fresh memory) retries right away: it must not create a second.
        retry = _jira(url)
        with pytest.raises(TicketSystemError, match="never created twice") as caught:
            retry.create(DRAFT.model_copy(update={"earlier_attempt_at": attempt}))
        assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60
        app.search_lag = 0  # search has settled: the retry finds the first issue
        found = retry.create(
            DRAFT.model_copy(update={"earlier_attempt_at": attempt - timedelta(minutes=2)})
        )
    assert len(app.issues) == 1 and found.id == "OPS-1"


def test_a_deleted_issue_in_reconcile_ids_never_blocks_a_create() -> None:
    app = JiraApi()
    app.search_lag = 3
    with serve(app) as url:
        tickets = _jira(url)
        created = tickets.create(DRAFT)
        del app.issues[created.id]  # deleted by a human before search indexed it
        tickets.create(DRAFT)  # reconcileIssues names a deleted id: search plainly
    assert len(app.issues) == 1
    assert sum(1 for r in app.requests if r.method == "POST" and r.path == "/rest/api/3/issue") == 2
