"""Resolving an alert: one sealed transaction (the alert, its lock as the alarm's last
episode, the resolved event, and the alarm's OK in its flap history when one resolved it),
conditional on the alert being open."""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.alert_reads import AlertReads
from opslink.adapters.store.chain_seal import cancelled_items
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.reliability import transition_append
from opslink.errors import StoreError
from opslink.journal import EventKind, LifecycleEvent, about, seconds_between
from opslink.models import Alert, AlertStatus

LOCK_SAFETY_TTL = timedelta(days=30)
# A resolving transaction that met another write to the alert or its lock is tried again
# at once this many times in all before the caller retries.
RESOLVE_ATTEMPTS = 3


def _resolved_event(alert: Alert, resolution: dict[str, str], at: datetime) -> LifecycleEvent:
    how = str(resolution.get("by") or "")
    # alarm and automation are counted as such; anyone else (a ticket closed by erin) is a human
    by = how if how in ("alarm", "automation") else str(resolution.get("who") or how or "human")
    return about(
        alert,
        EventKind.ALERT_RESOLVED,
        at,
        by=by,
        why=str(resolution.get("how") or resolution.get("reason") or "")[:500],
        latency_seconds=seconds_between(alert.triggered_at, at),
        runbook=resolution.get("runbook") or None,
        counted=True,
    )


class AlertResolution(AlertReads):
    """Resolving alerts, once: a failed condition is "not open", anything else retried."""

    def resolve(
        self,
        alert: Alert,
        resolution: dict[str, str],
        at: datetime,
        alone: bool = False,
        alarm_change: str | None = None,
    ) -> bool:
        condition = "#s = :open" + (" AND followups = :none" if alone else "")
        change = (
            [{"Update": transition_append(self.table, alert.fingerprint, at, alarm_change)}]
            if alarm_change
            else []
        )
        items = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _to_item(keys.alert(alert.alert_id)),
                    "UpdateExpression": "SET #s = :r, gsi1pk = :g, resolved_at = :at, resolution = :res",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": _to_item(
                        {
                            ":r": AlertStatus.RESOLVED.value,
                            ":g": keys.status_partition(AlertStatus.RESOLVED.value),
                            ":at": at.isoformat(),
                            ":res": json.dumps(resolution),
                            ":open": AlertStatus.OPEN.value,
                        }
                        | ({":none": 0} if alone else {})
                    ),
                }
            },
            {
                # The lock stays as the alarm's last episode: a re-fire within the
                # reopen window reopens this ticket, a later one links to it.
                "Update": {
                    "TableName": self.table,
                    "Key": _to_item(keys.lock(alert.fingerprint)),
                    "UpdateExpression": "SET st = :resolved, resolved_at = :at, alert_id = :a, #ttl = :ttl"
                    + (", ticket_id = :t" if alert.ticket_id else ""),
                    "ConditionExpression": "attribute_not_exists(pk) OR alert_id = :a",
                    "ExpressionAttributeNames": {"#ttl": "ttl"},
                    "ExpressionAttributeValues": _to_item(
                        {
                            ":resolved": "resolved",
                            ":at": at.isoformat(),
                            ":a": alert.alert_id,
                            ":ttl": int((at + LOCK_SAFETY_TTL).timestamp()),
                        }
                        | ({":t": alert.ticket_id} if alert.ticket_id else {})
                    ),
                }
            },
            *self.journal.event_writes(_resolved_event(alert, resolution, at)),
            *change,
        ]
        attempt = 0
        while True:
            attempt += 1
            try:
                self.journal.sealed_transact(items)
                return True
            except ClientError as exc:
                _, codes = cancelled_items(exc)
                if "ConditionalCheckFailed" in codes:  # not open (or a hand-over counted)
                    return False
                # Another write to the alert or its lock at that moment: nothing is known
                # about the condition (never "already resolved"): tried again, then retried.
                if "TransactionConflict" not in codes or attempt == RESOLVE_ATTEMPTS:
                    raise StoreError(
                        f"DynamoDB could not resolve alert {alert.alert_id}: {exc}"
                    ) from exc
                time.sleep(random.uniform(0, 0.05 * attempt))  # noqa: S311

    def resolve_by_id(
        self,
        alert_id: str,
        resolution: dict[str, str],
        at: datetime,
        alarm_change: str | None = None,
    ) -> bool:
        alert = self.get(alert_id)
        if alert is None or alert.status is not AlertStatus.OPEN:
            return False
        return self.resolve(alert, resolution, at, alarm_change=alarm_change)
