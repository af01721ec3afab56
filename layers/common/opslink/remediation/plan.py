"""`plan`: what an operator's run of one runbook (`opslink runbooks run --dry-run`) would
do now — the selection checks, the mode, the exact hosts and batches, every parameter
with its source, the budget left and the platform's circuit. Read only: nothing is
claimed, launched, noted or posted."""

from __future__ import annotations

from typing import Any

from opslink.errors import InvalidTaskInput, ParameterRejectedError
from opslink.remediation.blast_radius import resolve_hosts
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.manual_run import manual_refusal
from opslink.remediation.parameters import bind_parameters
from opslink.remediation.payloads import TaskRequest, _Payload
from opslink.remediation.resources import resource_of
from opslink.remediation.select import mode_of
from opslink.scrub import scrub


class RunPlan(_Payload):
    runbook: str
    runnable: bool
    refused: str = ""  # why not, in words
    mode: str = ""  # auto: runs at once; approval: waits for a human's decision
    tier: str = ""
    platform: str = ""
    hosts: list[str] = []
    host_source: str = ""
    batches: list[list[str]] = []  # the canary first
    max_targets: int = 0
    parameters: list[dict[str, str]] = []  # name, value, source (scrubbed)
    timeout_seconds: int = 0
    budget: dict[str, Any] = {}
    circuit: str = ""


def plan_run(deps: RemediateDeps, req: TaskRequest) -> RunPlan:
    a = req.alert
    if a.manual is None:
        raise InvalidTaskInput("remediation task input: 'manual' is missing for plan")
    name = a.manual.runbook
    refused, tier = manual_refusal(deps, a)
    if refused:
        return RunPlan(runbook=name, runnable=False, refused=refused)
    runbook = deps.runbook(name)
    spec = runbook.spec
    modes = deps.control.current().runbook_modes if deps.control is not None else {}
    plan = RunPlan(
        runbook=name,
        runnable=True,
        mode=mode_of(runbook, modes).value,
        tier=tier,
        platform=deps.jobs.name if deps.jobs is not None else "",
        max_targets=spec.max_targets,
        timeout_seconds=spec.timeout_seconds,
    )
    try:
        bound = bind_parameters(runbook, a, deps.service_map)
        hosts = resolve_hosts(runbook, a, deps.hosts)
    except ParameterRejectedError as exc:
        return plan.model_copy(update={"runnable": False, "refused": scrub(str(exc))})
    plan.parameters = [
        {"name": b.name, "value": scrub(b.value), "source": scrub(b.source)} for b in bound
    ]
    plan.hosts, plan.host_source = list(hosts.hosts), hosts.source
    plan.batches = [list(b) for b in hosts.batches]
    resource = resource_of(a)
    used = deps.budgets.automation_budget_used(a.service, deps.clock(), resource)
    plan.budget = {
        "service": a.service,
        "service_runs_this_hour": used[0],
        "service_cap": deps.runs_per_service_hour,
        "resource": resource,
        "resource_runs_this_hour": used[1],
        "resource_cap": deps.runs_per_resource_hour,
    }
    if used[0] >= deps.runs_per_service_hour or used[1] >= deps.runs_per_resource_hour:
        which = (
            f"{deps.runs_per_resource_hour} runs per hour on {resource} (the per-resource limit)"
            if used[1] >= deps.runs_per_resource_hour
            else f"{deps.runs_per_service_hour} runs per hour for {a.service} (the service's "
            "hourly limit)"
        )
        plan.runnable, plan.refused = False, f"the automation budget is used up: at most {which}"
    if plan.platform:
        state = deps.circuits.circuit(plan.platform)
        plan.circuit = str(state.get("state") or "closed")
        if plan.circuit == "open" and plan.runnable:
            plan.runnable = False
            plan.refused = f"job platform {plan.platform} is paused (its circuit is open)"
    return plan
