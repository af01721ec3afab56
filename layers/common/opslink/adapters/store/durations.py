"""Job durations: each runbook's successful runs on each platform, as the platform timed
them (the poll schedule plans on them). Items of their own (keys.duration), an object of
its own on the alerts table, composed in wiring.py."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item

DURATION_TTL = 180 * 86_400


class JobDurationRecords(TableBase):
    def record_job_duration(
        self, platform: str, runbook: str, seconds: float, job_id: str, at: datetime
    ) -> None:
        """A successful run's duration (once per job)."""
        self._conditional(
            "put_item",
            TableName=self.table,
            Item=_to_item(
                keys.duration(platform, runbook, at, job_id)
                | {
                    "seconds": Decimal(str(round(seconds, 1))),
                    "ttl": int(at.timestamp()) + DURATION_TTL,
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def job_durations(self, platform: str, runbook: str, limit: int = 20) -> list[float]:
        """The latest successful runs' durations, newest first."""
        page = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": keys.duration_partition(platform, runbook)}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [float(_from_item(i)["seconds"]) for i in page.get("Items", [])]
