"""Tasks of the remediation state machine (statemachine/remediation.asl.json).

select   choose a runbook (runbook_selection), or none: left to humans with a note
launch   check parameters, start the job on the alert's hosts, link alert <-> job
poll     job status and the next wait (adaptive backoff, never past the timeout)
cancel   stop a job that ran past its runbook's timeout
verify   read the alarm's state: only an alarm back to OK is a verified fix
resolve  resolve alert and ticket with the resolution; the runbook scores a fix
escalate a manual [FAILED_AUTO] ticket with the job's output; the runbook scores a miss
note / record_failure   notes on the alert and its ticket
Each task is idempotent: Step Functions may retry it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from opslink.errors import (
    AutomationBudgetExhausted,
    AutomationSuppressed,
    InvalidAlarm,
    JobPlatformError,
    JobPlatformRejected,
    ParameterRejectedError,
)
from opslink.faults import FaultReporter
from opslink.models import (
    AlertStatus,
    HandOver,
    JobOutput,
    JobRef,
    JobRequest,
    Priority,
    RemediationInput,
    Risk,
    TicketDraft,
    TicketStatus,
    TicketType,
)
from opslink.ports import (  # noqa: F401 (re-exported)
    AlarmStateReader,
    AlertStore,
    AutomationControl,
    Directory,
    JobPlatform,
    Notifier,
    RemediationStore,
    TicketSystem,
)
from opslink.remediation_policy import ESCALATIONS, next_wait
from opslink.runbook_catalog import Runbook
from opslink.runbook_selection import (
    ParameterRejected,
    Stats,
    eligible,
    explain,
    rank,
    resolve_parameters,
    resolve_targets,
    seeded_rng,
)
from opslink.ticket_lockstep import resolve_other_tickets

OUTPUT_EXCERPT = 2_000
MANUAL_DUE = timedelta(hours=2)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RemediateDeps:
    store: RemediationStore
    tickets: TicketSystem
    jobs: JobPlatform | None = None
    catalog: Sequence[Runbook] = ()
    alarms: AlarmStateReader | None = None
    directory: Directory | None = None
    poll_base_seconds: int = 15
    poll_max_seconds: int = 900
    runs_per_service_hour: int = 10
    runs_per_resource_hour: int = 3
    escalation_ticket: str = "own"  # own | separate
    control: AutomationControl | None = None
    notifier: Notifier | None = None
    faults: FaultReporter | None = None
    clock: Callable[[], datetime] = field(default=_utcnow)

    def runbook(self, name: str) -> Runbook:
        for rb in self.catalog:
            if rb.name == name:
                return rb
        raise InvalidAlarm(f"runbook {name!r} is not in the catalog")

    def platform(self) -> JobPlatform:
        if self.jobs is None:
            raise InvalidAlarm("no job platform is configured for this function")
        return self.jobs


class TaskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action: str
    alert: RemediationInput
    kind: str = "note"
    text: str | None = None
    error: dict[str, Any] | None = None
    selection: dict[str, Any] | None = None
    job: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    token: str | None = None


def parse_request(event: Any) -> TaskRequest:
    try:
        return TaskRequest.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidAlarm(f"remediation task input: field {where!r}: {first['msg']}") from None


# -- select ------------------------------------------------------------------------------


def suppression(deps: RemediateDeps, alert: RemediationInput) -> str | None:
    """Why no automation may run for this alert now (flapping alarm, kill switch,
    maintenance window), or None."""
    current = deps.store.get(alert.alert_id)
    if current is not None and current.flapping_since is not None:
        return "the alarm is flapping"
    if deps.control is not None:
        return deps.control.current().suppression(alert.service, deps.clock())
    return None


def select_runbook(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    a = req.alert
    why = suppression(deps, a)
    if why:
        text = f"Automation suppressed: {why}; the alert is left to humans."
        return {"runbook": None, "suppressed": True, "reason": text}
    matches = eligible(deps.catalog, a.alert_type, a.service, a.environment)
    if not matches:
        return {
            "runbook": None,
            "reason": (
                f"No runbook in the catalog matches alert type {a.alert_type} for service "
                f"{a.service} in {a.environment}; left to humans."
            ),
        }
    raw = deps.store.runbook_stats(
        [rb.name for rb, _ in matches], a.alert_type, a.service, a.environment
    )
    stats = {name: Stats(fixes, misses) for name, (fixes, misses) in raw.items()}
    ranked = rank(matches, stats, seeded_rng(a.alert_id))
    modes = deps.control.current().runbook_modes if deps.control is not None else {}

    def mode(c: Any) -> Risk:
        override = modes.get(c.runbook.name)
        if override is not None and override in Risk.__members__.values():
            return Risk(override)
        return c.runbook.spec.risk

    in_tier = [c for c in ranked if c.tier == ranked[0].tier]  # the most specific tier
    # Within it: unattended first, then one that needs an approval, shadow runbooks last.
    order = {Risk.AUTO: 0, Risk.APPROVAL: 1, Risk.SHADOW: 2}
    best = sorted(in_tier, key=lambda c: order[mode(c)])[0]
    others = [c for c in ranked if c is not best]
    spec = best.runbook.spec
    reason = explain(best, others)
    if mode(best) is Risk.SHADOW:
        text = (
            f"Shadow mode: {reason} It would have run on {a.service}, but it is in shadow "
            "mode: nothing was run; the alert is left to humans."
        )
        deps.store.add_note(a.alert_id, text, deps.clock(), kind="shadow")
        return {
            "runbook": None,
            "shadow": {"name": spec.name, "tier": best.tier},
            "suppressed": True,
            "reason": text,
        }
    approval = mode(best) is Risk.APPROVAL
    if approval:
        reason += f" It needs a human's approval ({spec.description})."
    return {
        "runbook": {"name": spec.name, "tier": best.tier, "timeout_seconds": spec.timeout_seconds},
        "approval": approval,
        "reason": reason,
    }


def request_approval(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    """Park the execution on a task token until a human approves or rejects the run."""
    a = req.alert
    runbook = _selected(deps, req)
    if not req.token:
        raise InvalidAlarm("remediation task input: 'token' is missing for request_approval")
    deps.store.set_approval_token(a.alert_id, req.token)
    name = f"remediate-{a.alert_id}"
    text = (
        f"Runbook {runbook.name} ({runbook.spec.description}) needs a human's approval before it "
        f"runs on {a.service}. Approve: `opslink executions approve {name}`; reject: "
        f"`opslink executions reject {name}`."
    )
    deps.store.add_note(a.alert_id, text, deps.clock(), kind="approval_requested")
    if a.ticket_id:
        deps.tickets.comment(a.ticket_id, text)
    return {"requested": True}


# -- launch / poll / cancel ----------------------------------------------------------------


def _selected(deps: RemediateDeps, req: TaskRequest) -> Runbook:
    name = (req.selection or {}).get("runbook", {}) or {}
    if not isinstance(name, dict) or "name" not in name:
        raise InvalidAlarm("remediation task input: 'selection.runbook.name' is missing")
    return deps.runbook(str(name["name"]))


CIRCUIT_THRESHOLD = 3  # failed launches before automation pauses for a platform
CIRCUIT_COOLDOWN = timedelta(minutes=5)  # then one execution probes it (half-open)


def _circuit_allows(deps: RemediateDeps, platform: str, alert: RemediationInput) -> None:
    """Refuse to call a platform known to be down (the circuit is open), except for the
    one probe the half-open state allows after the cooldown."""
    state = deps.store.circuit(platform)
    if state.get("state") not in ("open", "half_open"):
        return
    now = deps.clock()
    opened = datetime.fromisoformat(str(state.get("opened_at", now.isoformat())))
    if now - opened >= CIRCUIT_COOLDOWN and deps.store.circuit_claim_probe(
        platform, now, now + CIRCUIT_COOLDOWN
    ):
        return  # the probe: its outcome closes or reopens the circuit
    since = state.get("since") or state.get("opened_at") or "?"
    text = (
        f"automation paused: job platform {platform} unreachable since {since} "
        f"({state.get('failures', '?')} failed calls); handled by a human"
    )
    deps.store.add_note(alert.alert_id, f"Runbook not launched: {text}.", now, kind="circuit_open")
    raise AutomationSuppressed(text)


def _circuit_failed(deps: RemediateDeps, platform: str, exc: Exception) -> None:
    now = deps.clock()
    opened = deps.store.circuit_failure(platform, now, CIRCUIT_THRESHOLD)
    if deps.faults is not None:
        deps.faults.failed(
            "job_platform", platform, exc, {"circuit": "open" if opened else "counting"}, now
        )
    if opened and deps.notifier:
        deps.notifier.notify(
            f"[OpsLink] automation paused: {platform} unreachable"[:100],
            f"Job platform {platform} failed {CIRCUIT_THRESHOLD} launches in a row ({exc}). "
            "Automated remediation is paused for it: new alerts go straight to a human "
            f"hand-over. OpsLink probes it again after {CIRCUIT_COOLDOWN} and announces the "
            "recovery.",
            {"service": "opslink", "team": "operators", "priority": "High", "kind": "circuit_open"},
        )


def _circuit_succeeded(deps: RemediateDeps, platform: str) -> None:
    old = deps.store.circuit_success(platform)
    if old and deps.faults is not None:
        deps.faults.recovered("job_platform", platform, deps.clock())
    if old and deps.notifier:
        deps.notifier.notify(
            f"[OpsLink] {platform} recovered: automation resumes"[:100],
            f"Job platform {platform} answered again (unreachable since {old.get('since', '?')}). "
            "Automated remediation resumes.",
            {
                "service": "opslink",
                "team": "operators",
                "priority": "Medium",
                "kind": "circuit_closed",
            },
        )


RESOURCE_DIMENSIONS = (
    "InstanceId",
    "AutoScalingGroupName",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "LoadBalancer",
    "FunctionName",
    "ClusterName",
)


def resource_of(alert: RemediationInput) -> str:
    """What a runbook acts on, for the per-resource budget: the alarm's resource
    dimension, else the alarm itself."""
    for key in RESOURCE_DIMENSIONS:
        if alert.dimensions.get(key):
            return f"{key}={alert.dimensions[key]}"[:300]
    return f"alarm={alert.alarm_name or alert.alert_id}"[:300]


def launch(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    a = req.alert
    runbook = _selected(deps, req)
    try:
        env = resolve_parameters(runbook, a)
    except ParameterRejected as exc:
        deps.store.add_note(a.alert_id, str(exc), deps.clock(), kind="parameter_rejected")
        raise ParameterRejectedError(str(exc)) from None
    key = f"{a.alert_id}:{runbook.name}"
    existing = deps.store.launched_job(a.alert_id, key)
    if existing is None:
        platform = deps.platform()
        _circuit_allows(deps, platform.name, a)
        resource = resource_of(a)
        claimed_at = deps.clock()
        if not deps.store.claim_automation_budget(
            a.service,
            claimed_at,
            deps.runs_per_service_hour,
            resource=resource,
            resource_cap=deps.runs_per_resource_hour,
        ):
            text = (
                f"Automation budget used up (at most {deps.runs_per_service_hour} runs per hour "
                f"for {a.service}, {deps.runs_per_resource_hour} for {resource}): runbook "
                f"{runbook.name} not run, left to humans."
            )
            deps.store.add_note(a.alert_id, text, deps.clock(), kind="budget_exhausted")
            raise AutomationBudgetExhausted(text)
        request = JobRequest(
            runbook=runbook.name,
            script_path=str(runbook.script_path),
            script=runbook.script(),
            environment=env,
            targets=resolve_targets(runbook, a),
            timeout_seconds=runbook.spec.timeout_seconds,
            idempotency_key=key,
        )
        try:
            ref = platform.launch(request)
        except Exception as exc:
            # Budget counts launches that happened: a launch that failed gives it back.
            deps.store.refund_automation_budget(a.service, claimed_at, resource=resource)
            if isinstance(exc, JobPlatformError):
                _circuit_failed(deps, platform.name, exc)
            raise
        _circuit_succeeded(deps, platform.name)
        existing = {
            "platform": ref.platform,
            "job_id": ref.job_id,
            "launched_at": ref.launched_at.isoformat(),
            "runbook": runbook.name,
            "timeout_seconds": runbook.spec.timeout_seconds,
            "idempotency_key": key,
            "targets": {k: list(v) for k, v in request.targets.items()},
        }
        deps.store.link_job(a.alert_id, existing)
        where = ", ".join(f"{k}={'/'.join(v)}" for k, v in request.targets.items()) or "this host"
        text = f"Launched runbook {runbook.name} on {where} ({ref.platform} job {ref.job_id})."
        deps.store.add_note(a.alert_id, text, deps.clock(), kind="job_launched")
        if a.ticket_id:
            deps.tickets.comment(a.ticket_id, text)
    wait = next_wait(0, deps.poll_base_seconds, deps.poll_max_seconds, runbook.spec.timeout_seconds)
    return {
        "job": existing,
        "poll": {
            "attempt": 0,
            "state": "queued",
            "wait_seconds": wait,
            "elapsed_seconds": 0,
            "timed_out": False,
        },
    }


def _ref(req: TaskRequest) -> JobRef:
    job = req.job or {}
    try:
        return JobRef(
            platform=job["platform"],
            job_id=str(job["job_id"]),
            launched_at=datetime.fromisoformat(job["launched_at"]),
        )
    except (KeyError, ValueError) as exc:
        raise InvalidAlarm(f"remediation task input: malformed 'job' ({exc})") from None


def poll(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    ref = _ref(req)
    status = deps.platform().status(ref)
    attempt = int((req.poll or {}).get("attempt", 0)) + 1
    timeout = int((req.job or {}).get("timeout_seconds", 0))
    elapsed = (deps.clock() - ref.launched_at).total_seconds()
    remaining = timeout - elapsed
    return {
        "attempt": attempt,
        "state": status.state.value,
        "exit_code": status.exit_code,
        "detail": status.detail[:500],
        "elapsed_seconds": int(elapsed),
        "timed_out": (not status.state.finished) and remaining <= 0,
        "wait_seconds": next_wait(
            attempt, deps.poll_base_seconds, deps.poll_max_seconds, remaining
        ),
    }


def cancel(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    """Cancel the alert's job: past its timeout (from the state machine), or because the
    alert was resolved elsewhere (from the track function, with `text` saying why)."""
    ref = _ref(req)
    deps.platform().cancel(ref)
    why = (
        req.text or f"it ran past its {req.job.get('timeout_seconds') if req.job else '?'}s timeout"
    )
    text = f"Cancelled {ref.platform} job {ref.job_id}: {why}."
    deps.store.add_note(req.alert.alert_id, text, deps.clock(), kind="job_cancelled")
    return {"cancelled": True}


# -- verify / resolve / escalate -----------------------------------------------------------


def verify(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    a = req.alert
    if deps.alarms is None or not a.alarm_name:
        return {"alarm_state": "UNKNOWN", "reason": "no alarm to check"}
    state = deps.alarms.state(a.alarm_name, a.region)
    return {
        "alarm_state": state or "UNKNOWN",
        "reason": "" if state else f"alarm {a.alarm_name} not found in {a.region}",
    }


def _output(deps: RemediateDeps, req: TaskRequest) -> JobOutput:
    if not req.job:
        return JobOutput()
    try:
        return deps.platform().output(_ref(req), limit=OUTPUT_EXCERPT * 4)
    except (JobPlatformRejected, InvalidAlarm) as exc:
        return JobOutput(stderr=f"(output unavailable: {exc})")


def _excerpt(text: str, limit: int = OUTPUT_EXCERPT) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def resolve(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    a = req.alert
    current = deps.store.get(a.alert_id)
    if current is not None and current.flapping_since is not None:
        text = "The alarm read OK after the runbook, but it is flapping: the alert stays open."
        deps.store.add_note(a.alert_id, text, deps.clock(), kind="suppressed_flapping")
        return {"resolved": False, "alert_was_open": True, "reason": "flapping"}
    job = req.job or {}
    runbook = str(job.get("runbook", "?"))
    out = _output(deps, req)
    now = deps.clock()
    resolution = {
        "by": "automation",
        "how": f"automated remediation: runbook {runbook}, alarm verified back to OK",
        "runbook": runbook,
        "job_id": str(job.get("job_id", "")),
        "platform": str(job.get("platform", "")),
        "at": now.isoformat(),
        "output_excerpt": _excerpt(out.stdout, 500),
    }
    if a.ticket_id:
        text = (
            f"Resolved by OpsLink: runbook {runbook} ({resolution['platform']} job {resolution['job_id']}) "
            f"fixed the problem; alarm {a.alarm_name} is back to OK.\n\nOutput:\n```\n{_excerpt(out.stdout)}\n```"
        )
        deps.tickets.set_status(a.ticket_id, TicketStatus.RESOLVED, note=text)
    resolved = deps.store.resolve_by_id(a.alert_id, resolution, now)
    if resolved:
        resolve_other_tickets(
            deps.store,
            deps.tickets,
            a.alert_id,
            a.ticket_id,
            f"Resolved with alert {a.alert_id}: runbook {runbook} fixed it (alarm back to OK).",
        )
    if not resolved:
        deps.store.add_note(
            a.alert_id, f"Runbook {runbook} verified as the fix.", now, kind="verified_fix"
        )
    _score(deps, req, fixed=True)
    return {"resolved": True, "alert_was_open": resolved}


def _score(deps: RemediateDeps, req: TaskRequest, fixed: bool) -> None:
    job = req.job or {}
    if job.get("runbook"):
        a = req.alert
        deps.store.record_runbook_outcome(
            str(job["runbook"]), a.alert_type, a.service, a.environment, fixed, deps.clock()
        )


_PRIORITY_RANK = {p: i for i, p in enumerate(Priority)}  # Critical first


def _raised(current: Priority | None, floor: Priority) -> Priority:
    """The product rule: a failed automation is at least High; never lowered."""
    if current is None:
        return floor
    return min(current, floor, key=_PRIORITY_RANK.__getitem__)


def _handover_text(deps: RemediateDeps, req: TaskRequest, why: str, detail: str) -> str:
    a, job = req.alert, req.job or {}
    selected = (req.selection or {}).get("runbook")
    runbook = str(
        job.get("runbook")
        or (selected.get("name") if isinstance(selected, dict) else None)
        or "no runbook"
    )
    lines = [
        f"OpsLink could not fix alert {a.alert_id} automatically: {why}.",
        "",
        "| Field | Value |",
        "| --- | --- |",
        f"| Service | {a.service} ({a.environment}) |",
        f"| Alarm | {a.alarm_name} ({a.region}) |",
        f"| Runbook | {runbook} |",
        f"| Job | {job.get('platform', '-')} {job.get('job_id', '-')} |",
        f"| Alert ticket | {a.ticket_id or '-'} |",
    ]
    if detail:
        lines += ["", f"**Detail:** {_excerpt(detail, 1000)}"]
    if req.job:
        out = _output(deps, req)
        lines += ["", "### stdout", "```", _excerpt(out.stdout) or "(empty)", "```"]
        lines += ["### stderr", "```", _excerpt(out.stderr) or "(empty)", "```"]
    return "\n".join(lines) + "\n"


def escalate(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    """Hand the alert to a human: by default on the alert's own ticket (marked failed
    automation, priority raised, on-call assigned, due in 2 h, job output attached);
    with EscalationTicket=separate on a [FAILED_AUTO] ticket of its own, which then moves
    in lockstep with the alert's ticket. Never for an alert already resolved."""
    a = req.alert
    esc = req.escalation or {}
    kind = str(esc.get("kind", "failed"))
    why = ESCALATIONS.get(kind, kind)
    detail = str(esc.get("detail") or "")
    with contextlib.suppress(ValueError, TypeError, AttributeError):  # Lambda causes are JSON
        detail = json.loads(detail).get("errorMessage", detail)
    now = deps.clock().replace(microsecond=0)
    if kind in ("failed", "timeout", "not_fixed"):
        _score(deps, req, fixed=False)
    current = deps.store.get(a.alert_id)
    if current is not None and current.status is not AlertStatus.OPEN:
        by = current.resolution.get("by", "someone")
        text = f"Automation outcome: {why}. The alert was already resolved (by {by}): no hand-over."
        deps.store.add_note(a.alert_id, text, now, kind=f"not_escalated_{kind}")
        return {"handed_over": False, "kind": kind, "reason": "alert already resolved"}
    oncall = deps.directory.oncall(a.team) if deps.directory else None
    note = _handover_text(deps, req, why, detail)
    if deps.escalation_ticket == "separate" or not a.ticket_id:
        ticket_id = _separate_handover(deps, req, why, kind, note, oncall, now)
        text = f"Handed to a human: {why}. Hand-over ticket {ticket_id} (assigned to {oncall or 'nobody'})."
        if a.ticket_id:
            deps.tickets.comment(a.ticket_id, text)
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
    deps.store.add_note(a.alert_id, text, now, kind=f"escalated_{kind}")
    return {"handed_over": True, "ticket_id": ticket_id, "kind": kind, "reason": why}


def _separate_handover(
    deps: RemediateDeps,
    req: TaskRequest,
    why: str,
    kind: str,
    note: str,
    oncall: str | None,
    now: datetime,
) -> str:
    a = req.alert
    draft = TicketDraft(
        alert_id=a.alert_id,
        key=f"{a.alert_id}:manual",
        title=f"[FAILED_AUTO] {a.service} - {a.alarm_name or a.alert_type}: {why}"[:255],
        description=note,
        ticket_type=TicketType.INCIDENT,
        priority=Priority.HIGH,
        assignee=oncall,
        due_at=now + MANUAL_DUE,
        labels=("opslink", "failed_auto", f"service:{a.service}"),
        custom_fields={
            "alert_id": a.alert_id,
            "service": a.service,
            "severity": a.severity.value,
            "escalation": kind,
        },
    )
    manual = deps.tickets.create(draft)
    deps.store.link_followup_ticket(a.alert_id, manual.provider, manual.id, kind="manual")
    return manual.id


# -- notes ---------------------------------------------------------------------------------


def _note(deps: RemediateDeps, req: TaskRequest, kind: str, text: str) -> dict[str, Any]:
    alert = req.alert
    deps.store.add_note(alert.alert_id, text, deps.clock(), kind=kind)
    if alert.ticket_id:
        deps.tickets.comment(alert.ticket_id, text)
    return {"noted": True, "kind": kind}


def record_note(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    return _note(deps, req, req.kind, req.text or "(no text)")


def record_failure(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    error = req.error or {}
    cause = str(error.get("Cause", ""))
    with contextlib.suppress(ValueError, AttributeError):  # Lambda causes are JSON
        cause = json.loads(cause).get("errorMessage", cause)
    text = (
        f"Automated remediation stopped: {error.get('Error', 'unknown error')}: {cause[:1500]}. "
        "The alert needs a human."
    )
    return _note(deps, req, "remediation_failed", text)


TASKS: dict[str, Callable[[RemediateDeps, TaskRequest], dict[str, Any]]] = {
    "select": select_runbook,
    "request_approval": request_approval,
    "launch": launch,
    "poll": poll,
    "cancel": cancel,
    "verify": verify,
    "resolve": resolve,
    "escalate": escalate,
    "note": record_note,
    "record_failure": record_failure,
}


def run_task(event: Any, deps: RemediateDeps) -> dict[str, Any]:
    req = parse_request(event)
    task = TASKS.get(req.action)
    if task is None:
        raise InvalidAlarm(f"remediation task: unknown action {req.action!r} ({', '.join(TASKS)})")
    return task(deps, req)
