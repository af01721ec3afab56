"""AlertStore on one DynamoDB table (single-table design).

Items (pk / sk):
  ALERT#<id>      / ALERT                 the alert (gsi1: STATUS#<status> / <triggered_at>#<id>)
  FP#<fingerprint>/ LOCK                  dedup lock: the alarm's open alert, lease, ticket id
  ALERT#<id>      / TICKET#<prov>#<tid>   alert → ticket link (and the reverse below)
  TICKET#<prov>#<tid> / ALERT#<id>        ticket → alert link
  ALERT#<id>      / EXECUTION#<name>      alert → remediation execution (and the reverse)
  COUNTER#<day>   / <name>                daily counters for the metrics function
  REJECTED#<day>  / <time>#<n>            rejected input with its reason (expires after 30 days)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.adapters.store.reliability import ReliabilityRecords
from opslink.errors import StoreError
from opslink.models import Alert, AlertStatus, Ticket
from opslink.ports import OpenAlertConflict

_ser = TypeSerializer()
_de = TypeDeserializer()
REJECTION_TTL = timedelta(days=30)
LOCK_SAFETY_TTL = timedelta(days=30)


def _day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def _alert_doc(alert: Alert) -> dict[str, Any]:
    doc = json.loads(alert.model_dump_json())
    # DynamoDB has no float without Decimal; keep nested values as JSON text.
    doc["resolution"] = json.dumps(doc["resolution"])
    doc["dimensions"] = json.dumps(doc["dimensions"])
    return {
        "pk": f"ALERT#{alert.alert_id}",
        "sk": "ALERT",
        "gsi1pk": f"STATUS#{alert.status.value}",
        "gsi1sk": f"{alert.triggered_at.isoformat()}#{alert.alert_id}",
        **doc,
    }


def _alert_from(doc: dict[str, Any]) -> Alert:
    for key in ("notes", "resolution", "dimensions"):
        if isinstance(doc.get(key), str):
            doc[key] = json.loads(doc[key])
    return Alert.model_validate(doc)


class DynamoAlertStore(ReliabilityRecords):
    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _call(self, op: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, op)(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError) and exc.response["Error"]["Code"] in (
                "ConditionalCheckFailedException",
                "TransactionCanceledException",
            ):
                raise
            raise StoreError(f"DynamoDB {op} on {self.table} failed: {exc}") from exc

    def _conditional(self, op: str, **kwargs: Any) -> Any | None:
        """A conditional write: its response, or None when the condition did not hold
        (`_call` turns every other failure into a StoreError)."""
        try:
            return self._call(op, **kwargs)
        except ClientError:
            return None

    # -- alerts ------------------------------------------------------------------

    def open_alert(
        self,
        alert: Alert,
        lease_until: datetime,
        replace: str | None = None,
        previous: dict[str, str] | None = None,
    ) -> None:
        """Claim the fingerprint. A lock left by a resolved alert is only replaced when
        the caller names it (`replace`), after deciding what the re-fire means for that
        alert's ticket; a conflict always returns the current holder."""
        lock = {
            "pk": f"FP#{alert.fingerprint}",
            "sk": "LOCK",
            "alert_id": alert.alert_id,
            "transition_at": alert.last_transition_at.isoformat(),
            "lease_until": lease_until.isoformat(),
            "ttl": int((alert.triggered_at + LOCK_SAFETY_TTL).timestamp()),
        }
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _to_item(
                                lock
                                | {"st": "open"}
                                | {f"previous_{k}": v for k, v in (previous or {}).items()}
                            ),
                            **self._open_condition(replace),
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _to_item(
                                _alert_doc(alert) | {"lease_until": lease_until.isoformat()}
                            ),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    self._counter_update("alerts_opened", alert.triggered_at),
                ],
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            first = reasons[0] if reasons else {}
            if first.get("Code") == "ConditionalCheckFailed":
                holder = _from_item(first.get("Item") or {})
                if not holder:  # emulators that omit the item: read it
                    holder = self._lock(alert.fingerprint) or {}
                raise OpenAlertConflict(holder) from None
            raise StoreError(f"DynamoDB could not open alert {alert.alert_id}: {exc}") from exc

    @staticmethod
    def _open_condition(replace: str | None) -> dict[str, Any]:
        if replace is None:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        return {
            "ConditionExpression": "attribute_not_exists(pk) OR (st = :resolved AND alert_id = :prev)",
            "ExpressionAttributeValues": _to_item({":resolved": "resolved", ":prev": replace}),
        }

    def _lock(self, fp: str) -> dict[str, Any] | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item({"pk": f"FP#{fp}", "sk": "LOCK"}),
            ConsistentRead=True,
        )
        return _from_item(out["Item"]) if "Item" in out else None

    def _counter_update(self, name: str, at: datetime, by: int = 1) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": _to_item({"pk": f"COUNTER#{_day(at)}", "sk": name}),
                "UpdateExpression": "ADD #v :n",
                "ExpressionAttributeNames": {"#v": "value"},
                "ExpressionAttributeValues": {":n": {"N": str(by)}},
            }
        }

    def release_lease(self, alert: Alert, now: datetime) -> None:
        """Give the lease up at once (the delivery failed): its retry continues the work."""
        self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item({"pk": f"FP#{alert.fingerprint}", "sk": "LOCK"}),
            UpdateExpression="SET lease_until = :now",
            ConditionExpression="alert_id = :id AND attribute_not_exists(ticket_id)",
            ExpressionAttributeValues=_to_item({":now": now.isoformat(), ":id": alert.alert_id}),
        )

    def take_lease(self, alert: Alert, now: datetime, lease_until: datetime) -> bool:
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item({"pk": f"FP#{alert.fingerprint}", "sk": "LOCK"}),
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="alert_id = :id AND lease_until < :now",
            ExpressionAttributeValues=_to_item(
                {
                    ":until": lease_until.isoformat(),
                    ":now": now.isoformat(),
                    ":id": alert.alert_id,
                }
            ),
        )
        return out is not None

    def _both_ways(self, a: str, b: str, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """A link as two items, so each side finds the other with one query."""
        return [
            {"Put": {"TableName": self.table, "Item": _to_item({"pk": a, "sk": b} | attrs)}},
            {"Put": {"TableName": self.table, "Item": _to_item({"pk": b, "sk": a} | attrs)}},
        ]

    def link_opened(
        self, alert: Alert, ticket: Ticket, execution_name: str, new_ticket: bool = True
    ) -> None:
        """One transaction: ticket and execution on the alert and its lock, links both ways;
        `tickets_created` counts only a ticket that was created (not a reopened one)."""
        ticket_key = f"TICKET#{ticket.provider}#{ticket.id}"
        exec_key = f"EXECUTION#{execution_name}"
        alert_key = f"ALERT#{alert.alert_id}"
        link = {
            "alert_id": alert.alert_id,
            "ticket_id": ticket.id,
            "provider": ticket.provider,
            "execution_name": execution_name,
            "linked_at": alert.triggered_at.isoformat(),
        }
        values = _to_item({":t": ticket.id, ":e": execution_name, ":a": alert.alert_id})
        self._call(
            "transact_write_items",
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _to_item({"pk": alert_key, "sk": "ALERT"}),
                        "UpdateExpression": "SET ticket_id = :t, execution_name = :e REMOVE lease_until",
                        "ExpressionAttributeValues": {k: values[k] for k in (":t", ":e")},
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _to_item({"pk": f"FP#{alert.fingerprint}", "sk": "LOCK"}),
                        "UpdateExpression": "SET ticket_id = :t, execution_name = :e",
                        "ConditionExpression": "alert_id = :a",
                        "ExpressionAttributeValues": values,
                    }
                },
                *self._both_ways(alert_key, ticket_key, link),
                *self._both_ways(alert_key, exec_key, link),
                *(
                    [self._counter_update("tickets_created", alert.triggered_at)]
                    if new_ticket
                    else []
                ),
            ],
        )

    def record_refire(self, alert_id: str, at: datetime) -> Alert | None:
        """Count an ALARM transition newer than the alert's last one; None if it is not
        newer (a duplicate or late delivery), so nothing is counted twice."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item({"pk": f"ALERT#{alert_id}", "sk": "ALERT"}),
            UpdateExpression="ADD occurrences :one SET last_transition_at = :at",
            ConditionExpression="#s = :open AND last_transition_at < :at",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_to_item(
                {":one": 1, ":at": at.isoformat(), ":open": AlertStatus.OPEN.value}
            ),
            ReturnValues="ALL_NEW",
        )
        if out is None:
            return None
        return _alert_from(_from_item(out["Attributes"]))

    def claim_comment(self, alert_id: str, previous: datetime | None, now: datetime) -> bool:
        """Take the alert's re-fire comment slot; False if a concurrent delivery took it."""
        return self.claim_slot(alert_id, "last_comment_at", previous, now)

    def claim_slot(
        self, alert_id: str, slot: str, previous: datetime | None, now: datetime
    ) -> bool:
        """Set a once-per-period timestamp on the alert only if nobody moved it since we
        read it (conditional write), so two concurrent workers never both act."""
        condition = "attribute_not_exists(#f)" if previous is None else "#f = :prev"
        values = {":now": now.isoformat()} | ({":prev": previous.isoformat()} if previous else {})
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item({"pk": f"ALERT#{alert_id}", "sk": "ALERT"}),
            UpdateExpression="SET #f = :now",
            ConditionExpression=f"attribute_exists(pk) AND {condition}",
            ExpressionAttributeNames={"#f": slot},
            ExpressionAttributeValues=_to_item(values),
        )
        return out is not None

    def open_alerts(self) -> Iterator[Alert]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :s",
            "ExpressionAttributeValues": _to_item({":s": f"STATUS#{AlertStatus.OPEN.value}"}),
        }
        while True:
            out = self._call("query", **kwargs)
            for item in out.get("Items", []):
                yield _alert_from(_from_item(item))
            if "LastEvaluatedKey" not in out:
                return
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def resolve(self, alert: Alert, resolution: dict[str, str], at: datetime) -> bool:
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _to_item({"pk": f"ALERT#{alert.alert_id}", "sk": "ALERT"}),
                            "UpdateExpression": "SET #s = :r, gsi1pk = :g, resolved_at = :at, resolution = :res",
                            "ConditionExpression": "#s = :open",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": _to_item(
                                {
                                    ":r": AlertStatus.RESOLVED.value,
                                    ":g": f"STATUS#{AlertStatus.RESOLVED.value}",
                                    ":at": at.isoformat(),
                                    ":res": json.dumps(resolution),
                                    ":open": AlertStatus.OPEN.value,
                                }
                            ),
                        }
                    },
                    {
                        # The lock stays as the alarm's last episode: a re-fire within the
                        # reopen window reopens this ticket, a later one links to it.
                        "Update": {
                            "TableName": self.table,
                            "Key": _to_item({"pk": f"FP#{alert.fingerprint}", "sk": "LOCK"}),
                            "UpdateExpression": "SET st = :resolved, resolved_at = :at, alert_id = :a, #ttl = :ttl"
                            + (", ticket_id = :t" if alert.ticket_id else ""),
                            "ConditionExpression": "attribute_not_exists(pk) OR alert_id = :a",
                            "ExpressionAttributeNames": {"#ttl": "ttl"},
                            "ExpressionAttributeValues": _to_item(
                                {
                                    ":resolved": "resolved",
                                    ":at": at.isoformat(),
                                    ":a": alert.alert_id,
                                    ":ttl": int((at + LOCK_SAFETY_TTL).timestamp()),
                                }
                                | ({":t": alert.ticket_id} if alert.ticket_id else {})
                            ),
                        }
                    },
                    self._counter_update("alerts_resolved", at),
                ],
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise StoreError(f"DynamoDB could not resolve alert {alert.alert_id}: {exc}") from exc

    def add_note(self, alert_id: str, text: str, at: datetime, kind: str = "note") -> None:
        """Append one note atomically (list_append), so concurrent writers lose nothing."""
        note = {"at": at.isoformat(), "kind": kind, "text": text[:4000]}
        added = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item({"pk": f"ALERT#{alert_id}", "sk": "ALERT"}),
            UpdateExpression="SET notes = list_append(if_not_exists(notes, :empty), :n)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=_to_item({":n": [note], ":empty": []}),
        )
        if added is None:
            raise StoreError(f"alert {alert_id} not found")

    def get(self, alert_id: str) -> Alert | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item({"pk": f"ALERT#{alert_id}", "sk": "ALERT"}),
            ConsistentRead=True,
        )
        return _alert_from(_from_item(out["Item"])) if "Item" in out else None

    def find_open(self, fingerprint: str) -> Alert | None:
        lock = self._lock(fingerprint)
        if not lock or lock.get("st") == "resolved":
            return None
        return self.get(str(lock["alert_id"]))

    def alert_for_ticket(self, provider: str, ticket_id: str) -> str | None:
        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": f"TICKET#{provider}#{ticket_id}"}),
        )
        # A reopened ticket is linked to each alert it served: the latest one owns it now.
        links = sorted(
            (_from_item(i) for i in out.get("Items") or []),
            key=lambda d: str(d.get("linked_at", "")),
        )
        return str(links[-1]["alert_id"]) if links else None

    def links(self, alert_id: str) -> list[dict[str, Any]]:
        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": f"ALERT#{alert_id}"}),
        )
        return [_from_item(i) for i in out.get("Items", []) if _from_item(i)["sk"] != "ALERT"]

    def list_alerts(self, status: str | None = None, limit: int = 50) -> list[Alert]:
        statuses = [status] if status else [s.value for s in AlertStatus]
        alerts: list[Alert] = []
        for st in statuses:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :s",
                "ExpressionAttributeValues": _to_item({":s": f"STATUS#{st}"}),
                "ScanIndexForward": False,
                "Limit": limit,
            }
            out = self._call("query", **kwargs)
            alerts += [_alert_from(_from_item(i)) for i in out.get("Items", [])]
        alerts.sort(key=lambda a: a.triggered_at, reverse=True)
        return alerts[:limit]

    def record_rejection(self, source: str, reason: str, excerpt: str, at: datetime) -> None:
        self._call(
            "transact_write_items",
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _to_item(
                            {
                                "pk": f"REJECTED#{_day(at)}",
                                "sk": f"{at.isoformat()}#{uuid.uuid4().hex[:8]}",
                                "source": source[:500],
                                "reason": reason[:2000],
                                "excerpt": excerpt[:2000],
                                "ttl": int((at + REJECTION_TTL).timestamp()),
                            }
                        ),
                    }
                },
                self._counter_update("records_rejected", at),
            ],
        )

    def rejections(self, day: datetime) -> list[dict[str, Any]]:
        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": f"REJECTED#{_day(day)}"}),
        )
        return [_from_item(i) for i in out.get("Items", [])]

    # -- remediation: job links, follow-up tickets, runbook outcome stats ---------------

    def link_job(self, alert_id: str, job: dict[str, Any]) -> None:
        """alert → job and job → alert, keyed by the launch's idempotency key."""
        job_key = f"JOB#{job['platform']}#{job['job_id']}"
        item = {
            "alert_id": alert_id,
            "job": json.dumps(job),
            "idempotency_key": job["idempotency_key"],
        }
        self._call(
            "transact_write_items",
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _to_item(
                            {"pk": f"ALERT#{alert_id}", "sk": f"LAUNCH#{job['idempotency_key']}"}
                            | item
                        ),
                    }
                },
                *self._both_ways(f"ALERT#{alert_id}", job_key, item),
            ],
        )

    def set_approval_token(self, alert_id: str, token: str) -> None:
        self._call(
            "update_item",
            TableName=self.table,
            Key=_to_item({"pk": f"ALERT#{alert_id}", "sk": "ALERT"}),
            UpdateExpression="SET approval_token = :t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=_to_item({":t": token}),
        )

    def approval_token(self, alert_id: str) -> str | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item({"pk": f"ALERT#{alert_id}", "sk": "ALERT"}),
            ProjectionExpression="approval_token",
            ConsistentRead=True,
        )
        value = _from_item(out.get("Item") or {}).get("approval_token")
        return str(value) if value else None

    # -- integration faults: pk FAULTS, sk <component>#<integration>#<first_at> ----------------

    # -- circuit breaker per job platform (state shared by every execution) ------------------

    def launched_jobs(self, alert_id: str) -> list[dict[str, Any]]:
        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :l)",
            ExpressionAttributeValues=_to_item({":p": f"ALERT#{alert_id}", ":l": "LAUNCH#"}),
        )
        return [json.loads(_from_item(i)["job"]) for i in out.get("Items", [])]

    def launched_job(self, alert_id: str, idempotency_key: str) -> dict[str, Any] | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item({"pk": f"ALERT#{alert_id}", "sk": f"LAUNCH#{idempotency_key}"}),
            ConsistentRead=True,
        )
        return json.loads(_from_item(out["Item"])["job"]) if "Item" in out else None

    def link_followup_ticket(self, alert_id: str, provider: str, ticket_id: str, kind: str) -> None:
        ticket_key = f"TICKET#{provider}#{ticket_id}"
        link = {"alert_id": alert_id, "ticket_id": ticket_id, "provider": provider, "kind": kind}
        self._call(
            "transact_write_items",
            TransactItems=self._both_ways(f"ALERT#{alert_id}", ticket_key, link),
        )

    @staticmethod
    def _stats_key(runbook: str, alert_type: str, service: str, environment: str) -> dict[str, Any]:
        return {"pk": f"STATS#{runbook}", "sk": f"{alert_type}#{service}#{environment}"}

    def runbook_stats(
        self, runbooks: list[str], alert_type: str, service: str, environment: str
    ) -> dict[str, tuple[int, int]]:
        """Verified fixes and misses per runbook for this (alert type, service, environment)."""
        if not runbooks:
            return {}
        keys = [
            _to_item(self._stats_key(r, alert_type, service, environment)) for r in runbooks[:100]
        ]
        out = self._call(
            "batch_get_item", RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}}
        )
        stats: dict[str, tuple[int, int]] = {}
        for item in out.get("Responses", {}).get(self.table, []):
            doc = _from_item(item)
            stats[str(doc["pk"]).removeprefix("STATS#")] = (
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
    ) -> None:
        """One atomic ADD when a run ends; only a verified fix counts as a fix."""
        self._call(
            "update_item",
            TableName=self.table,
            Key=_to_item(self._stats_key(runbook, alert_type, service, environment)),
            UpdateExpression="ADD #c :one, runs :one SET last_run_at = :at",
            ExpressionAttributeNames={"#c": "fixes" if fixed else "misses"},
            ExpressionAttributeValues=_to_item({":one": 1, ":at": at.isoformat()}),
        )

    def resolve_by_id(self, alert_id: str, resolution: dict[str, str], at: datetime) -> bool:
        alert = self.get(alert_id)
        if alert is None or alert.status is not AlertStatus.OPEN:
            return False
        return self.resolve(alert, resolution, at)

    def delivery_seen(self, delivery_id: str) -> bool:
        key = hashlib.sha256(delivery_id.encode()).hexdigest()
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item({"pk": f"DELIVERY#{key}", "sk": "DELIVERY"}),
            ConsistentRead=True,
        )
        return "Item" in out

    def claim_delivery(self, delivery_id: str, now: datetime) -> bool:
        """Remember an applied webhook delivery for a day; False when it was recorded."""
        key = hashlib.sha256(delivery_id.encode()).hexdigest()
        out = self._conditional(
            "put_item",
            TableName=self.table,
            Item=_to_item(
                {
                    "pk": f"DELIVERY#{key}",
                    "sk": "DELIVERY",
                    "ttl": int((now + timedelta(days=1)).timestamp()),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )
        return out is not None

    def get_checkpoint(self, name: str) -> datetime | None:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item({"pk": "CHECKPOINT", "sk": name}),
            ConsistentRead=True,
        )
        return datetime.fromisoformat(_from_item(out["Item"])["at"]) if "Item" in out else None

    def set_checkpoint(self, name: str, at: datetime) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item=_to_item({"pk": "CHECKPOINT", "sk": name, "at": at.isoformat()}),
        )

    def counters(self, day: datetime) -> dict[str, int]:
        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": f"COUNTER#{_day(day)}"}),
        )
        return {str(d["sk"]): int(d["value"]) for d in map(_from_item, out.get("Items", []))}
