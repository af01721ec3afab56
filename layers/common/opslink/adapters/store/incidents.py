"""Incidents' own items (INCIDENT#<id>): members, the ones still firing, the root, the
ticket, the resolution. A member clearing is a set deletion (idempotent: a retried OK
changes nothing twice) that returns the incident as it is now; resolving is conditional,
once. Grouping keys, which point at incidents, are incident_keys.py's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item, to_item
from opslink.incidents import IncidentState, TicketRef

FOLD_MAX_FIRING = 16  # members still firing that one clearing's condition may name


class IncidentRecords(TableBase):
    def incident(self, incident_id: str) -> IncidentState | None:
        out = self._call("get_item", TableName=self.table,
                         Key=to_item(keys.incident(incident_id)), ConsistentRead=True)  # fmt: skip
        return incident_of(from_item(out["Item"])) if "Item" in out else None

    def opener_stalled(self, incident_id: str, at: datetime) -> None:
        """The opener's delivery failed before the incident's ticket existed: kept on the
        incident so members stop waiting for it (none is needed once the ticket exists)."""
        self._conditional(
            "update_item",
            TableName=self.table,
            Key=to_item(keys.incident(incident_id)),
            UpdateExpression="SET opener_stalled_at = :at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(ticket_id)",
            ExpressionAttributeValues=to_item({":at": at.isoformat()}),
        )

    def claim_comment_slot(
        self, incident_id: str, now: datetime, due_before: datetime
    ) -> tuple[bool, datetime | None]:
        """Take the incident's re-fire comment slot when nobody took it after
        `due_before` (one conditional write): whether it was taken now, and the slot's
        time as stored (now, or the earlier claim's; None for an incident not found)."""
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key=to_item(keys.incident(incident_id)),
                UpdateExpression="SET last_comment_at = :now",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(last_comment_at) OR last_comment_at <= :due)",
                ExpressionAttributeValues=to_item(
                    {":now": now.isoformat(), ":due": due_before.isoformat()}
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            held = from_item(exc.response.get("Item") or {}).get("last_comment_at")
            return False, datetime.fromisoformat(str(held)) if held else None
        return True, now

    def member_cleared(self, incident_id: str, alert_id: str) -> IncidentState | None:
        """Take a member out of the incident's firing set (once: a set deletion) and
        return the incident as it is now; None when there is no such incident."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=to_item(keys.incident(incident_id)),
            UpdateExpression="DELETE firing_ids :a",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":a": {alert_id}}),
            ReturnValues="ALL_NEW",
        )
        return incident_of(from_item(out["Attributes"])) if out else None

    def remove_member(self, incident_id: str, alert_id: str) -> IncidentState | None:
        """An operator split the alert out: no longer a member (firing or not)."""
        return self._sets(incident_id, "DELETE member_ids :a, firing_ids :a", {":a": {alert_id}})

    def add_members(
        self, incident_id: str, members: set[str], firing: set[str]
    ) -> IncidentState | None:
        """An operator merged another incident's alerts into this one."""
        values: dict[str, Any] = {":m": members} | ({":f": firing} if firing else {})
        return self._sets(
            incident_id, "ADD member_ids :m" + (", firing_ids :f" if firing else ""), values
        )

    def _sets(self, incident_id: str, update: str, values: dict[str, Any]) -> IncidentState | None:
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=to_item(keys.incident(incident_id)),
            UpdateExpression=update,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_NEW",
        )
        return incident_of(from_item(out["Attributes"])) if out else None

    def open_alone(
        self, incident_id: str, alert_id: str, at: datetime, why: str, ticket: TicketRef
    ) -> None:
        """An incident of one alert under no grouping key (an alert split out of another,
        on its own ticket): it takes no member."""
        item = keys.incident(incident_id) | {
            "incident_id": incident_id, "grouping_key": "", "rule": "operator",
            "resolve_on": "all", "opener": alert_id, "opened_at": at.isoformat(),
            "member_ids": {alert_id}, "firing_ids": {alert_id}, "newest": alert_id,
            "root": alert_id, "root_height": 0, "why": why[:1000],
            "ticket_id": ticket.id, "ticket_url": ticket.url,
        }  # fmt: skip
        self._conditional("put_item", TableName=self.table, Item=to_item(item),
                          ConditionExpression="attribute_not_exists(pk)")  # fmt: skip

    def claim_root(self, incident_id: str, alert_id: str, height: int) -> bool:
        """Make a member on a deeper dependency (lower `height`) the incident's root, whose
        remediation is the incident's; True when it is (again, for a retry)."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=to_item(keys.incident(incident_id)),
            UpdateExpression="SET root = :a, root_height = :h",
            ConditionExpression="root = :a OR root_height > :h",
            ExpressionAttributeValues=to_item({":a": alert_id, ":h": height}),
        )
        return out is not None

    def resolved_by_clearing(
        self, read: IncidentState, alert_id: str, at: datetime, how: str
    ) -> bool:
        """One write when the incident as read says this member clearing resolves it: the
        member leaves the firing set and the incident is resolved together, on condition
        that what decided it is as read (the firing set, the newest member, not resolved).
        False when it changed meanwhile: the caller clears the member and decides again."""
        if len(read.firing) > FOLD_MAX_FIRING:
            return False  # a condition naming each would grow with the incident: decide after
        values: dict[str, Any] = {":a": {alert_id}, ":at": at.isoformat(), ":how": how[:500],
                                  ":nw": read.newest}  # fmt: skip
        # The set as read: its size and each member (documented functions, not set equality).
        firing = "attribute_not_exists(firing_ids)"  # an empty set is no attribute
        if read.firing:
            values |= {":n": len(read.firing)}
            values |= {f":f{i}": member for i, member in enumerate(read.firing)}
            firing = " AND ".join(
                ["size(firing_ids) = :n"]
                + [f"contains(firing_ids, :f{i})" for i in range(len(read.firing))]
            )
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=to_item(keys.incident(read.incident_id)),
            UpdateExpression="DELETE firing_ids :a SET resolved_at = :at, resolution = :how",
            ConditionExpression=(
                "attribute_exists(pk) AND attribute_not_exists(resolved_at) AND newest = :nw "
                f"AND {firing}"
            ),
            ExpressionAttributeValues=to_item(values),
        )
        return out is not None

    def mark_resolved(self, state: IncidentState, at: datetime, how: str) -> bool:
        """Resolve the incident (once; False when it was already). Its grouping key is
        not written: a member placed under it later is refused by this item's condition
        and opens a new incident that refers to it (one more try, only then)."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=to_item(keys.incident(state.incident_id)),
            UpdateExpression="SET resolved_at = :at, resolution = :how",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(resolved_at)",
            ExpressionAttributeValues=to_item({":at": at.isoformat(), ":how": how[:500]}),
        )
        return out is not None


def incident_of(doc: dict[str, Any]) -> IncidentState:
    """An incident item as the store keeps it (read on its own or with others)."""
    opener = str(doc["opener"])
    members = sorted(doc.get("member_ids") or (), key=lambda a: (a != opener, a))
    return IncidentState(
        incident_id=str(doc["incident_id"]),
        grouping_key=str(doc.get("grouping_key") or ""),
        rule=str(doc.get("rule") or ""),
        resolve_on=str(doc.get("resolve_on") or "all"),
        opener=opener,
        opened_at=datetime.fromisoformat(str(doc["opened_at"])),
        members=tuple(members),
        firing=tuple(a for a in members if a in set(doc.get("firing_ids") or ())),
        newest=str(doc.get("newest") or opener),
        root=str(doc.get("root") or opener),
        root_height=int(doc.get("root_height", 0)),
        why=str(doc.get("why") or ""),
        ticket_id=str(doc["ticket_id"]) if doc.get("ticket_id") else None,
        ticket_url=str(doc["ticket_url"]) if doc.get("ticket_url") else None,
        follows=str(doc["follows"]) if doc.get("follows") else None,
        resolved_at=_at(doc.get("resolved_at")),
        resolution=str(doc.get("resolution") or ""),
        opener_stalled_at=_at(doc.get("opener_stalled_at")),
    )


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None
