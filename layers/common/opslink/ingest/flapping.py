"""Flap detection: an alarm toggling ALARM/OK too often gets one ticket, kept open and
annotated, and no automation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from opslink.comment_outbox import post_comment
from opslink.identity import fingerprint
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.models import Alarm, Alert

logger = Logger(child=True)


def flapping(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> int:
    """Record this state change; the number of changes in the flap window when the alarm
    is flapping, else 0."""
    return _flaps(record_change(alarm, deps, policy), policy)


def record_change(
    alarm: Alarm, deps: IngestDeps, policy: IngestPolicy
) -> list[tuple[datetime, str]]:
    """Append this state change to the alarm's history; the changes within the window."""
    return deps.flaps.record_transition(
        fingerprint(alarm), alarm.state_changed_at, alarm.state.value, policy.flap_window
    )


def flap_count(history: list[tuple[datetime, str]], alarm: Alarm, policy: IngestPolicy) -> int:
    """`flapping` decided from a history read beforehand, this change not in it yet (an OK:
    the change is recorded with the alert's resolution, in one write)."""
    at, window = alarm.state_changed_at, policy.flap_window
    changes = [t for t, _ in history if at - window <= t <= at + window]
    return _flaps([*changes, at], policy)


def _flaps(changes: list[Any], policy: IngestPolicy) -> int:
    return len(changes) if len(changes) > policy.flap_transitions else 0


def mark_flapping(
    alert: Alert, count: int, deps: IngestDeps, policy: IngestPolicy, claimed: bool = False
) -> None:
    """Once per alert: automation suppressed, the ticket told it stays open."""
    now = deps.clock()
    if not claimed and not deps.store.claim_slot(alert.alert_id, "flapping_since", None, now):
        return
    minutes = int(policy.flap_window.total_seconds() // 60)
    text = (
        f"Alarm {alert.alarm_name} is flapping: {count} ALARM/OK changes within {minutes} min. "
        "Automated remediation is suppressed for it; this ticket stays open (not resolved and "
        f"reopened per cycle) until the alarm has been OK for {minutes} min or a human closes it."
    )
    deps.store.add_note(alert.alert_id, text, now, kind="suppressed_flapping")
    if alert.ticket_id:
        key = f"{alert.alert_id}:flapping"
        post_comment(deps.outbox, deps.tickets, alert.ticket_id, key, text, now, alert.alert_id)
