"""The KPI counter rows, folded from the journal (docs/KPIS.md, "How counting works").

An event recorded on time carries its increments (`kpi`: its cohort day's row, its
scopes, the fields) instead of adding them to the rows in its own transaction. The fold
(the metrics function, hourly) adds the events older than FOLD_LAG to the rows in journal
order and moves its checkpoint in the same transaction, on the condition that the
checkpoint is where it read it: a retried or a racing fold counts each event once. A
reader adds the events after the checkpoint to the rows, so the figures are exact whether
or not the fold has run.

Journal order is the index's sort key (the event's time, then alert and kind); an event
whose time is already behind the fold when it is written never gets a `kpi` (journal.
folds_later): it writes its counters itself."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.clock import Clock, utcnow
from opslink.journal import FOLD_LAG, FOLD_SLACK, FoldResult

FOLD_CHECKPOINT = keys.checkpoint("kpi-fold")
# No checkpoint yet (a new stack, or one upgraded from counting in every transaction): the
# first fold looks this far back for events that carry their increments.
FOLD_ORIGIN = timedelta(days=14)
MAX_ROWS = 98  # rows per fold transaction: with the checkpoint, under DynamoDB's 100 items
READ_ATTEMPTS = 3  # a read the fold moved under is done again (folds are hourly)

Rows = dict[str, dict[str, int]]
logger = Logger(child=True)


def kpi_mark(day: str, scopes: list[str], increments: dict[str, int]) -> str:
    """The `kpi` attribute of an event the fold will count."""
    return json.dumps({"day": day, "scopes": scopes, "inc": increments}, separators=(",", ":"))


def add_row(table: str, pk: str, sk: str, increments: dict[str, int]) -> dict[str, Any]:
    """A transaction item that adds `increments` to one counter row."""
    names = {f"#f{i}": name for i, name in enumerate(increments)}
    values = {f":v{i}": {"N": str(v)} for i, v in enumerate(increments.values())}
    expr = ", ".join(f"#f{i} :v{i}" for i in range(len(increments)))
    return {
        "Update": {
            "TableName": table,
            "Key": _to_item({"pk": pk, "sk": sk}),
            "UpdateExpression": f"ADD {expr}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _merge(into: dict[tuple[str, str], dict[str, int]], mark: dict[str, Any]) -> None:
    for scope in mark["scopes"]:
        row = into.setdefault((str(mark["day"]), str(scope)), {})
        for name, n in mark["inc"].items():
            row[name] = row.get(name, 0) + int(n)


class KpiCounters(TableBase):
    """Counter rows (the alerts table) and the journal events not folded into them yet."""

    def __init__(
        self, table: str, client: Any = None, journal_table: str = "", clock: Clock = utcnow
    ) -> None:
        super().__init__(table, client, journal_table)
        self.clock = clock
        self.items_read = 0  # counter rows read (benchmarks report it)
        self.journal_items_read = 0  # journal items the unfolded-events reads went through

    # -- reading -------------------------------------------------------------------------

    def rows(self, days: Iterable[datetime]) -> list[Rows]:
        """Each day's counter rows by scope, the events not folded yet included: one Query
        per day whatever the number of alerts, and the journal since the fold's checkpoint
        (an hour or so) once. A fold that lands while they are read (the checkpoint moved
        under them) has the read done again: rows and journal are of one moment."""
        wanted = list(days)
        for _ in range(READ_ATTEMPTS):
            through = self._checkpoint()
            out = self._rows_since(wanted, through)
            if self._checkpoint() == through:
                break
        return out

    def _rows_since(self, days: list[datetime], through: str | None) -> list[Rows]:
        pending: dict[tuple[str, str], dict[str, int]] = {}
        for _, mark in self._marked(through):
            _merge(pending, mark)
        out = []
        for day in days:
            pk = keys.kpi_day(day)
            rows = self._query_rows(pk)
            for (row_day, scope), increments in pending.items():
                if row_day == pk:
                    row = rows.setdefault(scope, {})
                    for name, n in increments.items():
                        row[name] = row.get(name, 0) + n
            out.append(rows)
        return out

    def _query_rows(self, pk: str) -> Rows:
        rows: Rows = {}
        for raw in self._query(
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": pk}),
            ConsistentRead=True,  # as of the checkpoint read just before
        ):
            self.items_read += 1
            doc = _from_item(raw)
            rows[str(doc.pop("sk"))] = {
                k: int(v) for k, v in doc.items() if k != "pk" and isinstance(v, Decimal)
            }
        return rows

    def _checkpoint(self) -> str | None:
        out = self._call(
            "get_item", TableName=self.table, Key=_to_item(FOLD_CHECKPOINT), ConsistentRead=True
        )
        through = _from_item(out["Item"]).get("through") if out.get("Item") else None
        return str(through) if through else None

    def _marked(self, after: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(journal order, increments) of every event after `after` that carries them,
        oldest first: the journal's day partitions from the checkpoint's to today's."""
        now = self.clock().astimezone(UTC)
        first = datetime.fromisoformat(after[:10]).date() if after else (now - FOLD_ORIGIN).date()
        last = (now + FOLD_SLACK).date()  # an event may be up to FOLD_SLACK ahead of us
        day = first
        while day <= last:
            at = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
            condition, values = "gsi1pk = :p", {":p": keys.journal_partition(at)}
            if after and day == first:
                condition, values = condition + " AND gsi1sk > :a", values | {":a": after}
            for page in self._pages(
                TableName=self.journal_table,
                IndexName="gsi1",
                KeyConditionExpression=condition,
                FilterExpression="attribute_exists(kpi)",
                ProjectionExpression="gsi1sk, kpi",
                ExpressionAttributeValues=_to_item(values),
            ):  # the filter drops items DynamoDB still reads (and bills)
                self.journal_items_read += int(page.get("ScannedCount", 0))
                for raw in page.get("Items", []):
                    doc = _from_item(raw)
                    yield str(doc["gsi1sk"]), json.loads(str(doc["kpi"]))
            day += timedelta(days=1)

    # -- folding -------------------------------------------------------------------------

    def fold(self) -> FoldResult:
        """Add the events older than FOLD_LAG to the counter rows, in journal order; the
        checkpoint moves with each transaction (at most MAX_ROWS rows each; the events of
        one journal position never split). Safe to run at any time, concurrently too."""
        through = self._checkpoint()
        cut = (self.clock() - FOLD_LAG).astimezone(UTC).isoformat()
        ready = [(pos, mark) for pos, mark in self._marked(through) if pos < cut]
        events = rows_written = transactions = 0
        i = 0
        while True:
            rows: dict[tuple[str, str], dict[str, int]] = {}
            j = i
            while j < len(ready):
                k, trial = j, {key: dict(v) for key, v in rows.items()}
                while k < len(ready) and ready[k][0] == ready[j][0]:
                    _merge(trial, ready[k][1])
                    k += 1
                if len(trial) > MAX_ROWS and rows:
                    break
                rows, j = trial, k
            # The last transaction moves the checkpoint to the cut: nothing before it is left.
            new = cut if j >= len(ready) else ready[j - 1][0]
            written = self._commit(rows, through, new)
            if written is None:
                logger.info("kpi fold stopped: the checkpoint moved", extra={"events": events})
                return FoldResult(events, rows_written, transactions, through or "", raced=True)
            events, rows_written = events + j - i, rows_written + len(rows)
            transactions += written
            through, i = new, j
            if i >= len(ready):
                done = FoldResult(events, rows_written, transactions, through)
                logger.info("kpi counters folded", extra=done.as_dict())
                return done

    def _commit(
        self, rows: dict[tuple[str, str], dict[str, int]], old: str | None, new: str
    ) -> bool | None:
        """The rows' additions and the checkpoint's move, all or nothing: True when
        written, False when there was nothing to move, None when the checkpoint is not
        where this fold read it (another fold got there first)."""
        if old is not None and new <= old:
            return False
        items = [add_row(self.table, day, scope, inc) for (day, scope), inc in rows.items()]
        condition = "attribute_not_exists(pk)" if old is None else "through = :old"
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": _to_item(FOLD_CHECKPOINT | {"through": new}),
            "ConditionExpression": condition,
        }
        if old is not None:
            put["ExpressionAttributeValues"] = _to_item({":old": old})
        # None: the checkpoint moved (a fold got there first); a conflict is tried again
        return self._transact([*items, {"Put": put}], "fold the KPI counters") or None
