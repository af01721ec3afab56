"""The brakes' and faults' records in the alerts table, one concern beside the alerts:
flap history (`FLAP#<fingerprint>`), automation budgets (`BUDGET#<service>` and
`BUDGET#resource#<resource>` / hour), circuit breakers (`CIRCUIT#<platform>`) and
integration faults (`FAULTS` / `<component>#<integration>#<first_at>`); keys in keys.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.errors import StoreError


class ReliabilityRecords(TableBase):
    def record_transition(
        self, fingerprint: str, at: datetime, state: str, window: timedelta
    ) -> list[tuple[datetime, str]]:
        """Append an alarm state change to the alarm's recent history and return the
        changes within `window` of it (oldest first); the list is trimmed as it grows."""
        key = _to_item(keys.flap(fingerprint))
        out = self._call(
            "update_item",
            TableName=self.table,
            Key=key,
            UpdateExpression="SET t = list_append(if_not_exists(t, :e), :new), #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues=_to_item(
                {
                    ":e": [],
                    ":new": [f"{at.isoformat()}|{state}"],
                    ":ttl": int((at + timedelta(days=1)).timestamp()),
                }
            ),
            ReturnValues="ALL_NEW",
        )
        raw = [str(x) for x in _from_item(out["Attributes"]).get("t", [])]
        if len(raw) > 64:  # keep the history short: drop the oldest half
            drop = ", ".join(f"t[{i}]" for i in range(len(raw) - 32))
            self._call(
                "update_item", TableName=self.table, Key=key, UpdateExpression=f"REMOVE {drop}"
            )
        changes = sorted(
            (datetime.fromisoformat(stamp), st) for stamp, _, st in (x.partition("|") for x in raw)
        )
        return [(t, st) for t, st in changes if at - window <= t <= at + window]

    def transitions(self, fingerprint: str) -> list[tuple[datetime, str]]:
        """The alarm's recent state changes, oldest first (read only)."""
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.flap(fingerprint)),
            ConsistentRead=True,
        )
        raw = [str(x) for x in _from_item(out.get("Item") or {}).get("t", [])]
        return sorted(
            (datetime.fromisoformat(stamp), st) for stamp, _, st in (x.partition("|") for x in raw)
        )

    # One open fault per integration while it lasts: a slot item (`OPEN#<component>#
    # <integration>`) names the open fault; whoever claims the slot (a conditional update,
    # in the same transaction as the fault's record) opens the fault and tells the
    # operators; a concurrent first failure loses the claim and joins that fault.
    @staticmethod
    def _slot(component: str, integration: str) -> dict[str, str]:
        return {"pk": keys.FAULTS_PARTITION, "sk": f"OPEN#{component}#{integration}"}

    def open_fault(self, fault: Any) -> tuple[Any, bool]:
        from opslink.faults import Fault

        sk = f"{fault.component}#{fault.integration}#{fault.first_at.isoformat()}"
        for _ in range(3):
            current = self._open_fault_item(fault.component, fault.integration)
            if current is None:
                try:
                    self._call(
                        "transact_write_items",
                        TransactItems=[
                            {
                                "Update": {
                                    "TableName": self.table,
                                    "Key": _to_item(self._slot(fault.component, fault.integration)),
                                    "UpdateExpression": "SET #s = :open, fault_sk = :sk",
                                    "ConditionExpression": "attribute_not_exists(pk) OR #s = :closed",
                                    "ExpressionAttributeNames": {"#s": "state"},
                                    "ExpressionAttributeValues": _to_item(
                                        {":open": "open", ":closed": "closed", ":sk": sk}
                                    ),
                                }
                            },
                            {
                                "Put": {
                                    "TableName": self.table,
                                    "Item": _to_item(
                                        {
                                            "pk": keys.FAULTS_PARTITION,
                                            "sk": sk,
                                            "state": "open",
                                            "doc": fault.model_dump_json(),
                                            "ttl": int(
                                                (fault.first_at + timedelta(days=90)).timestamp()
                                            ),
                                        }
                                    ),
                                    "ConditionExpression": "attribute_not_exists(pk)",
                                }
                            },
                        ],
                    )
                    return fault, True
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "TransactionCanceledException":
                        raise StoreError(f"DynamoDB could not open fault {sk}: {exc}") from exc
                    continue  # another failure opened it first: join that one
            known = Fault.model_validate_json(current["doc"])
            updated = known.model_copy(
                update={"last_at": max(known.last_at, fault.last_at), "error": fault.error}
            )
            out = self._call(
                "update_item",
                TableName=self.table,
                Key=_to_item({"pk": keys.FAULTS_PARTITION, "sk": current["sk"]}),
                UpdateExpression="SET doc = :d ADD n :one",
                ExpressionAttributeValues=_to_item({":d": updated.model_dump_json(), ":one": 1}),
                ReturnValues="ALL_NEW",
            )
            count = int(_from_item(out.get("Attributes") or {}).get("n", 0)) + 1
            return updated.model_copy(update={"count": max(count, known.count + 1)}), False
        return fault, False

    def recover_fault(self, component: str, integration: str, at: datetime) -> Any | None:
        from opslink.faults import Fault

        current = self._open_fault_item(component, integration)
        if current is None:
            return None
        fault = Fault.model_validate_json(current["doc"])
        fault = fault.model_copy(
            update={
                "state": "recovered",
                "recovered_at": at,
                "count": max(fault.count, int(current.get("n", 0)) + 1),
            }
        )
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _to_item({"pk": keys.FAULTS_PARTITION, "sk": current["sk"]}),
                            "UpdateExpression": "SET #s = :r, doc = :d",
                            "ConditionExpression": "#s = :open",
                            "ExpressionAttributeNames": {"#s": "state"},
                            "ExpressionAttributeValues": _to_item(
                                {":r": "recovered", ":d": fault.model_dump_json(), ":open": "open"}
                            ),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _to_item(self._slot(component, integration)),
                            "UpdateExpression": "SET #s = :closed",
                            "ExpressionAttributeNames": {"#s": "state"},
                            "ExpressionAttributeValues": _to_item({":closed": "closed"}),
                        }
                    },
                ],
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return None  # recovered by another invocation: told once
            raise StoreError(f"DynamoDB could not close fault {current['sk']}: {exc}") from exc
        return fault

    def _open_fault_item(self, component: str, integration: str) -> dict[str, Any] | None:
        """The open fault of an integration, through its slot (consistent reads)."""
        slot = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(self._slot(component, integration)),
            ConsistentRead=True,
        ).get("Item")
        doc = _from_item(slot) if slot else {}
        if doc.get("state") != "open":
            return None
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item({"pk": keys.FAULTS_PARTITION, "sk": doc["fault_sk"]}),
            ConsistentRead=True,
        ).get("Item")
        item = _from_item(out) if out else None
        return item if item and item.get("state") == "open" else None

    def faults(self, state: str | None = None, limit: int = 100) -> list[Any]:
        from opslink.faults import Fault

        out = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": keys.FAULTS_PARTITION}),
        )
        found = [
            _counted(Fault.model_validate_json(doc["doc"]), doc)
            for doc in (_from_item(i) for i in out.get("Items", []))
            if "doc" in doc  # not the open slots
        ]
        found = [f for f in found if state is None or f.state == state]
        return sorted(found, key=lambda f: f.first_at, reverse=True)[:limit]

    def circuit(self, platform: str) -> dict[str, Any]:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.circuit(platform)),
            ConsistentRead=True,
        )
        doc = _from_item(out.get("Item") or {})
        return {
            k: doc[k]
            for k in ("state", "failures", "since", "opened_at", "probe_until")
            if k in doc
        }

    def circuit_claim_probe(self, platform: str, now: datetime, until: datetime) -> bool:
        """Half-open: exactly one execution gets to probe the platform."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.circuit(platform)),
            UpdateExpression="SET #s = :half, probe_until = :until",
            ConditionExpression="#s = :open OR (#s = :half AND probe_until < :now)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=_to_item(
                {
                    ":half": "half_open",
                    ":open": "open",
                    ":until": until.isoformat(),
                    ":now": now.isoformat(),
                }
            ),
        )
        return out is not None

    def circuit_claim_trial(self, platform: str, now: datetime, until: datetime) -> bool:
        """A closed circuit that has seen failures admits one call at a time (each the
        platform's trial until it answers again): True for the caller that may go."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.circuit(platform)),
            UpdateExpression="SET probe_until = :until",
            ConditionExpression=(
                "(attribute_not_exists(#s) OR #s = :closed) AND failures > :zero "
                "AND (attribute_not_exists(probe_until) OR probe_until < :now)"
            ),
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=_to_item(
                {
                    ":closed": "closed",
                    ":zero": 0,
                    ":until": until.isoformat(),
                    ":now": now.isoformat(),
                }
            ),
        )
        return out is not None

    def circuit_failure(self, platform: str, now: datetime, threshold: int) -> bool:
        """Count a failed call; True when this failure opened the circuit."""
        key = _to_item(keys.circuit(platform))
        out = self._call(
            "update_item",
            TableName=self.table,
            Key=key,
            # the trial that failed gives way to the next one at once
            UpdateExpression="ADD failures :one SET since = if_not_exists(since, :now) REMOVE probe_until",
            ExpressionAttributeValues=_to_item({":one": 1, ":now": now.isoformat()}),
            ReturnValues="ALL_NEW",
        )
        doc = _from_item(out["Attributes"])
        if doc.get("state") == "open" or int(doc.get("failures", 0)) < threshold:
            return False
        opened = self._conditional(
            "update_item",
            TableName=self.table,
            Key=key,
            UpdateExpression="SET #s = :open, opened_at = :now",
            ConditionExpression="attribute_not_exists(#s) OR #s <> :open",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=_to_item({":open": "open", ":now": now.isoformat()}),
        )
        return opened is not None and doc.get("state") != "half_open"

    def circuit_success(self, platform: str) -> dict[str, Any] | None:
        """Close the circuit; the state it had when it was not closed (a recovery)."""
        out = self._conditional(
            "update_item",
            TableName=self.table,
            Key=_to_item(keys.circuit(platform)),
            UpdateExpression="SET #s = :closed, failures = :zero REMOVE since, opened_at, probe_until",
            ConditionExpression="attribute_exists(pk) AND (#s <> :closed OR failures > :zero)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=_to_item({":closed": "closed", ":zero": 0}),
            ReturnValues="ALL_OLD",
        )
        if out is None:
            return None
        old = _from_item(out.get("Attributes") or {})
        return old if old.get("state") in ("open", "half_open") else None

    def claim_automation_budget(
        self,
        service: str,
        at: datetime,
        cap: int,
        resource: str | None = None,
        resource_cap: int = 0,
    ) -> bool:
        """Count one automated run for the service (and the resource) in this hour, unless
        a cap is reached: one transaction of conditional ADDs, so concurrent executions
        cannot overshoot and a refused claim consumes nothing."""
        pks = keys.budget_partitions(service, resource)
        items = [self._budget_update(pks[0], at, cap)]
        if resource:
            items.append(self._budget_update(pks[1], at, resource_cap))
        try:
            self._call("transact_write_items", TransactItems=items)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
            if "ConditionalCheckFailed" in reasons or not reasons:
                return False
            raise StoreError(f"automation budget claim conflicted ({reasons}); retry") from exc
        return True

    def refund_automation_budget(
        self, service: str, at: datetime, resource: str | None = None
    ) -> None:
        """Give back a claim whose launch did not happen: budget counts real launches."""
        hour = at.astimezone(UTC).strftime("%Y-%m-%dT%H")
        for pk in keys.budget_partitions(service, resource):
            self._conditional(
                "update_item",
                TableName=self.table,
                Key=_to_item({"pk": pk, "sk": hour}),
                UpdateExpression="ADD runs :minus",
                ConditionExpression="runs > :zero",
                ExpressionAttributeValues=_to_item({":minus": -1, ":zero": 0}),
            )

    def _budget_update(self, pk: str, at: datetime, cap: int) -> dict[str, Any]:
        hour = at.astimezone(UTC).strftime("%Y-%m-%dT%H")
        return {
            "Update": {
                "TableName": self.table,
                "Key": _to_item({"pk": pk, "sk": hour}),
                "UpdateExpression": "ADD runs :one SET #ttl = :ttl",
                "ConditionExpression": "attribute_not_exists(runs) OR runs < :cap",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": _to_item(
                    {":one": 1, ":cap": cap, ":ttl": int((at + timedelta(days=2)).timestamp())}
                ),
            }
        }


def _counted(fault: Any, item: dict[str, Any]) -> Any:
    """A fault with its failures counted (the first, plus each one that joined it)."""
    return fault.model_copy(update={"count": max(fault.count, int(item.get("n", 0)) + 1)})
