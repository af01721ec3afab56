"""The comment outbox: comments whose delivery failed or whose outcome is unknown, kept
per ticket until they are known to be on it (comment_outbox.py delivers them). An object
of its own on the store's table and client, composed into the store (`store.outbox`) and
handed to the services for the CommentQueue port."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.ports.records import QueuedComment
from opslink.ports.store import AlertStore

OUTBOX_KEEP_DELIVERED_SECONDS = 7 * 86400
DRAIN_HOLD_KEEP_SECONDS = 86400  # a released or expired hold leaves the table (TTL)


class CommentOutbox(TableBase):
    def __init__(self, table: str, client: Any, notes: AlertStore) -> None:
        super().__init__(table, client)
        self._notes = notes

    def keep_on_alert(self, alert_id: str, text: str, at: datetime) -> None:
        """A comment that can never reach its ticket, kept on the alert's own record."""
        self._notes.add_note(alert_id, text, at, kind="comment_kept")

    def queue_comment(
        self,
        ticket_id: str,
        key: str,
        text: str,
        at: datetime,
        alert_id: str = "",
        status: str | None = None,
    ) -> None:
        """Keep a comment (with `status`, a state change and its note) until it is known
        to be on the ticket (once per key), counted on the ticket's QUEUED item in the same
        transaction: `has_queued` is one small read, and an OK reads it with its alert."""
        item = keys.outbox(ticket_id, key) | {
            "gsi1pk": keys.OUTBOX_INDEX,
            "gsi1sk": f"{at.isoformat()}#{ticket_id}#{key}",
            "ticket_id": ticket_id,
            "key": key,
            "text": text[:30_000],
            "at": at.isoformat(),
            "alert_id": alert_id,
            "status": status,
            "counted": True,
        }
        put = {"TableName": self.table, "Item": _to_item(item),
               "ConditionExpression": "attribute_not_exists(pk)"}  # fmt: skip
        self._counted("queue", ticket_id, {"Put": put}, +1)

    def has_queued(self, ticket_id: str) -> bool:
        """Whether comments wait in the ticket's outbox (one consistent GetItem of its count,
        not a Query over the delivered ones a ticket keeps for a week)."""
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.outbox_count(ticket_id)),
            ConsistentRead=True,
        )
        return queued_in(_from_item(out.get("Item") or {}))

    def _counted(self, what: str, ticket_id: str, write: dict[str, Any], step: int) -> bool:
        """`write` (conditional) and the ticket's count moved by `step`, in one transaction;
        False when the write's condition did not hold (nothing changed)."""
        count = {
            "Update": {
                "TableName": self.table,
                "Key": _to_item(keys.outbox_count(ticket_id)),
                "UpdateExpression": "ADD queued :n",
                "ExpressionAttributeValues": _to_item({":n": step}),
            }
        }
        return self._transact([write, count], f"{what} a comment for ticket {ticket_id}")

    def hold_delivery(self, ticket_id: str, holder: str, seconds: float) -> bool:
        """Become the ticket's one deliverer for `seconds` (or, as `holder` already,
        hold it longer): False while another holds it. Two deliverers at once would each
        read the ticket's comments back before the other's post landed and both post it
        (members of one incident share a ticket)."""
        now = time.time()
        held = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.outbox_drain(ticket_id)),
            UpdateExpression="SET holder = :h, held_until = :u, #ttl = :e",
            ConditionExpression="attribute_not_exists(held_until) OR held_until < :now "
            "OR holder = :h",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues=_to_item({
                ":h": holder, ":u": _exact(now + seconds), ":now": _exact(now),
                ":e": int(now + seconds + DRAIN_HOLD_KEEP_SECONDS),
            }),
        )  # fmt: skip
        return held is not None

    def release_delivery(self, ticket_id: str, holder: str) -> None:
        """Let the next deliverer in at once (only `holder`'s own hold: one that ran out
        and was taken over is the new holder's)."""
        self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.outbox_drain(ticket_id)),
            UpdateExpression="SET held_until = :z",
            ConditionExpression="holder = :h",
            ExpressionAttributeValues=_to_item({":h": holder, ":z": 0}),
        )

    def queued_comments(self, ticket_id: str | None = None) -> list[QueuedComment]:
        """Comments still to deliver, oldest first (one ticket's, or every ticket's)."""
        if ticket_id is not None:
            q: dict[str, Any] = {
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": _to_item({":p": keys.outbox(ticket_id, "")["pk"]}),
                "FilterExpression": "attribute_not_exists(delivered)",
                "ConsistentRead": True,
            }
        else:
            q = {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :p",
                "ExpressionAttributeValues": _to_item({":p": keys.OUTBOX_INDEX}),
            }
        # every page: a ticket's partition keeps its delivered comments for a week, and a
        # filtered page that stops at 1 MB would leave waiting ones out (and out of order)
        items = [cast(QueuedComment, _from_item(i)) for i in self._query(TableName=self.table, **q)]
        return sorted(items, key=lambda d: (str(d.get("at", "")), str(d.get("key", ""))))

    def move_queued_comments(self, old_ticket: str, new_ticket: str) -> int:
        """The waiting comments of a ticket closed for good, queued on its follow-up in
        the same order (their state changes are moot there); the old items marked done."""
        moved = 0
        for item in self.queued_comments(old_ticket):
            self.queue_comment(
                new_ticket,
                str(item["key"]),
                f"{item['text']}\n\n(Moved from ticket {old_ticket}, which is closed for good.)",
                datetime.fromisoformat(str(item["at"])),
                str(item.get("alert_id") or ""),
            )
            self.comment_delivered(old_ticket, str(item["key"]))
            moved += 1
        return moved

    def comment_delivered(self, ticket_id: str, key: str) -> None:
        """Marked delivered, never deleted (no function may delete items); it leaves the
        outbox index at once and the table a week later (TTL). A counted comment leaves the
        ticket's count in the same transaction, once."""
        expires = int(time.time()) + OUTBOX_KEEP_DELIVERED_SECONDS
        mark = {
            "TableName": self.table,
            "Key": _to_item(keys.outbox(ticket_id, key)),
            "UpdateExpression": "SET delivered = :t, #ttl = :e REMOVE gsi1pk, gsi1sk",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": _to_item({":t": True, ":e": expires}),
        }
        counted = "attribute_exists(pk) AND counted = :t AND attribute_not_exists(delivered)"
        if self._counted(
            "deliver", ticket_id, {"Update": mark | {"ConditionExpression": counted}}, -1
        ):
            return
        # Delivered already, or queued before comments were counted: marked, count untouched.
        self._conditional("update_item", ConditionExpression="attribute_exists(pk)", **mark)


def _exact(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))


def queued_in(count_item: dict[str, Any]) -> bool:
    """Whether a ticket's QUEUED item (as read; {} when absent) counts waiting comments."""
    return int(count_item.get("queued") or 0) > 0
