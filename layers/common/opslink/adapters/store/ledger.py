"""The remediation ledger: launched jobs and their links and approval tokens (see
keys.py); each runbook's verified-fix record is runbook_records.py, job durations
durations.py."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import EventsAlreadyRecorded
from opslink.adapters.store.runbook_records import RunbookRecords
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent

if TYPE_CHECKING:
    from opslink.remediation.payloads import LaunchedJob


class RemediationLedger(RunbookRecords):
    def link_job(
        self,
        alert_id: str,
        job: LaunchedJob,
        event: LifecycleEvent | None = None,
        first_launch: bool = False,
    ) -> None:
        """alert → job and job → alert, keyed by the launch's idempotency key; with
        `event`, the launch's journal event in the same transaction."""
        job_key = keys.job_ref(job.platform, job.job_id)
        item = {
            "alert_id": alert_id,
            "job": json.dumps(job.out()),
            "idempotency_key": job.idempotency_key,
        }
        items = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _to_item(keys.launch(alert_id, job.idempotency_key) | item),
                }
            },
            *self._both_ways(keys.alert_pk(alert_id), job_key, item),
            *(self.journal.event_writes(event, first_launch) if event else []),
        ]
        try:
            self.journal.transact(items, f"link job of {alert_id}")
        except EventsAlreadyRecorded:
            return
        except ClientError as exc:
            raise StoreError(f"DynamoDB could not link the job of {alert_id}: {exc}") from exc

    def set_approval_token(
        self, alert_id: str, token: str, needed: int = 1, runbook: str = ""
    ) -> None:
        """The run waits on `token` for `needed` distinct approvers (step-up: several) of
        `runbook` (chat checks who may approve it)."""
        self._call(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="SET approval_token = :t, approvals_needed = :n"
            + (", approval_runbook = :r" if runbook else " REMOVE approval_runbook"),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=_to_item(
                {":t": token, ":n": needed} | ({":r": runbook} if runbook else {})
            ),
        )

    def approvals_needed(self, alert_id: str) -> int:
        return int(self._alert_attribute(alert_id, "approvals_needed") or 1)

    def _alert_attribute(self, alert_id: str, name: str) -> Any:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            ProjectionExpression=name,
            ConsistentRead=True,
        )
        return _from_item(out.get("Item") or {}).get(name)

    def add_approver(self, alert_id: str, request: str, who: str) -> tuple[str, ...] | None:
        """Count `who` as an approver of request `request` (a key of its token): its
        distinct approvers now (sorted), or None when `who` had approved it already. One
        atomic update, so two people at once are two, each seeing their own count."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="ADD #a :who",
            ConditionExpression="attribute_exists(pk) AND NOT contains(#a, :one)",
            ExpressionAttributeNames={"#a": f"approvers_{request}"},
            ExpressionAttributeValues={":who": {"SS": [who]}, ":one": {"S": who}},
            ReturnValues="UPDATED_NEW",
        )
        if out is None:
            return None
        return tuple(
            sorted(out.get("Attributes", {}).get(f"approvers_{request}", {}).get("SS", []))
        )

    def clear_approval_token(self, alert_id: str) -> None:
        """The decision was taken (the run goes ahead): no longer waiting for a human."""
        self._call(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="REMOVE approval_token",
        )

    def approval_token(self, alert_id: str) -> str | None:
        value = self._alert_attribute(alert_id, "approval_token")
        return str(value) if value else None

    def launched_jobs(self, alert_id: str) -> list[LaunchedJob]:
        from opslink.remediation.payloads import LaunchedJob  # remediation's model only

        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :l)",
            ExpressionAttributeValues=_to_item(
                {":p": keys.alert_pk(alert_id), ":l": keys.LAUNCH_PREFIX}
            ),
        )
        return [
            LaunchedJob.model_validate(json.loads(_from_item(i)["job"]))
            for i in out.get("Items", [])
        ]
