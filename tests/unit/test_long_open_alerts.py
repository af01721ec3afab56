"""An alert that stays open while notes and comments keep coming: its item and its builtin
ticket's stay bounded, every note and comment is kept (the oldest archived, in order) and
the alert still resolves — on the real store adapter and builtin tickets (moto)."""

from __future__ import annotations

import argparse
import io
import json
import threading
from datetime import timedelta
from typing import Any

from opslink.adapters.list_archive import CAP
from opslink.adapters.store.alert_notes import NOTES_ON_ALERT
from opslink.ingest import IngestDeps, IngestPolicy
from opslink.journal import EventKind, about
from opslink.models import AlertStatus, HandOver, Outcome, Priority, TicketStatus
from opslink_cli import connection, operator
from tests.unit.conftest import Clock
from tests.unit.test_ingest_rules import T0, alarm, one


def _item_size(ddb: Any, alert_id: str) -> int:
    item = ddb.get_item(TableName="AlertsTable", Key={"pk": {"S": f"ALERT#{alert_id}"},
                                                       "sk": {"S": "ALERT"}})["Item"]  # fmt: skip
    return len(json.dumps(item))


def _comments_on_ticket_item(ddb: Any, ticket_id: str) -> int:
    item = ddb.get_item(TableName="TicketsTable", Key={"pk": {"S": f"TICKET#{ticket_id}"},
                                                        "sk": {"S": "TICKET"}})["Item"]  # fmt: skip
    return len(item["comments"]["L"])


def test_an_alarm_passing_through_insufficient_data_for_days_keeps_its_alert_writable(
    deps: IngestDeps, ddb: Any, clock: Clock
) -> None:
    policy = IngestPolicy(refire_comment_period=timedelta(0))  # every pass comments too
    first = one(alarm(0), deps, policy)
    passes = 2 * NOTES_ON_ALERT + 5
    for i in range(1, 2 * passes, 2):  # ALARM -> INSUFFICIENT_DATA -> ALARM ...
        clock.advance(seconds=1)
        noted = one(alarm(i * 5, "INSUFFICIENT_DATA"), deps, policy)
        assert noted.outcome is Outcome.IGNORED and not noted.retryable, noted.reason
        assert one(alarm(i * 5 + 5), deps, policy).outcome is Outcome.DUPLICATE
    alert = deps.store.get(first.alert_id)
    assert alert is not None
    assert len(alert.notes) <= NOTES_ON_ALERT  # the item does not grow with the notes
    assert alert.notes_archived + len(alert.notes) >= passes
    size_then = _item_size(ddb, first.alert_id)
    more = range(2 * passes + 1, 3 * passes, 2)
    for i in more:
        clock.advance(seconds=1)
        one(alarm(i * 5, "INSUFFICIENT_DATA"), deps, policy)
    assert _item_size(ddb, first.alert_id) < 2 * size_then
    assert _comments_on_ticket_item(ddb, str(first.ticket_id)) <= CAP
    ticket = deps.tickets.get(str(first.ticket_id))
    assert ticket is not None
    said = [c["text"] for c in ticket.comments if "INSUFFICIENT_DATA" in c["text"]]
    assert len(said) == len(set(said)) == passes + len(more)  # each once, none lost

    # every note is there for an operator, oldest first, none twice
    conn = connection.Connection(deps.store, deps.tickets, None, "")  # type: ignore[arg-type]
    out = io.StringIO()
    args = argparse.Namespace(alert_id=first.alert_id, output="json")
    assert operator.alerts_show(conn, args, out) == 0
    shown = json.loads(out.getvalue())
    insufficient = [n for n in shown["notes"] if n["kind"] == "insufficient_data"]
    assert len(insufficient) == passes + len(more)
    assert [n["at"] for n in shown["notes"]] == sorted(n["at"] for n in shown["notes"])
    assert not [link for link in shown["links"] if "notes" in link]  # archives are not links

    ok = one(alarm(3 * passes * 5, "OK"), deps, policy)
    assert ok.outcome is Outcome.RESOLVED, ok.reason
    resolved = deps.store.get(first.alert_id)
    assert resolved is not None and resolved.status is AlertStatus.RESOLVED


def test_a_note_with_its_event_on_a_full_alert_is_added_once(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    first = one(alarm(0), deps, policy)
    store = deps.store
    alert = store.get(first.alert_id)
    assert alert is not None
    at = alert.triggered_at
    for i in range(NOTES_ON_ALERT):
        store.add_note(first.alert_id, f"note {i}", at + timedelta(seconds=i))
    acked = about(alert, EventKind.ALERT_ACKNOWLEDGED, at + timedelta(minutes=5), by="alice")
    for _ in range(2):  # the retry finds its event recorded: nothing more
        store.add_note(first.alert_id, "acknowledged by alice", at + timedelta(minutes=5),
                       kind="acknowledged", event=acked, fields={"acknowledged_by": "alice"})  # fmt: skip
    after = store.get(first.alert_id)
    assert after is not None and after.acknowledged_by == "alice"
    every = store.archived_notes(first.alert_id) + after.notes
    assert [n["text"] for n in every] == [f"note {i}" for i in range(NOTES_ON_ALERT)] + [
        "acknowledged by alice"
    ]


def test_a_builtin_ticket_with_many_comments_keeps_each_once_and_in_order(
    deps: IngestDeps, policy: IngestPolicy, ddb: Any
) -> None:
    tickets = deps.tickets
    ticket_id = str(one(alarm(0), deps, policy).ticket_id)
    before = len(tickets.get(ticket_id).comments)  # type: ignore[union-attr]
    for i in range(CAP + 5):
        tickets.comment(ticket_id, f"step {i}", key=f"k{i}")
    # a retry whose first post landed before the oldest were archived: not posted twice
    tickets.comment(ticket_id, "step 0", key="k0", verify=True)
    tickets.set_status(ticket_id, TicketStatus.IN_PROGRESS, note="on it", key="ack")
    tickets.set_status(ticket_id, TicketStatus.IN_PROGRESS, note="on it", key="ack")
    for i in range(CAP):
        tickets.comment(ticket_id, f"later {i}", key=f"l{i}")
    handed = tickets.hand_over(
        ticket_id,
        HandOver(priority=Priority.HIGH, due_at=T0 + timedelta(hours=1), note="over to you"),
    )
    assert _comments_on_ticket_item(ddb, ticket_id) <= CAP
    texts = [c["text"] for c in handed.comments][before:]
    expected = (
        [f"step {i}" for i in range(CAP + 5)] + ["on it"] + [f"later {i}" for i in range(CAP)]
    )
    assert [t.split("\n")[0] for t in texts] == [*expected, "over to you"]
    assert tickets.get(ticket_id).comments == handed.comments  # type: ignore[union-attr]


def test_insufficient_data_every_few_minutes_comments_once_per_period(
    deps: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """Each pass is noted on the alert; the ticket hears of one per comment period."""
    first = one(alarm(0), deps, policy)
    ticket_id = str(first.ticket_id)
    passes = 0
    for minute in range(5, 125, 10):  # 12 passes over two hours, each back to ALARM
        clock.advance(minutes=5)
        passes += 1
        assert one(alarm(minute, "INSUFFICIENT_DATA"), deps, policy).outcome is Outcome.IGNORED
        clock.advance(minutes=5)
        assert one(alarm(minute + 5), deps, policy).outcome is Outcome.DUPLICATE
    ticket = deps.tickets.get(ticket_id)
    assert ticket is not None
    said = [c for c in ticket.comments if "INSUFFICIENT_DATA" in c["text"]]
    hours = (clock() - (T0 + timedelta(minutes=0))).total_seconds() / 3600
    assert 1 <= len(said) <= int(hours) + 1 < passes
    refires = [c for c in ticket.comments if "fired again" in c["text"]]
    assert len(said) + len(refires) <= int(hours) + 1  # one comment period, shared
    alert = deps.store.get(str(first.alert_id))
    assert alert is not None
    assert len([n for n in alert.notes if n["kind"] == "insufficient_data"]) == passes


def test_writers_noting_one_alert_at_once_lose_and_double_nothing(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    """Archiving races appends: every note lands once, each writer's in its order."""
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # DynamoDB applies each write atomically; moto needs help
    first = one(alarm(0), deps, policy)
    store, alert_id = deps.store, str(first.alert_id)
    at = T0 + timedelta(hours=1)
    writers, each = 4, 2 * CAP

    def write(w: int) -> None:
        for i in range(each):
            store.add_note(alert_id, f"w{w} n{i}", at + timedelta(seconds=i), kind=f"w{w}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alert = store.get(alert_id)
    assert alert is not None and len(alert.notes) <= CAP + writers
    every = store.archived_notes(alert_id) + alert.notes
    for w in range(writers):
        mine = [n["text"] for n in every if n["kind"] == f"w{w}"]
        assert mine == [f"w{w} n{i}" for i in range(each)]


def test_long_notes_and_comments_in_cjk_fill_an_item_before_the_cap_and_still_land(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    """4,000 CJK characters are 12 KB: 34 such notes pass DynamoDB's 400 KB before the
    count cap; the item is archived down and the write made again — none refused."""
    first = one(alarm(0), deps, policy)
    store, tickets = deps.store, deps.tickets
    alert_id, ticket_id = str(first.alert_id), str(first.ticket_id)
    at = T0 + timedelta(hours=1)
    for i in range(CAP):
        store.add_note(alert_id, f"{i:02d} " + "故障" * 2000, at + timedelta(seconds=i))
        tickets.comment(ticket_id, f"{i:02d} " + "障害" * 4000)
    alert = store.get(alert_id)
    assert alert is not None
    notes = store.archived_notes(alert_id) + alert.notes
    assert [n["text"][:2] for n in notes] == [f"{i:02d}" for i in range(CAP)]
    ticket = tickets.get(ticket_id)
    assert ticket is not None
    said = [c["text"][:2] for c in ticket.comments if "障害" in c["text"]]
    assert said == [f"{i:02d}" for i in range(CAP)]
    for i in range(CAP, CAP + 20):  # state changes with long notes on a ticket full by size
        state = TicketStatus.IN_PROGRESS if i % 2 else TicketStatus.OPEN
        tickets.set_status(ticket_id, state, note=f"{i:02d} " + "障害" * 4000, key=f"s{i}")
    resolved = tickets.set_status(ticket_id, TicketStatus.RESOLVED, note="解決", key="ok")
    assert resolved.status is TicketStatus.RESOLVED and resolved.comments[-1]["text"].startswith(
        "解決"
    )
