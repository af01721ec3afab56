"""GitHub as GitHub describes itself: the provider against a server that accepts only
requests of GitHub's OpenAPI description and answers with its examples; webhooks from the
published example payloads, every payload the tests build validated against the
published webhook schemas."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from opslink.adapters.tickets.common import ticket_http
from opslink.adapters.tickets.github import GitHubTickets, body_marker
from opslink.errors import TicketSystemRejected
from opslink.models import HandOver, Priority, TicketDraft, TicketStatus, TicketType
from opslink.webhook_service import WebhookRequest, handle_webhook
from tests.integration.contract_servers import serve
from tests.integration.github_openapi import GitHubSpecApi, validate_webhook, webhook_examples

DRAFT = TicketDraft(
    alert_id="A-0123456789abcdef0123",
    title="[HIGH] checkout - CPU above 85%",
    description="## What fired\n\n| Alarm | prod-checkout-cpu |\n",
    ticket_type=TicketType.PERFORMANCE,
    priority=Priority.HIGH,
    assignee="octocat",
    due_at=datetime(2026, 11, 27, 18, tzinfo=UTC),
)


@pytest.fixture
def github() -> Iterator[tuple[GitHubTickets, GitHubSpecApi]]:
    app = GitHubSpecApi()
    with serve(app) as url:
        app.base_url = url
        client = ticket_http(
            "GitHub",
            url,
            {"Authorization": "Bearer gh-token"},
            timeout=(5.0, 30.0),  # the first schema validation compiles GitHub's description
            retries=1,
            backoff=0.01,
        )
        yield GitHubTickets("acme/ops", "gh-token", client=client), app


def test_every_call_is_an_operation_of_the_description(
    github: tuple[GitHubTickets, GitHubSpecApi],
) -> None:
    tickets, app = github
    ticket = tickets.create(DRAFT)
    assert tickets.create(DRAFT).id == ticket.id  # found again by its marker label
    assert tickets.find_by_alert(DRAFT.alert_id).id == ticket.id  # type: ignore[union-attr]
    tickets.comment(ticket.id, "Runbook restart_service launched.")
    handed = tickets.hand_over(
        ticket.id,
        HandOver(
            priority=Priority.CRITICAL,
            assignee="octocat",
            due_at=datetime(2026, 11, 27, 12, tzinfo=UTC),
            note="the runbook failed",
        ),
    )
    assert handed.title.startswith("[FAILED_AUTO] ") and handed.priority is Priority.CRITICAL
    assert tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="fixed").status is (
        TicketStatus.CLOSED
    )
    assert tickets.set_status(ticket.id, TicketStatus.OPEN).status is TicketStatus.OPEN
    assert [t.id for t in tickets.changed_since(datetime.now(UTC) - timedelta(days=1))] == [
        ticket.id
    ]
    assert tickets.get("999") is None
    assert app.violations == []
    assert len(app.requests) > 8


def test_dropped_labels_fail_loudly_and_never_duplicate(
    github: tuple[GitHubTickets, GitHubSpecApi],
) -> None:
    tickets, app = github
    app.push_access = False
    with pytest.raises(TicketSystemRejected) as err:
        tickets.create(DRAFT)
    assert "Issues: Read and write" in str(err.value) and "#1" in str(err.value)
    with pytest.raises(TicketSystemRejected):  # a retry finds #1 by its body marker
        tickets.create(DRAFT)
    assert len(app.issues) == 1 and body_marker(DRAFT.alert_id) in app.issues[1]["body"]
    app.push_access = True  # the permission is granted: the next retry labels #1
    ticket = tickets.create(DRAFT)
    assert ticket.id == "1" and ticket.alert_id == DRAFT.alert_id
    assert len(app.issues) == 1 and "opslink" in app.issues[1]["labels"]
    assert app.violations == []


def test_sweep_follows_every_page(github: tuple[GitHubTickets, GitHubSpecApi]) -> None:
    tickets, app = github
    for i in range(230):
        tickets.create(DRAFT.model_copy(update={"alert_id": f"A-{i:020d}"}))
    changed = tickets.changed_since(datetime.now(UTC) - timedelta(days=1))
    assert len(changed) == 230 and len({t.id for t in changed}) == 230
    assert app.violations == []


# -- webhooks from the published examples ----------------------------------------------------


SECRET = "hook-secret"


def _signed(event: str, payload: dict[str, Any], form: bool = False) -> WebhookRequest:
    raw = json.dumps(payload)
    body = urlencode({"payload": raw}).encode() if form else raw.encode()
    return WebhookRequest(
        "POST",
        {
            "content-type": "application/x-www-form-urlencoded" if form else "application/json",
            "x-github-event": event,
            "x-github-delivery": hashlib.sha256(body).hexdigest()[:32],
            "x-hub-signature-256": "sha256="
            + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        },
        body,
    )


class _Replay:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def delivery_seen(self, delivery_id: str) -> bool:
        return delivery_id in self.seen

    def claim_delivery(self, delivery_id: str, now: datetime) -> bool:
        fresh = delivery_id not in self.seen
        self.seen.add(delivery_id)
        return fresh


class _NoAlerts:
    def alerts_for_ticket(self, provider: str, ticket_id: str) -> list[str]:
        return []


def _deps(tickets: GitHubTickets) -> Any:
    from opslink.track_service import TrackDeps

    return TrackDeps(
        store=_NoAlerts(), journal=None, outbox=None, bookkeeping=None, tickets=tickets
    )  # type: ignore[arg-type]


def test_published_ping_gets_200(github: tuple[GitHubTickets, GitHubSpecApi]) -> None:
    tickets, _ = github
    ping = webhook_examples()["ping"][0]  # published as is (it predates `deliveries_url`)
    status, doc = handle_webhook(_signed("ping", ping), _deps(tickets), "github", SECRET, _Replay())
    assert (status, doc) == (200, {"status": "pong"})


def test_published_deleted_issue_example_is_handled(
    github: tuple[GitHubTickets, GitHubSpecApi],
) -> None:
    tickets, app = github
    deleted = next(e for e in webhook_examples()["issues"] if e["action"] == "deleted")
    tickets.create(DRAFT)
    app.deleted.add(int(deleted["issue"]["number"]))  # GitHub answers 410 for it now
    status, doc = handle_webhook(
        _signed("issues", deleted), _deps(tickets), "github", SECRET, _Replay()
    )
    # Deleted and linked to no alert here: nothing to resolve, nothing to retry.
    assert status == 202 and doc["status"] == "unknown"


@pytest.mark.parametrize("form", [False, True])
def test_closed_issue_delivery_reads_the_ticket(
    github: tuple[GitHubTickets, GitHubSpecApi], form: bool
) -> None:
    tickets, app = github
    ticket = tickets.create(DRAFT)
    tickets.set_status(ticket.id, TicketStatus.CLOSED)
    closed = copy.deepcopy(
        next(e for e in webhook_examples()["issues"] if e["action"] == "reopened")
    )
    closed["action"] = "closed"
    closed["issue"].update(number=int(ticket.id), state="closed", closed_at="2026-11-27T11:00:00Z")
    validate_webhook("issues", "closed", closed)  # what we send is what GitHub sends
    status, doc = handle_webhook(
        _signed("issues", closed, form), _deps(tickets), "github", SECRET, _Replay()
    )
    assert status == 202 and doc["ticket_id"] == ticket.id  # read back; no alert linked here
    assert app.violations == []


def test_closed_as_not_planned_is_closed_with_its_reason(
    github: tuple[GitHubTickets, GitHubSpecApi],
) -> None:
    tickets, app = github
    ticket = tickets.create(DRAFT)
    tickets.http.request(
        "PATCH",
        f"/repos/acme/ops/issues/{ticket.id}",
        json={"state": "closed", "state_reason": "not_planned"},
    )
    closed = tickets.get(ticket.id)
    assert closed is not None and closed.status is TicketStatus.CLOSED
    assert closed.custom_fields["state_reason"] == "not_planned"
    assert app.violations == []
