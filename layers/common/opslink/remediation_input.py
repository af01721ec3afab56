"""The remediation state machine's input: what ingest (or an operator's on-demand run)
hands an execution about its alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opslink.models import Alert, Severity


class ManualRun(BaseModel):
    """An operator's on-demand run (`opslink runbooks run`): this runbook only, through
    the same checks, targets, approval, budget and audit as an automated run."""

    model_config = ConfigDict(defer_build=True)

    runbook: str
    by: str
    run_id: str  # the execution's suffix and the launch's idempotency key
    reason: str = ""


class RemediationInput(BaseModel):
    """Input of the remediation state machine, written by ingest (or by an operator's
    `opslink runbooks run`: then `manual` names the runbook and who asked)."""

    model_config = ConfigDict(defer_build=True)

    alert_id: str
    ticket_id: str | None
    alarm_name: str = ""
    alarm_arn: str = ""
    account_id: str = ""
    region: str = ""
    team: str | None = None
    service: str
    environment: str
    alert_type: str
    severity: Severity
    dimensions: dict[str, str] = Field(default_factory=dict)
    notification: dict[str, Any]
    triggered_at: datetime | None = None  # the alarm's ALARM time: KPI cohort and latencies
    manual: ManualRun | None = None
    incident_id: str | None = None  # its incident's other hosts may join the run (root only)

    def job_location(self) -> dict[str, str]:
        """Where its jobs run (JobRequest/JobRef fields): the alarm's account and region; a
        platform runs the stack's own account's jobs where the stack runs."""
        return {"account": self.account_id, "region": self.region}

    @classmethod
    def from_alert(
        cls, alert: Alert, ticket_id: str | None, notification: dict[str, Any]
    ) -> RemediationInput:
        return cls(
            alert_id=alert.alert_id,
            ticket_id=ticket_id,
            alarm_name=alert.alarm_name,
            alarm_arn=alert.alarm_arn,
            account_id=alert.account_id,
            region=alert.region,
            team=alert.team,
            service=alert.service,
            environment=alert.environment,
            alert_type=alert.alert_type,
            severity=alert.severity,
            dimensions=alert.dimensions,
            notification=notification,
            triggered_at=alert.triggered_at,
            incident_id=alert.incident_id,
        )
