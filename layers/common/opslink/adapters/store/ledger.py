"""The remediation ledger: launched jobs and their links, approval tokens and the
verified-fix record of each runbook (see keys.py)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.journal import EventsAlreadyRecorded, JournalRecords
from opslink.errors import StoreError
from opslink.journal import LifecycleEvent
from opslink.learning import Evidence, decayed, pooled_prior, week_of


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

    def clear_approval_token(self, alert_id: str) -> None:
        """The decision was taken (the run goes ahead): no longer waiting for a human."""
        self._call(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.alert(alert_id)),
            UpdateExpression="REMOVE approval_token",
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

    def runbook_evidence(
        self,
        runbooks: list[str],
        alert_type: str,
        service: str,
        environment: str,
        now: datetime,
    ) -> dict[str, tuple[float, float, float, float]]:
        """Per runbook: decayed (fixes, misses) in this context, and the prior pooled from
        its record for the same alert type elsewhere (pooled fixes, misses). One Query per
        runbook (its contexts of this alert type)."""
        here = keys.runbook_stats("", alert_type, service, environment)["sk"]
        out: dict[str, tuple[float, float, float, float]] = {}
        for runbook in runbooks[:20]:
            page = self._call(
                "query",
                TableName=self.table,
                KeyConditionExpression="pk = :p AND begins_with(sk, :t)",
                ExpressionAttributeValues=_to_item(
                    {":p": f"{keys.STATS_PREFIX}{runbook}", ":t": f"{alert_type}#"}
                ),
            )
            local, same_env, other_env = Evidence(), [], []
            for raw in page.get("Items", []):
                doc = _from_item(raw)
                evidence = decayed(_weekly(doc), now)
                if doc["sk"] == here:
                    local = evidence
                elif str(doc["sk"]).endswith(f"#{environment}"):
                    same_env.append(evidence)
                else:
                    other_env.append(evidence)
            prior = pooled_prior(same_env or other_env)
            out[runbook] = (local.fixes, local.misses, prior.fixes, prior.misses)
        return out

    def record_job_duration(
        self, platform: str, runbook: str, seconds: float, job_id: str, at: datetime
    ) -> None:
        """A successful run's duration (once per job): the poll schedule plans on them."""
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
        # Lifetime counts, and this week's bucket (learning.py decays old weeks).
        week = f"{'f' if fixed else 'm'}{week_of(at)}"
        update = {
            "TableName": self.table,
            "Key": _to_item(keys.runbook_stats(runbook, alert_type, service, environment)),
            "UpdateExpression": "ADD #c :one, runs :one, #w :one SET last_run_at = :at",
            "ExpressionAttributeNames": {"#c": "fixes" if fixed else "misses", "#w": week},
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


DURATION_TTL = 180 * 86_400


def _weekly(doc: dict[str, Any]) -> dict[int, tuple[int, int]]:
    """The item's weekly buckets (f<week>, m<week>); an item older than the buckets
    counts its lifetime totals in the week of its last run."""
    weeks: dict[int, list[int]] = {}
    for name, value in doc.items():
        if name[:1] in ("f", "m") and name[1:].isdigit():
            weeks.setdefault(int(name[1:]), [0, 0])[0 if name[0] == "f" else 1] += int(value)
    if not weeks and (doc.get("fixes") or doc.get("misses")):
        at = datetime.fromisoformat(str(doc.get("last_run_at")))
        weeks[week_of(at)] = [int(doc.get("fixes", 0)), int(doc.get("misses", 0))]
    return {w: (c[0], c[1]) for w, c in weeks.items()}
