"""Integration faults in the alerts table (`FAULTS` / `<component>#<integration>#<first_at>`
records, and one `OPEN#<component>#<integration>` slot per integration; keys in keys.py).

One open fault per integration while it lasts: whoever claims the slot (a conditional
update, in the same transaction as the fault's record) opens the fault and tells the
operators; a concurrent first failure loses the claim and joins that fault, counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.errors import StoreError


class FaultRecords(TableBase):
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
        close = [
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
        ]
        if not self._transact(close, f"close fault {current['sk']}"):
            return None  # recovered by another invocation: told once
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

        items = self._query(  # every page: a year of faults outgrows one
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=_to_item({":p": keys.FAULTS_PARTITION}),
        )
        found = [
            _counted(Fault.model_validate_json(doc["doc"]), doc)
            for doc in (_from_item(i) for i in items)
            if "doc" in doc  # not the open slots
        ]
        found = [f for f in found if state is None or f.state == state]
        return sorted(found, key=lambda f: f.first_at, reverse=True)[:limit]


def _counted(fault: Any, item: dict[str, Any]) -> Any:
    """A fault with its failures counted (the first, plus each one that joined it)."""
    return fault.model_copy(update={"count": max(fault.count, int(item.get("n", 0)) + 1)})
