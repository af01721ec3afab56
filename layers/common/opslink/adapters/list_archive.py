"""A list that grows on one DynamoDB item (an alert's notes, a builtin ticket's comments)
kept bounded: its oldest entries move to archive items of a partition of their own (not
the item's: queries of that partition, an alert's links, never page through them), sk
the index of the first entry moved (so they sort in order), in one transaction with the
trimmed list. An item has a 400 KB limit and every write to it costs a write
unit per KB of the whole item: unbounded, a long-open alert or ticket eventually refused
every write."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

CAP = 40  # entries on the item: ~0.3-8 KB each, inside 400 KB (else: too_large)
KEEP = 10  # the newest stay on the item when the rest is archived
CHUNK_BYTES = 256_000  # an archive item's entries at most (its limit is 400 KB too)
KEEP_BYTES = 100_000  # the kept entries at most, so the write that needed room fits

_ser = TypeSerializer()
_de = TypeDeserializer()


def archive_writes(
    table: str, key: dict[str, str], attr: str, counter: str, item: dict[str, Any], archive: str
) -> list[dict[str, Any]]:
    """The transaction that archives all but the newest KEEP entries of `item[attr]` (the
    item as read, deserialized), on the condition that nobody changed the list since:
    the count archived (`counter`) and the list's length only grow between two
    archivings, so equal values mean the same list."""
    entries = list(item.get(attr) or [])
    archived = int(item.get(counter) or 0)
    keep = kept_count(entries)
    moved, kept = entries[: len(entries) - keep], entries[len(entries) - keep :]
    same = "size(#a) = :len AND " + (
        "#c = :was" if archived else "(attribute_not_exists(#c) OR #c = :was)"
    )
    values = {":kept": kept, ":now": archived + len(moved), ":len": len(entries), ":was": archived}
    puts = [
        {"Put": {"TableName": table, "Item": _typed({"pk": archive, "sk": f"{first:08d}",
                                                     attr: chunk}),
                 "ConditionExpression": "attribute_not_exists(pk)"}}
        for first, chunk in _chunks(moved, archived)
    ]  # fmt: skip
    return [
        *puts,
        {"Update": {"TableName": table, "Key": _typed(key),
                    "UpdateExpression": "SET #a = :kept, #c = :now",
                    "ConditionExpression": same,
                    "ExpressionAttributeNames": {"#a": attr, "#c": counter},
                    "ExpressionAttributeValues": _typed(values)}},
    ]  # fmt: skip


def kept_count(entries: list[Any]) -> int:
    """How many of the newest entries stay on the item when it is archived: KEEP, fewer
    when they are long (at most KEEP_BYTES together, so the next write fits)."""
    size = 0
    for n, entry in enumerate(reversed(entries[-KEEP:])):
        size += _size(entry)
        if size > KEEP_BYTES:
            return n
    return min(KEEP, len(entries))


def _size(entry: Any) -> int:
    # JSON with \u escapes: at least what DynamoDB counts (UTF-8), as emulators count it
    return len(json.dumps(entry, default=str))


def _chunks(entries: list[Any], first: int) -> list[tuple[int, list[Any]]]:
    """`entries` in runs of at most CHUNK_BYTES (an archive item has the 400 KB limit
    too), each with the index of its first entry."""
    out: list[tuple[int, list[Any]]] = []
    run: list[Any] = []
    size = 0
    for i, entry in enumerate(entries):
        n = _size(entry)
        if run and size + n > CHUNK_BYTES:
            out.append((first + i - len(run), run))
            run, size = [], 0
        run.append(entry)
        size += n
    if run:
        out.append((first + len(entries) - len(run), run))
    return out


def archive_query(table: str, archive: str) -> dict[str, Any]:
    """The Query (every page) of an archive partition, oldest first."""
    return {
        "TableName": table,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": _typed({":p": archive}),
        "ConsistentRead": True,
    }


def archived_entries(items: list[dict[str, Any]], attr: str) -> list[dict[str, Any]]:
    """The entries of archive items as a Query returned them (typed), in order."""
    out: list[dict[str, Any]] = []
    for raw in items:
        out.extend(_de.deserialize(raw[attr]) if attr in raw else [])
    return out


def full(entries: object) -> bool:
    return isinstance(entries, list) and len(entries) >= CAP


def too_large(exc: BaseException) -> bool:
    """Whether a write failed because the item would pass DynamoDB's 400 KB (fewer than
    CAP entries can, when they are long and not ASCII: 4,000 CJK characters are 12 KB):
    then the list is archived down to KEEP and the write made again."""
    seen: BaseException | None = exc
    while seen is not None:
        reasons = getattr(seen, "response", {}).get("CancellationReasons") or []
        said = [str(seen), *(str(r.get("Message", "")) for r in reasons)]
        if any("exceeded the maximum allowed size" in m for m in said):
            return True
        seen = seen.__cause__
    return False


def _typed(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in doc.items()}
