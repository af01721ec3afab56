"""The task table of the remediation state machine and its dispatcher. Each task is
idempotent: Step Functions may retry any of them."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from opslink.comment_outbox import drain, post_comment
from opslink.errors import InvalidTaskInput
from opslink.journal import EventKind, about
from opslink.remediation.chat_notices import decision_to_chat
from opslink.remediation.completion import await_job, on_job_event
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.diagnostics import collect_diagnostics, diagnose
from opslink.remediation.jobs import cancel, launch, poll
from opslink.remediation.ladder import next_attempt
from opslink.remediation.outcome import escalate, job_output, resolve, verify
from opslink.remediation.payloads import TaskRequest, parse_request
from opslink.remediation.plan import plan_run
from opslink.remediation.select import request_approval, select_runbook
from opslink.scrub import scrub

# Notes that end an execution with the alert left to humans (no runbook, approval
# rejected): counted as a hand-over with their reason, like an escalation.
LEFT_TO_HUMANS = ("no_runbook", "approval_rejected")


def _note(deps: RemediateDeps, req: TaskRequest, kind: str, text: str) -> dict[str, Any]:
    alert = req.alert
    event = (
        about(
            alert,
            EventKind.TICKET_ESCALATED,
            deps.clock(),
            key="handed_over",
            why=text[:200],
            detail={"reason": kind},
        )
        if kind in LEFT_TO_HUMANS and alert.manual is None  # an operator's run: already theirs
        else None
    )
    deps.store.add_note(alert.alert_id, text, deps.clock(), kind=kind, event=event)
    if alert.ticket_id:
        key = f"{alert.alert_id}:{kind}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"
        post_comment(
            deps.outbox, deps.tickets, alert.ticket_id, key, text, deps.clock(), alert.alert_id
        )
    return {"noted": True, "kind": kind}


def record_note(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    if req.kind == "approval_rejected":  # RecordRejection: the request's message says so
        decision_to_chat(deps, req.alert, deps.clock())
    return _note(deps, req, req.kind, req.text or "(no text)")


def record_failure(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    error = req.error or {}
    cause = str(error.get("Cause", ""))
    with contextlib.suppress(ValueError, AttributeError):  # Lambda causes are JSON
        cause = json.loads(cause).get("errorMessage", cause)
    text = scrub(
        f"Automated remediation stopped: {error.get('Error', 'unknown error')}: {cause[:1500]}. "
        "The alert needs a human."
    )
    return _note(deps, req, "remediation_failed", text)


def read_job_output(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    """The job's output on demand (`opslink jobs output`), scrubbed as on the ticket."""
    if req.job is None:
        raise InvalidTaskInput("remediation task input: 'job' is missing for job_output")
    return job_output(deps, req).model_dump(mode="json")


Task = Callable[[RemediateDeps, TaskRequest], Any]

TASKS: dict[str, Task] = {
    "diagnose": diagnose,
    "collect_diagnostics": collect_diagnostics,
    "select": select_runbook,
    "request_approval": request_approval,
    "launch": launch,
    "poll": poll,
    "await_job": await_job,
    "cancel": cancel,
    "verify": verify,
    "resolve": resolve,
    "next_attempt": next_attempt,
    "escalate": escalate,
    "note": record_note,
    "job_output": read_job_output,
    "plan": plan_run,
    "record_failure": record_failure,
}


def check_member(deps: RemediateDeps, event: dict[str, Any]) -> dict[str, Any]:
    """Whether this function can act in a member account and region (its own role)."""
    from opslink.adapters.member_check import check_member_account

    account, region = str(event.get("account", "")), str(event.get("region", ""))
    if not (len(account) == 12 and account.isdigit()) or not region:
        raise InvalidTaskInput("check_member needs 'account' (12 digits) and 'region'")
    checks = check_member_account(deps.members, account, region, deps.alarm_bus_arn)
    return {"account": account, "region": region, "checks": checks}


def run_task(event: Any, deps: RemediateDeps) -> dict[str, Any]:
    if isinstance(event, dict) and "detail-type" in event:  # a job's end, on EventBridge
        return on_job_event(deps, event)
    if isinstance(event, dict) and event.get("action") == "check_member":  # opslink doctor
        return check_member(deps, event)
    if isinstance(event, dict) and event.get("action") == "deliver_comments":  # chat, at once
        ticket = event.get("ticket_id")
        if not isinstance(ticket, str) or not ticket:
            raise InvalidTaskInput("deliver_comments: ticket_id is required")
        return drain(deps.outbox, deps.tickets, ticket[:200])
    req = parse_request(event)
    task = TASKS.get(req.action)
    if task is None:
        raise InvalidTaskInput(
            f"remediation task: unknown action {req.action!r} ({', '.join(TASKS)})"
        )
    result = task(deps, req)
    return result.model_dump(mode="json") if isinstance(result, BaseModel) else dict(result)
