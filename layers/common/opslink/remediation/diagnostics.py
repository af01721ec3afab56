"""Diagnostics are evidence, not fixes: the `kind: diagnostic` runbooks matching an alert
run first, read-only by contract and bounded in time; their verdicts and output go onto
the ticket (one comment), the alert's notes and the execution's state. They never enter
the launch ledger, the runaway budget, the verified-fix record or the automation KPIs.

`diagnose` starts them; `collect_diagnostics` polls until all ended or the deadline
passed (the rest is cancelled), then reports. A diagnostic that cannot run (parameters or
targets not resolvable for this alert, job platform down) is reported as skipped."""

from __future__ import annotations

import json
from datetime import datetime

from aws_lambda_powertools import Logger

from opslink.comment_outbox import post_comment
from opslink.errors import (
    AutomationSuppressed,
    JobPlatformError,
    JobPlatformRejected,
    ParameterRejectedError,
)
from opslink.inert import fenced
from opslink.journal import EventKind, about
from opslink.outcome_texts import excerpt
from opslink.ports.remediation import JobPlatform
from opslink.remediation.blast_radius import resolve_hosts
from opslink.remediation.circuit import circuit_allows
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.parameters import resolve_parameters
from opslink.remediation.payloads import DiagnosticJob, Diagnostics, Selection, TaskRequest
from opslink.remediation.select import select_runbook, suppression
from opslink.remediation.selection import eligible
from opslink.remediation_models import JobRef, JobRequest, JobState, RunbookKind
from opslink.scrub import scrub, scrub_excerpt

logger = Logger(child=True)

MAX_DIAGNOSTICS = 3
DEADLINE_SECONDS = 300  # however long their own timeouts: evidence must not delay the fix
POLL_SECONDS = 10  # at most; PollBaseSeconds when shorter


_CANNOT_RUN = (ParameterRejectedError, AutomationSuppressed, JobPlatformError, JobPlatformRejected)


def _verdict(state: JobState, exit_code: int | None) -> str:
    if state is JobState.SUCCEEDED:
        return "passed"
    return f"failed (exit {exit_code})" if exit_code is not None else state.value


# The message attributes subscribers filter on (SNS subscription filter policies).
ANNOUNCED_ATTRIBUTES = ("service", "priority", "team")


def announce(deps: RemediateDeps, req: TaskRequest) -> None:
    """The alert on the notification topic, once: on the task's first attempt only (a
    retry does not announce it again). A failed publish never stops the remediation."""
    doc = req.alert.notification or {}
    if deps.notifier is None or req.retry_count or not doc.get("subject"):
        return
    attributes = {k: str(v) for k, v in (doc.get("attributes") or {}).items()
                  if k in ANNOUNCED_ATTRIBUTES}  # fmt: skip
    try:
        deps.notifier.notify(str(doc["subject"]), str(doc.get("message") or ""), attributes)
    except Exception as exc:  # the subscribers miss one message; the ticket has it all
        logger.warning(
            "alert notification not published", extra={"error": scrub_excerpt(str(exc), 300)}
        )


def diagnose(deps: RemediateDeps, req: TaskRequest) -> Selection:
    """Announce the alert, start its diagnostics, and when there is nothing to wait for,
    select its runbook in the same task (the state machine then goes straight on)."""
    announce(deps, req)
    found = start_diagnostics(deps, req)
    if not found.done:
        return Selection(diagnostics=found)
    return select_runbook(deps, req).model_copy(update={"diagnostics": found})


def start_diagnostics(deps: RemediateDeps, req: TaskRequest) -> Diagnostics:
    a = req.alert
    matches = eligible(
        deps.catalog, a.alert_type, a.service, a.environment, kind=RunbookKind.DIAGNOSTIC
    )
    if not matches or suppression(deps, a):
        return Diagnostics(done=True)
    jobs: list[DiagnosticJob] = []
    skipped: list[str] = []
    platform = deps.platform()
    started = _started(deps, a.alert_id)  # a retried task: these jobs run already
    for runbook, _tier in sorted(matches, key=lambda m: (m[1] != "exact", m[0].name))[
        :MAX_DIAGNOSTICS
    ]:
        if runbook.name in started:
            jobs.append(started[runbook.name])
            continue
        try:
            request = JobRequest(
                runbook=runbook.name,
                script_path=str(runbook.script_path),
                script=runbook.script(),
                environment=resolve_parameters(runbook, a, deps.service_map),
                # read-only evidence: every resolved host at once, bounded by max_targets
                targets={"InstanceId": resolve_hosts(runbook, a, deps.hosts).hosts},
                timeout_seconds=min(runbook.spec.timeout_seconds, DEADLINE_SECONDS),
                idempotency_key=f"{a.alert_id}:diagnostic:{runbook.name}",
                **a.job_location(),
            )
            circuit_allows(deps, platform.name, a)
            ref = platform.launch(request)
        except _CANNOT_RUN as exc:
            skipped.append(f"{runbook.name}: skipped ({scrub(str(exc))[:200]})")
            continue
        job = DiagnosticJob(
            runbook=runbook.name,
            platform=ref.platform,
            job_id=ref.job_id,
            launched_at=ref.launched_at,
            timeout_seconds=request.timeout_seconds,
        )
        deps.journal.record_event(
            about(
                a,
                EventKind.DIAGNOSTIC_STARTED,
                ref.launched_at,
                key=runbook.name,
                runbook=runbook.name,
                counted=False,
                detail={"job": job.model_dump_json()},
            )
        )
        jobs.append(job)
    deadline = max([j.timeout_seconds for j in jobs], default=0)
    if not jobs:
        return _report(deps, req, Diagnostics(done=True, skipped=skipped))
    return Diagnostics(
        jobs=jobs,
        skipped=skipped,
        deadline_seconds=deadline,
        wait_seconds=max(1, min(POLL_SECONDS, deps.poll_base_seconds, deadline)),
    )


def _started(deps: RemediateDeps, alert_id: str) -> dict[str, DiagnosticJob]:
    """Diagnostics this alert's earlier (retried) `diagnose` started, by runbook."""
    out = {}
    for event in deps.journal.events([], alert_id=alert_id, kinds=[EventKind.DIAGNOSTIC_STARTED]):
        detail = json.loads(str(event.get("detail") or "{}"))
        if "job" in detail:
            job = DiagnosticJob.model_validate_json(detail["job"])
            out[job.runbook] = job
    return out


def collect_diagnostics(deps: RemediateDeps, req: TaskRequest) -> Selection:
    """The diagnostics' progress; once every one ended, the runbook's selection made in
    the same task (as `diagnose` does when there is nothing to wait for), so the state
    machine goes on from one Choice."""
    d = _collect(deps, req)
    if not d.done:
        return Selection(diagnostics=d)
    return select_runbook(deps, req).model_copy(update={"diagnostics": d})


def _collect(deps: RemediateDeps, req: TaskRequest) -> Diagnostics:
    d = req.diagnostics or Diagnostics(done=True)
    if d.done:
        return d
    platform = deps.platform()
    now = deps.clock()
    started = min(j.launched_at for j in d.jobs)
    past_deadline = (now - started).total_seconds() >= d.deadline_seconds
    jobs = []
    for job in d.jobs:
        if job.verdict:
            jobs.append(job)
            continue
        ref = JobRef(platform=job.platform, job_id=job.job_id, launched_at=job.launched_at,
                     **req.alert.job_location())  # fmt: skip
        status = platform.status(ref)
        if status.state.finished:
            verdict = _verdict(status.state, status.exit_code)
        elif past_deadline:
            verdict = _cancelled(platform, ref)
        else:
            jobs.append(job)
            continue
        out = platform.output(ref, limit=4000)
        text = scrub((out.stdout + ("\n" + out.stderr if out.stderr else "")).strip())
        jobs.append(job.model_copy(update={"verdict": verdict, "output": excerpt(text, 1500)}))
    d = d.model_copy(update={"jobs": jobs})
    if all(j.verdict for j in jobs):
        return _report(deps, req, d.model_copy(update={"done": True, "wait_seconds": 0}))
    remaining = d.deadline_seconds - (now - started).total_seconds()
    step = min(POLL_SECONDS, deps.poll_base_seconds, remaining)
    return d.model_copy(update={"wait_seconds": max(1, int(step))})


def _report(deps: RemediateDeps, req: TaskRequest, d: Diagnostics) -> Diagnostics:
    """One comment on the ticket and one note with every verdict; journaled per runbook
    as evidence (never as a launch, a fix or an automated alert)."""
    a = req.alert
    now: datetime = deps.clock()
    lines = [f"Diagnostics for alert {a.alert_id} (evidence only; not a fix):"]
    for job in d.jobs:
        lines += [
            f"- {job.runbook}: {job.verdict}",
            *fenced(job.output or "(no output)", strip=False),
        ]
        deps.journal.record_event(
            about(
                a,
                EventKind.DIAGNOSTIC_RUN,
                now,
                key=job.runbook,
                runbook=job.runbook,
                why=job.verdict,
                counted=False,
                detail={"platform": job.platform, "job_id": job.job_id},
            )
        )
    lines += [f"- {s}" for s in d.skipped]
    text = "\n".join(lines)
    deps.store.add_note(a.alert_id, text, now, kind="diagnostics")
    if a.ticket_id and (d.jobs or d.skipped):
        key = f"{a.alert_id}:diagnostics"
        post_comment(deps.outbox, deps.tickets, a.ticket_id, key, text, now, a.alert_id)
    return d


def _cancelled(platform: JobPlatform, ref: JobRef) -> str:
    """A diagnostic past its deadline, cancelled: evidence, never a reason to stop the
    remediation — a cancel refused (the job ended just now) or failed is only said."""
    try:
        platform.cancel(ref)
    except (JobPlatformError, JobPlatformRejected) as exc:
        return f"timed out (not cancelled: {scrub(str(exc))[:200]})"
    return "timed out (cancelled)"
