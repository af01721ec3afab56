"""An alert's notes, bounded on its item.

Notes are appended to the alert's item (list_append: concurrent writers lose nothing),
but an alert can stay open for days while notes keep coming — an alarm that keeps
passing through INSUFFICIENT_DATA adds one per pass. Unbounded, the item reached
DynamoDB's 400 KB limit after ~900 such passes: from then on every note was refused
(the delivery retried until parked), and each write to the alert cost a write unit per
KB of it, twice with the status index. So the item keeps its newest `NOTES_ON_ALERT`
notes; when a note finds it full, the oldest are moved to an archive item (partition
`NOTES#<alert id>`, list_archive.py) in one transaction with the trimmed list, and
the note is appended again. `alerts show` reads the archive back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from opslink.adapters.list_archive import (
    CAP,
    archive_query,
    archive_writes,
    archived_entries,
    kept_count,
    too_large,
)
from opslink.adapters.store import keys
from opslink.adapters.store.alert_resolution import AlertResolution
from opslink.adapters.store.chain_seal import cancelled_items, is_event
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import EventsAlreadyRecorded
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent
from opslink.scrub import scrub

NOTES_ON_ALERT = CAP  # the newest KEEP stay when archiving (approvals read the latest)
NOTE_TEXT_MAX = 4000


_ATTEMPTS = 5  # each lost race is another writer's note or archive: progress was made


def archive_pk(alert_id: str) -> str:
    return f"NOTES#{alert_id}"


class _NotesFull(Exception):
    """The append was refused for the list's length: `item` as it was (None: archived by
    another writer meanwhile — append again)."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        self.item = item


class AlertNotes(AlertResolution):
    def add_note(
        self,
        alert_id: str,
        text: str,
        at: datetime,
        kind: str = "note",
        event: LifecycleEvent | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Append one note atomically (list_append), so concurrent writers lose nothing;
        with `event`, the lifecycle event it describes goes in the same transaction (a
        retry that finds the event recorded adds nothing); `fields`: alert attributes set
        with it (an operator's ack, assignee, snooze). A full item has its oldest notes
        archived first."""
        note = {"at": at.isoformat(), "kind": kind, "text": scrub(text)[:NOTE_TEXT_MAX]}
        for _ in range(_ATTEMPTS):
            try:
                self._append_note(alert_id, note, kind, event, fields)
                return
            except _NotesFull as full:
                if full.item is not None:
                    self._archive_notes(alert_id, full.item)
            except StoreError as exc:  # fewer notes, but long ones: the item's 400 KB
                item = self._alert_item(alert_id) if too_large(exc) else {}
                notes = list(item.get("notes") or [])
                if len(notes) <= kept_count(notes):
                    raise
                self._archive_notes(alert_id, item)
        raise StoreError(f"alert {alert_id}: note {kind} not added (its notes kept changing)")

    def _append_note(
        self,
        alert_id: str,
        note: dict[str, str],
        kind: str,
        event: LifecycleEvent | None,
        fields: dict[str, str] | None,
    ) -> None:
        sets = "".join(f", #f{i} = :f{i}" for i in range(len(fields or {})))
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": _to_item(keys.alert(alert_id)),
            "UpdateExpression": "SET notes = list_append(if_not_exists(notes, :empty), :n)" + sets,
            "ConditionExpression": "attribute_exists(pk) AND "
            "(attribute_not_exists(notes) OR size(notes) < :cap)",
            "ExpressionAttributeValues": _to_item(
                {":n": [note], ":empty": [], ":cap": NOTES_ON_ALERT}
                | {f":f{i}": v for i, v in enumerate((fields or {}).values())}
            ),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if fields:
            update["ExpressionAttributeNames"] = {f"#f{i}": k for i, k in enumerate(fields)}
        if event is None:
            try:
                self._call("update_item", **update)
            except ClientError as exc:
                self._refused(alert_id, exc.response.get("Item"))
            return
        items = [{"Update": update}, *self.journal.event_writes(event)]
        try:
            self.journal.transact(items, f"note {kind}")
        except EventsAlreadyRecorded:
            return
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            failed, _ = cancelled_items(exc)
            refused = {i for i in failed if reasons[i].get("Code") == "ConditionalCheckFailed"}
            if any("Put" in items[i] and is_event(items[i]["Put"], self.journal_table)
                   for i in refused if i < len(items)):  # fmt: skip
                return  # its event is recorded: this note was added with it before
            if 0 in refused:
                self._refused(alert_id, reasons[0].get("Item"))
            raise StoreError(f"alert {alert_id} not writable: {exc}") from exc

    def _refused(self, alert_id: str, returned: dict[str, Any] | None) -> NoReturn:
        """The append's condition failed: the alert is missing, or its notes are full."""
        item = _from_item(returned) if returned else self._alert_item(alert_id)
        if not item:
            raise StoreError(f"alert {alert_id} not found")
        raise _NotesFull(item if len(item.get("notes") or []) >= NOTES_ON_ALERT else None)

    def _alert_item(self, alert_id: str) -> dict[str, Any]:
        out = self._call(
            "get_item", TableName=self.table, Key=_to_item(keys.alert(alert_id)),
            ConsistentRead=True,
        )  # fmt: skip
        return _from_item(out.get("Item") or {})

    def _archive_notes(self, alert_id: str, item: dict[str, Any]) -> None:
        """The oldest notes to an archive item and the list trimmed, in one transaction
        (list_archive.py); a lost race is left to the caller's next attempt."""
        self._transact(
            archive_writes(
                self.table,
                keys.alert(alert_id),
                "notes",
                "notes_archived",
                item,
                archive_pk(alert_id),
            ),
            f"archive the oldest notes of alert {alert_id}",
        )

    def archived_notes(self, alert_id: str) -> list[dict[str, str]]:
        """The notes moved off the alert's item, oldest first (its `notes` follow)."""
        query = archive_query(self.table, archive_pk(alert_id))
        return archived_entries(list(self._query(**query)), "notes")
