"""A builtin ticket's comments kept bounded on its item (list_archive.py): the oldest
archived in partition COMMENTS#<id>, read back with the ticket; a write refused for the
item's 400 KB made again after archiving. Posting a comment is here too. Mixed into
BuiltinTicketSystem, whose `table`, `clock`, `_call` and `_key` it uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from opslink.adapters.list_archive import (
    archive_query,
    archive_writes,
    archived_entries,
    full,
    kept_count,
    too_large,
)
from opslink.clock import Clock
from opslink.errors import TicketSystemError

_ser = TypeSerializer()
_de = TypeDeserializer()


class BoundedComments:
    table: str
    clock: Clock

    def _call(self, op: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def _key(ticket_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def _roomy(self, ticket_id: str, write: Callable[[], Any]) -> Any:
        """`write`, made again once after archiving the ticket's older comments when it
        would pass the item's 400 KB (long comments in fewer than the cap)."""
        try:
            return write()
        except TicketSystemError as exc:
            if not too_large(exc) or not self._make_room(ticket_id):
                raise
        return write()

    def _make_room(self, ticket_id: str) -> bool:
        out = self._call("get_item", TableName=self.table, Key=self._key(ticket_id),
                         ConsistentRead=True)  # fmt: skip
        doc = {k: _de.deserialize(v) for k, v in (out.get("Item") or {}).items()}
        comments = list(doc.get("comments") or [])
        if len(comments) <= kept_count(comments):
            return False
        self._archive(ticket_id, doc)  # raced: the write is made again all the same
        return True

    def _archive(self, ticket_id: str, doc: dict[str, Any]) -> bool:
        """The ticket's older comments archived (list_archive.py); False when another
        writer changed them first, or the store refused (left to the next comment)."""
        writes = archive_writes(self.table, {"pk": f"TICKET#{ticket_id}", "sk": "TICKET"},
                                "comments", "comments_archived", doc, f"COMMENTS#{ticket_id}")  # fmt: skip
        try:
            self._call("transact_write_items", TransactItems=writes)
        except (ClientError, TicketSystemError):
            return False
        return True

    def _bounded(self, ticket_id: str, item: dict[str, Any]) -> dict[str, Any]:
        """The ticket as a comment left it: when its comments reached the cap, the oldest
        are archived (list_archive.py) — one more write per 30 comments. A lost race
        leaves it to the next comment."""
        doc = {k: _de.deserialize(v) for k, v in item.items()}
        if not full(doc.get("comments")) or not self._archive(ticket_id, doc):
            return item
        keep = kept_count(doc["comments"])
        archived = int(doc.get("comments_archived") or 0) + len(doc["comments"]) - keep
        return item | {"comments": _ser.serialize(doc["comments"][len(doc["comments"]) - keep :]),
                       "comments_archived": _ser.serialize(archived)}  # fmt: skip

    def _archived_comments(self, ticket_id: str) -> list[dict[str, Any]]:
        query = archive_query(self.table, f"COMMENTS#{ticket_id}")
        items: list[dict[str, Any]] = []
        while True:
            page = self._call("query", **query)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return archived_entries(items, "comments")
            query = query | {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _post_comment(self, ticket_id: str, text: str, author: str) -> None:
        now = self.clock()
        entry = {"at": now.isoformat(), "author": author, "text": text[:8000]}
        self._roomy(ticket_id, lambda: self._append_comment(ticket_id, entry, now))

    def _append_comment(self, ticket_id: str, entry: dict[str, Any], now: datetime) -> None:
        try:
            out = self._call(
                "update_item",
                TableName=self.table,
                Key=self._key(ticket_id),
                UpdateExpression=(
                    "SET comments = list_append(if_not_exists(comments, :empty), :c), "
                    "updated_at = :now, gsi1sk = :g"
                ),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":c": _ser.serialize([entry]),
                    ":empty": {"L": []},
                    ":now": {"S": now.isoformat()},
                    ":g": {"S": f"{now.isoformat()}#{ticket_id}"},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError:
            raise TicketSystemError(f"builtin tickets: no ticket {ticket_id}") from None
        self._bounded(ticket_id, out["Attributes"])
