"""What an opening alert hands its remediation execution: the alert, its ticket and the
notice the state machine publishes to the operators' topic."""

from __future__ import annotations

from typing import Any

from opslink.models import Alarm, Alert
from opslink.remediation_input import RemediationInput
from opslink.scrub import scrub_excerpt


def remediation_input(
    alarm: Alarm, alert: Alert, ticket_id: str, url: str | None
) -> RemediationInput:
    return RemediationInput.from_alert(
        alert, ticket_id, _notification(alarm, alert, ticket_id, url)
    )


def _notification(alarm: Alarm, alert: Alert, ticket_id: str, url: str | None) -> dict[str, Any]:
    recipients = [r for r in (alert.owner, alert.team) if r]
    lines = [
        f"{alert.priority.value} alert on {alert.service} ({alert.environment}): {alarm.name}",
        f"Reason: {scrub_excerpt(alarm.reason, 500)}",
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
