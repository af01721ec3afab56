"""Reading alerts: one alert (with its journal chain's head when a change follows), the
open ones, the newest by status, and an alert's or a ticket's links (see keys.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from opslink.adapters.store import keys
from opslink.adapters.store.chain_seal import CHAIN_SK, chain_pk
from opslink.adapters.store.incidents import incident_of
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import WithJournal
from opslink.incidents import IncidentState
from opslink.models import Alert, AlertStatus
from opslink.ports.records import AlertLink


def _alert_from(doc: dict[str, Any]) -> Alert:
    doc["awaiting_approval"] = bool(doc.pop("approval_token", None))  # never the token itself
    for key in ("notes", "resolution", "dimensions", "pending_ok"):
        if isinstance(doc.get(key), str):
            doc[key] = json.loads(doc[key])
    return Alert.model_validate(doc)


class AlertReads(WithJournal):
    def open_alerts(self) -> Iterator[Alert]:
        for item in self._query(
            TableName=self.table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :s",
            ExpressionAttributeValues=_to_item(
                {":s": keys.status_partition(AlertStatus.OPEN.value)}
            ),
        ):
            yield _alert_from(_from_item(item))

    def get(self, alert_id: str) -> Alert | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            ConsistentRead=True,
        )
        return _alert_from(_from_item(out["Item"])) if "Item" in out else None

    def get_with_incident(
        self, alert_id: str, incident_id: str
    ) -> tuple[Alert | None, IncidentState | None]:
        """The alert and its incident, read together (one consistent BatchGetItem, with
        the chain head the alert's next change seals its event with)."""
        alert, items = self._read_for_change(alert_id, (keys.incident(incident_id),))
        found = next((d for d in items if d.get("sk") == "INCIDENT"), None)
        return alert, (incident_of(found) if found else None)

    def get_for_change(self, alert_id: str) -> Alert | None:
        """The alert, with its journal chain's head read in the same call (BatchGetItem,
        consistent): the change that follows (resolving it) seals its event without a
        read of its own."""
        alert, _ = self._read_for_change(alert_id)
        return alert

    def _read_for_change(
        self, alert_id: str, also: tuple[keys.Key, ...] = ()
    ) -> tuple[Alert | None, list[dict[str, Any]]]:
        """`get_for_change`, with the items at `also` (on the alerts table) read in the same
        consistent BatchGetItem: the alert and those of them that exist."""
        head_key = {"pk": chain_pk(alert_id), "sk": CHAIN_SK}
        wanted: dict[str, Any] = {}  # one table in tests: every key under it
        pairs = [(self.table, keys.alert(alert_id)), (self.journal_table, head_key)]
        for table, key in pairs + [(self.table, k) for k in also]:
            wanted.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(
                _to_item(key)
            )
        out = self._call("batch_get_item", RequestItems=wanted)
        if out.get("UnprocessedKeys"):  # throttled: read them one by one, the head later
            extra = (self._call("get_item", TableName=self.table, Key=_to_item(k),
                                ConsistentRead=True).get("Item") for k in also)  # fmt: skip
            return self.get(alert_id), [_from_item(i) for i in extra if i]
        found = [_from_item(i) for items in out.get("Responses", {}).values() for i in items]
        alert = next((d for d in found if d.get("sk") == "ALERT"), None)
        head = next((d for d in found if d.get("sk") == CHAIN_SK), None)
        self.journal.remember_head(str(head_key["pk"]), head)
        rest = [d for d in found if d is not alert and d is not head]
        return (_alert_from(alert) if alert else None), rest

    def alerts_for_ticket(self, provider: str, ticket_id: str) -> list[str]:
        """Every alert linked to the ticket, the latest last: a reopened ticket served
        each of its alarm's episodes; an incident's ticket serves all its members."""
        links = sorted(
            (_from_item(i) for i in self._query(
                TableName=self.table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues=_to_item({":p": keys.ticket_ref(provider, ticket_id)}),
            )),
            key=lambda d: (str(d.get("linked_at", "")), str(d.get("alert_id", ""))),
        )  # fmt: skip
        return list(
            dict.fromkeys(
                str(d["alert_id"])
                for d in links
                if d.get("alert_id") and d.get("kind") != keys.LEFT_INCIDENT
            )
        )

    def alert_for_ticket(self, provider: str, ticket_id: str) -> str | None:
        """The alert that owns the ticket now: the latest linked to it."""
        ids = self.alerts_for_ticket(provider, ticket_id)
        return ids[-1] if ids else None

    def links(self, alert_id: str) -> list[AlertLink]:
        items = self._query(  # every page: a link missed would be a ticket left open
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": keys.alert_pk(alert_id)}),
            # consistent: a resolver reads the links after its write, a linker the alert
            # after its own; each must see the other's write (ticket_lockstep)
            ConsistentRead=True,
        )
        docs = (_from_item(i) for i in items)
        # the alert itself and its journal events are not links
        return [
            cast(AlertLink, d)
            for d in docs
            if d["sk"] != "ALERT" and not str(d["sk"]).startswith("EVENT#")
        ]

    def list_alerts(self, status: str | None = None, limit: int = 50) -> list[Alert]:
        """The newest alerts, one Query per status partition. An alert resolved between two
        of those queries is in both: it is listed once, as the later query saw it (the
        statuses are read in the order an alert moves through them)."""
        statuses = [status] if status else [s.value for s in AlertStatus]
        by_id: dict[str, Alert] = {}
        for st in statuses:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :s",
                "ExpressionAttributeValues": _to_item({":s": keys.status_partition(st)}),
                "ScanIndexForward": False,
                "Limit": limit,
            }
            seen = 0
            for page in self._pages(**kwargs):  # a page stops at 1 MB (~500 alerts)
                for item in page.get("Items", []):
                    alert = _alert_from(_from_item(item))
                    by_id[alert.alert_id] = alert
                seen += len(page.get("Items", []))
                if seen >= limit:
                    break
        alerts = sorted(by_id.values(), key=lambda a: a.triggered_at, reverse=True)
        return alerts[:limit]
