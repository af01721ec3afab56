"""Each runbook's verified outcomes per context (alert type, service, environment): one
item per context holding its lifetime counts and its latest outcomes in order, which
learning.py reads as a sequence.

The outcomes are a list appended atomically (no read before the write). It is bounded:
an append to a list of KEEP_OUTCOMES is refused by its condition; the older half is then
folded into `compacted_fixes`/`compacted_misses` (history) and the append retried. Items
from before the list (weekly buckets `f<week>`/`m<week>`, or only lifetime counts) are
read as outcomes in week order, older than the list."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.chain_seal import cancelled_items
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import EventsAlreadyRecorded, WithJournal
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent

if TYPE_CHECKING:
    from opslink.learning import Record

_DAY = 86_400
KEEP_OUTCOMES = 160  # per runbook and context: the item stays under 1 KB, one write unit


def encode(day: int, fixed: bool) -> int:
    """One stored outcome: the day (days since 1970-01-01) and whether it was a fix."""
    return day * 2 + (1 if fixed else 0)


def decode(value: int) -> tuple[int, bool]:
    return value // 2, bool(value % 2)


def day_of(at: datetime) -> int:
    return int(at.timestamp() // _DAY)


class RunbookRecords(WithJournal):
    def runbook_stats(
        self, runbooks: list[str], alert_type: str, service: str, environment: str
    ) -> dict[str, tuple[int, int]]:
        """Lifetime verified fixes and misses per runbook for this context."""
        if not runbooks:
            return {}
        wanted = [
            _to_item(keys.runbook_stats(r, alert_type, service, environment))
            for r in runbooks[:100]
        ]
        out = self._call(
            "batch_get_item", RequestItems={self.table: {"Keys": wanted, "ConsistentRead": True}}
        )
        stats: dict[str, tuple[int, int]] = {}
        for item in out.get("Responses", {}).get(self.table, []):
            doc = _from_item(item)
            stats[str(doc["pk"]).removeprefix(keys.STATS_PREFIX)] = (
                int(doc.get("fixes", 0)),
                int(doc.get("misses", 0)),
            )
        return stats

    def runbook_records(self, runbooks: list[str], alert_type: str) -> list[Record]:
        """Every context's record of these runbooks for this alert type: one Query per
        runbook (at most 20 candidates are read)."""
        out: list[Record] = []
        for runbook in runbooks[:20]:
            out += [
                _record(runbook, _from_item(raw))
                for raw in self._query(
                    TableName=self.table,
                    KeyConditionExpression="pk = :p AND begins_with(sk, :t)",
                    ExpressionAttributeValues=_to_item(
                        {":p": f"{keys.STATS_PREFIX}{runbook}", ":t": f"{alert_type}#"}
                    ),
                )
            ]
        return out

    def record_runbook_outcome(
        self,
        runbook: str,
        alert_type: str,
        service: str,
        environment: str,
        fixed: bool,
        at: datetime,
        event: LifecycleEvent | None = None,
    ) -> None:
        """Append one outcome (only a verified fix counts as a fix). With `event` (the
        run's outcome) in one transaction, a retried outcome counts once."""
        key = _to_item(keys.runbook_stats(runbook, alert_type, service, environment))
        update = {
            "TableName": self.table,
            "Key": key,
            "UpdateExpression": "ADD #c :one, runs :one SET last_run_at = :at, "
            "outcomes = list_append(if_not_exists(outcomes, :none), :o)",
            "ConditionExpression": "attribute_not_exists(outcomes) OR size(outcomes) < :keep",
            "ExpressionAttributeNames": {"#c": "fixes" if fixed else "misses"},
            "ExpressionAttributeValues": _to_item(
                {
                    ":one": 1,
                    ":at": at.isoformat(),
                    ":none": [],
                    ":o": [encode(day_of(at), fixed)],
                    ":keep": KEEP_OUTCOMES,
                }
            ),
        }
        for attempt in range(3):
            try:
                if event is None:
                    self._call("update_item", **update)
                else:
                    self.journal.transact(
                        [{"Update": update}, *self.journal.event_writes(event)], runbook
                    )
                return
            except EventsAlreadyRecorded:
                return
            except ClientError as exc:
                if not _list_full(exc) or attempt == 2:
                    raise StoreError(
                        f"DynamoDB could not record the outcome of {runbook}: {exc}"
                    ) from exc
                self._compact(key)

    def _compact(self, key: dict[str, Any]) -> None:
        """Fold the older half of a full outcome list, and any outcomes from before the
        list (weekly buckets, removed), into the compacted counts; a concurrent
        compaction wins and the caller retries its append either way."""
        doc = _from_item(
            self._call("get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            or {}
        )
        kept = [int(v) for v in doc.get("outcomes") or []]
        if len(kept) < KEEP_OUTCOMES:
            return
        drop = len(kept) - KEEP_OUTCOMES // 2
        older = _legacy(doc, [decode(v) for v in kept]) + [decode(v) for v in kept[:drop]]
        fixes = sum(1 for _, fixed in older if fixed)
        buckets = [name for name in doc if _is_bucket(name)]
        names = {f"#b{i}": name for i, name in enumerate(buckets)}
        remove = f" REMOVE {', '.join(names)}" if names else ""
        self._conditional(
            "update_item",
            TableName=self.table,
            Key=key,
            UpdateExpression="SET outcomes = :kept ADD compacted_fixes :f, compacted_misses :m"
            + remove,
            ConditionExpression="size(outcomes) = :n",
            ExpressionAttributeValues=_to_item(
                {":kept": kept[drop:], ":f": fixes, ":m": len(older) - fixes, ":n": len(kept)}
            ),
            **({"ExpressionAttributeNames": names} if names else {}),
        )


def _is_bucket(name: str) -> bool:
    return name[:1] in ("f", "m") and name[1:].isdigit()


def _list_full(exc: ClientError) -> bool:
    """The append's condition failed (the list is full), not something else."""
    code = exc.response.get("Error", {}).get("Code")
    if code == "ConditionalCheckFailedException":
        return True
    failed, codes = cancelled_items(exc)
    return (
        code == "TransactionCanceledException"
        and failed == {0}
        and codes == {"ConditionalCheckFailed"}
    )


def _record(runbook: str, doc: dict[str, Any]) -> Record:
    from opslink.learning import Record  # selection's arithmetic: not at cold start

    _, service, environment = str(doc["sk"]).split("#", 2)
    stored = [decode(int(v)) for v in doc.get("outcomes") or []]
    return Record(
        runbook=runbook,
        service=service,
        environment=environment,
        outcomes=tuple(_legacy(doc, stored) + stored),
        compacted_fixes=int(doc.get("compacted_fixes", 0)),
        compacted_misses=int(doc.get("compacted_misses", 0)),
    )


def _legacy(doc: dict[str, Any], stored: list[tuple[int, bool]]) -> list[tuple[int, bool]]:
    """Outcomes counted before the list existed: weekly buckets (f<week>, m<week>) in
    week order, fixes and misses interleaved; else lifetime counts not in the list, on
    the day of the last run before it."""
    weeks: dict[int, list[int]] = {}
    for name, value in doc.items():
        if _is_bucket(name):
            weeks.setdefault(int(name[1:]), [0, 0])[0 if name[0] == "f" else 1] += int(value)
    if not weeks:
        fixes = (
            int(doc.get("fixes", 0))
            - sum(f for _, f in stored)
            - int(doc.get("compacted_fixes", 0))
        )
        misses = (
            int(doc.get("misses", 0))
            - sum(not f for _, f in stored)
            - int(doc.get("compacted_misses", 0))
        )
        if fixes <= 0 and misses <= 0:
            return []
        at = doc.get("last_run_at")
        day = stored[0][0] if stored else day_of(datetime.fromisoformat(str(at))) if at else 0
        weeks[(day - 4) // 7] = [max(fixes, 0), max(misses, 0)]
    out: list[tuple[int, bool]] = []
    for week in sorted(weeks):
        fixes, misses = weeks[week]
        day = week * 7 + 4  # weeks were counted from Monday 1970-01-05
        total = fixes + misses
        # spread the misses evenly among the fixes: the week's order is unknown
        out += [(day, (i + 1) * misses // total == i * misses // total) for i in range(total)]
    return out
