"""The journal is tamper-evident: each alert's records form a hash chain sealed in the
same transaction as the state change; `opslink audit --verify` names a changed, removed
or inserted record with its alert and position, and concurrent writers never fork it."""

from __future__ import annotations

import argparse
import io
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.items import to_item
from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.journal import EventKind, LifecycleEvent
from opslink.journal_chain import verify
from opslink_cli import audit_commands, connection

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def store(ddb: Any) -> DynamoAlertStore:
    return DynamoAlertStore("AlertsTable", ddb, journal_table="JournalTable")


def _event(alert: str, kind: EventKind, key: str, minutes: int = 0) -> LifecycleEvent:
    return LifecycleEvent(
        alert_id=alert,
        kind=kind,
        at=NOW + timedelta(minutes=minutes),
        service="checkout",
        alert_type="cpu_usage",
        key=key,
        why=f"{kind.value} {key}",
    )


def _write(store: DynamoAlertStore, alert: str = "A-1") -> None:
    store.journal.record_event(_event(alert, EventKind.ALERT_OPENED, "", 0))
    store.journal.record_event(_event(alert, EventKind.TICKET_CREATED, "T-1", 1))
    # Two events of one alert in one transaction: chained in order, one head move.
    store.journal.transact(
        store.journal.event_writes(_event(alert, EventKind.RUNBOOK_SELECTED, "restart", 2))
        + store.journal.event_writes(_event(alert, EventKind.JOB_LAUNCHED, "restart", 3)),
        "two events",
    )
    store.journal.record_event(_event(alert, EventKind.ALERT_RESOLVED, "", 4))


def _check(store: DynamoAlertStore, alert: str = "A-1") -> list[tuple[int, str]]:
    found = verify(alert, store.journal.chain_records(alert), store.journal.chain_head(alert))
    return [(p.position, p.what) for p in found]


def _raw(ddb: Any, alert: str, kind: str, key: str = "") -> dict[str, Any]:
    item = ddb.get_item(
        TableName="JournalTable", Key=to_item({"pk": f"ALERT#{alert}", "sk": f"EVENT#{kind}#{key}"})
    )["Item"]
    return dict(item)


def test_an_untouched_chain_verifies_and_a_retry_adds_nothing(store: DynamoAlertStore) -> None:
    _write(store)
    assert not store.journal.record_event(
        _event("A-1", EventKind.TICKET_CREATED, "T-1", 1)
    )  # a retry
    records = sorted(store.journal.chain_records("A-1"), key=lambda r: int(r["seq"]))
    assert [int(r["seq"]) for r in records] == [1, 2, 3, 4, 5]
    assert [r["kind"] for r in records][2:4] == ["runbook_selected", "job_launched"]
    assert int(store.journal.chain_head("A-1")["seq"]) == 5  # type: ignore[index]
    assert _check(store) == []


def test_an_overwritten_record_is_reported_changed(store: DynamoAlertStore, ddb: Any) -> None:
    _write(store)
    item = _raw(ddb, "A-1", "alert_opened")
    item["by"] = {"S": "mallory"}  # a plain PutItem, as any role with PutItem could
    ddb.put_item(TableName="JournalTable", Item=item)
    assert _check(store) == [(1, "changed")]


def test_a_deleted_record_is_reported_removed(store: DynamoAlertStore, ddb: Any) -> None:
    _write(store)
    ddb.delete_item(
        TableName="JournalTable",
        Key=to_item({"pk": "ALERT#A-1", "sk": "EVENT#ticket_created#T-1"}),
    )
    assert (2, "removed") in _check(store)
    ddb.delete_item(
        TableName="JournalTable", Key=to_item({"pk": "ALERT#A-1", "sk": "EVENT#alert_resolved#"})
    )
    assert (5, "removed") in _check(store)  # the last record: the head still says 5


def test_an_inserted_record_is_reported(store: DynamoAlertStore, ddb: Any) -> None:
    _write(store)
    forged = _raw(ddb, "A-1", "ticket_created", "T-1")
    forged["sk"] = {"S": "EVENT#approval_granted#restart"}
    forged["kind"] = {"S": "approval_granted"}
    ddb.put_item(TableName="JournalTable", Item=forged)  # a copy claiming position 2
    problems = _check(store)
    assert (2, "inserted") in problems or (2, "changed") in problems


def test_concurrent_writers_never_fork_a_chain(store: DynamoAlertStore) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # each conditional write atomic, as DynamoDB applies it

    def writer(n: int) -> None:
        for i in range(5):
            store.journal.record_event(_event("A-9", EventKind.JOB_LAUNCHED, f"w{n}-{i}", i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = store.journal.chain_records("A-9")
    assert sorted(int(r["seq"]) for r in records) == list(range(1, 21))
    assert _check(store, "A-9") == []


def test_heads_are_read_only_when_unknown_and_a_stale_guess_is_corrected(ddb: Any) -> None:
    """One invocation's successive writes to an alert trust the head they just wrote (no
    read); a writer whose remembered head another writer moved seals again after reading
    it — the chain stays whole either way."""
    reads: list[str] = []
    ddb.meta.events.register(
        "before-call.dynamodb.Query",
        lambda params, **_: reads.append(params.get("KeyConditionExpression", "")),
    )
    a = DynamoAlertStore("AlertsTable", ddb, journal_table="JournalTable")
    b = DynamoAlertStore("AlertsTable", ddb, journal_table="JournalTable")
    a.journal.record_event(_event("A-5", EventKind.ALERT_OPENED, "", 0))  # unknown head: one read
    a.journal.record_event(_event("A-5", EventKind.TICKET_CREATED, "T-5", 1))  # its own: none
    assert len(reads) == 1
    b.journal.record_event(
        _event("A-5", EventKind.RUNBOOK_SELECTED, "restart", 2)
    )  # moves the head
    a.journal.record_event(
        _event("A-5", EventKind.JOB_LAUNCHED, "restart", 3)
    )  # stale: read, again
    assert len(reads) == 3
    records = sorted(a.journal.chain_records("A-5"), key=lambda r: int(r["seq"]))
    assert [int(r["seq"]) for r in records] == [1, 2, 3, 4]
    assert [r["kind"] for r in records] == [
        "alert_opened", "ticket_created", "runbook_selected", "job_launched"
    ]  # fmt: skip
    assert _check(a, "A-5") == []


def test_opening_a_new_alert_reads_no_head(deps: Any) -> None:
    """The alert's put is conditional on the alert being new, so its chain is new too:
    opening it is one transaction without a read; a retried opening still conflicts."""
    from opslink.lock_holder import OpenAlertConflict
    from tests.unit.fakes import opened_alert

    store = deps.store
    calls: list[str] = []
    store.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    alert_doc = opened_alert(deps)
    # Opening and linking the ticket: two sealed transactions, no head read at all.
    assert calls.count("TransactWriteItems") == 2 and "Query" not in calls, calls
    alert = store.get(alert_doc["alert_id"])
    with pytest.raises(OpenAlertConflict):
        store.open_alert(alert, lease_until=NOW)
    assert _check(store, alert.alert_id) == []


def test_an_ok_reads_the_chain_head_with_its_alert(deps: Any) -> None:
    """The OK that resolves an alert reads the alert and its chain's head in one call;
    the resolving transaction then needs no head read, and the chain stays whole."""
    import dataclasses

    from opslink.ingest import IngestPolicy, ingest_event
    from opslink.models import AlertStatus
    from opslink_cli import samples
    from tests.unit.fakes import opened_alert

    alert_id = opened_alert(deps)["alert_id"]
    # The OK comes in another invocation: a store that wrote nothing yet.
    store = DynamoAlertStore("AlertsTable", deps.store.client)
    deps = dataclasses.replace(deps, store=store)
    head_reads: list[str] = []
    store.client.meta.events.register(
        "before-parameter-build.dynamodb.Query",
        lambda params, **_: (
            head_reads.append(params["KeyConditionExpression"])
            if ":c" in params.get("ExpressionAttributeValues", {})
            else None
        ),
    )
    ok = samples.metric_alarm("prod-checkout-api-cpu-high", samples.T0 + timedelta(minutes=5),
                              state="OK", old="ALARM",
                              dimensions={"InstanceId": "i-0123456789abcdef0"})  # fmt: skip
    ingest_event(samples.sns_event(ok), deps, IngestPolicy())
    assert store.get(alert_id).status is AlertStatus.RESOLVED
    assert head_reads == []
    assert _check(store, alert_id) == []


def _verify_cli(store: DynamoAlertStore, ddb: Any, alert: str | None) -> tuple[int, list[Any]]:
    conn = connection.Connection(store, BuiltinTicketSystem("TicketsTable", ddb), None, "")
    out = io.StringIO()
    args = argparse.Namespace(
        output="json", alert=alert, since=None, days=2, action=None, verify=True
    )
    code = audit_commands.audit(conn, args, out)
    return code, json.loads(out.getvalue())


def test_audit_verify_names_the_alert_and_position(store: DynamoAlertStore, ddb: Any) -> None:
    _write(store, "A-1")
    _write(store, "A-2")
    assert _verify_cli(store, ddb, None) == (0, [])
    item = _raw(ddb, "A-2", "job_launched", "restart")
    item["why"] = {"S": "approved by the CISO"}
    ddb.put_item(TableName="JournalTable", Item=item)
    code, rows = _verify_cli(store, ddb, None)
    assert code == 1
    assert rows == [
        {
            "alert_id": "A-2",
            "position": 4,
            "what": "changed",
            "detail": f"job_launched at {(NOW + timedelta(minutes=3)).isoformat()} no longer "
            "matches its hash",
        }
    ]
    assert _verify_cli(store, ddb, "A-1") == (0, [])


def test_every_write_path_seals_its_events(deps: Any) -> None:
    """Opening (the dedup lock's transaction), linking the ticket, notes and resolving
    each put their events in the alert's chain: nothing is left unchained."""
    from opslink.ingest import IngestPolicy, ingest_event
    from opslink_cli import samples

    store = deps.store
    name = "prod-checkout-api-cpu-high"
    [opened] = ingest_event(
        samples.sns_event(samples.metric_alarm(name, samples.T0)), deps, IngestPolicy()
    )
    ok = samples.metric_alarm(name, samples.T0 + timedelta(minutes=5), state="OK", old="ALARM")
    ingest_event(samples.sns_event(ok), deps, IngestPolicy())
    records = store.journal.chain_records(opened.alert_id)
    kinds = [r["kind"] for r in sorted(records, key=lambda r: int(r["seq"]))]
    assert (
        kinds[0] == "alert_opened" and "ticket_created" in kinds and kinds[-1] == "alert_resolved"
    )
    assert all(r.get("seq") is not None for r in records)
    assert verify(opened.alert_id, records, store.journal.chain_head(opened.alert_id)) == []


def test_heads_remembered_from_many_threads_at_once(store: DynamoAlertStore) -> None:
    """One store serving several threads (the emulator's concurrent invocations): the
    heads it remembers are pruned while others are added, without an error that would
    fail the delivery doing it."""
    journal = store.journal  # type: ignore[attr-defined]
    errors: list[BaseException] = []

    def remember(worker: int) -> None:
        try:
            for i in range(1200):
                journal.remember_head(f"EVENT#{worker}-{i}", {"seq": i, "hash": "h"})
        except BaseException as exc:  # the test reports what a thread hit
            errors.append(exc)

    threads = [threading.Thread(target=remember, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert journal._known_head("EVENT#5-1199") == (1199, "h")
