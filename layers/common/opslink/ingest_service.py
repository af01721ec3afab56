"""Ingest: from a Lambda event to alerts, tickets and remediation executions.

`ingest_event` is the one call the ingest handler makes. Every record is handled on its
own: a bad record is rejected with a specific reason and recorded, a failing dependency
marks the record retryable, and neither stops its siblings.

Idempotency: the alert id derives from the alarm and its ALARM transition, the dedup lock
is a conditional write, builtin ticket ids derive from the alert id and the execution name
from the alert id. A delivery that died half-way leaves a lease on the lock; the next
delivery of the same transition finishes the work once the lease has run out.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from opslink.alarm_parsing import is_alarm_action, parse_alarm_document, parse_sns_message
from opslink.config import IngestSettings, InsufficientDataPolicy, OkPolicy
from opslink.enrichment import enrich
from opslink.errors import InvalidAlarm, RetryableError, TestNotification, TicketSystemError
from opslink.faults import FaultReporter
from opslink.identity import alert_id, execution_name, fingerprint
from opslink.models import (
    Alarm,
    AlarmState,
    Alert,
    Outcome,
    RecordResult,
    RemediationInput,
    TicketStatus,
)
from opslink.ports import (
    AlarmTagSource,
    AlertStore,
    Directory,
    LockHolder,
    Notifier,
    OpenAlertConflict,
    TicketSystem,
    Workflow,
)
from opslink.service_map import ServiceMap
from opslink.ticket_lockstep import resolve_other_tickets
from opslink.ticket_policy import draft_ticket, priority

logger = Logger(child=True)


@dataclass(frozen=True)
class IngestPolicy:
    refire_comment_period: timedelta = timedelta(hours=1)
    ok_policy: OkPolicy = OkPolicy.RESOLVE
    insufficient_data_policy: InsufficientDataPolicy = InsufficientDataPolicy.NOTE
    lease: timedelta = timedelta(seconds=90)
    read_alarm_tags: bool = True
    reopen_window: timedelta = timedelta(hours=24)
    # More than this many ALARM/OK changes of one alarm within the window: flapping.
    flap_transitions: int = 6
    flap_window: timedelta = timedelta(minutes=10)

    @classmethod
    def from_settings(cls, s: IngestSettings) -> IngestPolicy:
        return cls(
            refire_comment_period=timedelta(seconds=s.refire_comment_period_seconds),
            ok_policy=s.ok_policy,
            insufficient_data_policy=s.insufficient_data_policy,
            lease=timedelta(seconds=s.lease_seconds),
            read_alarm_tags=s.read_alarm_tags,
            reopen_window=timedelta(seconds=s.reopen_window_seconds),
            flap_transitions=s.flap_transitions,
            flap_window=timedelta(seconds=s.flap_window_seconds),
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class IngestDeps:
    store: AlertStore
    tickets: TicketSystem
    directory: Directory
    tags: AlarmTagSource
    workflow: Workflow
    service_map: ServiceMap
    clock: Callable[[], datetime] = _utcnow
    notifier: Notifier | None = None  # operators' channel: fallback while tickets fail
    faults: FaultReporter | None = None
    fault_seen: bool = False  # this container saw the ticket system fail: report recovery


# -- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    index: int
    source: str
    parse: Callable[[], Alarm]
    excerpt: str


def _records(event: Any) -> Iterator[_Record]:
    """Split a Lambda event into alarm records, whatever form it came in."""
    raw = json.dumps(event, default=str)[:1000] if not isinstance(event, str) else event[:1000]

    def reject(reason: str) -> Callable[[], Alarm]:
        def _raise() -> Alarm:
            raise InvalidAlarm(reason)

        return _raise

    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        if not event["Records"]:
            yield _Record(0, "event", reject("event has an empty Records list"), raw)
        for i, rec in enumerate(event["Records"]):
            excerpt = json.dumps(rec, default=str)[:1000]
            if not isinstance(rec, dict):
                yield _Record(i, f"record {i}", reject("record is not a JSON object"), excerpt)
                continue
            source = rec.get("EventSource") or rec.get("eventSource") or "unknown"
            if source != "aws:sns":
                yield _Record(
                    i,
                    f"record {i}",
                    reject(
                        f"unsupported event source {str(source)[:60]!r}: ingest takes SNS records"
                    ),
                    excerpt,
                )
                continue
            sns_field = rec.get("Sns")
            sns: dict[str, Any] = sns_field if isinstance(sns_field, dict) else {}
            message = sns.get("Message")
            label = f"sns:{sns.get('MessageId', i)}"
            if not isinstance(message, str):
                yield _Record(i, label, reject("SNS record has no Message string"), excerpt)
                continue
            topic = sns.get("TopicArn")
            yield _Record(
                i,
                label,
                functools.partial(
                    parse_sns_message, message, topic if isinstance(topic, str) else None
                ),
                message[:1000],
            )
    elif isinstance(event, dict) and (event.get("detail-type") or is_alarm_action(event)):
        label = "eventbridge" if event.get("detail-type") else "alarm-action"
        yield _Record(0, label, lambda: parse_alarm_document(event), raw)
    else:
        kind = type(event).__name__
        yield _Record(
            0,
            "event",
            reject(
                f"unrecognised event ({kind}): expected SNS Records, an EventBridge alarm event or an alarm-action payload"
            ),
            raw,
        )


def ingest_event(event: Any, deps: IngestDeps, policy: IngestPolicy) -> list[RecordResult]:
    results: list[RecordResult] = []
    for record in _records(event):
        results.append(_handle_record(record, deps, policy))
    return results


def _handle_record(record: _Record, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    try:
        try:
            alarm = record.parse()
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            # Whatever a mutated message breaks in parsing is bad input, never a retry.
            raise InvalidAlarm(
                f"malformed alarm message ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
        result = handle_alarm(alarm, deps, policy)
        return result.model_copy(update={"index": record.index})
    except TestNotification as exc:
        logger.info("test notification ignored", extra={"source": record.source})
        return RecordResult(index=record.index, outcome=Outcome.IGNORED, reason=exc.reason)
    except InvalidAlarm as exc:
        logger.warning("record rejected", extra={"source": record.source, "reason": exc.reason})
        try:
            deps.store.record_rejection(record.source, exc.reason, record.excerpt, deps.clock())
        except RetryableError as store_exc:
            # Not recorded: fail the delivery so it is retried, then lands in the DLQ.
            return RecordResult(
                index=record.index,
                outcome=Outcome.REJECTED,
                reason=f"{exc.reason} (and recording it failed: {store_exc})",
                retryable=True,
            )
        return RecordResult(index=record.index, outcome=Outcome.REJECTED, reason=exc.reason)
    except RetryableError as exc:
        logger.warning(
            "record failed, will be retried", extra={"source": record.source, "error": str(exc)}
        )
        return RecordResult(
            index=record.index, outcome=Outcome.REJECTED, reason=f"retryable: {exc}", retryable=True
        )
    except Exception as exc:  # a bug must not lose sibling records
        logger.exception("unexpected error on record", extra={"source": record.source})
        return RecordResult(
            index=record.index,
            outcome=Outcome.REJECTED,
            reason=f"retryable: internal error {type(exc).__name__}: {exc}",
            retryable=True,
        )


# -- alarm state changes -----------------------------------------------------------------


def handle_alarm(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    if alarm.state is AlarmState.ALARM:
        return _on_alarm(alarm, deps, policy)
    if alarm.state is AlarmState.OK:
        return _on_ok(alarm, deps, policy)
    return _on_insufficient_data(alarm, deps, policy)


def _new_alert(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> tuple[Alert, Any]:
    tags = deps.tags.tags(alarm.arn) if policy.read_alarm_tags else {}
    enr = enrich(alarm, tags, deps.service_map)
    fp = fingerprint(alarm)
    aid = alert_id(fp, alarm.state_changed_at)
    alert = Alert(
        alert_id=aid,
        fingerprint=fp,
        alarm_name=alarm.name,
        alarm_arn=alarm.arn,
        account_id=alarm.account_id,
        region=alarm.region,
        service=enr.service,
        team=enr.team,
        owner=enr.owner,
        environment=enr.environment,
        alert_type=enr.alert_type,
        severity=enr.severity,
        priority=priority(enr),
        triggered_at=alarm.state_changed_at,
        last_transition_at=alarm.state_changed_at,
        dimensions=alarm.dimensions,
        source_alarm=alarm.model_dump_json(),
    )
    return alert, enr


def _flapping(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> int:
    """Record this state change; the number of changes in the flap window when the alarm
    is flapping, else 0."""
    changes = deps.store.record_transition(
        fingerprint(alarm), alarm.state_changed_at, alarm.state.value, policy.flap_window
    )
    return len(changes) if len(changes) > policy.flap_transitions else 0


def _mark_flapping(
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
        deps.tickets.comment(alert.ticket_id, text)


def _on_alarm(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    alert, enr = _new_alert(alarm, deps, policy)
    now = deps.clock()
    try:
        deps.store.open_alert(alert, lease_until=now + policy.lease)
    except OpenAlertConflict as conflict:
        holder = conflict.holder
    else:
        return _open_safely(alarm, alert, enr, deps, policy, None, None, "new alert")
    if not holder.resolved:
        return _on_open_alert(alarm, alert, enr, holder, deps, policy)
    # The alarm had an alert before, now resolved: this ALARM starts a new episode.
    resolved_at = holder.resolved_at or alarm.state_changed_at
    if holder.alert_id == alert.alert_id or alarm.state_changed_at <= resolved_at:
        return RecordResult(
            index=0,
            outcome=Outcome.DUPLICATE,
            reason="late delivery of an ALARM from before the alert was resolved",
            alert_id=holder.alert_id,
            ticket_id=holder.ticket_id,
        )
    previous = {"alert_id": holder.alert_id, "resolved_at": resolved_at.isoformat()}
    if holder.ticket_id:
        previous["ticket_id"] = holder.ticket_id
    # A real OK -> ALARM change (duplicates and first alarms are not): flapping counts these.
    flaps = _flapping(alarm, deps, policy)
    try:
        deps.store.open_alert(
            alert, lease_until=now + policy.lease, replace=previous["alert_id"], previous=previous
        )
    except OpenAlertConflict as conflict:  # a concurrent delivery opened it first
        return _on_open_alert(alarm, alert, enr, conflict.holder, deps, policy)
    # Flagged before the remediation starts, so it is suppressed from its first step.
    flagged = bool(flaps) and deps.store.claim_slot(alert.alert_id, "flapping_since", None, now)
    result = _open_safely(
        alarm, alert, enr, deps, policy, None, previous, "new alert after a resolved one"
    )
    if flagged and not result.retryable:
        opened = deps.store.get(alert.alert_id)
        if opened is not None:
            _mark_flapping(opened, flaps, deps, policy, claimed=True)
    return result


def _open_safely(
    alarm: Alarm,
    alert: Alert,
    enr: Any,
    deps: IngestDeps,
    policy: IngestPolicy,
    ticket_id: str | None,
    previous: dict[str, str] | None,
    reason: str,
) -> RecordResult:
    """Finish opening; when a dependency fails, give the lease back at once (the retry
    continues the work instead of waiting it out) and, the first time, tell the operators
    directly: nobody depends on the ticket to know about the alarm."""
    try:
        result = _finish_opening(alarm, alert, enr, deps, policy, ticket_id, previous, reason)
    except RetryableError as exc:
        now = deps.clock()
        if isinstance(exc, TicketSystemError) and deps.faults is not None:
            deps.fault_seen = True
            with contextlib.suppress(RetryableError):
                deps.faults.failed(
                    "ticket_system",
                    deps.tickets.name,
                    exc,
                    {"alert_id": alert.alert_id, "alarm": alarm.name},
                    now,
                )
        with contextlib.suppress(RetryableError):
            deps.store.release_lease(alert, now)
        _fallback_notice(alarm, alert, deps, exc, now)
        return RecordResult(
            index=0,
            outcome=Outcome.REJECTED,
            reason=(
                f"retryable: {exc} (the alert is open; its ticket and remediation follow on "
                "the retry, or from the reconciler)"
            ),
            alert_id=alert.alert_id,
            retryable=True,
        )
    if deps.fault_seen and deps.faults is not None:
        with contextlib.suppress(RetryableError):
            deps.faults.recovered("ticket_system", deps.tickets.name, deps.clock())
        deps.fault_seen = False
    return result


def _fallback_notice(
    alarm: Alarm, alert: Alert, deps: IngestDeps, error: Exception, now: datetime
) -> None:
    if deps.notifier is None or not deps.store.claim_slot(
        alert.alert_id, "fallback_notified_at", None, now
    ):
        return  # no channel, or the operators were told already
    text = (
        f"ALARM {alarm.name} ({alert.service}, {alert.environment}, {alert.priority.value}) "
        f"fired at {alarm.state_changed_at.isoformat()}: {alarm.reason[:500]}\n\n"
        f"OpsLink could not open its ticket yet ({str(error)[:300]}). Alert {alert.alert_id} "
        "is recorded; the ticket and the remediation follow as soon as the ticket system "
        "answers again. Until then, handle it from this message."
    )
    try:
        deps.notifier.notify(
            f"[OpsLink fallback] {alert.service}: {alarm.name}"[:100],
            text,
            {
                "service": alert.service,
                "team": alert.team or "unassigned",
                "priority": alert.priority.value,
                "kind": "fallback",
            },
        )
    except RetryableError as exc:
        logger.warning("fallback notification failed", extra={"error": str(exc)})


def _finish_opening(
    alarm: Alarm,
    alert: Alert,
    enr: Any,
    deps: IngestDeps,
    policy: IngestPolicy,
    ticket_id: str | None,
    previous: dict[str, str] | None,
    reason: str,
) -> RecordResult:
    """Ticket, remediation execution, links: each step idempotent, safe to redo.

    After a resolved alert of the same alarm, the lifecycle rule decides the ticket: within
    the reopen window its ticket is reopened; later, a new ticket refers to it."""
    new_ticket = False
    if ticket_id is None:
        prev_ticket = (previous or {}).get("ticket_id")
        prev_resolved = datetime.fromisoformat(previous["resolved_at"]) if previous else None
        if (
            prev_ticket
            and prev_resolved
            and alarm.state_changed_at - prev_resolved <= policy.reopen_window
        ):
            ticket = deps.tickets.set_status(
                prev_ticket,
                TicketStatus.OPEN,
                note=(
                    f"Alarm {alarm.name} fired again at {alarm.state_changed_at.isoformat()}, "
                    f"{alarm.state_changed_at - prev_resolved} after this ticket was resolved: reopened "
                    f"for OpsLink alert {alert.alert_id}. Reason: {alarm.reason[:1000]}"
                ),
            )
            reason = f"re-fire within the reopen window: ticket {prev_ticket} reopened"
        else:
            oncall = deps.directory.oncall(enr.team)
            new_ticket = True
            ticket = deps.tickets.create(
                draft_ticket(alarm, enr, alert.alert_id, oncall, previous_ticket=prev_ticket)
            )
            if prev_ticket:
                reason = f"new alert after the reopen window; new ticket refers to {prev_ticket}"
        ticket_id = ticket.id
    else:
        found = deps.tickets.get(ticket_id)
        if found is None:
            raise RetryableError(f"ticket {ticket_id} of alert {alert.alert_id} cannot be read")
        ticket = found
    name = execution_name(alert.alert_id)
    payload = RemediationInput.from_alert(
        alert, ticket_id, _notification(alarm, alert, ticket_id, ticket.url)
    )
    deps.workflow.start_remediation(name, payload.model_dump(mode="json"))
    deps.store.link_opened(alert, ticket, name, new_ticket=new_ticket)
    return RecordResult(
        index=0,
        outcome=Outcome.CREATED,
        reason=reason,
        alert_id=alert.alert_id,
        ticket_id=ticket_id,
        execution_name=name,
    )


def _notification(alarm: Alarm, alert: Alert, ticket_id: str, url: str | None) -> dict[str, Any]:
    recipients = [r for r in (alert.owner, alert.team) if r]
    lines = [
        f"{alert.priority.value} alert on {alert.service} ({alert.environment}): {alarm.name}",
        f"Reason: {alarm.reason[:500]}",
        f"Ticket: {ticket_id}" + (f" {url}" if url else ""),
        f"Alert: {alert.alert_id}",
        f"Owner: {alert.owner or 'none'}; team: {alert.team or 'none'}",
    ]
    return {
        "subject": f"[{alert.priority.value}] {alert.service}: {alarm.name}"[:100],
        "message": "\n".join(lines),
        "attributes": {
            "service": alert.service,
            "team": alert.team or "unassigned",
            "priority": alert.priority.value,
            "recipients": ",".join(recipients) or "none",
        },
    }


def _on_open_alert(
    alarm: Alarm,
    new: Alert,
    enr: Any,
    holder: LockHolder,
    deps: IngestDeps,
    policy: IngestPolicy,
) -> RecordResult:
    held_id = holder.alert_id
    now = deps.clock()
    if held_id == new.alert_id:
        # The same ALARM transition again: a duplicate delivery.
        if holder.ticket_id and holder.execution_name:
            return RecordResult(
                index=0,
                outcome=Outcome.DUPLICATE,
                reason="duplicate delivery of an alarm already handled",
                alert_id=held_id,
                ticket_id=holder.ticket_id,
                execution_name=holder.execution_name,
            )
        lease_until = holder.lease_until or now
        if lease_until > now or not deps.store.take_lease(new, now, now + policy.lease):
            # Unfinished and held by another delivery: never "duplicate" (that would end
            # the retries); retried later, it finds the work done or takes it over.
            return RecordResult(
                index=0,
                outcome=Outcome.REJECTED,
                reason=(
                    "retryable: another delivery is opening this alert right now "
                    f"(lease until {lease_until.isoformat()})"
                ),
                alert_id=held_id,
                retryable=True,
            )
        return _open_safely(
            alarm,
            new,
            enr,
            deps,
            policy,
            holder.ticket_id,
            holder.previous,
            "finished opening an alert a failed delivery left unfinished",
        )

    current = deps.store.record_refire(held_id, alarm.state_changed_at)
    if current is None:
        return RecordResult(
            index=0,
            outcome=Outcome.DUPLICATE,
            reason="duplicate or out-of-order delivery of an earlier ALARM transition",
            alert_id=held_id,
            ticket_id=holder.ticket_id,
        )
    previous = current.last_comment_at
    due = previous is None or now - previous >= policy.refire_comment_period
    commented = False
    if current.ticket_id and due and deps.store.claim_comment(held_id, previous, now):
        deps.tickets.comment(
            current.ticket_id,
            f"Alarm {alarm.name} fired again at {alarm.state_changed_at.isoformat()} "
            f"(occurrence {current.occurrences}). Reason: {alarm.reason[:1000]}",
        )
        commented = True
    return RecordResult(
        index=0,
        outcome=Outcome.DUPLICATE,
        reason=f"re-fire of open alert, occurrence {current.occurrences}"
        + ("; ticket commented" if commented else ""),
        alert_id=held_id,
        ticket_id=current.ticket_id,
        execution_name=current.execution_name,
    )


def _on_ok(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    fp = fingerprint(alarm)
    alert = deps.store.find_open(fp)
    if alert is None:
        return RecordResult(
            index=0, outcome=Outcome.IGNORED, reason="OK for an alarm with no open alert"
        )
    flaps = (
        _flapping(alarm, deps, policy) if alarm.state_changed_at >= alert.last_transition_at else 0
    )
    if flaps or alert.flapping_since is not None:
        if flaps:
            _mark_flapping(alert, flaps, deps, policy)
        return RecordResult(
            index=0,
            outcome=Outcome.IGNORED,
            reason="alarm flapping: the OK is noted, the alert and its ticket stay open",
            alert_id=alert.alert_id,
            ticket_id=alert.ticket_id,
        )
    if alarm.state_changed_at < alert.last_transition_at:
        return RecordResult(
            index=0,
            outcome=Outcome.IGNORED,
            reason="OK older than the open alert's last ALARM",
            alert_id=alert.alert_id,
            ticket_id=alert.ticket_id,
        )
    text = f"Alarm {alarm.name} returned to OK at {alarm.state_changed_at.isoformat()}: {alarm.reason[:1000]}"
    if alert.ticket_id:
        # Ticket first: if it fails the alert stays open and the retry does both.
        if policy.ok_policy is OkPolicy.RESOLVE:
            deps.tickets.set_status(alert.ticket_id, TicketStatus.RESOLVED, note=text)
        else:
            deps.tickets.comment(alert.ticket_id, text)
    resolution = {
        "by": "alarm",
        "how": "alarm returned to OK",
        "at": alarm.state_changed_at.isoformat(),
        "reason": alarm.reason[:1000],
    }
    resolved = deps.store.resolve(alert, resolution, alarm.state_changed_at)
    if resolved and policy.ok_policy is OkPolicy.RESOLVE:
        resolve_other_tickets(deps.store, deps.tickets, alert.alert_id, alert.ticket_id, text)
    return RecordResult(
        index=0,
        outcome=Outcome.RESOLVED if resolved else Outcome.DUPLICATE,
        reason="alarm returned to OK" if resolved else "alert was already resolved",
        alert_id=alert.alert_id,
        ticket_id=alert.ticket_id,
        execution_name=alert.execution_name,
    )


def _on_insufficient_data(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    if policy.insufficient_data_policy is InsufficientDataPolicy.IGNORE:
        return RecordResult(
            index=0, outcome=Outcome.IGNORED, reason="INSUFFICIENT_DATA ignored by policy"
        )
    alert = deps.store.find_open(fingerprint(alarm))
    if alert is None:
        return RecordResult(
            index=0,
            outcome=Outcome.IGNORED,
            reason="INSUFFICIENT_DATA for an alarm with no open alert",
        )
    text = f"Alarm {alarm.name} has INSUFFICIENT_DATA since {alarm.state_changed_at.isoformat()}: {alarm.reason[:1000]}"
    if alert.ticket_id:
        deps.tickets.comment(alert.ticket_id, text)
    deps.store.add_note(alert.alert_id, text, deps.clock(), kind="insufficient_data")
    return RecordResult(
        index=0,
        outcome=Outcome.IGNORED,
        reason="INSUFFICIENT_DATA noted on the open alert",
        alert_id=alert.alert_id,
        ticket_id=alert.ticket_id,
    )
