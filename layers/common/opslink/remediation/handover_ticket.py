"""The hand-over on a [FAILED_AUTO] ticket of its own (EscalationTicket=separate, or an
alert without a ticket): high priority, the on-call assigned, due in two hours, linked to
the alert as its follow-up."""

from __future__ import annotations

from datetime import datetime, timedelta

from opslink.models import Priority, TicketDraft, TicketType
from opslink.outcome_texts import handover_title
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.payloads import TaskRequest

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
    return manual.id
