"""Reading an alarm's dedup lock: its holder as ingest sees it, the incident decision it
keeps, and the open alert behind it — for an OK, with all the OK decides from."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from opslink.adapters.store import keys
from opslink.adapters.store.alerts import AlertRecords
from opslink.adapters.store.incidents import incident_of
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.outbox import queued_in
from opslink.adapters.store.reliability import history_of
from opslink.lock_holder import DECISION_FIELDS, LockHolder
from opslink.ports.store import ClearingRead, NoOpenAlert


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def holder_of(item: dict[str, Any]) -> LockHolder:
    """The lock item as ingest needs it; `st` and the `previous_*` attributes stay here."""
    previous = {
        k.removeprefix("previous_"): str(v) for k, v in item.items() if k.startswith("previous_")
    }
    cleared = None
    if item.get("ok_at"):  # an OK kept that found no open alert (locks.remember_early_ok)
        facts = json.loads(str(item.get("ok_facts") or "{}"))
        cleared = {str(k): str(v) for k, v in facts.items()} | {"at": str(item.get("ok_at"))}
    return LockHolder(
        alert_id=str(item.get("alert_id", "")),
        cleared=cleared,
        resolved=item.get("st") == "resolved",
        resolved_at=_when(item.get("resolved_at")),
        ticket_id=str(item["ticket_id"]) if item.get("ticket_id") else None,
        execution_name=str(item["execution_name"]) if item.get("execution_name") else None,
        member_of=str(item["member_of"]) if item.get("member_of") else None,
        incident={k: str(item[k]) for k in DECISION_FIELDS if item.get(k)} or None,
        lease_until=_when(item.get("lease_until")),
        previous=previous or None,
    )


class LockReads(AlertRecords):
    def _lock(self, fp: str) -> dict[str, Any] | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.lock(fp)),
            ConsistentRead=True,
        )
        return _from_item(out["Item"]) if "Item" in out else None

    def lock_holder(self, fingerprint: str) -> LockHolder | None:
        """The alarm's lock as ingest reads it (None: no lock)."""
        item = self._lock(fingerprint)
        return holder_of(item) if item else None

    def find_open_to_clear(
        self, fingerprint: str, with_incident: bool = True
    ) -> ClearingRead | NoOpenAlert:
        """The alarm's open alert with its chain head (the change that follows seals its
        event without a read), flap history, ticket's outbox count and (`with_incident`)
        its incident: lock, BatchGetItem."""
        lock = self._lock(fingerprint)
        if not lock or lock.get("st") in ("resolved", "cleared"):
            return NoOpenAlert(_when((lock or {}).get("resolved_at")),
                               _when((lock or {}).get("ok_at")))  # fmt: skip
        ticket_id = str(lock.get("ticket_id") or "")  # the lock names it once it is linked
        incident_id = str(lock.get("incident_id") or "") if with_incident else ""  # on the lock
        also = (keys.flap(fingerprint),) + ((keys.outbox_count(ticket_id),) if ticket_id else ())
        also += (keys.incident(incident_id),) if incident_id else ()
        alert, items = self._read_for_change(str(lock["alert_id"]), also)
        if alert is None:
            return NoOpenAlert()
        by_sk = {str(d.get("sk")): d for d in items}
        empty = (
            bool(ticket_id)
            and alert.ticket_id == ticket_id
            and not queued_in(by_sk.get("QUEUED", {}))
        )
        found = by_sk.get("INCIDENT")
        incident = incident_of(found) if found and alert.incident_id == incident_id else None
        return ClearingRead(alert, history_of(by_sk.get("FLAP", {})), empty, incident)
