"""The remediation ledger: launched jobs and their links, approval tokens and the
verified-fix record of each runbook (see keys.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import EventsAlreadyRecorded, JournalRecords
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent


class RemediationLedger(JournalRecords):
    def link_job(
        self,
        alert_id: str,
        job: dict[str, Any],
        event: LifecycleEvent | None = None,
        first_launch: bool = False,
    ) -> None:
        """alert → job and job → alert, keyed by the launch's idempotency key; with
        `event`, the launch's journal event in the same transaction."""
        job_key = keys.job_ref(job["platform"], job["job_id"])
        item = {
            "alert_id": alert_id,
            "job": json.dumps(job),
            "idempotency_key": job["idempotency_key"],
        }
        items = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _to_item(keys.launch(alert_id, job["idempotency_key"]) | item),
                }
            },
            *self._both_ways(keys.alert_pk(alert_id), job_key, item),
            *(self.event_writes(event, first_launch) if event else []),
        ]
        try:
            self.transact(items, f"link job of {alert_id}")
        except EventsAlreadyRecorded:
            return
        except ClientError as exc:
            raise StoreError(f"DynamoDB could not link the job of {alert_id}: {exc}") from exc

    def set_approval_token(self, alert_id: str, token: str) -> None:
        self._call(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="SET approval_token = :t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=_to_item({":t": token}),
        )

    def approval_token(self, alert_id: str) -> str | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            ProjectionExpression="approval_token",
            ConsistentRead=True,
        )
        value = _from_item(out.get("Item") or {}).get("approval_token")
        return str(value) if value else None

    def launched_jobs(self, alert_id: str) -> list[dict[str, Any]]:
        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :l)",
            ExpressionAttributeValues=_to_item(
                {":p": keys.alert_pk(alert_id), ":l": keys.LAUNCH_PREFIX}
            ),
        )
        return [json.loads(_from_item(i)["job"]) for i in out.get("Items", [])]

    def runbook_stats(
        self, runbooks: list[str], alert_type: str, service: str, environment: str
    ) -> dict[str, tuple[int, int]]:
        """Verified fixes and misses per runbook for this (alert type, service, environment)."""
        if not runbooks:
            return {}
        wanted = [
            _to_item(keys.runbook_stats(r, alert_type, service, environment))
            for r in runbooks[:100]
        ]
        out = self._call(
            "batch_get_item", RequestItems={self.table: {"Keys": wanted, "ConsistentRead": True}}
        )
        stats: dict[str, tuple[int, int]] = {}
        for item in out.get("Responses", {}).get(self.table, []):
            doc = _from_item(item)
            stats[str(doc["pk"]).removeprefix(keys.STATS_PREFIX)] = (
                int(doc.get("fixes", 0)),
                int(doc.get("misses", 0)),
            )
        return stats

    def record_runbook_outcome(
        self,
        runbook: str,
        alert_type: str,
        service: str,
        environment: str,
        fixed: bool,
        at: datetime,
        event: LifecycleEvent | None = None,
    ) -> None:
        """One atomic ADD when a run ends; only a verified fix counts as a fix. With
        `event` (the run's outcome) in one transaction, a retried outcome counts once."""
        update = {
            "TableName": self.table,
            "Key": _to_item(keys.runbook_stats(runbook, alert_type, service, environment)),
            "UpdateExpression": "ADD #c :one, runs :one SET last_run_at = :at",
            "ExpressionAttributeNames": {"#c": "fixes" if fixed else "misses"},
            "ExpressionAttributeValues": _to_item({":one": 1, ":at": at.isoformat()}),
        }
        if event is None:
            self._call("update_item", **update)
            return
        try:
            self.transact([{"Update": update}, *self.event_writes(event)], f"outcome of {runbook}")
        except EventsAlreadyRecorded:
            return
        except ClientError as exc:
            raise StoreError(f"DynamoDB could not record the outcome of {runbook}: {exc}") from exc
