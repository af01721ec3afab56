"""The KPI counter rows folded from the journal: exactly once whatever races or retries,
exact to read before the fold has run, and a late event counted where it is written."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.kpi_counters import MAX_ROWS
from opslink.journal import FOLD_LAG, FOLD_SLACK, EventKind, LifecycleEvent, counter_updates
from tests.unit.conftest import Clock

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _opened(i: int, at: datetime, service: str = "") -> LifecycleEvent:
    return LifecycleEvent(
        alert_id=f"A-{i}",
        kind=EventKind.ALERT_OPENED,
        at=at,
        service=service or f"svc{i % 3}",
        alert_type="cpu_usage",
        cohort=at,
    )


def _counter_items(store: DynamoAlertStore) -> list[dict[str, Any]]:
    items = store.client.scan(TableName="AlertsTable")["Items"]
    return [i for i in items if i["pk"]["S"].startswith("KPI#")]


def _store(ddb: Any, clock: Clock) -> DynamoAlertStore:
    store = DynamoAlertStore("AlertsTable", ddb)
    store.clock = clock
    return store


def test_an_event_on_time_is_read_at_once_and_folded_once(ddb: Any) -> None:
    clock = Clock(T0)
    store = _store(ddb, clock)
    for i in range(6):
        assert store.journal.record_event(_opened(i, T0))
    assert _counter_items(store) == []  # its transaction wrote no counter row
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 6  # read from the journal
    clock.advance(minutes=10)
    assert store.journal.fold_kpis().events == 0  # not settled yet (FOLD_LAG)
    clock.now = T0 + FOLD_LAG + timedelta(seconds=1)
    done = store.journal.fold_kpis()
    assert (done.events, done.transactions, done.raced) == (6, 1, False)
    assert len(_counter_items(store)) == 1 + 3 + 1  # all, three services, the type
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 6
    assert (
        store.journal.fold_kpis().events == 0
        and store.journal.kpi_counters(T0)["all"]["alerts"] == 6
    )
    assert not store.journal.record_event(_opened(0, T0))  # a retry: refused, never counted again
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 6


def test_a_late_event_counts_in_its_own_transaction_and_not_again(ddb: Any) -> None:
    """A redelivered alarm opens its alert with the alarm's time, hours ago: the fold may
    have passed that time, so its counters are written with it."""
    clock = Clock(T0 + FOLD_LAG + timedelta(hours=1))
    store = _store(ddb, clock)
    store.journal.fold_kpis()  # the checkpoint is past T0 already
    store.journal.record_event(_opened(1, T0))
    assert len(_counter_items(store)) == 3  # all, its service, its type: counted now
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 1
    clock.advance(hours=5)
    assert store.journal.fold_kpis().events == 0
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 1


def test_an_event_late_by_the_time_it_is_sent_is_counted_in_its_transaction(
    ddb: Any,
) -> None:
    """Marked for the fold when built, sent after FOLD_SLACK (a stalled caller): the
    transaction carries its counter rows instead, and the fold never sees it."""
    clock = Clock(T0)
    store = _store(ddb, clock)
    writes = store.journal.event_writes(_opened(7, T0))
    assert "kpi" in writes[0]["Put"]["Item"] and len(writes) == 1
    clock.now = T0 + FOLD_SLACK + timedelta(seconds=1)
    store.journal.transact(writes, "slow")
    assert len(_counter_items(store)) == 3
    clock.advance(hours=2)
    assert store.journal.fold_kpis().events == 0
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 1


def test_folds_racing_each_other_count_each_event_once(ddb: Any) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # DynamoDB applies each transaction atomically
    clock = Clock(T0)
    writer = _store(ddb, clock)
    for i in range(60):
        clock.now = T0 + timedelta(seconds=20 * i)
        writer.journal.record_event(_opened(i, clock.now))
    clock.now = T0 + FOLD_LAG + timedelta(minutes=10)  # settled: the first 10 minutes
    folders = [_store(ddb, clock) for _ in range(4)]
    results = []

    def fold(store: DynamoAlertStore) -> None:
        for _ in range(3):
            results.append(store.journal.fold_kpis())

    threads = [threading.Thread(target=fold, args=(s,)) for s in folders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.events for r in results) == 30  # 0..29 are older than the cut
    rows = {i["sk"]["S"]: int(i["alerts"]["N"]) for i in _counter_items(writer)}
    assert rows["all"] == 30
    assert writer.journal.kpi_counters(T0)["all"]["alerts"] == 60  # the rest read from the journal


def test_a_fold_of_many_rows_spans_transactions_and_stays_exact(ddb: Any) -> None:
    clock = Clock(T0)
    store = _store(ddb, clock)
    n = MAX_ROWS + 40  # each alert of its own service: a row each, and `all` and the type
    for i in range(n):
        store.journal.record_event(_opened(i, T0 + timedelta(seconds=i), service=f"s{i}"))
    clock.advance(hours=2)
    done = store.journal.fold_kpis()
    assert done.events == n and done.transactions >= 2
    rows = store.journal.kpi_counters(T0)
    assert rows["all"]["alerts"] == n and rows["type#cpu_usage"]["alerts"] == n
    assert all(rows[f"service#s{i}"]["alerts"] == 1 for i in range(n))


def test_a_new_day_partition_and_a_cohort_of_yesterday(ddb: Any) -> None:
    """An alert opened before midnight and resolved after counts its resolution on the day
    it opened; the fold walks from the checkpoint's day partition to today's."""
    clock = Clock(T0.replace(hour=23, minute=50))
    store = _store(ddb, clock)
    opened_at = clock.now
    store.journal.record_event(_opened(1, opened_at))
    clock.now = opened_at + timedelta(minutes=20)  # 00:10 the next day
    store.journal.record_event(LifecycleEvent(alert_id="A-1", kind=EventKind.ALERT_RESOLVED,
                                      at=clock.now, service="svc1", cohort=opened_at,
                                      by="automation", latency_seconds=1200))  # fmt: skip
    for fold_at in (opened_at + FOLD_LAG, clock.now + FOLD_LAG):
        clock.now = fold_at
        store.journal.fold_kpis()
        row = store.journal.kpi_counters(opened_at)["all"]
        assert (row["alerts"], row["resolved"], row["resolved_by_automation"]) == (1, 1, 1)
    assert "all" not in store.journal.kpi_counters(opened_at + timedelta(days=1))


def test_an_alarm_time_with_another_offset_keeps_its_place_in_journal_order(ddb: Any) -> None:
    """Alarm times may carry any UTC offset: journal order is UTC, so an event at 02:40-08:00
    (10:40 UTC) is after a checkpoint at 10:00 UTC — read now, folded later, once."""
    clock = Clock(T0 + FOLD_LAG)
    store = _store(ddb, clock)
    store.journal.fold_kpis()  # checkpoint: T0, in UTC
    pacific = timezone(timedelta(hours=-8))
    store.journal.record_event(_opened(1, (T0 + timedelta(minutes=40)).astimezone(pacific)))
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 1
    clock.advance(hours=2)
    assert store.journal.fold_kpis().events == 1
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 1


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 240),  # minutes after T0 the event happens
            st.integers(-30, 30),  # how far from its time it is recorded (late beyond 20)
            st.sampled_from(
                [EventKind.ALERT_OPENED, EventKind.TICKET_CREATED, EventKind.ALERT_RESOLVED]
            ),
            st.booleans(),  # a fold runs right after it is recorded
        ),
        max_size=25,
    )
)
def test_reads_equal_the_sum_of_every_event_whatever_the_folds(
    ddb: Any, steps: list[tuple[int, int, EventKind, bool]]
) -> None:
    """Any mix of on-time and late events and of folds in between: every read gives the
    sum of the events' increments, before and after a final fold."""
    for item in ddb.scan(TableName="AlertsTable")["Items"]:
        ddb.delete_item(TableName="AlertsTable", Key={"pk": item["pk"], "sk": item["sk"]})
    clock = Clock(T0)
    store = _store(ddb, clock)
    expected: dict[str, int] = {}
    for i, (minutes, skew, kind, fold) in enumerate(sorted(steps, key=lambda s: s[0] + s[1])):
        at = T0 + timedelta(minutes=minutes)
        event = LifecycleEvent(alert_id=f"P-{i}", kind=kind, at=at, service="svc", cohort=T0,
                               by="alarm")  # fmt: skip
        clock.now = at + timedelta(minutes=skew)
        store.journal.record_event(event)
        for name, v in counter_updates(event).items():
            expected[name] = expected.get(name, 0) + v
        if fold:
            store.journal.fold_kpis()
        assert store.journal.kpi_counters(T0).get("all", {}) == expected
    clock.advance(hours=6)
    store.journal.fold_kpis()
    assert store.journal.kpi_counters(T0).get("all", {}) == expected


def test_the_journal_lists_events_by_instant_whatever_their_offset(ddb: Any) -> None:
    store = _store(ddb, Clock(T0))
    tokyo = timezone(timedelta(hours=9))
    store.journal.record_event(_opened(1, T0 + timedelta(minutes=5)))  # 10:05 UTC
    store.journal.record_event(
        _opened(2, (T0 + timedelta(minutes=1)).astimezone(tokyo))
    )  # 10:01 UTC
    assert [e["alert_id"] for e in store.journal.events([T0])] == ["A-2", "A-1"]


def test_a_fold_landing_during_a_read_never_counts_twice(ddb: Any) -> None:
    """The reader took the checkpoint, then a fold moved it and added those events to the
    rows before the reader read them: the read is done again, never rows + the same events."""
    clock = Clock(T0)
    reader, folder = _store(ddb, clock), _store(ddb, clock)
    for i in range(4):
        reader.journal.record_event(_opened(i, T0))
    clock.advance(hours=2)
    query_rows = reader.journal.kpis._query_rows
    landed: list[bool] = []

    def fold_first(pk: str) -> Any:
        if not landed:
            landed.append(folder.journal.fold_kpis().events == 4)
        return query_rows(pk)

    reader.journal.kpis._query_rows = fold_first  # type: ignore[method-assign]
    assert reader.journal.kpi_counters(T0)["all"]["alerts"] == 4 and landed == [True]


def test_the_fold_follows_the_stores_clock_set_after_a_first_read(ddb: Any) -> None:
    store = DynamoAlertStore("AlertsTable", ddb)
    later = datetime.now(UTC) + timedelta(days=3)  # ahead of the wall clock
    assert store.journal.kpi_counters(later) == {}  # a read on the wall clock first
    clock = Clock(later)
    store.clock = clock
    store.journal.record_event(_opened(1, later))  # on time by the store's clock: for the fold
    clock.advance(hours=2)
    assert store.journal.fold_kpis().events == 1  # folded by the store's clock, not the wall's


def test_the_unfolded_reads_count_every_journal_item_they_go_through(ddb: Any) -> None:
    """What a KPI read costs is told as DynamoDB bills it: a late event (its counters
    written with it) is read by the unfolded-events Query though its filter drops it; once
    the fold's checkpoint is past both, neither is read again."""
    clock = Clock(T0 + timedelta(hours=3))
    store = _store(ddb, clock)
    store.journal.record_event(_opened(1, T0))  # three hours late: counted inline
    store.journal.record_event(_opened(2, clock.now))  # on time: carries its increments
    kpis = store.journal.kpis
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 2
    assert kpis.journal_items_read == 2 and kpis.items_read == 3  # both events; 3 rows
    clock.advance(hours=1)
    assert store.journal.fold_kpis().events == 1  # only the on-time one had to be added
    kpis.journal_items_read = 0
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 2
    assert kpis.journal_items_read == 0  # the checkpoint is past both events


def test_a_fold_met_by_a_concurrent_write_is_retried_not_taken_as_raced(ddb: Any) -> None:
    from tests.unit.test_transaction_refusals import refuse_transactions

    clock = Clock(T0)
    store = _store(ddb, clock)
    for i in range(4):
        assert store.journal.record_event(_opened(i, T0))
    clock.now = T0 + FOLD_LAG + timedelta(seconds=1)
    # a write to one of its rows at that moment (no condition failed): the same again
    with refuse_transactions(ddb, 1, "TransactionConflict", "None", "None") as refused:
        done = store.journal.fold_kpis()
    assert refused.count == 1
    assert (done.events, done.raced) == (4, False)
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 4
    assert store.journal.fold_kpis().events == 0  # counted once
    assert store.journal.kpi_counters(T0)["all"]["alerts"] == 4
