"""Tamper evidence for the lifecycle journal: the events of one alert (and the operator
actions, under their own key) form a hash chain. Pure; no I/O.

Each record carries `seq` (1, 2, ... per chain), `prev` (the previous record's hash) and
`hash` = SHA-256 over its own fields and `prev`; the chain's head (its last seq and hash)
is kept beside it. A changed record no longer matches its hash, a removed one leaves a
gap in `seq` (or the head points past the end), an inserted or reordered one breaks
`prev`. What this cannot catch: someone who rewrites a record and every hash after it
and the head (docs/SECURITY.md: ship the journal to a write-once store for that)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CHAIN_FIELDS = ("seq", "prev", "hash")


def canonical(record: Mapping[str, Any]) -> str:
    """The record's fields as stored (empty ones are never stored), as text."""
    fields = {k: str(v) for k, v in record.items() if k != "hash" and v is not None and v != ""}
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def record_hash(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(record).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    chain: str  # the alert id ("" for operator actions)
    position: int  # the seq where the chain breaks
    what: str  # changed | removed | inserted | unchained
    detail: str


def verify(
    chain: str, records: Iterable[Mapping[str, Any]], head: Mapping[str, Any] | None
) -> list[Problem]:
    """Every break in one chain: records in any order, the head as stored (None: none)."""
    chained = sorted((r for r in records if r.get("seq") is not None), key=lambda r: int(r["seq"]))
    out: list[Problem] = []
    prev, expected = "", 1
    for r in chained:
        seq = int(r["seq"])
        where = f"{r.get('kind', '?')} at {r.get('at', '?')}"
        if seq < expected:
            out.append(
                Problem(chain, seq, "inserted", f"a second record at position {seq} ({where})")
            )
            continue
        if seq > expected:
            out.append(Problem(chain, expected, "removed",
                               f"positions {expected}..{seq - 1} are missing before {where}"))  # fmt: skip
        if str(r.get("prev", "")) != prev and seq == expected:
            out.append(
                Problem(chain, seq, "inserted", f"{where} does not follow the record before it")
            )
        if record_hash(r) != r.get("hash"):
            out.append(Problem(chain, seq, "changed", f"{where} no longer matches its hash"))
        prev, expected = str(r.get("hash", "")), seq + 1
    if head is not None:
        last = int(head.get("seq", 0))
        if last >= expected:
            out.append(Problem(chain, expected, "removed",
                               f"the chain's head is at {last}: positions {expected}..{last} are missing"))  # fmt: skip
        elif last and str(head.get("hash", "")) != prev:
            out.append(
                Problem(chain, last, "changed", "the chain's head does not match its last record")
            )
    elif chained:
        out.append(Problem(chain, 0, "removed", "the chain's head is missing"))
    return out


def unchained(records: Iterable[Mapping[str, Any]]) -> int:
    """Records written before the journal was chained (not verifiable, not an error)."""
    return sum(1 for r in records if r.get("seq") is None)
