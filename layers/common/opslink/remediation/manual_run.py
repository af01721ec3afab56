"""An operator's on-demand run (`opslink runbooks run`): the runbook asked for, through
the checks an automated selection makes — suppression (kill switch, maintenance window,
flapping), the service map, the runbook's match for the alert's type, service and
environment, its mode (never in shadow), the alarm's proven origin — and recorded as the
operator's, on the alert, its ticket and the journal."""

from __future__ import annotations

from opslink.comment_outbox import post_comment
from opslink.journal import EventKind, about
from opslink.provenance import provenance_problem
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.payloads import SelectedRunbook, Selection
from opslink.remediation.select import mode_of, suppression
from opslink.remediation.selection import eligible
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import Risk


def manual_refusal(deps: RemediateDeps, a: RemediationInput) -> tuple[str | None, str]:
    """Why the runbook an operator asked for may not run for this alert (None: it may),
    and its match tier: the checks an automated selection makes, for this runbook only.
    Read only (the dry run shows the same answer)."""
    assert a.manual is not None
    name = a.manual.runbook
    why = suppression(deps, a, origin=False, fresh=True)  # an operator's change just made
    if why:
        return f"automation is suppressed: {why}", ""
    if deps.service_map is not None and a.service not in deps.service_map.services:
        return f"service {a.service} is not in the service map (no runbook runs on it)", ""
    found = next((rb for rb in deps.catalog if rb.name == name), None)
    if found is None:
        return f"runbook {name} is not in the catalog", ""
    matches = dict(
        (rb.name, tier) for rb, tier in eligible([found], a.alert_type, a.service, a.environment)
    )
    if name not in matches:
        spec = found.spec
        return (
            f"runbook {name} does not match this alert (alert type {a.alert_type}, service "
            f"{a.service}, environment {a.environment}; the runbook is a {spec.kind.value} for "
            f"{', '.join(spec.tags)} in {', '.join(spec.environments)})"
        ), ""
    modes = deps.control.current(fresh=True).runbook_modes if deps.control is not None else {}
    if mode_of(found, modes) is Risk.SHADOW:
        return (
            f"runbook {name} is in shadow mode (nothing runs; `opslink automation mode {name} "
            "approval` lets it run with a human's approval)"
        ), ""
    why = provenance_problem(a, deps.alarms, deps.allowed_accounts, deps.reach)
    if why:
        return f"the alarm's origin is not proven: {why}", ""
    return None, matches[name]


def requested_runbook(deps: RemediateDeps, a: RemediationInput) -> Selection:
    """An operator's on-demand run: the runbook asked for, if every check passes."""
    assert a.manual is not None
    run = a.manual
    refused, tier = manual_refusal(deps, a)
    asked = f"Runbook {run.runbook} requested by {run.by}" + (
        f" ({run.reason})" if run.reason else ""
    )
    if refused:
        text = f"{asked}: refused, {refused}. Nothing was run."
        deps.journal.record_event(
            about(
                a,
                EventKind.AUTOMATION_SUPPRESSED,
                deps.clock(),
                why=text,
                key=f"manual:{run.run_id}",
                by=run.by,
                runbook=run.runbook,
                counted=False,
            )
        )
        return Selection(reason=text)
    runbook = deps.runbook(run.runbook)
    modes = deps.control.current().runbook_modes if deps.control is not None else {}
    approval = mode_of(runbook, modes) is Risk.APPROVAL
    text = f"{asked}: it runs on demand with the checks, targets and budget of an automated run" + (
        f"; it needs a human's approval ({runbook.spec.description})." if approval else "."
    )
    chosen = about(
        a,
        EventKind.RUNBOOK_SELECTED,
        deps.clock(),
        key=f"manual:{run.run_id}",
        runbook=run.runbook,
        by=run.by,
        why=text,
        counted=False,
    )
    deps.store.add_note(a.alert_id, text, deps.clock(), kind="manual_run", event=chosen)
    if a.ticket_id:
        key = f"{a.alert_id}:manual_run:{run.run_id}"
        post_comment(deps.outbox, deps.tickets, a.ticket_id, key, text, deps.clock(), a.alert_id)
    picked = SelectedRunbook(
        name=run.runbook, tier=tier, timeout_seconds=runbook.spec.timeout_seconds
    )
    return Selection(
        runbook=picked,
        approval=approval,
        reason=text,
        approval_timeout_seconds=deps.approval_timeout_seconds if approval else 0,
    )
