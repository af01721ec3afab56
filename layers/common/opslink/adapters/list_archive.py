"""A list that grows on one DynamoDB item (an alert's notes, a builtin ticket's comments)
kept bounded: its oldest entries move to archive items of a partition of their own (not
the item's: queries of that partition, an alert's links, never page through them), sk
the index of the first entry moved (so they sort in order), in one transaction with the
trimmed list. An item has a 400 KB limit and every write to it costs a write
unit per KB of the whole item: unbounded, a long-open alert or ticket eventually refused
every write."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

CAP = 40  # entries on the item (x 4-8 KB each at most: well inside 400 KB)
KEEP = 10  # the newest stay on the item when the rest is archived

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
    moved, kept = entries[:-KEEP], entries[-KEEP:]
    same = "size(#a) = :len AND " + (
        "#c = :was" if archived else "(attribute_not_exists(#c) OR #c = :was)"
    )
    values = {":kept": kept, ":now": archived + len(moved), ":len": len(entries), ":was": archived}
    entry = {"pk": archive, "sk": f"{archived:08d}", attr: moved}
    return [
        {"Put": {"TableName": table, "Item": _typed(entry),
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": table, "Key": _typed(key),
                    "UpdateExpression": "SET #a = :kept, #c = :now",
                    "ConditionExpression": same,
                    "ExpressionAttributeNames": {"#a": attr, "#c": counter},
                    "ExpressionAttributeValues": _typed(values)}},
    ]  # fmt: skip


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


def _typed(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in doc.items()}
