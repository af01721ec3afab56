"""The Redmine provider and the whole loop against a real Redmine (Debian's package on
127.0.0.1, set up by scripts/redmine-local.sh; .ci/run starts it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from opslink.adapters.tickets.redmine import RedmineTickets
from opslink.errors import TicketClosedForGood, TicketSystemRejected
from opslink.models import AlertStatus, Priority, TicketDraft, TicketStatus, TicketType
from opslink_cli import samples
from opslink_cli.emulator import LocalStack

pytestmark = pytest.mark.redmine


def draft(alert_id: str) -> TicketDraft:
    return TicketDraft(
        alert_id=alert_id,
        title=f"[HIGH] checkout - CPU above 85% ({alert_id})",
        description="## What fired\n\nCPU.\n",
        ticket_type=TicketType.PERFORMANCE,
        priority=Priority.HIGH,
        assignee=None,
        due_at=datetime(2026, 11, 28, 18, tzinfo=UTC),
        custom_fields={"alert_id": alert_id},
    )


def test_provider_against_real_redmine(redmine: dict[str, str]) -> None:
    tickets = RedmineTickets(
        redmine["url"], redmine["api_key"], "opslink", int(redmine["field_id"])
    )
    alert_id = f"A-{uuid.uuid4().hex[:20]}"
    ticket = tickets.create(draft(alert_id))
    assert ticket.status is TicketStatus.OPEN and ticket.alert_id == alert_id
    assert ticket.priority is Priority.HIGH and ticket.due_at == datetime(2026, 11, 28, tzinfo=UTC)
    assert tickets.create(draft(alert_id)).id == ticket.id  # idempotent through the custom field
    assert tickets.find_by_alert(alert_id).id == ticket.id  # type: ignore[union-attr]
    tickets.comment(ticket.id, "Runbook launched.")
    assert (
        tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Fixed").status
        is TicketStatus.RESOLVED
    )
    assert tickets.set_status(ticket.id, TicketStatus.CLOSED).status is TicketStatus.CLOSED
    assert tickets.find_by_alert(alert_id).id == ticket.id  # closed issues are found too  # type: ignore[union-attr]
    assert tickets.set_status(ticket.id, TicketStatus.OPEN).status is TicketStatus.OPEN
    changed = tickets.changed_since(datetime.now(UTC) - timedelta(minutes=5))
    assert ticket.id in [t.id for t in changed]
    journal = requests.get(
        f"{redmine['url']}/issues/{ticket.id}.json?include=journals",
        headers={"X-Redmine-API-Key": redmine["api_key"]},
        timeout=10,
    ).json()
    assert [j["notes"] for j in journal["issue"]["journals"] if j["notes"]] == [
        "Runbook launched.",
        "Fixed",
    ]
    # a keyed note retried after a lost answer is read back and not added twice
    tickets.comment(ticket.id, "Alarm fired again.", key=f"{alert_id}:refire")
    tickets.comment(ticket.id, "Alarm fired again.", key=f"{alert_id}:refire", verify=True)
    assert sum("fired again" in t for t in tickets.comment_texts(ticket.id)) == 1
    # a state change with its keyed note: one PUT; retried, the ticket is there and the
    # note is read back, not added again
    for _ in range(2):
        tickets.set_status(ticket.id, TicketStatus.RESOLVED, note="Returned to OK.",
                           key=f"{alert_id}:resolved")  # fmt: skip
    assert tickets.get(ticket.id).status is TicketStatus.RESOLVED  # type: ignore[union-attr]
    assert sum("Returned to OK." in t for t in tickets.comment_texts(ticket.id)) == 1


@contextmanager
def redmine_stack(redmine: dict[str, str], tmp_path: Path, **params: str) -> Iterator[Any]:
    """The emulated stack with Redmine as its ticket system (its key in Secrets Manager)
    and an empty runbook catalog: every remediation is left to humans at once."""
    empty = tmp_path / "catalog"
    empty.mkdir()
    with LocalStack(
        parameters={
            "TicketProvider": "redmine",
            "TicketBaseUrl": redmine["url"],
            "TicketProject": "opslink",
            "TicketOptions": json.dumps({"alert_field_id": int(redmine["field_id"])}),
            "TicketCredentialsSecret": "opslink/redmine",
            **params,
        },
        log_path=tmp_path / "lambda.log",
        env_overrides={"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(empty)}},
    ) as stack:
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="opslink/redmine", SecretString=json.dumps({"api_key": redmine["api_key"]})
        )
        yield stack


def test_alarm_to_redmine_issue_and_back(redmine: dict[str, str], tmp_path: Path) -> None:
    with redmine_stack(redmine, tmp_path) as stack:
        name = f"prod-checkout-api-cpu-{uuid.uuid4().hex[:6]}"
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        payload, error = stack.invoke(
            "IngestFunction",
            samples.sns_event(samples.metric_alarm(name, at, description="CPU above 85%")),
        )
        assert error is None, payload
        [result] = payload["results"]  # type: ignore[index]
        assert result["outcome"] == "created"
        issue = _issue(redmine, result["ticket_id"])
        assert issue["subject"] == "[MEDIUM] checkout - CPU above 85%"
        assert issue["priority"]["name"] == "High"  # medium severity on a critical service
        assert issue["due_date"] == (at + timedelta(hours=8)).date().isoformat()
        assert any(f["value"] == f"opslink-{result['alert_id']}" for f in issue["custom_fields"])
        assert "## Suggested steps" in issue["description"]
        stack.wait_for_executions([result["execution_name"]])

        # A human closes the issue in Redmine; the track sweep resolves the alert.
        closed = requests.put(
            f"{redmine['url']}/issues/{result['ticket_id']}.json",
            json={"issue": {"status_id": 5, "notes": "Restarted the fleet by hand."}},
            headers={"X-Redmine-API-Key": redmine["api_key"]},
            timeout=10,
        )
        assert closed.status_code == 204
        assert "opslink-TrackFunction" in stack.advance(300)

        alert = stack.alert_store().get(result["alert_id"])
        assert alert and alert.status is AlertStatus.RESOLVED
        assert alert.resolution["by"] == "ticket" and alert.resolution["status"] == "closed"


def test_rejected_and_deleted_issues_resolve_their_alerts(
    redmine: dict[str, str], tmp_path: Path
) -> None:
    """What people really do in Redmine besides closing: reject an issue (a closed status
    OpsLink has no name for) or delete it. Either ends the alert at the next sweep, and the
    alert says how; an issue left open keeps its alert open. (Correlation off: three
    alarms of one service at once would be one incident on one issue.)"""
    headers = {"X-Redmine-API-Key": redmine["api_key"]}
    with redmine_stack(redmine, tmp_path, Correlation="false") as stack:
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        opened = {}
        for role in ("rejected", "deleted", "left open"):
            name = f"prod-checkout-api-cpu-{uuid.uuid4().hex[:6]}"
            payload, error = stack.invoke(
                "IngestFunction", samples.sns_event(samples.metric_alarm(name, at))
            )
            assert error is None, payload
            [result] = payload["results"]  # type: ignore[index]
            assert result["outcome"] == "created"
            opened[role] = result
        assert len({r["ticket_id"] for r in opened.values()}) == 3
        stack.wait_for_executions([r["execution_name"] for r in opened.values()])

        statuses = requests.get(f"{redmine['url']}/issue_statuses.json", headers=headers,
                                timeout=10).json()["issue_statuses"]  # fmt: skip
        rejected = next(s["id"] for s in statuses if s["name"] == "Rejected")
        answer = requests.put(
            f"{redmine['url']}/issues/{opened['rejected']['ticket_id']}.json",
            json={"issue": {"status_id": rejected, "notes": "Not an incident: load test."}},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 204
        gone = requests.delete(
            f"{redmine['url']}/issues/{opened['deleted']['ticket_id']}.json",
            headers=headers,
            timeout=10,
        )
        assert gone.status_code == 204
        assert "opslink-TrackFunction" in stack.advance(300)

        store = stack.alert_store()
        alerts = {role: store.get(r["alert_id"]) for role, r in opened.items()}
        rej, deleted, left = alerts["rejected"], alerts["deleted"], alerts["left open"]
        assert rej and rej.status is AlertStatus.RESOLVED
        assert rej.resolution["by"] == "ticket" and rej.resolution["status"] == "closed"
        assert deleted and deleted.status is AlertStatus.RESOLVED
        assert deleted.resolution["status"] == "deleted"
        assert "was deleted" in deleted.resolution["how"]
        assert left and left.status is AlertStatus.OPEN


def _issue(redmine: dict[str, str], issue_id: str) -> Any:
    out = requests.get(
        f"{redmine['url']}/issues/{issue_id}.json",
        headers={"X-Redmine-API-Key": redmine["api_key"]},
        timeout=10,
    )
    out.raise_for_status()
    return out.json()["issue"]


class _MySqlUtf8Redmine:
    """The real Redmine as if its database were MySQL `utf8` (3-byte): a write holding a
    4-byte character fails there (Mysql2::Error: Incorrect string value) and Redmine
    answers 500 with nothing stored; every other call reaches Redmine."""

    def __init__(self) -> None:
        from tests.faults.redmine_proxy import RedmineUpstream

        self.upstream = RedmineUpstream()
        self.refused = 0

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        text = json.dumps(body, ensure_ascii=False) if body is not None else ""
        if method in ("POST", "PUT") and any(ord(c) > 0xFFFF for c in text):
            self.refused += 1
            return 500, {"Content-Type": "text/html"}, b"<h1>Internal error</h1>"
        return self.upstream.handle(method, path, headers, body)


def test_an_emoji_alarm_on_a_three_byte_utf8_redmine_is_ticketed_once(
    redmine: dict[str, str], tmp_path: Path
) -> None:
    from tests.integration.contract_servers import serve

    proxy = _MySqlUtf8Redmine()
    with serve(proxy) as url, redmine_stack({**redmine, "url": url}, tmp_path) as stack:  # type: ignore[arg-type]
        name = f"prod-checkout-api-cpu-{uuid.uuid4().hex[:6]}"
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        alarm = samples.metric_alarm(name, at, description="\U0001f525 CPU above 85%")
        payload, error = stack.invoke("IngestFunction", samples.sns_event(alarm))
        assert error is None, payload
        [result] = payload["results"]  # type: ignore[index]
        assert result["outcome"] == "created"
        assert proxy.refused >= 1
        issue = _issue(redmine, result["ticket_id"])
        assert issue["subject"] == "[MEDIUM] checkout - \ufffd CPU above 85%"
        marker = f"opslink-{result['alert_id']}"
        assert [i for i in proxy.upstream.created if str(i) == str(result["ticket_id"])]
        assert len(proxy.upstream.created) == 1  # one issue for the alarm, never two
        assert any(f["value"] == marker for f in issue["custom_fields"])


def test_an_assignee_redmine_refuses_never_blocks_the_ticket(redmine: dict[str, str]) -> None:
    """Redmine answers 422 "Assignee is invalid" for a user who is not an assignable member
    of the project (left it, or was never in it): the issue is created unassigned, and
    its description says who could not be assigned."""
    from opslink.adapters.tickets.scrubbed import ScrubbedTickets

    raw = RedmineTickets(
        redmine["url"], redmine["api_key"], "opslink", int(redmine["field_id"]),
        users={"gone@example.com": 99_999},  # an account removed since the map was written
    )  # fmt: skip
    tickets = ScrubbedTickets(raw)
    alert_id = f"A-{uuid.uuid4().hex[:20]}"
    ticket = tickets.create(draft(alert_id).model_copy(update={"assignee": "gone@example.com"}))
    issue = _issue(redmine, ticket.id)
    assert "assigned_to" not in issue
    assert (
        "gone@example.com" in issue["description"]
        and "could not be assigned" in issue["description"]
    )
    assert "Assignee is invalid" in issue["description"]
    assert tickets.create(draft(alert_id)).id == ticket.id  # still one issue for the alarm


def _role_bot(redmine: dict[str, str], role: str) -> str:
    """A user with only `role` on the project, made once and reused. Redmine's default
    workflow: a Reporter may close an issue, not resolve it; a Developer may move New,
    In Progress, Resolved and Feedback issues on (never back to New), and a Closed one
    nowhere."""
    headers = {"X-Redmine-API-Key": redmine["api_key"]}
    url, login = redmine["url"], f"opslink-{role.lower()}"
    found = requests.get(f"{url}/users.json?name={login}", headers=headers, timeout=10)
    users = found.json()["users"]
    if not users:
        made = requests.post(f"{url}/users.json", headers=headers, timeout=10, json={"user": {
            "login": login, "firstname": "OpsLink", "lastname": role,
            "mail": f"{login}@example.com", "password": uuid.uuid4().hex}})  # fmt: skip
        made.raise_for_status()
        users = [made.json()["user"]]
        requests.post(f"{url}/projects/opslink/memberships.json", headers=headers, timeout=10,
                      json={"membership": {"user_id": users[0]["id"], "role_ids": [
                          next(r["id"] for r in requests.get(f"{url}/roles.json", headers=headers,
                               timeout=10).json()["roles"] if r["name"] == role)]}}
                      ).raise_for_status()  # fmt: skip
    return login


def _as(redmine: dict[str, str], login: str) -> RedmineTickets:
    from opslink.adapters.tickets.common import ticket_http

    client = ticket_http("Redmine", redmine["url"], {"X-Redmine-API-Key": redmine["api_key"],
                                                     "X-Redmine-Switch-User": login})  # fmt: skip
    return RedmineTickets(redmine["url"], redmine["api_key"], "opslink",
                          int(redmine["field_id"]), client=client)  # fmt: skip


def test_a_status_redmines_workflow_forbids_is_never_taken_as_set(
    redmine: dict[str, str],
) -> None:
    """Redmine drops a status change its workflow does not allow the API user and answers
    204 (the note is added): the alert counted its ticket resolved while it stayed New.
    Now the change is refused by name (the alert's resolution waits in the outbox, the
    fault is recorded), and a retry does not add the note again."""
    as_reporter = _as(redmine, _role_bot(redmine, "Reporter"))
    admin = RedmineTickets(redmine["url"], redmine["api_key"], "opslink", int(redmine["field_id"]))
    alert_id = f"A-{uuid.uuid4().hex[:20]}"
    ticket = admin.create(draft(alert_id))
    for _ in range(2):  # the delivery, then its retry
        with pytest.raises(TicketSystemRejected, match="workflow"):
            as_reporter.set_status(ticket.id, TicketStatus.RESOLVED, note="Returned to OK.",
                                   key=f"{alert_id}:resolved")  # fmt: skip
    issue = requests.get(f"{redmine['url']}/issues/{ticket.id}.json?include=journals",
                         headers={"X-Redmine-API-Key": redmine["api_key"]}, timeout=10).json()["issue"]  # fmt: skip
    assert issue["status"]["name"] == "New"
    assert sum("Returned to OK." in (j["notes"] or "") for j in issue["journals"]) <= 1
    # the admin's workflow allows it: the same change goes through
    assert admin.set_status(ticket.id, TicketStatus.RESOLVED).status is TicketStatus.RESOLVED


def test_a_developer_reopens_what_its_workflow_allows_and_follows_up_the_rest(
    redmine: dict[str, str],
) -> None:
    """With Redmine's default Developer role an alarm firing again never got a ticket: the
    reopening to New was refused by name at every retry (the role may move a Resolved
    issue to In Progress, never to New, and a Closed one nowhere). A Resolved issue is now
    reopened In Progress; a Closed one is closed for good, so a follow-up issue names it."""
    as_developer = _as(redmine, _role_bot(redmine, "Developer"))
    admin = RedmineTickets(redmine["url"], redmine["api_key"], "opslink", int(redmine["field_id"]))
    alert_id = f"A-{uuid.uuid4().hex[:20]}"
    ticket = admin.create(draft(alert_id))
    resolved = as_developer.set_status(ticket.id, TicketStatus.RESOLVED, note="Returned to OK.")
    assert resolved.status is TicketStatus.RESOLVED
    again = as_developer.set_status(ticket.id, TicketStatus.OPEN, note="Fired again.",
                                    key=f"{alert_id}:reopened")  # fmt: skip
    assert again.status is TicketStatus.IN_PROGRESS
    assert sum("Fired again." in t for t in admin.comment_texts(ticket.id)) == 1
    admin.set_status(ticket.id, TicketStatus.CLOSED)  # closed by a human
    with pytest.raises(TicketClosedForGood, match="follow-up issue"):
        as_developer.set_status(ticket.id, TicketStatus.OPEN, note="Fired again.",
                                key=f"{alert_id}:reopened-2")  # fmt: skip
    assert admin.get(ticket.id).status is TicketStatus.CLOSED  # type: ignore[union-attr]


def test_an_unusable_alert_field_never_takes_another_issue_for_the_alarms(
    redmine: dict[str, str],
) -> None:
    """Redmine ignores a filter on a custom field that is not one of the project's (a wrong
    alert_field_id, a field not enabled for the project or tracker) and answers the
    project's issues: OpsLink took the oldest issue as the alarm's ticket — and would have
    resolved someone's issue with the alarm. Now it is refused, naming the setting."""
    admin = RedmineTickets(redmine["url"], redmine["api_key"], "opslink", int(redmine["field_id"]))
    someone_elses = admin.create(draft(f"A-{uuid.uuid4().hex[:20]}"))  # the project has issues
    wrong = RedmineTickets(redmine["url"], redmine["api_key"], "opslink", 99_999)
    with pytest.raises(TicketSystemRejected, match="alert_field_id 99999"):
        wrong.create(draft(f"A-{uuid.uuid4().hex[:20]}"))
    assert admin.get(someone_elses.id).status is TicketStatus.OPEN  # type: ignore[union-attr]


def test_the_doctor_finds_an_alert_field_that_lookups_ignore(redmine: dict[str, str]) -> None:
    """`opslink doctor` tells a wrong alert_field_id before an alarm does: its ticket-system
    probe makes a lookup that must find nothing, and Redmine's ignored filter answers one."""
    from types import SimpleNamespace

    from moto import mock_aws

    from opslink_cli.doctor_probes import probe_tickets

    admin = RedmineTickets(redmine["url"], redmine["api_key"], "opslink", int(redmine["field_id"]))
    admin.create(draft(f"A-{uuid.uuid4().hex[:20]}"))  # the project has issues
    with mock_aws():
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="opslink/redmine", SecretString=json.dumps({"api_key": redmine["api_key"]})
        )
        env = {"ALERTS_TABLE": "opslink-alerts", "TICKETS_TABLE": "opslink-tickets",
               "AWS_DEFAULT_REGION": "us-east-1", "TICKET_PROVIDER": "redmine",
               "TICKET_BASE_URL": redmine["url"], "TICKET_PROJECT": "opslink",
               "TICKET_CREDENTIALS_SECRET": "opslink/redmine"}  # fmt: skip
        good = {**env, "TICKET_OPTIONS": json.dumps({"alert_field_id": int(redmine["field_id"])})}
        assert "answer only its tickets" in probe_tickets(SimpleNamespace(env=good))  # type: ignore[arg-type]
        wrong = {**env, "TICKET_OPTIONS": json.dumps({"alert_field_id": 99_999})}
        with pytest.raises(TicketSystemRejected, match="alert_field_id 99999"):
            probe_tickets(SimpleNamespace(env=wrong))  # type: ignore[arg-type]
