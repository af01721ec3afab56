"""The incident open under each grouping key (correlation.py), one item per key.

Placing an alert reads the key's item (consistent) and writes it once, conditional on the
version it read: joining extends the window, opening replaces the pointer with the new
incident (which refers to the one before). Two alerts of one incident delivered at once
never open two incidents: the second write fails on the version, and that alert decides
again on what the first wrote. One read and one conditional write per alert when nothing
races; the item expires a week after the incident's maximum lifetime.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item, to_item
from opslink.correlation import (
    Decision,
    Grouping,
    KeyState,
    Signal,
    joined_state,
    opened_state,
    under_key,
)
from opslink.errors import StoreError

ATTEMPTS = 8
KEEP = timedelta(days=7)


class IncidentKeys(TableBase):
    """The grouping keys' incidents on the OpsLink table."""

    def place(self, s: Signal, g: Grouping, new_incident_id: str) -> Decision:
        """Join the incident open under the alert's key, or open `new_incident_id`."""
        if g.key is None:
            return Decision(s.alert_id, new_incident_id, False, g.rule, None, g.why)
        key = keys.incident_key(g.key)
        for attempt in range(ATTEMPTS):
            item = self._call(
                "get_item", TableName=self.table, Key=to_item(key), ConsistentRead=True
            ).get("Item")
            doc = from_item(item) if item else {}
            current = _state(doc) if doc else None
            version = int(doc.get("version", 0))
            verdict = under_key(current, s, g)
            if verdict.joins is None and not verdict.registers:  # alone: nothing to write
                return Decision(s.alert_id, new_incident_id, False, g.rule, g.key, verdict.why)
            if verdict.joins is not None and current is not None:
                state, joined = joined_state(current, s, g), True
            else:
                state, joined = opened_state(new_incident_id, s, g), False
            if self._write(key, g, state, version, doc):
                return Decision(s.alert_id, state.incident_id, joined, g.rule, g.key, verdict.why)
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 (jitter)
        raise StoreError(f"grouping key {g.key!r}: {ATTEMPTS} concurrent changes, giving up")

    def _write(
        self, key: dict[str, Any], g: Grouping, state: KeyState, version: int, doc: dict[str, Any]
    ) -> bool:
        members = (
            int(doc.get("members", 0)) + 1 if doc.get("incident_id") == state.incident_id else 1
        )
        item = key | {
            "grouping_key": g.key,
            "rule": g.rule,
            "incident_id": state.incident_id,
            "window_until": state.window_until.isoformat(),
            "max_until": state.max_until.isoformat(),
            "resolved": state.resolved,
            "members": members,
            "version": version + 1,
            "ttl": int((state.max_until + KEEP).timestamp()),
        }
        condition = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if version == 0
            else {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": to_item({":v": version}),
            }
        )
        try:
            self._call("put_item", TableName=self.table, Item=to_item(item), **condition)
        except ClientError:  # another alert of this key wrote first: decide again
            return False
        return True

    def resolve_incident(self, grouping_key: str, incident_id: str, at: datetime) -> bool:
        """Mark the key's incident resolved (it takes no member after this); False when
        the key points at another incident by now."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=to_item(keys.incident_key(grouping_key)),
            UpdateExpression="SET resolved = :t, resolved_at = :at, version = version + :one",
            ConditionExpression="incident_id = :id",
            ExpressionAttributeValues=to_item(
                {":t": True, ":at": at.isoformat(), ":one": 1, ":id": incident_id}
            ),
        )
        return out is not None


def _state(doc: dict[str, Any]) -> KeyState:
    return KeyState(
        incident_id=str(doc["incident_id"]),
        window_until=datetime.fromisoformat(str(doc["window_until"])),
        max_until=datetime.fromisoformat(str(doc["max_until"])),
        resolved=bool(doc.get("resolved")),
    )
