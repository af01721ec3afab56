"""The builtin ticket system: tickets in OpsLink's own DynamoDB table.

The zero-configuration default. Ticket ids derive from the alert id, so creation is one
conditional write and naturally idempotent: a retried create returns the same ticket.
Items: pk TICKET#<id>, sk TICKET (once it has many comments, its oldest are archived in
partition COMMENTS#<id>, list_archive.py); gsi1 (TICKETS / <updated_at>#<id>) lists tickets by
last change; gsi2 (alert_id) finds a ticket by its alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from opslink.adapters.aws import aws_errors, lazy_client
from opslink.adapters.tickets.builtin_comments import BoundedComments
from opslink.adapters.tickets.common import KeyedComments, keyed_note, noted_already
from opslink.clock import Clock, utcnow
from opslink.errors import TicketSystemError, TicketSystemRejected
from opslink.models import HandOver, Ticket, TicketDraft, TicketStatus

_ser = TypeSerializer()
_de = TypeDeserializer()


def ticket_id_for(key: str) -> str:
    """Stable ticket id for an idempotency key (the alert id, or a follow-up's key)."""
    return "OPS-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10].upper()


class BuiltinTicketSystem(BoundedComments, KeyedComments):
    name = "builtin"
    # CommonMark: untrusted values arrive as code spans and fenced blocks (inert).
    markup = "markdown"

    def __init__(
        self, table: str, client: Any = None, base_url: str = "", clock: Clock = utcnow
    ) -> None:
        self.table = table
        self.clock = clock
        self._client = client
        self.base_url = base_url.rstrip("/")

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = lazy_client("dynamodb")
        return self._client

    def _call(self, op: str, **kwargs: Any) -> Any:
        with aws_errors(
            f"builtin tickets: DynamoDB {op}",
            TicketSystemError,
            ("ConditionalCheckFailedException",),
        ):
            return getattr(self.client, op)(**kwargs)

    @staticmethod
    def _key(ticket_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"TICKET#{ticket_id}"}, "sk": {"S": "TICKET"}}

    def _ticket(self, item: dict[str, Any], whole: bool = True) -> Ticket:
        """The ticket with every comment, oldest first: its archived ones (read only when
        it has some), then those on its item; a listing (`whole` False) has the latter."""
        doc = {k: _de.deserialize(v) for k, v in item.items()}
        if whole and doc.get("comments_archived"):
            doc["comments"] = [*self._archived_comments(str(doc["id"])), *doc.get("comments", [])]
        return Ticket.model_validate(doc)

    def create(self, draft: TicketDraft) -> Ticket:
        now = self.clock()
        tid = ticket_id_for(draft.key or draft.alert_id)
        ticket = Ticket(
            id=tid,
            provider=self.name,
            alert_id=draft.alert_id,
            title=draft.title,
            status=TicketStatus.OPEN,
            priority=draft.priority,
            ticket_type=draft.ticket_type,
            assignee=draft.assignee,
            due_at=draft.due_at,
            url=f"{self.base_url}/tickets/{tid}" if self.base_url else None,
            description=draft.description,
            created_at=now,
            updated_at=now,
            custom_fields=draft.custom_fields,
        )
        doc = ticket.model_dump(mode="json", exclude_none=True)
        doc |= {
            "pk": f"TICKET#{tid}",
            "sk": "TICKET",
            "gsi1pk": "TICKETS",
            "gsi1sk": f"{now.isoformat()}#{tid}",
            "labels": list(draft.labels),
        }
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item={k: _ser.serialize(v) for k, v in doc.items()},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError:
            existing = self.get(tid)
            if existing is None:
                raise TicketSystemError(
                    f"builtin tickets: {tid} exists but cannot be read"
                ) from None
            return existing
        return ticket

    def comment_texts(self, ticket_id: str) -> list[str]:
        ticket = self.get(ticket_id)
        return [str(c.get("text", "")) for c in (ticket.comments if ticket else [])]

    def set_status(
        self,
        ticket_id: str,
        status: TicketStatus,
        note: str | None = None,
        key: str | None = None,
        by: str | None = None,
    ) -> Ticket:
        """Change the status with its note (keyed: its reference in the text) in one
        conditional write. A ticket already there (resolving a closed one included) is
        left as it is, timestamps kept: an unkeyed note is dropped, a keyed one posted
        unless it is there (read back). Resolving or closing records who did it (`by`,
        default opslink) and when."""
        raw_note, note = note, keyed_note(note, key)
        now = self.clock()
        who = by or "opslink"
        expr = "SET #s = :s, updated_at = :now, gsi1sk = :g"
        values: dict[str, Any] = {
            ":s": {"S": status.value},
            ":now": {"S": now.isoformat()},
            ":g": {"S": f"{now.isoformat()}#{ticket_id}"},
        }
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            expr += ", closed_by = :by, closed_at = :now"
            values[":by"] = {"S": who}
        else:
            expr += " REMOVE closed_by, closed_at"
        if note:  # status and its note in one write
            entry = {"at": now.isoformat(), "author": who, "text": note[:8000]}
            expr = expr.replace(
                ", gsi1sk = :g",
                ", gsi1sk = :g, comments = list_append(if_not_exists(comments, :empty), :c)",
            )
            values |= {":c": _ser.serialize([entry]), ":empty": {"L": []}}
        condition = "attribute_exists(pk) AND #s <> :s"
        if status is TicketStatus.RESOLVED:  # a closed ticket is past resolved: left as it is
            condition += " AND #s <> :closed"
            values[":closed"] = {"S": TicketStatus.CLOSED.value}
        try:
            out = self._roomy(ticket_id, lambda: self._call(
                "update_item",
                TableName=self.table,
                Key=self._key(ticket_id),
                UpdateExpression=expr,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            ))  # fmt: skip
        except ClientError:
            current = self.get(ticket_id)
            if current is None:
                raise TicketSystemError(f"builtin tickets: no ticket {ticket_id}") from None
            return noted_already(self, ticket_id, current, raw_note, key)  # unchanged
        return self._ticket(self._bounded(ticket_id, out["Attributes"]))

    def hand_over(self, ticket_id: str, handover: HandOver) -> Ticket:
        current = self.get(ticket_id)
        if current is None:
            raise TicketSystemError(f"builtin tickets: no ticket {ticket_id}")
        now = self.clock()
        entry = {"at": now.isoformat(), "author": "opslink", "text": handover.note[:8000]}
        values: dict[str, Any] = {
            ":t": {"S": handover.title(current.title)},
            ":p": {"S": handover.priority.value},
            ":d": {"S": handover.due_at.isoformat()},
            ":l": _ser.serialize([handover.label]),
            ":empty": {"L": []},
            ":c": _ser.serialize([entry]),
            ":now": {"S": now.isoformat()},
            ":g": {"S": f"{now.isoformat()}#{ticket_id}"},
        }
        expr = (
            "SET title = :t, priority = :p, due_at = :d, updated_at = :now, gsi1sk = :g, "
            "comments = list_append(if_not_exists(comments, :empty), :c)"
        )
        if handover.label not in self._labels(ticket_id):
            expr += ", labels = list_append(if_not_exists(labels, :empty), :l)"
        else:
            values.pop(":l")
        if handover.assignee:
            expr += ", assignee = :a"
            values[":a"] = {"S": handover.assignee}
        out = self._roomy(ticket_id, lambda: self._call(
            "update_item",
            TableName=self.table,
            Key=self._key(ticket_id),
            UpdateExpression=expr,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        ))  # fmt: skip
        return self._ticket(self._bounded(ticket_id, out["Attributes"]))

    def assign(self, ticket_id: str, assignee: str) -> Ticket:
        if self.get(ticket_id) is None:
            raise TicketSystemRejected(f"builtin tickets: no ticket {ticket_id}")
        now = self.clock()
        out = self._call(
            "update_item",
            TableName=self.table,
            Key=self._key(ticket_id),
            UpdateExpression="SET assignee = :a, updated_at = :now, gsi1sk = :g",
            ExpressionAttributeValues={
                ":a": {"S": assignee},
                ":now": {"S": now.isoformat()},
                ":g": {"S": f"{now.isoformat()}#{ticket_id}"},
            },
            ReturnValues="ALL_NEW",
        )
        return self._ticket(out["Attributes"])

    def _labels(self, ticket_id: str) -> list[str]:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=self._key(ticket_id),
            ProjectionExpression="labels",
            ConsistentRead=True,
        )
        return list(_de.deserialize(out.get("Item", {}).get("labels", {"L": []})))

    def get(self, ticket_id: str) -> Ticket | None:
        out = self._call(
            "get_item", TableName=self.table, Key=self._key(ticket_id), ConsistentRead=True
        )
        return self._ticket(out["Item"]) if "Item" in out else None

    def find_by_alert(self, alert_id: str) -> Ticket | None:
        out = self._call(
            "query",
            TableName=self.table,
            IndexName="gsi2",
            KeyConditionExpression="alert_id = :a",
            ExpressionAttributeValues={":a": {"S": alert_id}},
        )
        # KEYS_ONLY index: the id is in pk. The alert's own ticket before any follow-up.
        ids = [
            str(_de.deserialize(i["pk"])).removeprefix("TICKET#") for i in out.get("Items") or []
        ]
        primary = ticket_id_for(alert_id)
        chosen = primary if primary in ids else (sorted(ids)[0] if ids else None)
        return self.get(chosen) if chosen else None

    def changed_since(self, since: datetime) -> list[Ticket]:
        tickets: list[Ticket] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk >= :s",
            "ExpressionAttributeValues": {":p": {"S": "TICKETS"}, ":s": {"S": since.isoformat()}},
        }
        while True:
            out = self._call("query", **kwargs)
            tickets += [self._ticket(i, whole=False) for i in out.get("Items", [])]
            if "LastEvaluatedKey" not in out:
                return tickets
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def list(self, limit: int = 50, where: Callable[[Ticket], bool] | None = None) -> list[Ticket]:
        """Most recently changed first; with `where`, the first `limit` that match."""
        tickets: list[Ticket] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "TICKETS"}},
            "ScanIndexForward": False,
            "Limit": limit if where is None else max(limit, 100),
        }
        while len(tickets) < limit:
            out = self._call("query", **kwargs)
            page = [self._ticket(i, whole=False) for i in out.get("Items", [])]
            tickets += [t for t in page if where is None or where(t)]
            if "LastEvaluatedKey" not in out:  # a page stops at 1 MB: tickets with comments
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        return tickets[:limit]
