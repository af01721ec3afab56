"""What every store module shares: the table, a lazy client, the error mapping, the
conditional write and links both ways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.aws import aws_errors, lazy_client
from opslink.adapters.store.items import to_item as _to_item
from opslink.clock import Clock, utcnow
from opslink.errors import StoreError

_CONDITIONS = ("ConditionalCheckFailedException", "TransactionCanceledException")
# Why DynamoDB cancels a transaction when no condition is at fault: the capacity or the
# request was refused. Such a cancellation says nothing about the items (retryable).
_NOT_CONDITIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded",
                             "RequestLimitExceeded", "ValidationError",
                             "ItemCollectionSizeLimitExceeded"})  # fmt: skip


def refused_for_capacity(exc: ClientError) -> str | None:
    """The reason code when a cancelled transaction was refused for its capacity or its
    request, not because a condition failed; None otherwise."""
    reasons = exc.response.get("CancellationReasons") or []
    codes = {str(r.get("Code")) for r in reasons}
    if "ConditionalCheckFailed" in codes:
        return None
    return next(iter(sorted(codes & _NOT_CONDITIONS)), None)


class TableBase:
    def __init__(
        self, table: str, client: Any = None, journal_table: str = "", home_account: str = ""
    ) -> None:
        self.table = table
        # The stack's own account: lifecycle events of any other's alarms are also counted
        # by account and region (journal.scopes).
        self.home_account = home_account
        # Lifecycle events (the audit trail) live in their own table on AWS, so the
        # functions can be given put-only access to it; one table serves both in tests.
        self.journal_table = journal_table or table
        self._client = client
        # The wall clock: what the journal's fold compares event times with (tests set it).
        self.clock: Clock = utcnow

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = lazy_client("dynamodb")
        return self._client

    def _call(self, op: str, **kwargs: Any) -> Any:
        """One call; a condition that did not hold stays a ClientError for the caller. A
        transaction cancelled for throughput (throttled items) is a StoreError like any
        throttled call: its callers must not take it for a failed condition."""
        with aws_errors(f"DynamoDB {op} on {self.table}", StoreError, _CONDITIONS):
            try:
                return getattr(self.client, op)(**kwargs)
            except ClientError as exc:
                code = refused_for_capacity(exc)
                if code is not None:
                    raise StoreError(f"DynamoDB {op} on {self.table} refused ({code})") from exc
                raise

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query returns (as DynamoDB gives them), page after page."""
        for page in self._pages(**kwargs):
            yield from page.get("Items", [])

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """A Query's pages, whole (a filtered one's ScannedCount: what DynamoDB read)."""
        while True:
            page = self._call("query", **kwargs)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            kwargs = kwargs | {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _transact(self, items: list[dict[str, Any]], what: str, attempts: int = 3) -> bool:
        """One transaction: True when written, False when a condition did not hold (nothing
        changed). Cancelled by another write to its items at that moment, with no
        condition at fault, it says nothing about them: the same again, up to `attempts`,
        then a StoreError."""
        for attempt in range(1, attempts + 1):
            try:
                self._call("transact_write_items", TransactItems=items)
                return True
            except ClientError as exc:
                codes = {r.get("Code") for r in exc.response.get("CancellationReasons") or []}
                if not codes or "ConditionalCheckFailed" in codes:
                    return False
                if "TransactionConflict" not in codes or attempt == attempts:
                    raise StoreError(f"DynamoDB could not {what}: {exc}") from exc
        return False

    def _conditional(self, op: str, **kwargs: Any) -> Any | None:
        """A conditional write: its response, or None when the condition did not hold
        (`_call` turns every other failure into a StoreError)."""
        try:
            return self._call(op, **kwargs)
        except ClientError:
            return None

    def _both_ways(self, a: str, b: str, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """A link as two items, so each side finds the other with one query."""
        return [
            {"Put": {"TableName": self.table, "Item": _to_item({"pk": a, "sk": b} | attrs)}},
            {"Put": {"TableName": self.table, "Item": _to_item({"pk": b, "sk": a} | attrs)}},
        ]
