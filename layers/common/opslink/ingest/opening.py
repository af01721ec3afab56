"""Opening an alert: its ticket (new, or the previous episode's reopened), its
remediation execution and the links, each step idempotent; when a dependency fails, the
lease is given back and the operators are told directly (fallback notification)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from opslink.errors import RetryableError, TicketSystemError
from opslink.identity import execution_name
from opslink.inert import code
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.models import Alarm, Alert, Outcome, RecordResult, RemediationInput, TicketStatus
from opslink.provenance import account_allowed
from opslink.ticket_policy import draft_ticket

logger = Logger(child=True)


def open_safely(
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
                    f"Alarm {code(alarm.name)} fired again at {alarm.state_changed_at.isoformat()}, "
                    f"{alarm.state_changed_at - prev_resolved} after this ticket was resolved: reopened "
                    f"for OpsLink alert {alert.alert_id}. Reason: {code(alarm.reason[:1000])}"
                ),
            )
            reason = f"re-fire within the reopen window: ticket {prev_ticket} reopened"
        else:
            oncall = deps.directory.oncall(enr.team)
            new_ticket = True
            unverified = (
                None
                if account_allowed(alarm.account_id, policy.allowed_accounts)
                else f"account {alarm.account_id} is not one OpsLink serves (AllowedAccountIds)"
            )
            ticket = deps.tickets.create(
                draft_ticket(
                    alarm,
                    enr,
                    alert.alert_id,
                    oncall,
                    previous_ticket=prev_ticket,
                    unverified=unverified,
                )
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
