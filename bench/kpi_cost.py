"""What computing 30-day KPIs costs with 1,000 vs 100,000 alerts stored: items read and
time, from the journal's counter rows — side by side with a scan of the alert items (what
a design without counters would do).

The table (moto, in-process) holds N alert items, three journal events per alert and the
counter rows those events produce, over 30 days, 20 services and 6 runbooks. moto's Query is made to read its partition
only (emulator.moto_patches), as DynamoDB's does; moto 5.2 sorts the whole table first. Items are
loaded in bulk (BatchWriteItem) and the counters set to the totals the events add up to:
the bench measures reading, not the hot path's writes.

The report runs an hour after the last event with the hourly fold's checkpoint where the fold leaves
it (FOLD_LAG behind): the steady state, where the events not folded yet are the last hour's.
One more run per size has no checkpoint — the first hour after a stack is created or
upgraded, or a fold that never ran: the reads then go through FOLD_ORIGIN's days of
journal. "journal items" counts what those reads go through (DynamoDB bills the items a
filtered Query reads, not the ones it returns).

    .venv/bin/python bench/kpi_cost.py [REPEATS]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3
from moto import mock_aws

from opslink.adapters.store import keys
from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.items import to_item
from opslink.adapters.store.kpi_counters import FOLD_CHECKPOINT
from opslink.journal import FOLD_LAG, EventKind, LifecycleEvent, counter_updates, scopes
from opslink_cli.emulator.moto_patches import query_reads_its_partition
from opslink_cli.kpi_report import build

END = datetime(2026, 11, 27, tzinfo=UTC)
DAYS = 30


def _table(client: Any, name: str) -> None:
    attrs = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")]
    client.create_table(
        TableName=name,
        AttributeDefinitions=attrs,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def load(client: Any, table: str, alerts: int) -> None:
    """Alerts spread evenly (deterministically) over the days, services and runbooks, so
    that 1,000 alerts already touch every counter row 100,000 do."""
    counters: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    batch: list[dict[str, Any]] = []

    def put(doc: dict[str, Any]) -> None:
        batch.append({"PutRequest": {"Item": to_item(doc)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: list(batch)})
            batch.clear()

    for i in range(alerts):
        k = i // DAYS
        at = END - timedelta(days=i % DAYS) + timedelta(seconds=(i * 7919) % 86400)
        service, runbook = f"svc-{k % 20}", f"runbook_{k % 6}"
        alert_id = f"A-{i:08d}"
        put(
            keys.alert(alert_id)
            | {
                "gsi1pk": "STATUS#resolved",
                "gsi1sk": f"{at.isoformat()}#{alert_id}",
                "service": service,
                "alert_type": "cpu_usage",
                "triggered_at": at.isoformat(),
            }
        )
        events = [LifecycleEvent(alert_id, EventKind.ALERT_OPENED, at, service, "cpu_usage", at)]
        if k % 10 < 7:
            launched = at + timedelta(seconds=30 + i % 870)
            events.append(
                LifecycleEvent(
                    alert_id,
                    EventKind.JOB_LAUNCHED,
                    launched,
                    service,
                    "cpu_usage",
                    at,
                    runbook=runbook,
                    latency_seconds=int((launched - at).total_seconds()),
                )
            )
            kind = EventKind.FIX_VERIFIED if k % 5 != 4 else EventKind.JOB_FAILED
            events.append(
                LifecycleEvent(alert_id, kind, launched, service, "cpu_usage", at, runbook=runbook)
            )
        for e in events:
            put(
                keys.event(alert_id, e.kind.value, e.key)
                | {
                    "kind": e.kind.value,
                    "at": e.at.isoformat(),
                    "gsi1pk": keys.journal_partition(e.at),
                    "gsi1sk": f"{e.at.isoformat()}#{alert_id}",
                }
            )
            for scope in scopes(e):
                for field, n in counter_updates(e, first_launch=True).items():
                    counters[(keys.kpi_day(e.day_of), scope)][field] += n
    for (pk, sk), fields in counters.items():
        put({"pk": pk, "sk": sk, **fields})
    if batch:
        client.batch_write_item(RequestItems={table: list(batch)})


REPORT_AT = END + timedelta(days=1, hours=1)  # after the last event (they run to END + 1 day)


def folded(client: Any, table: str) -> None:
    """The checkpoint the hourly fold leaves: everything older than FOLD_LAG added (the
    loaded counter rows are those totals already)."""
    through = (REPORT_AT - FOLD_LAG).astimezone(UTC).isoformat()
    client.put_item(TableName=table, Item=to_item(FOLD_CHECKPOINT | {"through": through}))


def by_counters(store: DynamoAlertStore) -> tuple[float, int, int, float | None]:
    """(seconds, counter rows read, journal items read, automation rate)."""
    kpis = store.journal.kpis
    kpis.items_read = kpis.journal_items_read = 0
    t = time.perf_counter()
    report = build(store.journal, (END - timedelta(days=DAYS - 1)).date(), END.date())
    took = time.perf_counter() - t
    return took, kpis.items_read, kpis.journal_items_read, report.current.automation_rate


def by_scan(client: Any, table: str) -> tuple[float, int]:
    """The counter-less way: scan every alert item of the window."""
    t, read = time.perf_counter(), 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "sk = :a",
        "ExpressionAttributeValues": {":a": {"S": "ALERT"}},
    }
    while True:
        page = client.scan(**kwargs)
        read += page["ScannedCount"]
        if "LastEvaluatedKey" not in page:
            return time.perf_counter() - t, read
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rows = []
    query_reads_its_partition()  # a Query reads its partition, as in DynamoDB
    with mock_aws():
        client = boto3.client("dynamodb")
        for n in (1_000, 100_000):
            table = f"kpi-{n}"
            _table(client, table)
            t = time.perf_counter()
            load(client, table, n)
            loaded = time.perf_counter() - t
            store = DynamoAlertStore(table, client)
            store.clock = lambda: REPORT_AT
            unfolded = by_counters(store)  # no checkpoint yet: the first hour, once
            folded(client, table)
            samples = [by_counters(store) for _ in range(repeats)]
            scans = [by_scan(client, table) for _ in range(max(1, repeats // 2))]
            rows.append((n, loaded, samples, scans, unfolded))
    print(f"30-day KPIs, moto in-process, {repeats} repeats, medians")
    print(f"{'alerts':>8} {'rows read':>10} {'journal':>8} {'ms':>9} {'scan items':>11} "
          f"{'scan ms':>9} {'rate %':>7}   before the first fold: journal items, ms")  # fmt: skip
    for n, _loaded, samples, scans, unfolded in rows:
        ms = statistics.median(s[0] for s in samples) * 1000
        items, journal = samples[0][1], samples[0][2]
        assert all(s[1:3] == (items, journal) for s in samples)
        scan_ms = statistics.median(s[0] for s in scans) * 1000
        print(f"{n:>8} {items:>10} {journal:>8} {ms:>9.1f} {scans[0][1]:>11} {scan_ms:>9.0f} "
              f"{samples[0][3]!s:>7}   {unfolded[2]:>8} {unfolded[0] * 1000:>9.0f}")  # fmt: skip
    small, large = rows[0][2][0][1:3], rows[1][2][0][1:3]
    ratio = statistics.median(s[0] for s in rows[1][2]) / statistics.median(
        s[0] for s in rows[0][2]
    )
    print(
        f"items read identical: {small == large} ({small} vs {large}); time ratio 100k/1k: {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
