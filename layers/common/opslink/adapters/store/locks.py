"""The dedup lock of each alarm (one alert per alarm episode) and the opening of an
alert: claim, lease, link to its ticket and execution (see keys.py). Reading the lock
(the holder, the open alert behind it) is lock_reads.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, cast

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.alert_resolution import LOCK_SAFETY_TTL
from opslink.adapters.store.alerts import _alert_doc
from opslink.adapters.store.chain_seal import chain_pk
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import EventsAlreadyRecorded
from opslink.adapters.store.lock_reads import LockReads, holder_of
from opslink.errors import StoreError
from opslink.incidents import TicketRef
from opslink.journal import EventKind, about
from opslink.lock_holder import (
    DECISION_FIELDS,
    AlarmClearedFirst,
    OpenAlertConflict,
    Placement,
    PlacementRefused,
)
from opslink.models import Alert, Ticket

# How long an OK that found no alert is kept for an ALARM from before it: past Lambda's
# retries (6 hours at most) and the dead-letter queue's 14 days of a redrive.
EARLY_OK_TTL = timedelta(days=15)


def _returning_old(write: object) -> dict[str, Any]:
    """A placement's write, asking for what its item holds should its condition fail."""
    ((op, body),) = cast(dict[str, dict[str, Any]], write).items()
    if "ConditionExpression" not in body:
        return {op: body}
    return {op: body | {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


class DedupLocks(LockReads):
    def open_alert(
        self,
        alert: Alert,
        lease_until: datetime,
        replace: str | None = None,
        previous: dict[str, str] | None = None,
        placement: Placement | None = None,
        replace_cleared: str | None = None,
    ) -> None:
        """Claim the fingerprint. A lock left by a resolved alert is only replaced when
        the caller names it (`replace`), after deciding what the re-fire means for that
        alert's ticket; an OK kept before any ALARM (`remember_early_ok`) only when the
        caller names the time it saw (`replace_cleared`); a conflict always returns the
        current holder. With `placement`
        (the alert's incident, IncidentKeys.opening_placement) its writes go in the same
        transaction and its decision on the lock; PlacementRefused when its conditions
        did not hold (nothing written)."""
        lock = (
            keys.lock(alert.fingerprint)
            | (placement.fields if placement else {})
            | {
                "alert_id": alert.alert_id,
                "transition_at": alert.last_transition_at.isoformat(),
                "lease_until": lease_until.isoformat(),
                "ttl": int((alert.triggered_at + LOCK_SAFETY_TTL).timestamp()),
            }
        )
        opening_events = self.journal.event_writes(
            about(alert, EventKind.ALERT_OPENED, alert.triggered_at, by="alarm")
        )
        placing = [_returning_old(w) for w in (placement.writes if placement else ())]
        first_placing = 2 + len(opening_events)
        try:
            self.journal.sealed_transact(
                [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _to_item(
                                lock
                                | {"st": "open"}
                                | {f"previous_{k}": v for k, v in (previous or {}).items()}
                            ),
                            **self._open_condition(replace, replace_cleared),
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _to_item(
                                _alert_doc(alert)
                                | {
                                    "lease_until": lease_until.isoformat(),
                                    "followups": alert.followups or 0,
                                }
                            ),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    *opening_events,
                    *placing,
                ],
                # The alert's put is conditional on the alert not existing: its chain
                # cannot either (they are created together), so its head is not read.
                new_chains=[chain_pk(alert.alert_id)],
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            first = reasons[0] if reasons else {}
            if first.get("Code") == "ConditionalCheckFailed":
                item = _from_item(first.get("Item") or {})
                if not item:  # emulators that omit the item: read it
                    item = self._lock(alert.fingerprint) or {}
                raise OpenAlertConflict(holder_of(item)) from None
            refused = [r for r in reasons[first_placing : first_placing + len(placing)]
                       if r.get("Code") == "ConditionalCheckFailed"]  # fmt: skip
            if refused:
                raise PlacementRefused(tuple(r.get("Item") or {} for r in refused)) from None
            if placing and any(r.get("Code") == "TransactionConflict" for r in reasons):
                # another alert of the key wrote at that moment: open, then place (it retries)
                raise PlacementRefused(()) from None
            raise StoreError(f"DynamoDB could not open alert {alert.alert_id}: {exc}") from exc

    @staticmethod
    def _open_condition(replace: str | None, cleared: str | None = None) -> dict[str, Any]:
        if cleared is not None:
            return {
                "ConditionExpression": "attribute_not_exists(pk) OR (st = :cleared AND ok_at = :seen)",
                "ExpressionAttributeValues": _to_item({":cleared": "cleared", ":seen": cleared}),
            }
        if replace is None:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        return {
            "ConditionExpression": "attribute_not_exists(pk) OR (st = :resolved AND alert_id = :prev)",
            "ExpressionAttributeValues": _to_item({":resolved": "resolved", ":prev": replace}),
        }

    def remember_early_ok(self, fingerprint: str, at: datetime, facts: dict[str, str]) -> bool:
        """Keep an OK that found no open alert on the alarm's lock: a new lock (`st`
        cleared) when the alarm has none, or beside a resolved alert when the OK is later
        than its resolution — unless a later OK is kept already. An ALARM from before it,
        delivered after it (out of order, or retried late), then opens its alert already
        cleared instead of leaving it open for good (`replace_cleared`, ingest/alarm.py)."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.lock(fingerprint)),
            UpdateExpression="SET st = if_not_exists(st, :cleared), ok_at = :at, ok_facts = :f, "
            "#ttl = if_not_exists(#ttl, :ttl)",
            ConditionExpression="attribute_not_exists(pk) OR ((st = :cleared OR (st = :resolved "
            "AND resolved_at < :at)) AND (attribute_not_exists(ok_at) OR ok_at < :at))",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues=_to_item({
                ":cleared": "cleared", ":resolved": "resolved", ":at": at.isoformat(),
                ":f": json.dumps(facts), ":ttl": int((at + EARLY_OK_TTL).timestamp()),
            }),
        )  # fmt: skip
        return out is not None

    def release_lease(self, alert: Alert, now: datetime) -> None:
        """Give the lease up at once (the delivery failed): its retry continues the work."""
        self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.lock(alert.fingerprint)),
            UpdateExpression="SET lease_until = :now",
            ConditionExpression="alert_id = :id AND attribute_not_exists(ticket_id)",
            ExpressionAttributeValues=_to_item({":now": now.isoformat(), ":id": alert.alert_id}),
        )

    def take_lease(self, alert: Alert, now: datetime, lease_until: datetime) -> bool:
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.lock(alert.fingerprint)),
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="alert_id = :id AND lease_until <= :now",
            ExpressionAttributeValues=_to_item(
                {
                    ":until": lease_until.isoformat(),
                    ":now": now.isoformat(),
                    ":id": alert.alert_id,
                }
            ),
        )
        return out is not None

    def link_opened(
        self,
        alert: Alert,
        ticket: Ticket | TicketRef,
        execution_name: str | None,
        new_ticket: bool = True,
        member: bool = False,
    ) -> None:
        """One transaction: ticket and execution on the alert and its lock, links both ways;
        The ticket-created event (and its KPI count) only for a ticket that was created,
        not for a reopened one.
        Without an execution (the alarm cleared before the ticket existed: nothing to
        remediate), the ticket alone. With an execution, an OK kept on the alert meanwhile
        (pending_ok) refuses the link: AlarmClearedFirst, the opening resolves instead.
        An incident's opener makes its ticket the incident's; a member (linked to the
        incident's ticket, no execution) is refused by a kept OK the same way, and its
        lock says whose member it is (a redelivery then finds it finished). The alert's
        incident decision (kept on the lock until now) is written on the alert with it."""
        ticket_key = keys.ticket_ref(ticket.provider, ticket.id)
        alert_key = keys.alert_pk(alert.alert_id)
        link = {
            "alert_id": alert.alert_id,
            "ticket_id": ticket.id,
            "provider": ticket.provider,
            "execution_name": execution_name,
            "linked_at": alert.triggered_at.isoformat(),
        }
        values = _to_item({":t": ticket.id, ":e": execution_name or "", ":a": alert.alert_id,
                           ":m": alert.incident_id or ""})  # fmt: skip
        sets = "SET ticket_id = :t" + (", execution_name = :e" if execution_name else "")
        own = {k: values[k] for k in ((":t", ":e") if execution_name else (":t",))}
        lock_sets, lock_values = sets, own
        decision = {k: getattr(alert, k) for k in DECISION_FIELDS if getattr(alert, k)}
        alert_sets = sets + "".join(f", {k} = :{k}" for k in decision)
        alert_values = own | _to_item({f":{k}": v for k, v in decision.items()})
        if member:
            lock_sets, lock_values = f"{sets}, member_of = :m", own | {":m": values[":m"]}
        alert_update: dict[str, Any] = {
            "TableName": self.table,
            "Key": _to_item({"pk": alert_key, "sk": "ALERT"}),
            "UpdateExpression": f"{alert_sets} REMOVE lease_until",
            "ExpressionAttributeValues": alert_values,
        }
        if execution_name or member:
            alert_update["ConditionExpression"] = "attribute_not_exists(pending_ok)"
        created = about(alert, EventKind.TICKET_CREATED, alert.triggered_at, key=ticket.id)
        items = [
            {"Update": alert_update},
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _to_item(keys.lock(alert.fingerprint)),
                    "UpdateExpression": lock_sets,
                    "ConditionExpression": "alert_id = :a",
                    "ExpressionAttributeValues": lock_values | {":a": values[":a"]},
                }
            },
            *self._incident_ticket(alert, ticket),
            *self._both_ways(alert_key, ticket_key, link),
            *(
                self._both_ways(alert_key, keys.execution_ref(execution_name), link)
                if execution_name
                else []
            ),
            *(self.journal.event_writes(created) if new_ticket else []),
            *self._incident_event(alert),
        ]
        try:
            self.journal.transact(items, f"link alert {alert.alert_id}")
        except EventsAlreadyRecorded:
            return  # applied before: its answer was lost
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            cleared = reasons and reasons[0].get("Code") == "ConditionalCheckFailed"
            if (execution_name or member) and cleared:
                raise AlarmClearedFirst(alert.alert_id) from None
            raise StoreError(f"DynamoDB could not link alert {alert.alert_id}: {exc}") from exc

    def _incident_event(self, alert: Alert) -> list[Any]:
        """The correlation decision in the journal, with the alert's link: joined (counted:
        alerts per incident), or opened after refusing to join a resolved or expired
        incident (journal only: the ticket's creation counts in the same transaction)."""
        if alert.incident_id is None or alert.incident_role not in ("opened", "joined"):
            return []
        joined = alert.incident_role == "joined"
        if not joined and "a new incident refers to" not in (alert.incident_why or ""):
            return []  # an opening that refused no incident: alert_opened says it all
        kind = EventKind.INCIDENT_JOINED if joined else EventKind.INCIDENT_OPENED
        event = about(alert, kind, alert.triggered_at, key=alert.incident_id, counted=joined,
                      why=alert.incident_why or "", detail={"incident": alert.incident_id})  # fmt: skip
        return self.journal.event_writes(event)

    def _incident_ticket(self, alert: Alert, ticket: Ticket | TicketRef) -> list[Any]:
        """An incident's opener: its ticket becomes the incident's (members link to it)."""
        incident_id = alert.incident_id
        if incident_id is None or alert.incident_role != "opened":
            return []
        values = {":t": ticket.id} | ({":u": ticket.url} if ticket.url else {})
        sets = "SET ticket_id = :t" + (", ticket_url = :u" if ticket.url else "")
        return [{"Update": {"TableName": self.table, "Key": _to_item(keys.incident(incident_id)),
                            "UpdateExpression": sets, "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": _to_item(values)}}]  # fmt: skip
