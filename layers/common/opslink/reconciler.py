"""The ingest function's scheduled side: the reconciler. Every 5 minutes it finishes the
open alerts a failed delivery left without their ticket (once their lease ran out),
resolves flapping alerts whose alarm has stayed OK for a whole flap window, and delivers
the comments waiting in the outbox (comment_outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opslink.comment_outbox import drain
from opslink.enrichment import enrich
from opslink.ingest import IngestDeps, IngestPolicy
from opslink.ingest.opening import open_safely
from opslink.models import Alarm, Alert, TicketStatus
from opslink.ticket_lockstep import resolve_other_tickets


def is_schedule(event: Any) -> bool:
    """An EventBridge scheduled event (not an alarm: those are state changes)."""
    return (
        isinstance(event, dict)
        and event.get("source") == "aws.events"
        and event.get("detail-type") == "Scheduled Event"
    )


def reconcile(deps: IngestDeps, policy: IngestPolicy) -> dict[str, Any]:
    """Scheduled: finish every open alert left without its ticket (a delivery that ran
    out of retries, a crash), once its lease has run out. Idempotent."""
    now = deps.clock()
    finished: list[str] = []
    waiting: list[str] = []
    failed: list[str] = []
    stable: list[str] = []
    for alert in deps.store.open_alerts():
        if alert.flapping_since is not None and _stable_after_flapping(alert, deps, policy, now):
            stable.append(alert.alert_id)
            continue
        if alert.ticket_id or alert.source_alarm is None:
            continue
        if not deps.store.take_lease(alert, now, now + policy.lease):  # the lock decides
            waiting.append(alert.alert_id)
            continue
        deps.fault_seen = True  # a finished alert here proves the ticket system answers
        alarm = Alarm.model_validate_json(alert.source_alarm)
        tags = deps.tags.tags(alarm.arn) if policy.read_alarm_tags else {}
        enr = enrich(alarm, tags, deps.service_map)
        result = open_safely(
            alarm, alert, enr, deps, policy, None, None, "finished by the reconciler"
        )
        (failed if result.retryable else finished).append(alert.alert_id)
    comments = drain(deps.store, deps.tickets)  # queued comments, verified and in order
    return {
        "finished": finished,
        "waiting": waiting,
        "failed": failed,
        "stable": stable,
        "comments_delivered": comments["delivered"],
        "comments_still_queued": comments["failed"],
    }


def _stable_after_flapping(
    alert: Alert, deps: IngestDeps, policy: IngestPolicy, now: datetime
) -> bool:
    """A flapping alert whose alarm has stayed OK for the flap window: resolve it and its
    tickets, once."""
    states = deps.store.transitions(alert.fingerprint)
    if not states or states[-1][1] != "OK" or now - states[-1][0] < policy.flap_window:
        return False
    ok_at = states[-1][0]
    text = f"Alarm {alert.alarm_name} stable: OK since {ok_at.isoformat()} after flapping."
    if alert.ticket_id:
        deps.tickets.set_status(alert.ticket_id, TicketStatus.RESOLVED, note=text)
    resolution = {"by": "alarm", "how": "alarm stable after flapping", "at": ok_at.isoformat()}
    if deps.store.resolve(alert, resolution, now):
        resolve_other_tickets(deps.store, deps.tickets, alert.alert_id, alert.ticket_id, text)
    return True
