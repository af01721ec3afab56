"""What placing an alert writes, as TransactWriteItems items: the grouping key's item
(an opening's put, conditional on the version read; a join's update, conditional on what
the incident still takes), the incident's item, the alarm links and the decision on the
dedup lock. incident_keys.py decides which, and retries."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from opslink.adapters.store import keys
from opslink.adapters.store.items import to_item
from opslink.lock_holder import DECISION_FIELDS, decision_fields

if TYPE_CHECKING:
    from opslink.correlation import Decision, Grouping, KeyState, Signal

KEEP = timedelta(days=7)  # a key's item and an alarm's link outlive their incident by this


def alarm_links(table: str, s: Signal, incident_id: str, g: Grouping) -> list[dict[str, Any]]:
    """Where this alarm (and, for a composite, each child) is now: a composite or a
    child firing within the window joins it there."""
    until = (s.at + timedelta(seconds=g.window)).isoformat()
    names = [s.alarm_name, *s.children]
    return [
        {"Put": {"TableName": table, "Item": to_item(keys.alarm_link(n) | {
            "alarm": n, "incident_id": incident_id, "until": until,
            "composite": s.alarm_name if n in s.children else None,
            "ttl": int((s.at + KEEP).timestamp())})}}
        for n in dict.fromkeys(names)
    ]  # fmt: skip


def key_put(
    table: str, key: dict[str, Any], g: Grouping, state: KeyState, version: int
) -> dict[str, Any]:
    item = key | {
        "grouping_key": g.key,
        "rule": g.rule,
        "incident_id": state.incident_id,
        "window_until": state.window_until.isoformat(),
        "max_until": state.max_until.isoformat(),
        "resolved": state.resolved,
        "members": state.members,
        "version": version + 1,
        "ttl": int((state.max_until + KEEP).timestamp()),
    }
    put: dict[str, Any] = {"TableName": table, "Item": to_item(item)}
    if version == 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = to_item({":v": version})
    return {"Put": put}


def key_join(table: str, key: dict[str, Any], state: KeyState, s: Signal) -> dict[str, Any]:
    """A member counted on the key and its window extended, on the condition that the
    key's incident still takes it — not on the version: members of a burst joining at
    once never refuse each other (a version each made all but one decide again, and
    a burst of 40 gave up on a third of its alarms). The version still moves, so an
    opening decided on the old one is refused; a window is never shortened."""
    from opslink.correlation import INCIDENT_MEMBERS_MAX

    return {
        "Update": {
            "TableName": table,
            "Key": to_item(key),
            "UpdateExpression": "SET window_until = :w ADD members :one, version :one",
            "ConditionExpression": "incident_id = :id AND resolved = :f "
            "AND window_until >= :at AND max_until >= :at AND window_until <= :w "
            "AND (attribute_not_exists(members) OR members < :max)",
            "ExpressionAttributeValues": to_item({
                ":w": state.window_until.isoformat(), ":one": 1, ":id": state.incident_id,
                ":f": False, ":at": s.at.isoformat(), ":max": INCIDENT_MEMBERS_MAX,
            }),
        }
    }  # fmt: skip


def opening(
    table: str, d: Decision, s: Signal, g: Grouping, verdict: Any, height: int
) -> dict[str, Any]:
    item = keys.incident(d.incident_id) | {
        "incident_id": d.incident_id,
        "grouping_key": g.key,
        "rule": g.rule,
        "resolve_on": g.resolve_on,
        "opener": s.alert_id,
        "opened_at": s.at.isoformat(),
        "member_ids": {s.alert_id},
        "firing_ids": {s.alert_id},
        "newest": s.alert_id,
        "root": s.alert_id,
        "root_height": height,
        "why": d.why,
        **({"follows": verdict.follows} if verdict.follows else {}),
    }
    return {"Put": {"TableName": table, "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(pk)"}}  # fmt: skip


def joining(table: str, d: Decision) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(keys.incident(d.incident_id)),
            "UpdateExpression": "ADD member_ids :a, firing_ids :a SET newest = :id",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(resolved_at)",
            "ExpressionAttributeValues": to_item({":a": {d.alert_id}, ":id": d.alert_id}),
        }
    }


def on_lock(table: str, d: Decision, fingerprint: str, alert_id: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(keys.lock(fingerprint)),
            "UpdateExpression": "SET " + ", ".join(f"{k} = :{k}" for k in DECISION_FIELDS),
            "ConditionExpression": "alert_id = :a",
            "ExpressionAttributeValues": to_item(
                {f":{k}": v for k, v in decision_fields(d).items()} | {":a": alert_id}
            ),
        }
    }
