"""Sealing journal events into their alert's hash chain (opslink/journal_chain.py): a
transaction's events are numbered and hashed after the chain's head, which moves with a
conditional put in the same transaction; when another writer moved the head first, the
events are sealed again (bounded, jittered).

The head is read (a consistent Query) only when it is not known: a chain the transaction
itself creates (a new alert: its put is conditional on the alert not existing) starts
empty, and a head this store wrote moments ago (one invocation's successive writes to one
alert) is taken as it was written. Either guess is checked by the head's conditional put,
so a wrong one costs a second attempt with a real read, never a broken chain."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.journal_chain import CHAIN_FIELDS, record_hash

CHAIN_SK = "CHAIN"
SEAL_ATTEMPTS = 10
# How long a head this store wrote is trusted without reading it again: the successive
# writes of one invocation, not a warm container's next one (other writers move heads).
HEAD_FRESH_SECONDS = 5.0


def chain_pk(alert_id: str) -> str:
    """The partition of an alert's journal chain ("" for the operator actions)."""
    return str(keys.event(alert_id, "x", "x")["pk"])


def _head_puts(sealed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chain heads a sealed transaction puts, as items."""
    items = (it.get("Put", {}).get("Item", {}) for it in sealed)
    return [_from_item(item) for item in items if item.get("sk", {}).get("S") == CHAIN_SK]


class ChainSeal(TableBase):
    def __init__(
        self, table: str, client: Any = None, journal_table: str = "", home_account: str = ""
    ) -> None:
        super().__init__(table, client, journal_table, home_account)
        # pk -> (seq, hash, monotonic time): heads this store wrote or read moments ago;
        # seq 0 is a chain known not to exist yet.
        self._known_heads: dict[str, tuple[int, str, float]] = {}
        # One store may serve threads (an emulator's concurrent invocations, a caller's
        # pool): the pruning below must not see the dict change under it.
        self._heads_lock = threading.Lock()

    def _known_head(self, pk: str) -> tuple[int, str] | None:
        known = self._known_heads.get(pk)
        if known is None or time.monotonic() - known[2] > HEAD_FRESH_SECONDS:
            return None
        return known[0], known[1]

    def remember_head(self, pk: str, head: dict[str, Any] | None) -> None:
        """A head read together with its alert (one BatchGetItem), or written by this
        store: the alert's next sealed write in this invocation needs no read of its own."""
        now = time.monotonic()
        seq, digest = (int(head["seq"]), str(head["hash"])) if head else (0, "")
        with self._heads_lock:
            stale = [k for k, v in self._known_heads.items() if now - v[2] > HEAD_FRESH_SECONDS]
            for old in stale:
                del self._known_heads[old]
            self._known_heads[pk] = (seq, digest, now)

    def _head(self, pk: str) -> dict[str, Any] | None:
        page = self._call(
            "query",
            TableName=self.journal_table,
            KeyConditionExpression="pk = :p AND sk = :c",
            ExpressionAttributeValues=_to_item({":p": pk, ":c": CHAIN_SK}),
            ConsistentRead=True,
        )
        items = page.get("Items") or []
        return _from_item(items[0]) if items else None

    def chain_records(self, alert_id: str) -> list[dict[str, Any]]:
        """Every journal record of one chain (an alert; "" for operator actions)."""
        return [
            _from_item(raw)
            for raw in self._query(
                TableName=self.journal_table,
                KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
                ExpressionAttributeValues=_to_item({":p": chain_pk(alert_id), ":e": "EVENT#"}),
                ConsistentRead=True,
            )
        ]

    def chain_head(self, alert_id: str) -> dict[str, Any] | None:
        """The head of an alert's chain ("" for the operator actions), as stored."""
        return self._head(chain_pk(alert_id))

    def _seal(
        self,
        items: list[dict[str, Any]],
        new_chains: frozenset[str] = frozenset(),
        guess: bool = True,
    ) -> list[dict[str, Any]]:
        """The items with their journal events numbered, chained and hashed, and one
        conditional head put per chain. `guess`: take a new chain as empty and a head
        written moments ago as current, instead of reading them."""
        out: list[dict[str, Any]] = []
        heads: dict[str, tuple[int, str, bool]] = {}  # pk -> (seq, hash, existed)
        for it in items:
            put = it.get("Put")
            if not (put and is_event(put, self.journal_table)):
                if not (put and put["Item"].get("sk", {}).get("S") == CHAIN_SK):
                    out.append(it)
                continue
            record = _from_item(put["Item"])
            for field in CHAIN_FIELDS:
                record.pop(field, None)
            pk = str(record["pk"])
            if pk not in heads:
                known = self._known_head(pk) if guess else None
                if known is not None:
                    heads[pk] = (known[0], known[1], known[0] > 0)
                elif guess and pk in new_chains:
                    heads[pk] = (0, "", False)
                else:
                    head = self._head(pk)
                    heads[pk] = (
                        (int(head["seq"]), str(head["hash"]), True) if head else (0, "", False)
                    )
            seq, prev, existed = heads[pk]
            record |= {"seq": seq + 1, "prev": prev or None}
            record["hash"] = record_hash(record)
            heads[pk] = (seq + 1, record["hash"], existed)
            out.append({"Put": {**put, "Item": _to_item(record)}})
        for pk, (seq, digest, existed) in heads.items():
            head_put: dict[str, Any] = {
                "TableName": self.journal_table,
                "Item": _to_item({"pk": pk, "sk": CHAIN_SK, "seq": seq, "hash": digest}),
            }
            if existed:
                head_put |= {
                    "ConditionExpression": "#s = :before",
                    "ExpressionAttributeNames": {"#s": "seq"},
                    "ExpressionAttributeValues": _to_item({":before": seq - _count(out, pk)}),
                }
            else:
                head_put["ConditionExpression"] = "attribute_not_exists(pk)"
            out.append({"Put": head_put})
        return out

    def sealed_transact(self, items: list[dict[str, Any]], new_chains: Iterable[str] = ()) -> None:
        """One TransactWriteItems with its journal events sealed into their chains. When
        only a chain's head moved under it (another writer, or a guess that was wrong), it
        seals again after reading the heads (bounded, jittered); any other failure is the
        caller's, raised as is with the indices of `items` unchanged (the heads are
        appended after them). `new_chains`: chains this transaction creates (their first
        event), whose heads need no read."""
        fresh = frozenset(new_chains)
        for attempt in range(SEAL_ATTEMPTS):
            sealed = self._seal(items, fresh, guess=attempt == 0)
            try:
                self._call("transact_write_items", TransactItems=sealed)
                for head in _head_puts(sealed):
                    self.remember_head(str(head["pk"]), head)
                return
            except ClientError as exc:
                failed, codes = cancelled_items(exc)
                heads = set(range(len(items), len(sealed)))
                if (
                    failed
                    and failed <= heads
                    and codes <= {"ConditionalCheckFailed", "TransactionConflict"}
                    and attempt + 1 < SEAL_ATTEMPTS
                ):
                    if attempt:  # a guessed head was wrong: re-read at once; else back off
                        time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311
                    continue
                with self._heads_lock:
                    for head in _head_puts(sealed):
                        self._known_heads.pop(str(head["pk"]), None)
                raise


def is_event(put: dict[str, Any], journal_table: str) -> bool:
    return put.get("TableName") == journal_table and str(
        put["Item"].get("sk", {}).get("S", "")
    ).startswith("EVENT#")


def _count(items: list[dict[str, Any]], pk: str) -> int:
    """How many events of chain `pk` these sealed items add."""
    return sum(
        1
        for it in items
        if "Put" in it
        and str(it["Put"]["Item"].get("sk", {}).get("S", "")).startswith("EVENT#")
        and it["Put"]["Item"].get("pk", {}).get("S") == pk
    )


def cancelled_items(exc: ClientError) -> tuple[set[int], set[str]]:
    """The indices of a cancelled transaction's failed items, and their codes."""
    reasons = exc.response.get("CancellationReasons") or []
    failed = {i for i, r in enumerate(reasons) if r.get("Code") not in (None, "None")}
    return failed, {str(reasons[i].get("Code")) for i in failed}
