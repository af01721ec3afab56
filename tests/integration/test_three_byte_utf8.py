"""Ticket systems whose database stores 3-byte UTF-8 only (MySQL `utf8`: older Redmine and
Jira Server installations) answer 500 to a write holding an emoji. The alarm is ticketed
all the same — with U+FFFD where the emoji were — and the container writes that way from
then on; a 500 for anything else is not a reason to rewrite the text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.adapters.tickets.jira_fields import adf_text
from opslink.errors import TicketSystemError
from opslink.models import HandOver, Priority, TicketStatus
from tests.integration.contract_servers import Fault, Response, json_response, serve
from tests.integration.test_ticket_providers import DRAFT, scrubbed_jira
from tests.integration.ticket_servers import JiraApi

FIRE = "\U0001f525"


def _has_astral(body: Any) -> bool:
    return any(ord(c) > 0xFFFF for c in json.dumps(body, ensure_ascii=False))


class MySqlUtf8Jira(JiraApi):
    """Jira Server on MySQL `utf8`: a write holding a 4-byte character fails in the
    database (Incorrect string value) and the request answers 500; nothing is stored."""

    routes = [*JiraApi.routes, ("PUT", r"/rest/api/3/issue/([A-Z]+-\d+)", "update")]

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def update(self, body: Any, key: str, query: str = "") -> Response:  # a hand-over's fields
        self.issues[self._key(key)].update(body.get("fields", {}))
        return 204, {}, b""

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Response:
        if method in ("POST", "PUT") and body is not None and _has_astral(body):
            with self.lock:
                self.refused += 1
            return json_response(500, {"errorMessages": ["Internal server error"], "errors": {}})
        return super().handle(method, path, headers, body)


def _draft() -> Any:
    return DRAFT.model_copy(
        update={
            "title": f"{FIRE} [HIGH] checkout - CPU above 85%",
            "description": f"## What fired\n\nprod-checkout-cpu {FIRE} on fire\n",
        }
    )


def test_an_alarm_with_an_emoji_is_ticketed_once_with_the_replacement_character() -> None:
    app = MySqlUtf8Jira()
    with serve(app) as url:
        tickets = scrubbed_jira(url)
        ticket = tickets.create(_draft())
        assert len(app.issues) == 1  # refused, then taken once: never two tickets
        fields = app.issues[ticket.id]
        assert fields["summary"] == "\ufffd [HIGH] checkout - CPU above 85%"
        assert "prod-checkout-cpu \ufffd on fire" in adf_text(fields["description"])
        assert app.refused == 1

        # learned: later writes go narrowed at once, with no refused call first
        tickets.comment(ticket.id, f"re-fired {FIRE}")
        tickets.set_status(ticket.id, TicketStatus.IN_PROGRESS, note=f"working {FIRE}")
        tickets.hand_over(
            ticket.id,
            HandOver(
                priority=Priority.CRITICAL,
                due_at=datetime.now(UTC) + timedelta(hours=1),
                note=f"job output {FIRE}",
            ),
        )
        assert app.refused == 1
        said = [adf_text(c) for c in app.comments[ticket.id]]
        assert any("re-fired \ufffd" in s for s in said)
        assert any("job output \ufffd" in s for s in said)
        assert not any(FIRE in s for s in said)


def test_a_comment_refused_for_its_emoji_is_posted_once() -> None:
    app = MySqlUtf8Jira()
    with serve(app) as url:
        tickets = scrubbed_jira(url)
        ticket = tickets.create(DRAFT)  # no emoji: nothing learned
        assert tickets.narrow is False
        tickets.comment(ticket.id, f"{FIRE} still firing", key="refire-1")
        assert app.refused == 1
        said = [adf_text(c) for c in app.comments[ticket.id]]
        assert sum("\ufffd still firing" in s for s in said) == 1


def test_a_500_for_text_without_emoji_is_not_a_reason_to_rewrite_it() -> None:
    app = JiraApi()
    with serve(app) as url:
        tickets = scrubbed_jira(url)
        ticket = tickets.create(DRAFT)
        app.faults.append(Fault("POST", r".*/comment", 500, b"{}", times=5))
        with pytest.raises(TicketSystemError, match="answered 500"):
            tickets.comment(ticket.id, "plain text")
        posts = [r for r in app.requests if r.method == "POST" and r.path.endswith("/comment")]
        assert len(posts) == 1  # the delivery's retry is the outbox's, not a rewrite
        assert tickets.narrow is False


def test_a_server_that_takes_emoji_keeps_them() -> None:
    app = JiraApi()
    with serve(app) as url:
        tickets = scrubbed_jira(url)
        ticket = tickets.create(_draft())
        tickets.comment(ticket.id, f"re-fired {FIRE}")
        assert app.issues[ticket.id]["summary"].startswith(FIRE)
        assert any(FIRE in adf_text(c) for c in app.comments[ticket.id])
        assert tickets.narrow is False
