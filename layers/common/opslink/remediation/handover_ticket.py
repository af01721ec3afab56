"""The hand-over on a [FAILED_AUTO] ticket of its own (EscalationTicket=separate, or an
alert without a ticket): high priority, the on-call assigned, due in two hours, linked to
the alert as its follow-up."""

from __future__ import annotations

from datetime import datetime, timedelta

from opslink.models import AlertStatus, Priority, TicketDraft, TicketType
from opslink.outcome_texts import handover_title
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.payloads import TaskRequest
from opslink.ticket_lockstep import resolve_other_tickets

MANUAL_DUE = timedelta(hours=2)


def separate_handover(
    deps: RemediateDeps,
    req: TaskRequest,
    why: str,
    kind: str,
    note: str,
    oncall: str | None,
    now: datetime,
) -> str:
    a = req.alert
    draft = TicketDraft(
        alert_id=a.alert_id,
        key=f"{a.alert_id}:manual",
        title=handover_title(a.service, a.alarm_name or a.alert_type, why),
        description=note,
        ticket_type=TicketType.INCIDENT,
        priority=Priority.HIGH,
        assignee=oncall,
        due_at=now + MANUAL_DUE,
        labels=("opslink", "failed_auto", f"service:{a.service}"),
        custom_fields={
            "alert_id": a.alert_id,
            "service": a.service,
            "severity": a.severity.value,
            "escalation": kind,
        },
    )
    manual = deps.tickets.create(draft)
    deps.store.link_followup_ticket(a.alert_id, manual.provider, manual.id, kind="manual")
    # The alert may have been resolved (an OK, a human) while this ticket was made, after
    # its resolver looked up the alert's tickets: read after the link, as the resolver
    # reads the links after its write, so one of the two always sees the other.
    current = deps.store.get(a.alert_id)
    if current is not None and current.status is not AlertStatus.OPEN:
        by = current.resolution.get("by", "someone")
        resolve_other_tickets(deps.store, deps.tickets, a.alert_id, current.ticket_id,
                              f"Alert {a.alert_id} was resolved (by {by}) while this hand-over "
                              "ticket was being opened: resolved with it.",
                              outbox=deps.outbox)  # fmt: skip
    return manual.id
