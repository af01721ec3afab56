"""What an approver sees before deciding (the chat message): the alert, where it fired,
the runbook and its risk, the parameters it would get and the exact hosts it would run on
— resolved now, read-only, as the launch will resolve them again — and the diagnostics'
verdicts. Nothing here is a secret: parameters are the catalog's bounded values, scrubbed
all the same."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

from opslink.errors import OpsLinkError
from opslink.remediation.blast_radius import resolve_hosts
from opslink.remediation.catalog import Runbook
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.parameters import resolve_parameters
from opslink.remediation.payloads import TaskRequest
from opslink.scrub import scrub

MAX_HOSTS_SHOWN = 10


def approval_facts(
    deps: RemediateDeps, req: TaskRequest, runbook: Runbook, execution: str
) -> dict[str, str]:
    a = req.alert
    facts = {
        "alert_id": a.alert_id, "service": a.service, "environment": a.environment,
        "alarm": a.alarm_name, "runbook": runbook.name, "execution": execution,
        "risk": str(runbook.spec.risk.value), "description": runbook.spec.description,
        "ticket": a.ticket_id or "", "approvals": str(runbook.spec.min_approvers),
        "where": " / ".join(x for x in (a.account_id, a.region) if x),
    }  # fmt: skip
    try:
        params = resolve_parameters(runbook, a, deps.service_map)
        facts["parameters"] = scrub(", ".join(f"{k}={v}" for k, v in sorted(params.items())))
    except OpsLinkError as exc:
        facts["parameters"] = scrub(f"refused: {exc}")[:300]
    try:
        plan = resolve_hosts(runbook, a, deps.hosts)
        shown = ", ".join(plan.hosts[:MAX_HOSTS_SHOWN])
        more = (
            f" and {len(plan.hosts) - MAX_HOSTS_SHOWN} more"
            if len(plan.hosts) > MAX_HOSTS_SHOWN
            else ""
        )
        facts["targets"] = f"{shown}{more} ({plan.source}; canary {plan.hosts[0]} first)"
    except OpsLinkError as exc:
        facts["targets"] = scrub(f"cannot be resolved now: {exc}")[:300]
    if req.execution and req.execution.count(":") >= 7:  # arn:aws:states:<region>:…
        region = req.execution.split(":")[3]
        facts["execution_url"] = (
            f"https://{region}.console.aws.amazon.com/states/home?region={region}"
            f"#/v2/executions/details/{quote(req.execution, safe='')}"
        )
    if a.ticket_id:
        with contextlib.suppress(Exception):  # a link is a convenience: never a failed request
            ticket = deps.tickets.get(a.ticket_id)
            if ticket is not None and ticket.url and ticket.url.startswith("https://"):
                facts["ticket_url"] = ticket.url
    found = req.selection.diagnostics if req.selection else None
    if found is not None and (found.jobs or found.skipped):
        verdicts = [f"{j.runbook}: {j.verdict or 'still running'}" for j in found.jobs]
        facts["diagnostics"] = scrub("; ".join([*verdicts, *found.skipped]))[:500]
    return facts
