"""Opening an alert: its ticket (new, or the previous episode's reopened), its
remediation execution and the links, each step idempotent; when a dependency fails, the
lease is given back and the operators are told directly (fallback notification)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from opslink.comment_outbox import noted_status
from opslink.errors import RetryableError, TicketClosedForGood, TicketSystemError
from opslink.identity import execution_name
from opslink.inert import code
from opslink.ingest.cleared_first import opened_after_ok
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.ingest.episode import Episode, PreviousEpisode, alarm_tags
from opslink.ingest.grouping import (
    IncidentTicketPending,
    decision_of,
    join_incident_ticket,
    placed,
    with_decision,
)
from opslink.ingest.remediation_start import remediation_input
from opslink.lock_holder import AlarmClearedFirst
from opslink.models import Alarm, Alert, AlertStatus, Outcome, RecordResult, TicketStatus
from opslink.provenance import account_allowed, region_allowed
from opslink.scrub import scrub_excerpt
from opslink.ticket_policy import draft_ticket

logger = Logger(child=True)


def open_safely(
    episode: Episode, deps: IngestDeps, policy: IngestPolicy, reason: str
) -> RecordResult:
    """Finish opening; when a dependency fails, give the lease back at once (the retry
    continues the work instead of waiting it out) and, the first time, tell the operators
    directly: nobody depends on the ticket to know about the alarm."""
    alarm, alert = episode.alarm, episode.alert
    try:
        result = _finish_opening(episode, deps, policy, reason)
    except RetryableError as exc:
        now = deps.clock()
        if isinstance(exc, IncidentTicketPending):  # its opener tells the operators
            with contextlib.suppress(RetryableError):
                deps.store.release_lease(alert, now)
            return RecordResult(index=0, outcome=Outcome.REJECTED, reason=f"retryable: {exc}",
                                alert_id=alert.alert_id, retryable=True,
                                awaiting_incident=alert.incident_id)  # fmt: skip
        if isinstance(exc, TicketSystemError) and deps.faults is not None:
            deps.fault_seen = True
            deps.faults.record("ticket_system", deps.tickets.name, exc,
                               {"alert_id": alert.alert_id, "alarm": alarm.name}, now)  # fmt: skip
        with contextlib.suppress(RetryableError):
            deps.store.release_lease(alert, now)
        if alert.incident_role == "opened" and alert.incident_id and deps.incidents:
            with contextlib.suppress(RetryableError):  # its members: no waiting for it
                deps.incidents.opener_stalled(alert.incident_id, now)
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
        f"fired at {alarm.state_changed_at.isoformat()}: {scrub_excerpt(alarm.reason, 500)}\n\n"
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
    episode: Episode, deps: IngestDeps, policy: IngestPolicy, reason: str
) -> RecordResult:
    """Ticket, remediation execution, links: each step idempotent, safe to redo.

    After a resolved alert of the same alarm, the lifecycle rule decides the ticket: within
    the reopen window its ticket is reopened; later, a new ticket refers to it."""
    alarm, alert, enr = episode.alarm, episode.alert, episode.enrichment
    ticket_id, previous = episode.ticket_id, episode.previous
    if alert.incident_role == "joined" and ticket_id is None and deps.incidents is not None:
        # the incident's ticket, its remediation
        try:
            return join_incident_ticket(episode, deps, wait=policy.wait_for_incident_ticket)
        except IncidentTicketPending as waiting:
            live = policy.wait_for_incident_ticket  # the reconciler reaches openers itself
            if not (
                live and waiting.stalled and _finish_stalled_opener(waiting.opener, deps, policy)
            ):
                raise
            return join_incident_ticket(episode, deps, wait=False)
    new_ticket = False
    if ticket_id is None:
        prev_ticket = previous.ticket_id if previous else None
        ticket, follows = None, None  # follows: a previous ticket closed for good
        if (
            previous is not None
            and previous.ticket_id
            and alarm.state_changed_at - previous.resolved_at <= policy.reopen_window
        ):
            ticket, follows, reason = _reopen(episode, deps, previous.ticket_id, previous)
        if ticket is None:
            oncall = deps.directory.oncall(enr.team)
            new_ticket = True
            unverified = outside(alarm.account_id, alarm.region, policy)
            draft = draft_ticket(
                alarm,
                enr,
                alert.alert_id,
                oncall,
                previous_ticket=prev_ticket,
                unverified=unverified,
                follows=follows,
                incident=(alert.incident_id, alert.incident_why or "")
                if alert.incident_id and alert.incident_role == "opened"
                else None,
            )
            ticket = deps.tickets.create(
                draft.model_copy(update={"earlier_attempt_at": episode.earlier_attempt_at})
            )
            if follows:
                moved = deps.outbox.move_queued_comments(follows, ticket.id)
                if moved:
                    reason += f"; {moved} queued comment(s) moved to it"
            elif prev_ticket:
                reason = f"new alert after the reopen window; new ticket refers to {prev_ticket}"
        ticket_id = ticket.id
    else:
        found = deps.tickets.get(ticket_id)
        if found is None:
            raise RetryableError(f"ticket {ticket_id} of alert {alert.alert_id} cannot be read")
        ticket = found
    if alert.pending_ok is not None:  # cleared before its ticket: nothing to remediate
        return opened_after_ok(alert, ticket, alert.pending_ok, new_ticket, deps, policy)
    name = execution_name(alert.alert_id)
    payload = remediation_input(alarm, alert, ticket_id, ticket.url)
    deps.workflow.start_remediation(name, payload)
    try:
        deps.store.link_opened(alert, ticket, name, new_ticket=new_ticket)
    except AlarmClearedFirst:
        # The OK came while this delivery was opening the alert: no remediation after all.
        deps.workflow.stop_remediation(name, "the alarm returned to OK before its ticket existed")
        fresh = deps.store.get(alert.alert_id)
        if fresh is None or fresh.pending_ok is None:
            raise RetryableError(f"alert {alert.alert_id} changed while it was opened") from None
        pending = fresh.pending_ok
        fresh = with_decision(fresh, decision_of(alert))  # not on the stored alert yet
        return opened_after_ok(fresh, ticket, pending, new_ticket, deps, policy)
    return RecordResult(
        index=0,
        outcome=Outcome.CREATED,
        reason=reason,
        alert_id=alert.alert_id,
        ticket_id=ticket_id,
        execution_name=name,
    )


def outside(account: str, region: str, policy: IngestPolicy) -> str | None:
    """Why an alarm is not of an account and region OpsLink serves (its ticket is marked
    unverified and it never gets a job); None when it is."""
    if not account_allowed(account, policy.allowed_accounts):
        return f"account {account} is not one OpsLink serves (AllowedAccountIds)"
    if not region_allowed(region, policy.allowed_regions):
        return f"region {region} is not one OpsLink serves (AlarmRegions)"
    return None


def _reopen(
    episode: Episode, deps: IngestDeps, prev_ticket: str, previous: PreviousEpisode
) -> tuple[Any, str | None, str]:
    """A re-fire within the reopen window: (its reopened ticket, None, reason), or — the
    ticket closed for good — (None, that ticket, reason): a follow-up takes its place."""
    alarm, alert = episode.alarm, episode.alert
    prev_resolved = previous.resolved_at
    try:
        ticket = noted_status(
            deps.outbox,
            deps.tickets,
            prev_ticket,
            TicketStatus.OPEN,
            (
                f"Alarm {code(alarm.name)} fired again at {alarm.state_changed_at.isoformat()}, "
                f"{alarm.state_changed_at - prev_resolved} after this ticket was resolved: reopened "
                f"for OpsLink alert {alert.alert_id}. Reason: {code(scrub_excerpt(alarm.reason, 1000))}"
            ),
            f"{alert.alert_id}:reopened:{prev_ticket}",
            deps.clock(),
            alert.alert_id,
        )
    except TicketClosedForGood as exc:
        logger.info("follow-up ticket", extra={"ticket_id": prev_ticket, "why": str(exc)})
        return (
            None,
            prev_ticket,
            (
                f"re-fire within the reopen window; ticket {prev_ticket} is closed for good "
                f"({scrub_excerpt(str(exc), 200)}): a follow-up ticket refers to it"
            ),
        )
    return ticket, None, f"re-fire within the reopen window: ticket {prev_ticket} reopened"


def finish_unticketed(
    alert: Alert, deps: IngestDeps, policy: IngestPolicy, reason: str
) -> RecordResult | None:
    """Finish an alert a failed delivery left without its ticket, from the alarm state
    change stored on it; None when another delivery holds its lease right now.

    The alarm's lock says what its first delivery knew: the previous episode (its ticket
    is reopened within the reopen window, as that delivery would have) and the incident
    decision."""
    from opslink.enrichment import enrich

    now = deps.clock()
    if alert.source_alarm is None or not deps.store.take_lease(alert, now, now + policy.lease):
        return None
    alarm = Alarm.model_validate_json(alert.source_alarm)
    tags = alarm_tags(alarm, deps, policy)
    holder = deps.store.lock_holder(alert.fingerprint)
    ours = holder if holder is not None and holder.alert_id == alert.alert_id else None
    episode = Episode(
        alarm=alarm,
        alert=alert,
        enrichment=enrich(alarm, tags, deps.service_map),
        previous=PreviousEpisode.of(ours.previous) if ours else None,
        earlier_attempt_at=alert.lease_until or alert.triggered_at,
    )
    if deps.incidents is not None and alert.incident_id is None:
        # Its incident as its first delivery decided it (on the lock), or decided now.
        decided = with_decision(alert, ours.incident if ours else None)
        if decided.incident_id is None and deps.correlator is not None:
            signal, grouping = deps.correlator.grouping(alert, tags)
            episode = placed(replace(episode, signal=signal, grouping=grouping), deps)
        else:
            episode = replace(episode, alert=decided)
    return open_safely(episode, deps, policy, reason)


def _finish_stalled_opener(opener_id: str, deps: IngestDeps, policy: IngestPolicy) -> bool:
    """A member's delivery finishes its incident's opener, whose own delivery failed (its
    retries may have run out): the first member retry after the ticket system is back
    opens the incident's ticket instead of leaving every member waiting for the
    reconciler. True when the opener has its ticket now."""
    opener = deps.store.get(opener_id)
    if opener is None or opener.ticket_id or opener.status is not AlertStatus.OPEN:
        return opener is not None and opener.ticket_id is not None
    result = finish_unticketed(opener, deps, policy, "finished by its incident member's delivery")
    return result is not None and not result.retryable
