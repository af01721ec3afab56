"""The demo checks per-day figures (KPI counters, the metrics function's day, the report)
against what exists: its alarms must all fall on one day, whenever it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opslink_cli.demo import run_start

MIDNIGHT = datetime(2026, 12, 8, tzinfo=UTC)


@pytest.mark.parametrize("minutes_after_midnight", [0, 3, 9.5, 10, 17, 12 * 60, -1, -20])
def test_the_demo_s_alarms_fall_on_one_day_in_the_past(minutes_after_midnight: float) -> None:
    now = MIDNIGHT + timedelta(minutes=minutes_after_midnight)
    t0 = run_start(now)
    last = t0 + timedelta(minutes=8)  # its last alarm change
    assert t0.date() == last.date() and last < now
    assert now - t0 <= timedelta(minutes=20)  # recent: "ten minutes ago", or just before midnight
