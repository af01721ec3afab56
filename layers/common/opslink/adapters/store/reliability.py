"""The brakes' and faults' records in the alerts table, one concern beside the alerts:
flap history (`FLAP#<fingerprint>`), automation budgets (`BUDGET#<service>` and
`BUDGET#resource#<resource>` / hour) and circuit breakers (`CIRCUIT#<platform>`); keys in
keys.py. Integration faults are in faults.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from botocore.exceptions import ClientError

from opslink.adapters.store import keys
from opslink.adapters.store.base import TableBase
from opslink.adapters.store.items import from_item as _from_item
from opslink.adapters.store.items import to_item as _to_item
from opslink.errors import StoreError
from opslink.ports.records import BudgetClaim, CircuitState

FLAP_HISTORY_MAX = 64  # changes kept per alarm; past it the oldest half is dropped


def history_of(flap_item: dict[str, Any]) -> list[tuple[datetime, str]]:
    """An alarm's state changes from its FLAP item (as read; {} when absent), oldest first."""
    raw = [str(x) for x in flap_item.get("t", [])]
    return sorted(
        (datetime.fromisoformat(stamp), st) for stamp, _, st in (x.partition("|") for x in raw)
    )


def transition_append(table: str, fingerprint: str, at: datetime, state: str) -> dict[str, Any]:
    """The UpdateItem that appends a state change to the alarm's history: alone, or one
    item of the transaction that resolves its alert (an OK records its change there)."""
    return {
        "TableName": table,
        "Key": _to_item(keys.flap(fingerprint)),
        "UpdateExpression": "SET t = list_append(if_not_exists(t, :e), :new), #ttl = :ttl",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": _to_item(
            {
                ":e": [],
                ":new": [f"{at.isoformat()}|{state}"],
                ":ttl": int((at + timedelta(days=1)).timestamp()),
            }
        ),
    }


class ReliabilityRecords(TableBase):
    """FlapHistory, Circuits and AutomationBudgets on the alerts table."""

    def record_transition(
        self, fingerprint: str, at: datetime, state: str, window: timedelta
    ) -> list[tuple[datetime, str]]:
        """Append an alarm state change to the alarm's recent history and return the
        changes within `window` of it (oldest first); the list is trimmed as it grows."""
        key = _to_item(keys.flap(fingerprint))
        update = transition_append(self.table, fingerprint, at, state)
        out = self._call("update_item", **update, ReturnValues="ALL_NEW")
        raw = [str(x) for x in _from_item(out["Attributes"]).get("t", [])]
        if len(raw) > FLAP_HISTORY_MAX:  # keep the history short: drop the oldest half
            drop = ", ".join(f"t[{i}]" for i in range(len(raw) - FLAP_HISTORY_MAX // 2))
            self._call(
                "update_item", TableName=self.table, Key=key, UpdateExpression=f"REMOVE {drop}"
            )
        return [(t, st) for t, st in history_of({"t": raw}) if at - window <= t <= at + window]

    def transitions(self, fingerprint: str) -> list[tuple[datetime, str]]:
        """The alarm's recent state changes, oldest first (read only)."""
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.flap(fingerprint)),
            ConsistentRead=True,
        )
        return history_of(_from_item(out.get("Item") or {}))

    def circuit(self, platform: str) -> CircuitState:
        out = self._call(
            "get_item",
            TableName=self.table,
            Key=_to_item(keys.circuit(platform)),
            ConsistentRead=True,
        )
        doc = _from_item(out.get("Item") or {})
        return cast(
            CircuitState,
            {
                k: doc[k]
                for k in ("state", "failures", "since", "opened_at", "probe_until")
                if k in doc
            },
        )

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

    def circuit_success(self, platform: str) -> CircuitState | None:
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
        return cast(CircuitState, old) if old.get("state") in ("open", "half_open") else None

    def claim_automation_budget(
        self,
        service: str,
        at: datetime,
        cap: int,
        resource: str | None = None,
        resource_cap: int = 0,
    ) -> BudgetClaim:
        """Count one automated run for the service (and the resource) in this hour, unless
        a cap is reached: one transaction of conditional ADDs, so concurrent executions
        cannot overshoot and a refused claim consumes nothing. Refused: which cap."""
        pks = keys.budget_partitions(service, resource)
        items = [self._budget_update(pks[0], at, cap)]
        if resource:
            items.append(self._budget_update(pks[1], at, resource_cap))
        try:
            self._call("transact_write_items", TransactItems=items)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
            if "ConditionalCheckFailed" in reasons or not reasons:
                # The items are in order (service, resource): the failed one is the cap hit.
                if (
                    reasons[1:2] == ["ConditionalCheckFailed"]
                    and reasons[0] != "ConditionalCheckFailed"
                ):
                    return BudgetClaim.RESOURCE_CAP
                return BudgetClaim.SERVICE_CAP
            raise StoreError(f"automation budget claim conflicted ({reasons}); retry") from exc
        return BudgetClaim.CLAIMED

    def automation_budget_used(
        self, service: str, at: datetime, resource: str | None = None
    ) -> list[int]:
        """Runs counted this hour for the service (and the resource): read only."""
        hour = at.astimezone(UTC).strftime("%Y-%m-%dT%H")
        used = []
        for pk in keys.budget_partitions(service, resource):
            out = self._call(
                "get_item",
                TableName=self.table,
                Key=_to_item({"pk": pk, "sk": hour}),
                ConsistentRead=True,
            )
            used.append(int(_from_item(out.get("Item") or {}).get("runs", 0)))
        return used

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
