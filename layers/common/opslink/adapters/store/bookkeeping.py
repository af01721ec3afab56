"""Bookkeeping: rejected input, applied webhook deliveries, sweep checkpoints and the
comment outbox (see keys.py)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.ports.records import QueuedComment

REJECTION_TTL = timedelta(days=30)
OUTBOX_KEEP_DELIVERED_SECONDS = 7 * 86400


class Bookkeeping(TableBase):
    def record_rejection(self, source: str, reason: str, excerpt: str, at: datetime) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item=_to_item(
                {
                    "pk": keys.rejections_partition(at),
                    "sk": f"{at.isoformat()}#{uuid.uuid4().hex[:8]}",
                    "source": source[:500],
                    "reason": reason[:2000],
                    "excerpt": excerpt[:2000],
                    "ttl": int((at + REJECTION_TTL).timestamp()),
                }
            ),
        )

    def rejections(self, day: datetime) -> list[dict[str, Any]]:
        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": keys.rejections_partition(day)}),
        )
        return [_from_item(i) for i in out.get("Items", [])]

    def delivery_seen(self, delivery_id: str) -> bool:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.delivery(delivery_id)),
            ConsistentRead=True,
        )
        return "Item" in out

    def claim_delivery(self, delivery_id: str, now: datetime) -> bool:
        """Remember an applied webhook delivery for a day; False when it was recorded."""
        out = self._conditional(
            "put_item",
            TableName=self.table,
            Item=_to_item(
                keys.delivery(delivery_id) | {"ttl": int((now + timedelta(days=1)).timestamp())}
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )
        return out is not None

    def link_chat_message(self, message: str, alert_id: str, now: datetime) -> None:
        """Remember which alert a posted chat message is about, for 30 days (its thread
        replies become the alert's ticket comments)."""
        ttl = int((now + timedelta(days=30)).timestamp())
        self._call("put_item", TableName=self.table,
                   Item=_to_item(keys.chat_message(message) | {"alert_id": alert_id, "ttl": ttl}))  # fmt: skip

    def alert_of_chat_message(self, message: str) -> str | None:
        out = self._call("get_item", TableName=self.table,
                         Key=_to_item(keys.chat_message(message)), ConsistentRead=True)  # fmt: skip
        return str(_from_item(out["Item"])["alert_id"]) if "Item" in out else None

    def get_checkpoint(self, name: str) -> datetime | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.checkpoint(name)),
            ConsistentRead=True,
        )
        return datetime.fromisoformat(_from_item(out["Item"])["at"]) if "Item" in out else None

    def set_checkpoint(self, name: str, at: datetime) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item=_to_item({"pk": "CHECKPOINT", "sk": name, "at": at.isoformat()}),
        )

    # -- the comment outbox: comments whose delivery failed or whose outcome is unknown --

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
        to be on the ticket (once per key)."""
        self._conditional(
            "put_item",
            TableName=self.table,
            Item=_to_item(
                keys.outbox(ticket_id, key)
                | {
                    "gsi1pk": keys.OUTBOX_INDEX,
                    "gsi1sk": f"{at.isoformat()}#{ticket_id}#{key}",
                    "ticket_id": ticket_id,
                    "key": key,
                    "text": text[:30_000],
                    "at": at.isoformat(),
                    "alert_id": alert_id,
                    "status": status,
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
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
        out = self._call("query", TableName=self.table, **q)
        items = [cast(QueuedComment, _from_item(i)) for i in out.get("Items", [])]
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
        outbox index at once and the table a week later (TTL)."""
        expires = int(time.time()) + OUTBOX_KEEP_DELIVERED_SECONDS
        self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.outbox(ticket_id, key)),
            UpdateExpression="SET delivered = :t, #ttl = :e REMOVE gsi1pk, gsi1sk",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues=_to_item({":t": True, ":e": expires}),
        )
