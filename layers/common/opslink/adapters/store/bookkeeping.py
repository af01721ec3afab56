"""Bookkeeping: rejected input, applied webhook and chat deliveries, chat threads and the
sweeps' checkpoints (see keys.py). An object of its own on the alerts table, composed in
wiring.py (RejectionLog for ingest, TrackBookkeeping for tracking, ChatThreads for
remediation, ReplayGuard for the fault reporter's chat notices)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item

REJECTION_TTL = timedelta(days=30)


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
        items = self._query(  # every page: a flood of bad input outgrows one
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": keys.rejections_partition(day)}),
        )
        return [_from_item(i) for i in items]

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
