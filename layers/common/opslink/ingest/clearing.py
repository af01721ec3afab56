"""OK and INSUFFICIENT_DATA: resolve (or annotate) the open alert and its tickets."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from opslink.comment_outbox import post_comment
from opslink.config import InsufficientDataPolicy, OkPolicy
from opslink.identity import fingerprint
from opslink.incident_tickets import resolve_alert_ticket
from opslink.inert import code
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.ingest.flapping import flap_count, mark_flapping, record_change
from opslink.ingest.incident_slot import take_incident_slot
from opslink.ingest.opening import finish_unticketed
from opslink.models import Alarm, Alert, AlertStatus, Outcome, RecordResult
from opslink.ports.store import NoOpenAlert
from opslink.scrub import scrub_excerpt
from opslink.ticket_lockstep import resolve_counted, resolve_other_tickets

logger = Logger(child=True)


def on_ok(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    # One read for all an OK decides from: the alert, the alarm's flap history and whether
    # its ticket has comments queued; this change joins the history with the resolution.
    read = deps.store.find_open_to_clear(fingerprint(alarm))
    if isinstance(read, NoOpenAlert):  # kept for an ALARM from before it delivered after it
        kept = read.keeps(alarm.state_changed_at) and deps.store.remember_early_ok(
            fingerprint(alarm), alarm.state_changed_at, _ok_facts(alarm))  # fmt: skip
        return RecordResult(
            index=0,
            outcome=Outcome.IGNORED,
            reason="OK for an alarm with no open alert"
            + (" (kept: an earlier ALARM delivered later opens its alert cleared)" if kept else ""),
        )
    alert = read.alert
    newer = alarm.state_changed_at >= alert.last_transition_at
    flaps = flap_count(read.transitions, alarm, policy) if newer else 0
    if flaps or alert.flapping_since is not None:
        if newer:
            record_change(alarm, deps, policy)
        if flaps:
            mark_flapping(alert, flaps, deps, policy)
        return RecordResult(
            index=0,
            outcome=Outcome.IGNORED,
            reason="alarm flapping: the OK is noted, the alert and its ticket stay open",
            alert_id=alert.alert_id,
            ticket_id=alert.ticket_id,
        )
    if not newer:
        return RecordResult(
            index=0,
            outcome=Outcome.IGNORED,
            reason="OK older than the open alert's last ALARM",
            alert_id=alert.alert_id,
            ticket_id=alert.ticket_id,
        )
    facts = _ok_facts(alarm)
    reason, text = facts["reason"], facts["note"]
    if not alert.ticket_id:
        record_change(alarm, deps, policy)  # the resolution below may come much later
        if deps.store.set_pending_ok(alert.alert_id, facts):
            return _cleared_before_ticket(
                alert.model_copy(update={"pending_ok": facts}), deps, policy
            )
        fresh = deps.store.get(alert.alert_id)  # its ticket was linked meanwhile
        if fresh is None or fresh.status is not AlertStatus.OPEN:
            return RecordResult(index=0, outcome=Outcome.DUPLICATE,
                                reason="alert was already resolved", alert_id=alert.alert_id)  # fmt: skip
        alert = fresh
    change = "OK" if alert is read.alert else None  # else recorded above
    queue_checked = read.ticket_queue_empty and alert is read.alert
    if alert.ticket_id:
        # The ticket's state and its note, once; if the ticket system fails they wait in
        # the outbox (the reconciler delivers them) and the alert is resolved all the same.
        key = f"{alert.alert_id}:ok:{alarm.state_changed_at.isoformat()}"
        if policy.ok_policy is OkPolicy.RESOLVE:  # its incident's ticket: as resolve_on says
            resolve_alert_ticket(deps.store, deps.outbox, deps.tickets, deps.incidents, alert, text,
                                 key, deps.clock(), queue_checked=queue_checked,
                                 incident_read=read.incident if alert is read.alert else None,
                                 digest=True)  # fmt: skip
        else:
            post_comment(deps.outbox, deps.tickets, alert.ticket_id, key, text, deps.clock(),
                         alert.alert_id, queue_checked=queue_checked)  # fmt: skip
    resolution = {
        "by": "alarm",
        "how": "alarm returned to OK",
        "at": alarm.state_changed_at.isoformat(),
        "reason": reason,
    }
    resolved, alone = resolve_counted(deps.store, alert, resolution, alarm.state_changed_at,
                                      alone=alert.followups == 0, alarm_change=change)  # fmt: skip
    if change and not resolved:  # resolved by something else meanwhile: the OK still happened
        record_change(alarm, deps, policy)
    if resolved and policy.ok_policy is OkPolicy.RESOLVE and not alone:
        resolve_other_tickets(
            deps.store, deps.tickets, alert.alert_id, alert.ticket_id, text, outbox=deps.outbox
        )
    # Nothing ran yet and nothing needs to: no approval request left hanging.
    if (
        resolved
        and alert.awaiting_approval
        and alert.execution_name
        and deps.workflow.stop_remediation(alert.execution_name, "alarm returned to OK")
    ):
        deps.store.add_note(
            alert.alert_id,
            f"Remediation {alert.execution_name} stopped: the alarm returned to OK while "
            "its runbook waited for approval.",
            deps.clock(),
            kind="approval_withdrawn",
        )
    return RecordResult(
        index=0,
        outcome=Outcome.RESOLVED if resolved else Outcome.DUPLICATE,
        reason="alarm returned to OK" if resolved else "alert was already resolved",
        alert_id=alert.alert_id,
        ticket_id=alert.ticket_id,
        execution_name=alert.execution_name,
    )


def _ok_facts(alarm: Alarm) -> dict[str, str]:
    """An OK as an alert keeps it until its ticket exists: when, why, the ticket's note."""
    reason = scrub_excerpt(alarm.reason, 1000)  # scrubbed before it is cut
    at = alarm.state_changed_at.isoformat()
    return {"at": at, "reason": reason,
            "note": f"Alarm {code(alarm.name)} returned to OK at {at}: {code(reason)}"}  # fmt: skip


def _cleared_before_ticket(alert: Alert, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    """An OK for an alert whose ticket does not exist yet: the OK is kept on the alert;
    the ticket is made now if the ticket system answers (then resolved with the OK's
    facts), else by whichever comes first: the reconciler, a redelivered ALARM, or the
    delivery opening it right now. Never skipped: the alert stays open until then."""
    result = finish_unticketed(alert, deps, policy, "finished when its alarm returned to OK")
    if result is not None and not result.retryable:
        return result
    return RecordResult(
        index=0,
        outcome=Outcome.RESOLVED,
        reason=(
            "the alarm returned to OK before the alert's ticket could be made: the OK is kept; "
            "the ticket follows (then resolved with it) as soon as the ticket system answers"
        ),
        alert_id=alert.alert_id,
    )


def on_insufficient_data(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    if policy.insufficient_data_policy is InsufficientDataPolicy.IGNORE:
        return RecordResult(
            index=0, outcome=Outcome.IGNORED, reason="INSUFFICIENT_DATA ignored by policy"
        )
    read = deps.store.find_open_to_clear(fingerprint(alarm), with_incident=False)
    if isinstance(read, NoOpenAlert):
        return RecordResult(
            index=0,
            outcome=Outcome.IGNORED,
            reason="INSUFFICIENT_DATA for an alarm with no open alert",
        )
    alert, now = read.alert, deps.clock()
    text = f"Alarm {code(alarm.name)} has INSUFFICIENT_DATA since {alarm.state_changed_at.isoformat()}: {code(scrub_excerpt(alarm.reason, 1000))}"
    # Every pass is noted on the alert; its ticket hears of one per comment period, the
    # period re-fires share (an alarm missing data every few minutes would otherwise add
    # a comment each time). Decided on the read, set with the note: two passes at the
    # same instant may both comment — never none. An incident's member takes the
    # incident's slot instead (its ticket is shared: incident_slot.py).
    member = bool(alert.incident_role == "joined" and alert.incident_id and deps.incidents)
    if not alert.ticket_id:
        commented = False
    elif member:
        commented = take_incident_slot(str(alert.incident_id), deps, policy)
    else:
        commented = alert.last_comment_at is None or (
            alert.last_comment_at <= now - policy.refire_comment_period
        )
    if commented:
        key = f"{alert.alert_id}:insufficient_data:{alarm.state_changed_at.isoformat()}"
        post_comment(deps.outbox, deps.tickets, str(alert.ticket_id), key, text, now,
                     alert.alert_id, queue_checked=read.ticket_queue_empty)  # fmt: skip
    deps.store.add_note(alert.alert_id, text, now, kind="insufficient_data",
                        fields={"last_comment_at": now.isoformat()}
                        if commented and not member else None)  # fmt: skip
    return RecordResult(
        index=0,
        outcome=Outcome.IGNORED,
        reason="INSUFFICIENT_DATA noted on the open alert"
        + ("" if commented or not alert.ticket_id else " (its ticket heard of it this period)"),
        alert_id=alert.alert_id,
        ticket_id=alert.ticket_id,
    )
