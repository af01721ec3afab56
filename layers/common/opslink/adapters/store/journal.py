"""The lifecycle journal and its KPI counters in the table (see opslink/journal.py).

`event_writes` are the transaction items of one event: the event itself, put only if it
is new (a retry writes the same identity and is refused), carrying its counter increments
for the fold (kpi_counters.py) — or, for an event recorded late, the ADDs to its rows.
Callers put them in the same TransactWriteItems as the state change; `transact` tells a
retry (the events exist: already applied) from a real conflict.

`transact` also seals the events into their alert's hash chain (chain_seal.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.chain_seal import ChainSeal, cancelled_items, is_event
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.kpi_counters import FoldResult, KpiCounters, add_row, kpi_mark
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent, counter_updates, folds_later, scopes
from opslink.ports.records import JournalRecord


class EventsAlreadyRecorded(Exception):
    """The transaction's events exist: it was applied before (a retry)."""


class Journal(ChainSeal):
    """The lifecycle journal of one store: its events, sealed into their chains, and the
    KPI counters they feed. An object of its own, sharing the store's tables, client,
    clock and account (`owner`); the store's parts reach it as `self.journal`."""

    _kpis: KpiCounters | None = None

    def __init__(self, owner: TableBase) -> None:
        super().__init__(owner.table, owner.client, owner.journal_table, owner.home_account)
        self._owner = owner
        self.clock = lambda: owner.clock()  # as the store's is when asked (tests set it)

    @property
    def kpis(self) -> KpiCounters:
        """The counter rows and their fold, on this store's tables and client."""
        if self._kpis is None:
            self._kpis = KpiCounters(self.table, self.client, self.journal_table, self.clock)
        return self._kpis

    def event_writes(
        self, event: LifecycleEvent, first_launch: bool = False
    ) -> list[dict[str, Any]]:
        item = keys.event(event.alert_id, event.kind.value, event.key) | {
            "gsi1pk": keys.journal_partition(event.at),
            # In UTC whatever the alarm's own offset: journal order is this key's order.
            "gsi1sk": f"{event.at.astimezone(UTC).isoformat()}#{event.alert_id}#{event.kind.value}",
            "kind": event.kind.value,
            "at": event.at.isoformat(),
            "alert_id": event.alert_id,
            "service": event.service,
            "alert_type": event.alert_type,
            "runbook": event.runbook,
            "by": event.by,
            "why": event.why[:2000],
            "latency_seconds": event.latency_seconds,
            "cohort": event.cohort.isoformat() if event.cohort else None,
            "detail": json.dumps(event.detail) if event.detail else None,
        }
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.journal_table,
                    "Item": _to_item(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        increments = counter_updates(event, first_launch)
        if increments:
            day, rows = keys.kpi_day(event.day_of), scopes(event, self._owner.home_account)
            if folds_later(event.at, self.clock()):  # the fold counts it (kpi_counters.py)
                writes[0]["Put"]["Item"]["kpi"] = {"S": kpi_mark(day, rows, increments)}
            else:  # recorded late: the fold may have passed its time, counted here
                writes += [add_row(self.table, day, scope, increments) for scope in rows]
        return writes

    def sealed_transact(self, items: list[dict[str, Any]], new_chains: Iterable[str] = ()) -> None:
        super().sealed_transact(self._count_late_ones(items), new_chains)

    def _count_late_ones(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """An event marked for the fold that is late by the time it is sent (a slow caller)
        gets its counter rows back in the transaction, after the caller's items (whose
        indices a cancellation reports stay as they were)."""
        now, out = self.clock(), list(items)
        for i, it in enumerate(items):
            item = it.get("Put", {}).get("Item", {})
            if "kpi" not in item or folds_later(datetime.fromisoformat(item["at"]["S"]), now):
                continue
            mark = json.loads(item["kpi"]["S"])
            out[i] = {"Put": it["Put"] | {"Item": {k: v for k, v in item.items() if k != "kpi"}}}
            out += [add_row(self.table, mark["day"], s, mark["inc"]) for s in mark["scopes"]]
        return out

    def transact(self, items: list[dict[str, Any]], what: str) -> None:
        """One sealed TransactWriteItems. Raises EventsAlreadyRecorded when the only
        conditions that failed are event puts (the change was applied before), the
        ClientError when another condition failed, StoreError for the rest."""
        try:
            self.sealed_transact(items)
        except ClientError as exc:
            failed, codes = cancelled_items(exc)
            events = {
                i
                for i, it in enumerate(items)
                if "Put" in it and is_event(it["Put"], self.journal_table)
            }
            if (
                codes == {"ConditionalCheckFailed"}
                and failed & events
                and all(i in events or i >= len(items) for i in failed)
            ):
                raise EventsAlreadyRecorded(what) from None
            raise

    def record_event(self, event: LifecycleEvent, first_launch: bool = False) -> bool:
        """An event with no other state change; False when it was recorded before."""
        try:
            self.transact(self.event_writes(event, first_launch), f"event {event.kind}")
        except EventsAlreadyRecorded:
            return False
        except ClientError as exc:
            raise StoreError(f"DynamoDB could not record {event.kind}: {exc}") from exc
        return True

    def events(
        self,
        days: Iterable[datetime],
        alert_id: str | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[JournalRecord]:
        """The journal of those days (oldest first), or of one alert."""
        wanted = set(kinds or ())
        out: list[JournalRecord] = []
        queries: list[dict[str, Any]]
        if alert_id:
            queries = [
                {
                    "KeyConditionExpression": "pk = :p AND begins_with(sk, :e)",
                    "ExpressionAttributeValues": _to_item(
                        {":p": keys.alert_pk(alert_id), ":e": "EVENT#"}
                    ),
                }
            ]
        else:
            queries = [
                {
                    "IndexName": "gsi1",
                    "KeyConditionExpression": "gsi1pk = :p",
                    "ExpressionAttributeValues": _to_item({":p": keys.journal_partition(d)}),
                }
                for d in days
            ]
        for q in queries:
            for raw in self._query(TableName=self.journal_table, **q):
                doc = _from_item(raw)
                if not wanted or doc.get("kind") in wanted:
                    out.append(cast(JournalRecord, doc))
        out.sort(key=_when)  # by instant: alarm times may carry any UTC offset
        return out

    def kpi_counters(self, day: datetime) -> dict[str, dict[str, int]]:
        """One day's counter rows by scope, the events not folded yet included."""
        return self.kpis.rows([day])[0]

    def kpi_rows(self, days: list[datetime]) -> list[dict[str, dict[str, int]]]:
        """Several days' counter rows (the journal since the fold read once)."""
        return self.kpis.rows(days)

    def fold_kpis(self) -> FoldResult:
        return self.kpis.fold()


def _when(record: JournalRecord) -> datetime:
    try:
        return datetime.fromisoformat(str(record.get("at"))).astimezone(UTC)
    except ValueError:  # a record without a time sorts first, never breaks the listing
        return datetime.min.replace(tzinfo=UTC)


class WithJournal(TableBase):
    """A part of the store whose changes are journaled: the journal is composed, one per
    store (a diamond of parts shares it); the services are handed `store.journal` for its
    ports (wiring.py), not the store."""

    _journal: Journal | None = None

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self)
        return self._journal
