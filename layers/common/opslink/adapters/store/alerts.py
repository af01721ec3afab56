"""Changing alerts and their links to tickets (see keys.py); reading them: alert_reads.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.alert_notes import AlertNotes
from opslink.adapters.store.alert_reads import _alert_from
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import EventsAlreadyRecorded
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent
from opslink.models import Alert, AlertStatus


def _alert_doc(alert: Alert) -> dict[str, Any]:
    doc = json.loads(alert.model_dump_json())
    # DynamoDB has no float without Decimal; keep nested values as JSON text.
    doc["resolution"] = json.dumps(doc["resolution"])
    doc["dimensions"] = json.dumps(doc["dimensions"])
    if doc.get("pending_ok") is not None:  # as set_pending_ok keeps it (drop_pending_ok)
        doc["pending_ok"] = json.dumps(doc["pending_ok"])
    return {
        **keys.alert(alert.alert_id),
        "gsi1pk": keys.status_partition(alert.status.value),
        "gsi1sk": f"{alert.triggered_at.isoformat()}#{alert.alert_id}",
        **doc,
    }


class AlertRecords(AlertNotes):
    """Changing alerts: re-fires, once-per-period slots, notes, links (resolving them:
    alert_resolution.py)."""

    def record_refire(self, alert_id: str, at: datetime) -> Alert | None:
        """Count an ALARM transition newer than the alert's last one; None if it is not
        newer (a duplicate or late delivery), so nothing is counted twice."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="ADD occurrences :one SET last_transition_at = :at",
            ConditionExpression="#s = :open AND last_transition_at < :at",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_to_item(
                {":one": 1, ":at": at.isoformat(), ":open": AlertStatus.OPEN.value}
            ),
            ReturnValues="ALL_NEW",
        )
        if out is None:
            return None
        return _alert_from(_from_item(out["Attributes"]))

    def record_refire_claiming_comment(
        self, alert_id: str, at: datetime, now: datetime, due_before: datetime
    ) -> tuple[Alert, bool] | None:
        """`record_refire` that also takes the re-fire comment slot when it is free (no
        comment since `due_before`), in one write: (alert, True) when this delivery must
        comment. Else as `record_refire` — (alert, False), or None for a duplicate, told
        from the item as it was without a second call."""
        values = {":one": 1, ":at": at.isoformat(), ":open": AlertStatus.OPEN.value,
                  ":now": now.isoformat(), ":due": due_before.isoformat()}  # fmt: skip
        try:
            out = self._call(
                "update_item",
                TableName=self.table,
                Key=_to_item(keys.alert(alert_id)),
                UpdateExpression="ADD occurrences :one SET last_transition_at = :at, "
                "last_comment_at = :now",
                ConditionExpression="#s = :open AND last_transition_at < :at AND "
                "(attribute_not_exists(last_comment_at) OR last_comment_at <= :due)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_to_item(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            before = _from_item(exc.response.get("Item") or {})
            if before and (
                before.get("status") != AlertStatus.OPEN.value
                or str(before.get("last_transition_at", "")) >= at.isoformat()
            ):
                return None  # a duplicate or late delivery: nothing to count
            current = self.record_refire(alert_id, at)  # the slot is taken: count only
            return None if current is None else (current, False)
        return _alert_from(_from_item(out["Attributes"])), True

    def claim_slot(
        self, alert_id: str, slot: str, previous: datetime | None, now: datetime
    ) -> bool:
        """Set a once-per-period timestamp on the alert only if nobody moved it since we
        read it (conditional write), so two concurrent workers never both act."""
        condition = "attribute_not_exists(#f)" if previous is None else "#f = :prev"
        values = {":now": now.isoformat()} | ({":prev": previous.isoformat()} if previous else {})
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="SET #f = :now",
            ConditionExpression=f"attribute_exists(pk) AND {condition}",
            ExpressionAttributeNames={"#f": slot},
            ExpressionAttributeValues=_to_item(values),
        )
        return out is not None

    def set_pending_ok(self, alert_id: str, facts: dict[str, str]) -> bool:
        """Keep an OK that arrived before the alert's ticket existed; False when the
        ticket is there by now (or the alert is no longer open): apply the OK at once."""
        done = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="SET pending_ok = :p",
            ConditionExpression="#s = :open AND attribute_not_exists(ticket_id)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_to_item(
                {":p": json.dumps(facts), ":open": AlertStatus.OPEN.value}
            ),
        )
        return done is not None

    def drop_pending_ok(self, alert_id: str, seen: dict[str, str]) -> bool:
        """Forget the OK kept for the alert's ticket (`seen`, as read): the alarm fired again
        after it, so the alert goes on. False when that OK is no longer the one kept (a
        later OK replaced it, or the ticket consumed it)."""
        done = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="REMOVE pending_ok",
            ConditionExpression="pending_ok = :seen AND attribute_not_exists(ticket_id)",
            ExpressionAttributeValues=_to_item({":seen": json.dumps(seen)}),
        )
        return done is not None

    def move_ticket(
        self,
        alert: Alert,
        provider: str,
        old_ticket: str,
        new_ticket: str,
        created: LifecycleEvent | None = None,
    ) -> None:
        """One transaction: the alert (and its lock) now on `new_ticket`, linked both ways;
        its links to `old_ticket` marked left. With `created`, the new ticket's creation
        is journaled (and counted) with it."""
        a = keys.alert_pk(alert.alert_id)
        old, new = keys.ticket_ref(provider, old_ticket), keys.ticket_ref(provider, new_ticket)
        link = {"alert_id": alert.alert_id, "ticket_id": new_ticket, "provider": provider,
                "execution_name": alert.execution_name, "linked_at": alert.triggered_at.isoformat()}  # fmt: skip
        values = {":t": new_ticket, ":a": alert.alert_id, ":m": alert.incident_id or "-"}
        items = [
            *({"Update": {"TableName": self.table, "Key": _to_item({"pk": pk, "sk": sk}),
                          "UpdateExpression": "SET kind = :k",
                          "ExpressionAttributeValues": _to_item({":k": keys.LEFT_INCIDENT})}}
              for pk, sk in ((a, old), (old, a))),
            *self._both_ways(a, new, link),
            {"Update": {"TableName": self.table, "Key": _to_item(keys.alert(alert.alert_id)),
                        "UpdateExpression": "SET ticket_id = :t",
                        "ExpressionAttributeValues": _to_item({":t": new_ticket})}},
            {"Update": {"TableName": self.table, "Key": _to_item(keys.lock(alert.fingerprint)),
                        "UpdateExpression": "SET ticket_id = :t, member_of = :m",
                        "ConditionExpression": "alert_id = :a",
                        "ExpressionAttributeValues": _to_item(values)}},
            *(self.journal.event_writes(created) if created else []),
        ]  # fmt: skip
        try:
            self.journal.transact(items, f"move alert {alert.alert_id} to ticket {new_ticket}")
        except EventsAlreadyRecorded:
            return
        except ClientError as exc:
            raise StoreError(f"DynamoDB could not move alert {alert.alert_id}: {exc}") from exc

    def link_followup_ticket(self, alert_id: str, provider: str, ticket_id: str, kind: str) -> None:
        """Linked both ways and counted on the alert (`followups`) in one transaction: a
        resolution that finds the count at 0 knows there is no other ticket to resolve."""
        ticket_key = keys.ticket_ref(provider, ticket_id)
        link = {"alert_id": alert_id, "ticket_id": ticket_id, "provider": provider, "kind": kind}
        counted = {"Update": {"TableName": self.table, "Key": _to_item(keys.alert(alert_id)),
                              "UpdateExpression": "ADD followups :one",
                              "ConditionExpression": "attribute_exists(pk)",
                              "ExpressionAttributeValues": _to_item({":one": 1})}}  # fmt: skip
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    *self._both_ways(keys.alert_pk(alert_id), ticket_key, link),
                    counted,
                ],
            )
        except ClientError as exc:
            raise StoreError(
                f"alert {alert_id} not found: {provider} ticket {ticket_id} not linked to it"
            ) from exc
