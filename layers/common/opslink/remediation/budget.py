"""The automation budget of a launch: at most so many runs per service and per resource
an hour, counted in the store as launches happen (circuit.py guards the platform, this the
hosts)."""

from __future__ import annotations

from datetime import datetime

from opslink.errors import AutomationBudgetExhausted
from opslink.journal import EventKind, about
from opslink.ports.records import BudgetClaim
from opslink.remediation.deps import RemediateDeps
from opslink.remediation_input import RemediationInput

# A cap no hour reaches: a run that happened is counted, whatever the budget says now.
_COUNT_ANYWAY = 2**31 - 1


def claim_budget(
    deps: RemediateDeps, a: RemediationInput, runbook: str, at: datetime, resource: str | None
) -> None:
    """Count the run about to start, or refuse it (AutomationBudgetExhausted, noted on the
    alert) when a cap is reached."""
    claim = deps.budgets.claim_automation_budget(
        a.service, at, deps.runs_per_service_hour,
        resource=resource, resource_cap=deps.runs_per_resource_hour,
    )  # fmt: skip
    if claim:
        return
    limit = (
        f"{deps.runs_per_resource_hour} runs per hour on {resource} (the per-resource limit)"
        if claim is BudgetClaim.RESOURCE_CAP
        else f"{deps.runs_per_service_hour} runs per hour for {a.service} (the service's "
        "hourly limit)"
    )
    text = f"Automation budget used up: at most {limit}; runbook {runbook} not run, left to humans."
    suppressed = about(a, EventKind.AUTOMATION_SUPPRESSED, deps.clock(), why=text, key="budget")
    deps.store.add_note(a.alert_id, text, deps.clock(), kind="budget_exhausted", event=suppressed)
    raise AutomationBudgetExhausted(text)


def count_found_run(
    deps: RemediateDeps, a: RemediationInput, at: datetime, resource: str | None
) -> None:
    """A retried launch found the job its lost answer started: it runs, so it is counted
    (its first attempt gave its claim back when the answer was lost) and never refused —
    a refusal would hand the alert over saying the runbook did not run while it does."""
    deps.budgets.claim_automation_budget(
        a.service, at, _COUNT_ANYWAY, resource=resource, resource_cap=_COUNT_ANYWAY
    )


def refund_budget(
    deps: RemediateDeps, a: RemediationInput, at: datetime, resource: str | None
) -> None:
    """A launch that failed gives its claim back: the budget counts launches that happened."""
    deps.budgets.refund_automation_budget(a.service, at, resource=resource)
