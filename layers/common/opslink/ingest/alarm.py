"""ALARM state changes: a new alert, a duplicate or re-fire of an open one, or a new
episode after a resolved one (reopen window, flapping)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aws_lambda_powertools import Logger

from opslink.comment_outbox import post_comment
from opslink.enrichment import enrich
from opslink.identity import alert_id, fingerprint
from opslink.inert import code
from opslink.ingest.clearing import on_insufficient_data, on_ok
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.ingest.episode import Episode, PreviousEpisode, alarm_tags
from opslink.ingest.flapping import flapping, mark_flapping
from opslink.ingest.grouping import open_placed, placed, with_decision
from opslink.ingest.incident_slot import take_incident_slot
from opslink.ingest.opening import open_safely
from opslink.lock_holder import LockHolder, OpenAlertConflict
from opslink.models import Alarm, AlarmState, Alert, Outcome, RecordResult
from opslink.scrub import scrub_excerpt
from opslink.ticket_policy import priority

logger = Logger(child=True)


def handle_alarm(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    if alarm.state is AlarmState.ALARM:
        return on_alarm(alarm, deps, policy)
    if alarm.state is AlarmState.OK:
        return on_ok(alarm, deps, policy)
    return on_insufficient_data(alarm, deps, policy)


def new_episode(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> Episode:
    """The episode this ALARM would open: its alert, enriched from the alarm's tags, the
    service map and naming conventions."""
    tags = alarm_tags(alarm, deps, policy)
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
    if deps.correlator is None or deps.incidents is None:
        return Episode(alarm=alarm, alert=alert, enrichment=enr)
    signal, grouping = deps.correlator.grouping(alert, tags)
    if grouping.key is None:  # left alone: why, from the alert's first write
        alert = alert.model_copy(update={"incident_why": f"{grouping.rule}: {grouping.why}"})
    return Episode(alarm=alarm, alert=alert, enrichment=enr, signal=signal, grouping=grouping)


def on_alarm(alarm: Alarm, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    episode = new_episode(alarm, deps, policy)
    try:
        started = open_placed(episode, deps, lease_until=deps.clock() + policy.lease)
    except OpenAlertConflict as conflict:
        return _held(episode, conflict.holder, deps, policy)
    return open_safely(started, deps, policy, "new alert")


def _held(
    episode: Episode, holder: LockHolder, deps: IngestDeps, policy: IngestPolicy
) -> RecordResult:
    """The alarm's lock is held: by an OK kept before any alert, an open alert (duplicate,
    re-fire, unfinished opening) or a resolved one (a new episode, or a late delivery)."""
    alarm, alert, now = episode.alarm, episode.alert, deps.clock()
    if holder.cleared is not None and not holder.alert_id:  # an OK came first, no alert
        return _after_early_ok(episode, holder.cleared, deps, policy)
    if not holder.resolved:
        return _on_open_alert(episode, holder, deps, policy)
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
    previous = PreviousEpisode(holder.alert_id, resolved_at, holder.ticket_id)
    # A real OK -> ALARM change (duplicates and first alarms are not): flapping counts these.
    flaps = flapping(alarm, deps, policy)
    opening = episode.finishing(previous=previous)
    if holder.cleared is not None and _over(alarm, holder.cleared):  # its OK came first
        opening = _already_cleared(opening, holder.cleared)
    try:
        started = open_placed(
            opening,
            deps,
            lease_until=now + policy.lease,
            replaces=previous.alert_id,
            previous=previous.facts(),
        )
    except OpenAlertConflict as conflict:  # a concurrent delivery opened it first
        return _on_open_alert(episode, conflict.holder, deps, policy)
    # Flagged before the remediation starts, so it is suppressed from its first step.
    flagged = bool(flaps) and deps.store.claim_slot(alert.alert_id, "flapping_since", None, now)
    result = open_safely(started, deps, policy, "new alert after a resolved one")
    if flagged and not result.retryable:
        opened = deps.store.get(alert.alert_id)
        if opened is not None:
            mark_flapping(opened, flaps, deps, policy, claimed=True)
    return result


def _after_early_ok(
    episode: Episode, cleared: dict[str, str], deps: IngestDeps, policy: IngestPolicy
) -> RecordResult:
    """The alarm's OK came before this ALARM (kept on its lock: no alert had it). An ALARM
    from before that OK — delivered out of order, or retried late — opens its alert
    already cleared: its ticket is made and resolved with the OK's facts, no remediation
    and no incident (it is over). A later ALARM opens as any new one."""
    over = _over(episode.alarm, cleared)
    opening = _already_cleared(episode, cleared) if over else episode
    try:
        started = open_placed(opening, deps, lease_until=deps.clock() + policy.lease,
                              replaces_cleared=cleared["at"])  # fmt: skip
    except OpenAlertConflict as conflict:  # changed meanwhile (a delivery, a later OK)
        return _held(episode, conflict.holder, deps, policy)
    why = "new alert for an ALARM delivered after its OK" if over else "new alert"
    return open_safely(started, deps, policy, why)


def _over(alarm: Alarm, cleared: dict[str, str]) -> bool:
    """Whether the OK kept on the lock came after this ALARM (it cleared it)."""
    return alarm.state_changed_at <= datetime.fromisoformat(cleared["at"])


def _already_cleared(episode: Episode, cleared: dict[str, str]) -> Episode:
    """The episode opened with its OK kept on its alert (opening.py makes and resolves its
    ticket, starts nothing), out of any incident: it is over."""
    pending = {k: v for k, v in cleared.items() if k in ("at", "reason", "note")}
    alert = episode.alert.model_copy(update={
        "pending_ok": pending | {"why": "its OK was delivered before its ALARM"}})  # fmt: skip
    return replace(episode, alert=alert, signal=None, grouping=None)


def _on_open_alert(
    episode: Episode, holder: LockHolder, deps: IngestDeps, policy: IngestPolicy
) -> RecordResult:
    """The alarm's alert is open: this ALARM is a duplicate, a re-fire, or the same
    transition again from a delivery that must finish what an earlier one left."""
    alarm, new = episode.alarm, episode.alert
    held_id = holder.alert_id
    now = deps.clock()
    if held_id == new.alert_id:
        # The same ALARM transition again: a duplicate delivery.
        if holder.finished:
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
        if holder.ticket_id is None:  # its OK may have come meanwhile (kept on the alert)
            stored = deps.store.get(held_id)
            new = stored if stored is not None and stored.pending_ok is not None else new
        new = with_decision(new, holder.incident)  # as its first delivery placed it
        unfinished = episode.finishing(
            alert=new,
            ticket_id=holder.ticket_id,
            previous=PreviousEpisode.of(holder.previous),
            earlier_attempt_at=lease_until,  # held until then: its create may exist
        )
        if unfinished.alert.incident_id is None:  # not placed yet (its first delivery failed)
            unfinished = placed(unfinished, deps)
        return open_safely(
            unfinished, deps, policy, "finished opening an alert a failed delivery left unfinished"
        )

    # One write counts the re-fire and, when the comment period has passed, takes the
    # comment slot (a ticket to comment on is known from the lock). A slot this container
    # saw taken inside the period is not tried: the count alone (comment_slots.py).
    due_before = now - policy.refire_comment_period
    if holder.member_of and holder.ticket_id and deps.incidents is not None:
        current, claimed = _member_refire(holder.member_of, held_id, alarm, deps, policy)
    elif holder.ticket_id and not deps.recent_comments.taken_since(held_id, due_before):
        counted = deps.store.record_refire_claiming_comment(
            held_id, alarm.state_changed_at, now, due_before
        )
        current, claimed = counted if counted is not None else (None, False)
    else:
        current, claimed = deps.store.record_refire(held_id, alarm.state_changed_at), False
    if current is not None and not holder.member_of:
        deps.recent_comments.saw(held_id, current.last_comment_at)
    if current is not None and current.pending_ok and not _over(alarm, current.pending_ok):
        # Fired again after the OK kept for its ticket (not made yet): the alert goes on —
        # its ticket, when made, stays open and its remediation starts.
        deps.store.drop_pending_ok(held_id, current.pending_ok)
    if current is None:
        return RecordResult(
            index=0,
            outcome=Outcome.DUPLICATE,
            reason="duplicate or out-of-order delivery of an earlier ALARM transition",
            alert_id=held_id,
            ticket_id=holder.ticket_id,
        )
    commented = False
    if current.ticket_id and claimed:
        post_comment(
            deps.outbox,
            deps.tickets,
            current.ticket_id,
            f"{held_id}:refire:{alarm.state_changed_at.isoformat()}",
            f"Alarm {code(alarm.name)} fired again at {alarm.state_changed_at.isoformat()} "
            f"(occurrence {current.occurrences}). Reason: {code(scrub_excerpt(alarm.reason, 1000))}",
            now,
            held_id,
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


def _member_refire(
    incident_id: str, alert_id: str, alarm: Alarm, deps: IngestDeps, policy: IngestPolicy
) -> tuple[Alert | None, bool]:
    """A member's re-fire, counted on its alert; it comments on the incident's shared
    ticket only with the incident's slot (incident_slot.py). Counted first, so a
    duplicate delivery never takes the slot."""
    current = deps.store.record_refire(alert_id, alarm.state_changed_at)
    if current is None:
        return current, False
    return current, take_incident_slot(incident_id, deps, policy)
