"""`verify`, `resolve` and `escalate`: did the job fix it, and what happens next.

Only an alarm back to OK is a verified fix. A fix resolves the alert and its tickets
once; anything else goes to a human, on the alert's own ticket by default."""

from __future__ import annotations

import contextlib
import json

from aws_lambda_powertools import Logger

from opslink.comment_outbox import noted_status, post_comment
from opslink.errors import ConfigurationError, JobPlatformRejected
from opslink.incident_tickets import resolve_alert_ticket
from opslink.journal import EventKind, about, seconds_between
from opslink.models import AlertStatus, HandOver, Priority, TicketStatus
from opslink.outcome_texts import (
    HANDOVER_EXCERPT,
    HandOverFacts,
    excerpt,
    handover_note,
    resolution_comment,
)
from opslink.remediation.chat_notices import handover_to_chat
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.handover_ticket import MANUAL_DUE, separate_handover
from opslink.remediation.jobs import job_ref
from opslink.remediation.payloads import TaskRequest, Verification
from opslink.remediation.policy import ESCALATIONS
from opslink.remediation_models import JobOutput, JobRef
from opslink.scrub import scrub
from opslink.ticket_lockstep import resolve_counted, resolve_other_tickets

logger = Logger(child=True)

_PRIORITY_RANK = {p: i for i, p in enumerate(Priority)}  # Critical first


# VerifyFix's caught error when the alarm is not back to OK (statemachine: EscalateNotFixed).
STILL_FIRING = "AlarmStillFiring"


def verify(deps: RemediateDeps, req: TaskRequest) -> Verification:
    """Check the alarm (and resolve on OK). Called with the state's task token, the task
    answers the execution itself: success ends it, AlarmStillFiring goes to the ladder —
    the state machine needs no Choice and no Succeed state after it."""
    result = _verify(deps, req)
    if req.token:
        if deps.callbacks is None:
            raise ConfigurationError("remediate: no Step Functions callbacks configured")
        if result.alarm_state == "OK":
            deps.callbacks.succeed(req.token, result.out())
        else:
            deps.callbacks.fail(req.token, STILL_FIRING, result.alarm_state)
    return result


def _verify(deps: RemediateDeps, req: TaskRequest) -> Verification:
    a = req.alert
    if deps.alarms is None or not a.alarm_name:
        return Verification(alarm_state="UNKNOWN", reason="no alarm to check")
    try:
        state = deps.alarms.state(a.alarm_name, a.region, a.account_id)
    except ConfigurationError as exc:  # not verifiable: never counted as fixed
        return Verification(alarm_state="UNKNOWN", reason=str(exc))
    if state == "OK" and req.job is not None:  # fixed: resolved in the same task
        return Verification(alarm_state=state, resolution=resolve(deps, req))
    return Verification(
        alarm_state=state or "UNKNOWN",
        reason="" if state else f"alarm {a.alarm_name} not found in {a.region}",
    )


def job_output(deps: RemediateDeps, req: TaskRequest) -> JobOutput:
    if req.job is None:
        return JobOutput()
    """The job's output with secrets scrubbed: it goes into tickets, notes and the alert."""
    try:
        out = deps.platform().output(job_ref(req), limit=HANDOVER_EXCERPT * 4)
    except (JobPlatformRejected, ConfigurationError) as exc:
        return JobOutput(stderr=scrub(f"(output unavailable: {exc})"))
    return JobOutput(stdout=scrub(out.stdout), stderr=scrub(out.stderr), truncated=out.truncated)


_OUTCOMES = {
    "fixed": EventKind.FIX_VERIFIED,
    "not_fixed": EventKind.FIX_NOT_VERIFIED,
    "failed": EventKind.JOB_FAILED,
    "timeout": EventKind.JOB_TIMED_OUT,
}


def score(deps: RemediateDeps, req: TaskRequest, outcome: str) -> None:
    """The run's outcome: the runbook's verified-fix record and the journal, once."""
    if req.job is not None:
        a, now = req.alert, deps.clock()
        event = about(
            a,
            _OUTCOMES[outcome],
            now,
            key=req.job.idempotency_key or req.job.job_id,
            runbook=req.job.runbook,
            by="automation",
            latency_seconds=seconds_between(req.job.launched_at, now),
            detail={"platform": req.job.platform, "job_id": req.job.job_id},
        )
        deps.store.record_runbook_outcome(
            req.job.runbook,
            a.alert_type,
            a.service,
            a.environment,
            outcome == "fixed",
            now,
            event=event,
        )


def resolve(deps: RemediateDeps, req: TaskRequest) -> dict[str, object]:
    a = req.alert
    incident = None  # read with the alert: a fix that resolves it does so in one write
    if a.incident_id and deps.incidents is not None:
        current, incident = deps.store.get_with_incident(a.alert_id, a.incident_id)
    else:
        current = deps.store.get(a.alert_id)
    if current is not None and current.flapping_since is not None:
        text = "The alarm read OK after the runbook, but it is flapping: the alert stays open."
        suppressed = about(
            a, EventKind.AUTOMATION_SUPPRESSED, deps.clock(), why=text, key="flapping_resolve"
        )
        deps.store.add_note(
            a.alert_id, text, deps.clock(), kind="suppressed_flapping", event=suppressed
        )
        return {"resolved": False, "alert_was_open": True, "reason": "flapping"}
    runbook = req.job.runbook if req.job else "?"
    job_id = req.job.job_id if req.job else ""
    platform = req.job.platform if req.job else ""
    out = job_output(deps, req)
    now = deps.clock()
    resolution = {
        "by": a.manual.by if a.manual else "automation",
        "how": (
            f"runbook {runbook} run on demand by {a.manual.by}, alarm verified back to OK"
            if a.manual
            else f"automated remediation: runbook {runbook}, alarm verified back to OK"
        ),
        "runbook": runbook,
        "job_id": job_id,
        "platform": platform,
        "at": now.isoformat(),
        "output_excerpt": excerpt(out.stdout, 500),
    }
    if a.ticket_id:
        text = resolution_comment(runbook, f"{platform} job {job_id}", a.alarm_name, out.stdout)
        if current is not None and current.incident_id:  # the incident's: as resolve_on says
            resolve_alert_ticket(deps.store, deps.outbox, deps.tickets, deps.incidents, current, text,
                                 f"{a.alert_id}:resolved:{runbook}", now, incident_read=incident)  # fmt: skip
        else:
            noted_status(deps.outbox, deps.tickets, a.ticket_id, TicketStatus.RESOLVED, text,
                         f"{a.alert_id}:resolved:{runbook}", now, a.alert_id,
                         keep_on_failure=True)  # fmt: skip
    fresh = deps.store.get(a.alert_id)  # as it is now: the ticket calls above took time
    resolved, alone = False, fresh is not None and fresh.followups == 0
    if fresh is not None and fresh.status is AlertStatus.OPEN:
        resolved, alone = resolve_counted(deps.store, fresh, resolution, now, alone)
    if not alone:  # also when a retry finds it resolved already: what a failure left is finished
        resolve_other_tickets(
            deps.store,
            deps.tickets,
            a.alert_id,
            a.ticket_id,
            f"Resolved with alert {a.alert_id}: runbook {runbook} fixed it (alarm back to OK).",
            outbox=deps.outbox,
        )
    if not resolved:
        deps.store.add_note(
            a.alert_id, f"Runbook {runbook} verified as the fix.", now, kind="verified_fix"
        )
    score(deps, req, "fixed")
    logger.info("verified fix", extra={"runbook": runbook, "alert_was_open": resolved})
    return {"resolved": True, "alert_was_open": resolved}


def _raised(current: Priority | None, floor: Priority) -> Priority:
    """The product rule: a failed automation is at least High; never lowered."""
    if current is None:
        return floor
    return min(current, floor, key=_PRIORITY_RANK.__getitem__)


def _handover_note(deps: RemediateDeps, req: TaskRequest, why: str, detail: str) -> str:
    a = req.alert
    facts = HandOverFacts(
        alert_id=a.alert_id,
        service=a.service,
        environment=a.environment,
        alarm_name=a.alarm_name,
        region=a.region,
        runbook=req.runbook_name(),
        job=f"{req.job.platform} {req.job.job_id}" if req.job else None,
        ticket_id=a.ticket_id,
        hosts=_hosts_touched(deps, a.alert_id),
    )
    earlier = _earlier_attempts(deps, req)
    if req.job is None:
        return handover_note(facts, why, detail, None, None, earlier)
    out = job_output(deps, req)
    return handover_note(facts, why, detail, out.stdout, out.stderr, earlier)


def _hosts_touched(deps: RemediateDeps, alert_id: str) -> tuple[str, ...]:
    """Every host a remediation job of this alert was launched on (all batches, all
    ladder attempts), from the launch ledger."""
    hosts: dict[str, None] = {}
    for job in deps.store.launched_jobs(alert_id):
        hosts |= dict.fromkeys(job.targets.get("InstanceId", []))
    return tuple(hosts)


_ENDED = {
    "not_fixed": "the job succeeded but the alarm still fired",
    "failed": "the job failed",
    "timeout": "the job timed out and was cancelled",
}


def _earlier_attempts(deps: RemediateDeps, req: TaskRequest) -> list[tuple[str, str, str]]:
    """The ladder's attempts before the one being handed over, each with its output."""
    attempts = req.ladder.attempts if req.ladder else []
    out = []
    for at in attempts:
        if req.job is not None and at.job_id == req.job.job_id:
            continue  # the current attempt: its output is above
        ref = JobRef(platform=at.platform, job_id=at.job_id, launched_at=deps.clock(),
                     **req.alert.job_location())  # fmt: skip
        try:
            got = deps.platform().output(ref, limit=2000)
            text = scrub((got.stdout + ("\n" + got.stderr if got.stderr else "")).strip())
        except Exception as exc:
            text = scrub(f"(output unavailable: {exc})")
        out.append((at.runbook, _ENDED.get(at.outcome, at.outcome), text))
    return out


def escalate(deps: RemediateDeps, req: TaskRequest) -> dict[str, object]:
    """Hand the alert to a human: by default on the alert's own ticket (marked failed
    automation, priority raised, on-call assigned, due in 2 h, job output attached);
    with EscalationTicket=separate on a [FAILED_AUTO] ticket of its own, which then moves
    in lockstep with the alert's ticket. Never for an alert already resolved."""
    a = req.alert
    kind = req.escalation.kind if req.escalation else "failed"
    why = ESCALATIONS.get(kind, kind)
    detail = (req.escalation.detail if req.escalation else None) or ""
    with contextlib.suppress(ValueError, TypeError, AttributeError):  # Lambda causes are JSON
        detail = json.loads(detail).get("errorMessage", detail)
    detail = scrub(str(detail))
    now = deps.clock().replace(microsecond=0)
    if kind in ("failed", "timeout", "not_fixed"):
        score(deps, req, kind)  # once: the ladder may have recorded it already
    current = deps.store.get(a.alert_id)
    if current is not None and current.status is not AlertStatus.OPEN:
        by = current.resolution.get("by", "someone")
        text = f"Automation outcome: {why}. The alert was already resolved (by {by}): no hand-over."
        deps.store.add_note(a.alert_id, text, now, kind=f"not_escalated_{kind}")
        return {"handed_over": False, "kind": kind, "reason": "alert already resolved"}
    oncall = deps.directory.oncall(a.team) if deps.directory else None
    note = _handover_note(deps, req, why, str(detail))
    if deps.escalation_ticket == "separate" or not a.ticket_id:
        ticket_id = separate_handover(deps, req, why, kind, note, oncall, now)
        text = f"Handed to a human: {why}. Hand-over ticket {ticket_id} (assigned to {oncall or 'nobody'})."
        if a.ticket_id:
            key = f"{a.alert_id}:handed_over:{kind}"
            post_comment(deps.outbox, deps.tickets, a.ticket_id, key, text, now, a.alert_id)
    else:
        own = deps.tickets.get(a.ticket_id)
        due = now + MANUAL_DUE
        if own is not None and own.due_at is not None and own.due_at < due:
            due = own.due_at
        ticket_id = a.ticket_id
        deps.tickets.hand_over(
            ticket_id,
            HandOver(
                priority=_raised(own.priority if own else None, Priority.HIGH),
                assignee=oncall,
                due_at=due,
                note=note,
            ),
        )
        text = f"Handed to a human on ticket {ticket_id}: {why} (assigned to {oncall or 'nobody'})."
    # One hand-over per alert in the KPIs (key), with the first reason it had (detail).
    escalated = about(a, EventKind.TICKET_ESCALATED, now, key="handed_over", why=why,
                      runbook=req.runbook_name(), detail={"reason": kind})  # fmt: skip
    deps.store.add_note(a.alert_id, text, now, kind=f"escalated_{kind}", event=escalated)
    handover_to_chat(deps, a, kind, why, ticket_id, oncall or "", now)
    logger.info("handed over", extra={"kind": kind, "ticket_id": ticket_id})
    return {"handed_over": True, "ticket_id": ticket_id, "kind": kind, "reason": why}
