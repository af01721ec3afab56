"""Integration faults, as the product brief defines their handling: each fault of an
integration (ticket system, job platform, notifications) is recorded once while it lasts
(id, first and last time, component, error, context, count), assessed (impact and
severity), answered with emergency actions, notified to the operators' channel — and to
management when severity is high — with a recovery plan, and marked recovered (with how
long it lasted) when the integration answers again. Pure: the store and the notifier
are ports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opslink.errors import RetryableError
from opslink.ports import (
    ChatMessages,
    FaultStore,
    Notifier,
    ReplayGuard,
)


class RecoveryPlan(BaseModel):
    model_config = ConfigDict(defer_build=True)
    steps: list[str]
    estimated_time: str
    responsible_team: str


class Assessment(BaseModel):
    model_config = ConfigDict(defer_build=True)
    impact: str
    severity: str  # high | medium | low
    emergency_actions: list[str]
    plan: RecoveryPlan


class Fault(BaseModel):
    model_config = ConfigDict(defer_build=True)
    fault_id: str
    component: str  # ticket_system | job_platform | notifications | other
    integration: str
    error: str
    context: dict[str, str] = Field(default_factory=dict)
    first_at: datetime
    last_at: datetime
    count: int = 1
    state: str = "open"  # open | recovered
    recovered_at: datetime | None = None
    assessment: Assessment

    def duration(self, now: datetime) -> str:
        end = self.recovered_at or now
        minutes = int((end - self.first_at).total_seconds() // 60)
        return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


ASSESSMENTS: dict[str, Assessment] = {
    "ticket_system": Assessment(
        impact="ticket creation and updates affected",
        severity="medium",
        emergency_actions=[
            "fallback notification to the operators for every alert without its ticket",
            "alerts are recorded; the reconciler creates their tickets on recovery",
        ],
        plan=RecoveryPlan(
            steps=[
                "check the ticket system's status page and OpsLink's credentials secret",
                "test a call with the integration user (opslink tickets / the vendor's API)",
                "once it answers, watch the reconciler drain the backlog (opslink alerts list)",
            ],
            estimated_time="30 min",
            responsible_team="platform team",
        ),
    ),
    "job_platform": Assessment(
        impact="automated remediation affected",
        severity="high",
        emergency_actions=[
            "automation paused for the platform (circuit open)",
            "every new alert is handed to a human on its ticket",
        ],
        plan=RecoveryPlan(
            steps=[
                "check the job platform's health and OpsLink's token secret",
                "run a harmless job by hand on the platform",
                "OpsLink probes it every 5 minutes and resumes automation by itself",
            ],
            estimated_time="1 h",
            responsible_team="automation team",
        ),
    ),
    "ticket": Assessment(
        impact="a ticket cannot be read or changed: its alert is not kept in step with it",
        severity="low",
        emergency_actions=[
            "the ticket is skipped; every other ticket is still swept and reminded",
        ],
        plan=RecoveryPlan(
            steps=[
                "open the ticket named in the fault's context (its status, fields, workflow)",
                "fix it in the ticket system, or resolve its alert by hand",
                "the next sweep picks it up again",
            ],
            estimated_time="1 day",
            responsible_team="platform team",
        ),
    ),
}
DEFAULT = Assessment(
    impact="a secondary integration is affected",
    severity="low",
    emergency_actions=["none needed: the alert flow continues"],
    plan=RecoveryPlan(
        steps=["check the integration's logs and credentials"],
        estimated_time="1 day",
        responsible_team="platform team",
    ),
)


def assess(component: str) -> Assessment:
    return ASSESSMENTS.get(component, DEFAULT)


@dataclass
class FaultReporter:
    store: FaultStore
    notifier: Notifier | None = None
    # Chat hears of a fault the moment it opens or recovers (once per state: `told`
    # records it; the track function's scheduled pass tells what this could not).
    chat: ChatMessages | None = None
    told: ReplayGuard | None = None

    def failed(
        self,
        component: str,
        integration: str,
        error: Exception,
        context: dict[str, Any],
        at: datetime,
    ) -> Fault:
        fault, new = self.store.open_fault(
            Fault(
                fault_id=f"F-{component}-{integration}-{at.strftime('%Y%m%dT%H%M%S')}",
                component=component,
                integration=integration,
                error=str(error)[:1000],
                context={k: str(v)[:200] for k, v in context.items()},
                first_at=at,
                last_at=at,
                assessment=assess(component),
            )
        )
        if new:
            self._tell(fault, f"[OpsLink fault] {integration} ({component}) failing", at)
            self._to_chat(fault, at)
        return fault

    def record(
        self,
        component: str,
        integration: str,
        error: Exception,
        context: dict[str, Any],
        at: datetime,
    ) -> None:
        """`failed`, best effort: a store that cannot take the record never turns the
        failure being recorded into another one (the caller has logged it)."""
        try:
            self.failed(component, integration, error, context, at)
        except RetryableError:
            return

    def recovered(self, component: str, integration: str, at: datetime) -> Fault | None:
        fault = self.store.recover_fault(component, integration, at)
        if fault is not None:
            self._tell(fault, f"[OpsLink recovered] {integration} ({component})", at)
            self._to_chat(fault, at)
        return fault

    def _to_chat(self, fault: Fault, at: datetime) -> None:
        if self.chat is not None and self.told is not None:
            from opslink.chat.fault_notices import tell_one

            tell_one(fault, self.told, self.chat, at)

    def _tell(self, fault: Fault, subject: str, at: datetime) -> None:
        if self.notifier is None:
            return
        a = fault.assessment
        lines = [
            f"Fault {fault.fault_id}: {fault.integration} ({fault.component}) — {fault.state}.",
            f"Since {fault.first_at.isoformat()} ({fault.duration(at)}), {fault.count} failure(s).",
            f"Error: {fault.error}",
            f"Impact: {a.impact} (severity {a.severity}).",
            "Emergency actions: " + "; ".join(a.emergency_actions) + ".",
            "Recovery plan: "
            + " → ".join(a.plan.steps)
            + f" (about {a.plan.estimated_time}; {a.plan.responsible_team}).",
        ]
        attrs = {
            "service": "opslink",
            "team": a.plan.responsible_team,
            "priority": {"high": "High", "medium": "Medium"}.get(a.severity, "Low"),
            "kind": "fault" if fault.state == "open" else "fault_recovered",
        }
        self.notifier.notify(subject[:100], "\n".join(lines), attrs | {"audience": "operators"})
        if a.severity == "high":
            self.notifier.notify(
                subject[:100], "\n".join(lines), attrs | {"audience": "management"}
            )
