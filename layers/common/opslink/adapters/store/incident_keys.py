"""Incidents on the OpsLink table: the incident open under each grouping key
(correlation.py) and each incident's own item (incidents.py).

Placing an alert writes once, in one transaction conditional on the key's item as it
was: the key's item (joining extends the window, opening points it at the new incident,
which refers to the one before), the incident's item (a new one, or the member added to
its members and firing sets), the alarm's link and the decision. Usually that
transaction is the alert's opening itself (`opening_placement`: the key assumed to have
no item; refused, it returns the item and `placement_after` decides from it); `place`
reads the key's item first (consistent) and writes on its own — composites, suppressed
alarms, races. Two alerts of one incident delivered at once never open two incidents:
the second transaction fails on the key's condition and that alert decides again on
what the first wrote. The key's item expires a week after the incident's maximum
lifetime, the incident's stays with its alerts.

A member clearing is a set deletion (idempotent: a retried OK changes nothing twice)
that returns the incident as it is now; resolving the incident is conditional, once.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.chain_seal import cancelled_items
from opslink.adapters.store.incident_writes import (
    alarm_links,
    joining,
    key_join,
    key_put,
    on_lock,
    opening,
)
from opslink.adapters.store.incidents import IncidentRecords
from opslink.adapters.store.items import from_item, to_item
from opslink.errors import StoreError
from opslink.lock_holder import Placement

if TYPE_CHECKING:  # imported when an alert is placed: remediate and track never pay for it
    from opslink.correlation import Decision, Grouping, KeyState, Signal

ATTEMPTS = 8
_INCIDENT_ITEM = 0  # its place in the transaction (a resolved incident refuses a member)


class IncidentKeys(IncidentRecords):
    """IncidentStore: grouping keys (here) and incidents (incidents.py) on the OpsLink table."""

    def place(
        self,
        s: Signal,
        g: Grouping,
        new_incident_id: str,
        lock_of: tuple[str, str] | None = None,
        height: int = 0,
    ) -> Decision:
        """Join the incident open under the alert's key (or the one its composite alarm,
        or a child of it, is in), or open `new_incident_id`; with `lock_of` (the alarm's
        fingerprint and alert), the decision is written on its dedup lock as well (a small
        item: a redelivery reads it there with the lock it reads anyway). `height`: the alert's service's
        dependency levels (its root: the lowest)."""
        from opslink.correlation import Decision

        if g.key is None:
            return Decision(s.alert_id, new_incident_id, False, g.rule, None, g.why, alone=True)
        key = keys.incident_key(g.key)
        closed: set[str] = set()  # incidents that refused a member: resolved meanwhile
        for attempt in range(ATTEMPTS):
            doc, links = self._read(key, s)
            decided = self._decide(s, g, new_incident_id, height, doc, links, closed)
            if isinstance(decided, Decision):  # nothing to write
                return decided
            decision, writes = decided
            if lock_of is not None:
                writes.append(on_lock(self.table, decision, *lock_of))
            try:
                self._call("transact_write_items", TransactItems=writes)
            except ClientError as exc:  # another alert of this key wrote first: decide again
                failed, _ = cancelled_items(exc)
                if decision.joined and _INCIDENT_ITEM in failed:
                    closed.add(decision.incident_id)
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 (jitter)
                continue
            return decision
        raise StoreError(f"grouping key {g.key!r}: {ATTEMPTS} concurrent changes, giving up")

    def opening_placement(
        self, s: Signal, g: Grouping, new_incident_id: str, height: int = 0
    ) -> Placement | None:
        """The placement of an alert whose key has no item yet, to write with its opening
        (no read): it opens `new_incident_id` and registers it under the key. Conditional
        on the key having no item and, for a plain alarm, on no composite holding its
        link — else the opening is refused with what they hold (`placement_after`). None
        where a read must decide first (a composite, a suppressed alarm, no key, a state
        that opens no incident)."""
        if g.key is None or not g.creates or s.children or s.suppressor:
            return None
        decided = self._decide(s, g, new_incident_id, height, {}, {}, set())
        if not isinstance(decided, tuple):
            return None
        decision, writes = decided
        if g.composite_links:  # the alarm's own link: refused while a composite holds it
            link = writes[-1]["Put"]
            link["ConditionExpression"] = "attribute_not_exists(composite) OR #u < :at"
            link["ExpressionAttributeNames"] = {"#u": "until"}
            link["ExpressionAttributeValues"] = to_item({":at": s.at.isoformat()})
        return Placement(decision, tuple(writes))

    def placement_after(
        self,
        found: tuple[object, ...],
        s: Signal,
        g: Grouping,
        new_incident_id: str,
        height: int = 0,
    ) -> Placement | None:
        """The placement decided again from what refused `opening_placement` (the key's item,
        the alarm's link, as the refusal returned them): conditional on them as they were.
        None when there is nothing to go on (the caller reads and places as usual)."""
        items = [from_item(cast(dict[str, Any], f)) for f in found if f]
        key = keys.incident_key(str(g.key))
        doc = next((d for d in items if d.get("pk") == key["pk"]), {})
        links = {str(d["alarm"]): d for d in items if d.get("alarm")}
        if not doc and not links:
            return None
        decided = self._decide(s, g, new_incident_id, height, doc, links, set())
        return Placement(decided[0], tuple(decided[1])) if isinstance(decided, tuple) else None

    def _decide(
        self,
        s: Signal,
        g: Grouping,
        new_incident_id: str,
        height: int,
        doc: dict[str, Any],
        links: dict[str, Any],
        closed: set[str],
    ) -> Decision | tuple[Decision, list[dict[str, Any]]]:
        """From the key's item and the alarm links as read: a decision with nothing to
        write (a retried opening, alone), or the decision and its writes."""
        from opslink.correlation import Decision, joined_state, opened_state, under_key

        key = keys.incident_key(str(g.key))
        current = _key_state(doc) if doc else None
        if current is not None and current.incident_id in closed:
            current = replace(current, resolved=True)
        if current is not None and current.incident_id == new_incident_id:
            # A retried opening: its own incident is the key's already.
            return Decision(s.alert_id, new_incident_id, False, g.rule, g.key, g.why)
        linked = _composite_link(s, links, closed) if g.composite_links else None
        if linked is not None:  # a composite and its children: one incident
            decision = Decision(s.alert_id, linked[0], True, "builtin:composite", g.key,
                                linked[1])  # fmt: skip
            writes = [joining(self.table, decision)]
        else:
            verdict = under_key(current, s, g)
            if verdict.joins is None and not verdict.registers:  # alone: nothing to write
                return Decision(s.alert_id, new_incident_id, False, g.rule, g.key,
                                verdict.why, alone=True)  # fmt: skip
            joined = verdict.joins is not None and current is not None
            state = (
                joined_state(current, s, g)
                if joined and current is not None
                else opened_state(new_incident_id, s, g)
            )
            decision = Decision(s.alert_id, state.incident_id, joined, g.rule, g.key,
                                verdict.why)  # fmt: skip
            writes = (
                [joining(self.table, decision), key_join(self.table, key, state, s)]
                if joined
                else [
                    opening(self.table, decision, s, g, verdict, height),
                    key_put(self.table, key, g, state, int(doc.get("version", 0))),
                ]
            )
        return decision, writes + alarm_links(self.table, s, decision.incident_id, g)

    def _read(self, key: dict[str, Any], s: Signal) -> tuple[dict[str, Any], dict[str, Any]]:
        """One consistent read: the key's item, and the alarm links a composite alarm (its
        children's) or any alarm (a composite's link naming it) may join through."""
        names = [*s.children] if s.children else [s.alarm_name]
        names += [s.suppressor] if s.suppressor else []
        wanted = [key, *(keys.alarm_link(n) for n in dict.fromkeys(names))]
        out = self._call("batch_get_item", RequestItems={self.table: {
            "Keys": [to_item(k) for k in wanted], "ConsistentRead": True}})  # fmt: skip
        found = [from_item(i) for i in out.get("Responses", {}).get(self.table, [])]
        doc = next((d for d in found if d["pk"] == key["pk"]), {})
        links = {str(d["alarm"]): d for d in found if d["pk"] != key["pk"]}
        return doc, links

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


def _key_state(doc: dict[str, Any]) -> KeyState:
    from opslink.correlation import KeyState

    return KeyState(
        incident_id=str(doc["incident_id"]),
        window_until=datetime.fromisoformat(str(doc["window_until"])),
        max_until=datetime.fromisoformat(str(doc["max_until"])),
        resolved=bool(doc.get("resolved")),
        members=int(doc.get("members") or 1),  # an item written before the count: from 1
    )


def _composite_link(s: Signal, links: dict[str, Any], closed: set[str]) -> tuple[str, str] | None:
    """The incident a composite alarm joins through a child that fired first, or a child
    through its composite (incident, why); None when no link is open at the alert's time."""
    at = s.at.isoformat()
    held = links.get(s.suppressor) if s.suppressor else None
    if held and str(held.get("incident_id", "")) not in closed and str(held.get("until", "")) >= at:
        incident = str(held["incident_id"])
        return incident, (f"its actions are suppressed by {s.suppressor} (in ALARM): joins "
                          f"{s.suppressor}'s incident {incident}")  # fmt: skip
    for name, link in links.items():
        incident = str(link.get("incident_id", ""))
        if not incident or incident in closed or str(link.get("until", "")) < at:
            continue
        if name == s.suppressor:
            continue
        if s.children and name in s.children:
            return incident, f"composite over {name}: joins {incident}"
        if not s.children and link.get("composite"):
            return incident, f"{name} is part of composite alarm {link['composite']} in {incident}"
    return None
