"""An assignee the ticket system refuses (left the project, not assignable, no account)
never blocks the alarm's ticket or its hand-over: written without one, the text says who
could not be assigned and the system's answer. Any other refusal stays a refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.adapters.tickets.jira_fields import adf_text
from opslink.errors import TicketSystemRejected
from opslink.models import HandOver, Priority
from tests.integration.contract_servers import Response, json_response, serve
from tests.integration.test_ticket_providers import DRAFT, scrubbed_jira
from tests.integration.ticket_servers import JiraApi

GONE = "712020:0e5a-gone"  # an account id that can no longer be assigned


class HandOverJira(JiraApi):
    """Jira with "Edit issue" (PUT /issue/{key}), assignee checked as on creation."""

    routes = [*JiraApi.routes, ("PUT", r"/rest/api/3/issue/([A-Z]+-\d+)", "update")]

    def update(self, body: Any, key: str, query: str = "") -> Response:
        fields = body.get("fields", {})
        refused = self.off_screen(fields)
        if refused:
            return refused
        account = (fields.get("assignee") or {}).get("accountId")
        if account is not None and account not in self.ACCOUNTS:
            return json_response(400, {"errorMessages": [], "errors": {
                "assignee": f"User '{account}' cannot be assigned issues."}})  # fmt: skip
        self.issues[self._key(key)].update(fields)
        return 204, {}, b""


def test_an_alarm_whose_assignee_is_refused_is_ticketed_unassigned_and_says_so() -> None:
    app = HandOverJira()
    with serve(app) as url:
        ticket = scrubbed_jira(url).create(DRAFT.model_copy(update={"assignee": GONE}))
        assert len(app.issues) == 1
        fields = app.issues[ticket.id]
        assert fields.get("assignee") is None
        text = adf_text(fields["description"])
        assert f"{GONE} could not be assigned: jira refused it" in text
        assert "cannot be assigned issues" in text
        assert "What fired" in text  # the description itself follows


def test_a_hand_over_to_a_refused_on_call_is_made_unassigned_and_says_so() -> None:
    app = HandOverJira()
    with serve(app) as url:
        tickets = scrubbed_jira(url)
        ticket = tickets.create(DRAFT)  # alice: assignable
        handed = tickets.hand_over(
            ticket.id,
            HandOver(
                priority=Priority.CRITICAL,
                assignee=GONE,
                due_at=datetime.now(UTC) + timedelta(hours=1),
                note="Restart failed: exit 1.",
            ),
        )
        assert handed.title.startswith("[FAILED_AUTO]")
        said = [adf_text(c) for c in app.comments[ticket.id]]
        assert any(f"{GONE} could not be assigned" in s and "Restart failed" in s for s in said)


def test_other_refusals_are_not_mistaken_for_the_assignee() -> None:
    app = JiraApi()
    with serve(app) as url:
        tickets = scrubbed_jira(url)
        too_long = DRAFT.model_copy(update={"assignee": GONE, "description": "x" * 40_000})
        with pytest.raises(TicketSystemRejected, match="too long"):
            tickets.create(too_long)
        assert app.issues == {}


def test_fields_a_jira_screen_lacks_are_left_out_and_said() -> None:
    """Team-managed projects and trimmed screens have no due date or priority: Jira then
    refuses the whole create ("cannot be set. It is not on the appropriate screen") and
    the alarm was never ticketed. Left out, said in the text, learned once per container."""
    app = HandOverJira()
    app.screen_lacks = frozenset({"duedate", "priority"})
    with serve(app) as url:
        tickets = scrubbed_jira(url)
        first = tickets.create(DRAFT)
        second = tickets.create(DRAFT.model_copy(update={"alert_id": "A-99999999999999999999",
                                                          "custom_fields": {}}))  # fmt: skip
        assert len(app.issues) == 2
        text = adf_text(app.issues[first.id]["description"])
        assert (
            "Not set (this Jira screen has no such field): due date 2026-11-27, priority High"
            in text
        )
        assert "What fired" in text and "What fired" in adf_text(
            app.issues[second.id]["description"]
        )
        creates = [r for r in app.requests if r.method == "POST" and r.path.endswith("/issue")]
        assert len(creates) == 3  # refused once, then learned
        tickets.hand_over(first.id, HandOver(priority=Priority.CRITICAL, assignee=None,
                                             due_at=datetime(2026, 11, 28, tzinfo=UTC),
                                             note="Restart failed."))  # fmt: skip
        said = [adf_text(c) for c in app.comments[first.id]]
        assert any("due date 2026-11-28, priority Critical" in s and "Restart failed." in s
                   for s in said)  # fmt: skip


def test_a_screen_without_labels_stays_a_refusal() -> None:
    app = JiraApi()
    app.screen_lacks = frozenset({"labels"})  # OpsLink's idempotency marker: no way around
    with serve(app) as url, pytest.raises(TicketSystemRejected, match="labels"):
        scrubbed_jira(url).create(DRAFT)
    assert app.issues == {}
