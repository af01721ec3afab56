"""`select` and `request_approval`: which runbook may run for an alert, if any."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from opslink.comment_outbox import post_comment
from opslink.errors import InvalidTaskInput, RetryableError
from opslink.identity import execution_name
from opslink.journal import EventKind, about
from opslink.models import Alert, AlertStatus
from opslink.provenance import provenance_problem
from opslink.remediation.catalog import Runbook
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.payloads import SelectedRunbook, Selection, TaskRequest
from opslink.remediation.selection import (
    Stats,
    eligible,
    explain,
    match_tier,
    rank,
    seeded_rng,
)
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import Risk

if TYPE_CHECKING:
    from opslink.learning import Belief, Record

# Within the most specific tier: unattended first, then approval, shadow runbooks last.
_MODE_ORDER = {Risk.AUTO: 0, Risk.APPROVAL: 1, Risk.SHADOW: 2}


def suppression(
    deps: RemediateDeps,
    alert: RemediationInput,
    origin: bool = True,
    fresh: bool = False,
    current: Alert | None = None,
) -> str | None:
    """Why no automation may run for this alert now (flapping alarm, kill switch,
    maintenance window, and with `origin` an unproven origin: one DescribeAlarms), or
    None. `current`: the alert as just read (else read here)."""
    current = current or deps.store.get(alert.alert_id)
    if current is not None and current.flapping_since is not None:
        return "the alarm is flapping"
    if deps.control is not None:
        why = deps.control.current(fresh).suppression(alert.service, deps.clock())
        if why:
            return why
    return (
        provenance_problem(alert, deps.alarms, deps.allowed_accounts, deps.reach)
        if origin
        else None
    )


def candidate_stats(
    deps: RemediateDeps, a: RemediationInput, matches: list[tuple[Runbook, str]]
) -> dict[str, Stats]:
    """What the record says of each candidate for this alert (learning.py): one Query
    per candidate, the rest is arithmetic."""
    records = deps.store.runbook_records([rb.name for rb, _ in matches], a.alert_type)
    return {
        name: Stats.of(b)
        for name, b in candidate_beliefs(
            matches, records, a.alert_type, a.service, a.environment
        ).items()
    }


def candidate_beliefs(
    matches: list[tuple[Runbook, str]],
    records: list[Record],
    alert_type: str,
    service: str,
    environment: str,
) -> dict[str, Belief]:
    from opslink.learning import beliefs  # only when a runbook is chosen: not at cold start

    by_name = {rb.name: rb for rb, _ in matches}

    def tier_of(name: str, other_service: str) -> str | None:
        rb = by_name.get(name)
        return match_tier(rb, alert_type, other_service) if rb else None

    return beliefs({rb.name: tier for rb, tier in matches}, records, service, environment, tier_of)


def mode_of(runbook: Runbook, modes: Mapping[str, str]) -> Risk:
    """The runbook's autonomy now: an operator's override (`opslink automation mode`),
    else the catalog's `risk`. The catalog's risk is a ceiling: an override may lower it
    (shadow, approval), never raise it, whatever the control parameter says."""
    override = modes.get(runbook.name)
    if override is not None and override in Risk.__members__.values():
        return Risk(override).at_most(runbook.spec.risk)
    return runbook.spec.risk


def select_runbook(deps: RemediateDeps, req: TaskRequest) -> Selection:
    a = req.alert
    if a.manual is not None:  # an operator's run: that runbook only (manual_run.py)
        from opslink.remediation.manual_run import requested_runbook

        return requested_runbook(deps, a)
    current = deps.store.get(a.alert_id)
    if current is not None and current.status is not AlertStatus.OPEN:
        # Resolved while its execution started or gathered diagnostics (its alarm back to
        # OK, its ticket closed): nothing to fix, and a run now would be credited with a
        # fix it did not make.
        by = current.resolution.get("by", "someone")
        return Selection(reason=f"The alert was resolved (by {by}) before a runbook ran: "
                                "nothing was run.")  # fmt: skip
    why = suppression(deps, a, origin=False, current=current)
    if why:
        return _suppressed(deps, a, why)
    if deps.service_map is not None and a.service not in deps.service_map.services:
        return Selection(
            reason=(
                f"Service {a.service} is not in the service map: OpsLink gives it a ticket and "
                "diagnostics, never a fix (add it to the service map with the runbooks its "
                "owners allow); left to humans."
            )
        )
    matches = eligible(deps.catalog, a.alert_type, a.service, a.environment)
    if not matches:
        return Selection(
            reason=(
                f"No runbook in the catalog matches alert type {a.alert_type} for service "
                f"{a.service} in {a.environment}; left to humans."
            )
        )
    why = provenance_problem(
        a, deps.alarms, deps.allowed_accounts, deps.reach
    )  # only when one could run
    if why:
        return _suppressed(deps, a, why)
    stats = candidate_stats(deps, a, matches)
    ranked = rank(matches, stats, seeded_rng(a.alert_id))
    modes = deps.control.current().runbook_modes if deps.control is not None else {}

    in_tier = [c for c in ranked if c.tier == ranked[0].tier]  # the most specific tier
    best = sorted(in_tier, key=lambda c: _MODE_ORDER[mode_of(c.runbook, modes)])[0]
    spec = best.runbook.spec
    picked = SelectedRunbook(name=spec.name, tier=best.tier, timeout_seconds=spec.timeout_seconds)
    reason = explain(best, [c for c in ranked if c is not best])
    if mode_of(best.runbook, modes) is Risk.SHADOW:
        text = (
            f"Shadow mode: {reason} It would have run on {a.service}, but it is in shadow "
            "mode: nothing was run; the alert is left to humans."
        )
        shadow = about(
            a,
            EventKind.AUTOMATION_SUPPRESSED,
            deps.clock(),
            why=text,
            key="shadow",
            runbook=spec.name,
        )
        deps.store.add_note(a.alert_id, text, deps.clock(), kind="shadow", event=shadow)
        return Selection(shadow=picked, suppressed=True, reason=text)
    approval = mode_of(best.runbook, modes) is Risk.APPROVAL
    if approval:
        reason += f" It needs a human's approval ({spec.description})."
    deps.journal.record_event(
        about(
            a,
            EventKind.RUNBOOK_SELECTED,
            deps.clock(),
            key=spec.name,
            runbook=spec.name,
            why=reason,
            counted=False,
        )
    )
    return Selection(
        runbook=picked,
        approval=approval,
        reason=reason,
        approval_timeout_seconds=deps.approval_timeout_seconds if approval else 0,
    )


def _suppressed(deps: RemediateDeps, a: RemediationInput, why: str) -> Selection:
    text = f"Automation suppressed: {why}; the alert is left to humans."
    deps.journal.record_event(
        about(a, EventKind.AUTOMATION_SUPPRESSED, deps.clock(), why=text, key="select")
    )
    return Selection(suppressed=True, reason=text)


def request_approval(deps: RemediateDeps, req: TaskRequest) -> dict[str, bool]:
    """Park the execution on a task token until a human approves or rejects the run."""
    a = req.alert
    name = req.runbook_name()
    if name is None:
        raise InvalidTaskInput("remediation task input: 'selection.runbook' is missing")
    if not req.token:
        raise InvalidTaskInput("remediation task input: 'token' is missing for request_approval")
    runbook = deps.runbook(name)
    needed = runbook.spec.min_approvers
    deps.store.set_approval_token(a.alert_id, req.token, needed, runbook.name)
    execution = execution_name(a.alert_id, a.manual.run_id if a.manual else None)
    who = (
        "a human's approval"
        if needed == 1
        else f"the approval of {needed} different people (step-up)"
    )
    text = (
        f"Runbook {runbook.name} ({runbook.spec.description}) needs {who} before it "
        f"runs on {a.service}. Approve: `opslink executions approve {execution}`; reject: "
        f"`opslink executions reject {execution}`."
    )
    requested = about(
        a, EventKind.APPROVAL_REQUESTED, deps.clock(), key=runbook.name, runbook=runbook.name
    )
    deps.store.add_note(a.alert_id, text, deps.clock(), kind="approval_requested", event=requested)
    if a.ticket_id:
        key = f"{a.alert_id}:approval_requested:{runbook.name}"
        post_comment(deps.outbox, deps.tickets, a.ticket_id, key, text, deps.clock(), a.alert_id)
    if deps.chat is not None:
        _post_to_chat(deps, req, runbook, execution)
    return {"requested": True}


def _post_to_chat(deps: RemediateDeps, req: TaskRequest, runbook: Runbook, execution: str) -> None:
    """Once per request (a retried task posts nothing twice); a chat platform that fails
    is a fault, never the end of the wait: the CLI still decides."""
    assert deps.chat is not None
    from opslink.remediation.approval_facts import approval_facts
    from opslink.remediation.chat_notices import chat_failed

    a, now = req.alert, deps.clock()
    if not deps.store.claim_slot(a.alert_id, f"chat_posted_{runbook.name}", None, now):
        return
    facts = approval_facts(deps, req, runbook, execution)
    try:
        message = deps.chat.approval_requested(facts)
    except RetryableError as exc:
        chat_failed(deps, a, exc, "The approval request", "decide with the CLI", now)
        return
    deps.chat_threads.link_chat_message(message, a.alert_id, now)  # its thread: notes on the ticket
    deps.store.add_note(a.alert_id, f"Approval request posted to {deps.chat.name} "
                        f"{message.split('/')[0]}.", now, kind="chat_posted",
                        fields={"chat_message": message})  # fmt: skip
