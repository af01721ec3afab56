"""The lifecycle journal and its KPI counters in the table (see opslink/journal.py).

`event_writes` are the transaction items of one event: the event itself, put only if it
is new (a retry writes the same identity and is refused), and the ADDs to its counter rows.
Callers put them in the same TransactWriteItems as the state change; `transact` tells a
retry (the events exist: already applied) from a real conflict.

`transact` also seals the events into their alert's hash chain (chain_seal.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.chain_seal import ChainSeal, cancelled_items, is_event
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent, counter_updates, scopes


class EventsAlreadyRecorded(Exception):
    """The transaction's events exist: it was applied before (a retry)."""


class JournalRecords(ChainSeal):
    items_read: int = 0  # KPI counter rows read (benchmarks report it)

    def _add(self, pk: str, sk: str, increments: dict[str, int]) -> dict[str, Any]:
        names = {f"#f{i}": name for i, name in enumerate(increments)}
        values = {f":v{i}": {"N": str(v)} for i, v in enumerate(increments.values())}
        expr = ", ".join(f"#f{i} :v{i}" for i in range(len(increments)))
        return {
            "Update": {
                "TableName": self.table,
                "Key": _to_item({"pk": pk, "sk": sk}),
                "UpdateExpression": f"ADD {expr}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def event_writes(
        self, event: LifecycleEvent, first_launch: bool = False
    ) -> list[dict[str, Any]]:
        item = keys.event(event.alert_id, event.kind.value, event.key) | {
            "gsi1pk": keys.journal_partition(event.at),
            "gsi1sk": f"{event.at.isoformat()}#{event.alert_id}#{event.kind.value}",
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
            day = keys.kpi_day(event.day_of)
            home = self.home_account
            writes += [self._add(day, scope, increments) for scope in scopes(event, home)]
        return writes

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
    ) -> list[dict[str, Any]]:
        """The journal of those days (oldest first), or of one alert."""
        wanted = set(kinds or ())
        out: list[dict[str, Any]] = []
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
                    out.append(doc)
        out.sort(key=lambda d: str(d.get("at", "")))
        return out

    def kpi_counters(self, day: datetime) -> dict[str, dict[str, int]]:
        """One day's counter rows by scope: one Query whatever the number of alerts.
        Items read are returned as `_items`."""
        return self._query_rows(keys.kpi_day(day))

    def _query_rows(self, pk: str) -> dict[str, dict[str, int]]:
        rows: dict[str, dict[str, int]] = {}
        for raw in self._query(
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": pk}),
        ):
            self.items_read += 1
            doc = _from_item(raw)
            rows[str(doc.pop("sk"))] = {
                k: int(v) for k, v in doc.items() if k != "pk" and isinstance(v, Decimal)
            }
        return rows
