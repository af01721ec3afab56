"""The demo compares its KPI counters with what exists: a run that crosses midnight counts
its alarms on the day each fired, so it reads every day since it began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.journal import EventKind, LifecycleEvent
from opslink_cli.demo import _counters_since


def test_a_run_across_midnight_counts_both_days(ddb: Any) -> None:
    store = DynamoAlertStore("AlertsTable", ddb)
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - timedelta(minutes=10)  # the run began before midnight
    for i, fired in enumerate((start, midnight + timedelta(seconds=20))):
        store.journal.record_event(LifecycleEvent(
            alert_id=f"A-{i}", kind=EventKind.ALERT_OPENED, at=fired, service="checkout",
            alert_type="cpu_usage", cohort=fired))  # fmt: skip
    assert store.journal.kpi_counters(start)["all"]["alerts"] == 1  # one day's row only
    assert _counters_since(store, start)["alerts"] == 2
