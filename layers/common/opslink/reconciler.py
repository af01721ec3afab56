"""The ingest function's scheduled side: the reconciler. Every 5 minutes it finishes the
open alerts a failed delivery left without their ticket (once their lease ran out; an
alert whose alarm cleared meanwhile stays open until its ticket exists, then both are
resolved with the OK's facts),
resolves flapping alerts whose alarm has stayed OK for a whole flap window, and delivers
the comments waiting in the outbox (comment_outbox)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from opslink.comment_outbox import drain
from opslink.deadline import expired
from opslink.errors import OpsLinkError
from opslink.incident_tickets import resolve_alert_ticket
from opslink.ingest import IngestDeps, IngestPolicy
from opslink.ingest.opening import finish_unticketed
from opslink.models import Alert
from opslink.ticket_lockstep import resolve_counted, resolve_other_tickets

logger = Logger(child=True)

# Seconds one alert may take (ticket create, links, execution start, with their retries):
# no new alert is started with less than this left of the run's budget.
RESERVE_SECONDS = 8.0


def is_schedule(event: Any) -> bool:
    """An EventBridge scheduled event (not an alarm: those are state changes)."""
    return (
        isinstance(event, dict)
        and event.get("source") == "aws.events"
        and event.get("detail-type") == "Scheduled Event"
    )


def reconcile(deps: IngestDeps, policy: IngestPolicy) -> dict[str, Any]:
    """Scheduled: finish every open alert left without its ticket (a delivery that ran
    out of retries, a crash), once its lease has run out. Idempotent.

    An incident's members join its opener's ticket: a member reached before its opener
    (the listing is in alarm-time order, and a member's alarm may be older) does not wait
    for it; it is tried again once the pass has reached every opener, so one pass
    finishes a whole incident — a wait per member would spend the run's budget, and
    past it an opener listed after enough of its members would never be reached."""
    now = deps.clock()
    policy = replace(policy, wait_for_incident_ticket=False)
    out: dict[str, list[str]] = {k: [] for k in ("finished", "waiting", "failed", "stable", "left")}
    members: list[Alert] = []  # reached before their incident had its ticket
    for alert in deps.store.open_alerts():
        if expired(RESERVE_SECONDS):  # the time budget: the rest is for the next run
            out["left"].append(alert.alert_id)
            continue
        if alert.flapping_since is not None and _stable_after_flapping(alert, deps, policy, now):
            out["stable"].append(alert.alert_id)
            continue
        if alert.ticket_id or alert.source_alarm is None:
            continue
        if _finish(alert, deps, policy, out) == "awaiting":
            members.append(alert)
    for alert in members:  # their openers had their turn in this pass
        if expired(RESERVE_SECONDS):
            out["left"].append(alert.alert_id)
        else:
            _finish(alert, deps, policy, out, again=True)
    comments = drain(deps.outbox, deps.tickets)  # queued comments, verified and in order
    return {
        **out,
        "comments_delivered": comments["delivered"],
        "comments_still_queued": comments["failed"] + comments["left"] + comments["busy"],
    }


def _finish(
    alert: Alert,
    deps: IngestDeps,
    policy: IngestPolicy,
    out: dict[str, list[str]],
    again: bool = False,
) -> str:
    """One unticketed alert finished from its stored alarm; its outcome is recorded in
    `out`, except a first try that found its incident without a ticket ("awaiting")."""
    deps.fault_seen = True  # a finished alert here proves the ticket system answers
    try:
        result = finish_unticketed(alert, deps, policy, "finished by the reconciler")
    except OpsLinkError as exc:  # this alert only (a stored alarm it cannot use): next
        logger.warning("reconciler skipped an alert",
                       extra={"alert_id": alert.alert_id, "error": str(exc)})  # fmt: skip
        out["failed"].append(alert.alert_id)
        return "failed"
    if result is None:  # the lock decides: another delivery is finishing it
        kind = "waiting"
    elif result.retryable:
        kind = "awaiting" if result.awaiting_incident and not again else "failed"
    else:
        kind = "finished"
    if kind != "awaiting":
        out[kind].append(alert.alert_id)
    return kind


def _stable_after_flapping(
    alert: Alert, deps: IngestDeps, policy: IngestPolicy, now: datetime
) -> bool:
    """A flapping alert whose alarm has stayed OK for the flap window: resolve it and its
    tickets, once."""
    states = deps.flaps.transitions(alert.fingerprint)
    if not states or states[-1][1] != "OK" or now - states[-1][0] < policy.flap_window:
        return False
    ok_at = states[-1][0]
    text = f"Alarm {alert.alarm_name} stable: OK since {ok_at.isoformat()} after flapping."
    resolve_alert_ticket(deps.store, deps.outbox, deps.tickets, deps.incidents, alert, text,
                         f"{alert.alert_id}:stable:{ok_at.isoformat()}", now)  # fmt: skip
    resolution = {"by": "alarm", "how": "alarm stable after flapping", "at": ok_at.isoformat()}
    # Its other tickets are looked up only when a hand-over is counted on it (the count is
    # the resolution's condition, so a stale listing cannot skip one).
    resolved, alone = resolve_counted(deps.store, alert, resolution, now,
                                      alone=alert.followups == 0)  # fmt: skip
    if resolved and not alone:
        resolve_other_tickets(
            deps.store, deps.tickets, alert.alert_id, alert.ticket_id, text, outbox=deps.outbox
        )
    return True
