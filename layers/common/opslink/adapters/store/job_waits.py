"""Executions waiting for a job to end: the task token of the wait, keyed by the job, so
a completion event (which names only the job) finds the execution to wake.

One item per job (WAIT | JOB#<platform>#<job id> | WAIT). Whoever wakes the execution
first claims the token with a conditional write; an event and a poll racing, or an event
delivered twice, wake it once. Claimed or not, the item expires with the TTL.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item, to_item
from opslink.ports.records import JsonObject
from opslink.remediation_models import JobWaiter

KEEP = timedelta(days=2)  # past any runbook's timeout: the item is only a pointer


class JobWaits(TableBase):
    """JobWaitRegistry on the OpsLink table."""

    def wait_for_job(
        self,
        platform: str,
        job_id: str,
        alert_id: str,
        token: str,
        request: JsonObject,
        now: datetime,
    ) -> None:
        """Register (or replace, on a retried wait) the execution's token for the job."""
        self._call(
            "put_item",
            TableName=self.table,
            Item=to_item(
                keys.job_wait(platform, job_id)
                | {
                    "alert_id": alert_id,
                    "token": token,
                    "request": json.dumps(request, default=str),
                    "registered_at": now.isoformat(),
                    "ttl": int((now + KEEP).timestamp()),
                }
            ),
        )

    def job_waiter(self, platform: str, job_id: str) -> JobWaiter | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=to_item(keys.job_wait(platform, job_id)),
            ConsistentRead=True,
        )
        item = from_item(out.get("Item") or {})
        if not item.get("token"):
            return None
        return JobWaiter(
            alert_id=str(item["alert_id"]),
            token=str(item["token"]),
            request=json.loads(str(item["request"])),
            claimed=bool(item.get("claimed_by")),
        )

    def claim_job_waiter(self, platform: str, job_id: str, token: str, by: str) -> bool:
        """True for exactly one caller per registered token."""
        return (
            self._conditional(
                "update_item",
                TableName=self.table,
                Key=to_item(keys.job_wait(platform, job_id)),
                UpdateExpression="SET claimed_by = :by",
                ConditionExpression="#token = :t AND attribute_not_exists(claimed_by)",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues=to_item({":t": token, ":by": by}),
            )
            is not None
        )
