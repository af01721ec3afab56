"""`launch`, `poll` and `cancel`: the job on the alert's hosts, from start to end."""

from __future__ import annotations

import math
from dataclasses import asdict

from aws_lambda_powertools import Logger

from opslink.comment_outbox import post_comment
from opslink.errors import (
    InvalidTaskInput,
    JobPlatformError,
    JobPlatformRejected,
    ParameterRejectedError,
)
from opslink.journal import EventKind, about, seconds_between
from opslink.ports.remediation import FindsLaunches
from opslink.remediation.batches import batch_words, next_batch
from opslink.remediation.blast_radius import HostPlan, resolve_hosts, with_incident_hosts
from opslink.remediation.budget import claim_budget, count_found_run, refund_budget
from opslink.remediation.chat_notices import decision_to_chat
from opslink.remediation.circuit import circuit_allows, circuit_failed, circuit_succeeded
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.parameters import Bound, bind_parameters, describe_sources
from opslink.remediation.payloads import Launch, LaunchedJob, PollPlan, PollState, TaskRequest
from opslink.remediation.poll_schedule import (
    Expected,
    describe,
    expected,
    settling_wait,
    wait_after,
)
from opslink.remediation.resources import resource_of
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import JobRef, JobRequest, JobState, JobStatus
from opslink.scrub import scrub, scrub_excerpt

logger = Logger(child=True)


def launch(deps: RemediateDeps, req: TaskRequest) -> Launch:
    a = req.alert
    name = req.selection.runbook.name if req.selection and req.selection.runbook else None
    if name is None:
        raise InvalidTaskInput("remediation task input: 'selection.runbook.name' is missing")
    runbook = deps.runbook(name)
    try:
        bound = bind_parameters(runbook, a, deps.service_map)
        plan = resolve_hosts(runbook, a, deps.hosts)
        if a.manual is None:  # an incident's root takes its members' hosts along
            plan = with_incident_hosts(plan, runbook, a, deps.incidents, deps.store)
    except ParameterRejectedError as exc:  # noted here, escalated by the state machine
        deps.store.add_note(a.alert_id, str(exc), deps.clock(), kind="parameter_rejected")
        raise
    if req.selection is not None and req.selection.approval:
        deps.store.clear_approval_token(a.alert_id)  # decided: the alarm's OK no longer stops it
        decision_to_chat(deps, a, deps.clock())
    # One launch per runbook per alert; an operator's run is its own launch.
    key = f"{a.alert_id}:{runbook.name}" + (f":{a.manual.run_id}" if a.manual else "")
    launched = deps.store.launched_jobs(a.alert_id)  # one read: this launch, and any before
    stored = next((j for j in launched if j.idempotency_key == key), None)
    if stored is not None:
        job = stored  # a retried launch: the job already runs
    else:
        job = _start(deps, a, runbook.name, bound, plan, key, not launched, req.retry_count > 0)
    return Launch(job=job, poll=_first_poll(deps, job))


def _first_poll(deps: RemediateDeps, job: LaunchedJob) -> PollState:
    plan = (
        None
        if deps.job_events
        else expected(deps.durations.job_durations(job.platform, job.runbook))
    )
    wait = _next_wait(deps, 0, 0, plan, job.timeout_seconds)
    return PollState(
        wait_seconds=wait,
        verify_after_seconds=deps.verify_grace_seconds,
        plan=PollPlan(**asdict(plan)) if plan else None,
        schedule=(
            f"woken by the job's end event; polled at the runbook's timeout ({wait} s) if "
            "no event comes"
            if deps.job_events
            else describe(plan, deps.poll_base_seconds, deps.poll_max_seconds)
        ),
    )


def _start(
    deps: RemediateDeps,
    a: RemediationInput,
    name: str,
    bound: list[Bound],
    plan: HostPlan,
    key: str,
    first: bool,
    retried: bool = False,
) -> LaunchedJob:
    runbook = deps.runbook(name)
    env = {b.name: b.value for b in bound}
    platform = deps.platform()
    circuit_allows(deps, platform.name, a)
    resource = resource_of(a)
    request = JobRequest(
        runbook=runbook.name,
        script_path=str(runbook.script_path),
        script=runbook.script(),
        environment=env,
        targets=plan.targets(0),
        timeout_seconds=runbook.spec.timeout_seconds,
        idempotency_key=key,
        **a.job_location(),
    )
    claimed_at = deps.clock()
    try:
        # A retried launch (its answer lost: the job may run) first looks for its job; one
        # found runs already and is counted whatever the budget says now (budget.py).
        found = platform.find(request) if retried and isinstance(platform, FindsLaunches) else None
    except JobPlatformError as exc:
        circuit_failed(deps, platform.name, exc)
        raise
    if found is not None:
        count_found_run(deps, a, claimed_at, resource)
    else:
        claim_budget(deps, a, runbook.name, claimed_at, resource)
    try:
        ref = found or platform.launch(request)
    except Exception as exc:
        refund_budget(deps, a, claimed_at, resource)
        if isinstance(exc, JobPlatformError):
            circuit_failed(deps, platform.name, exc)
        raise
    circuit_succeeded(deps, platform.name)
    job = LaunchedJob(
        platform=ref.platform,
        job_id=ref.job_id,
        launched_at=ref.launched_at,
        runbook=runbook.name,
        timeout_seconds=runbook.spec.timeout_seconds,
        idempotency_key=key,
        targets={k: list(v) for k, v in request.targets.items()},
        hosts=list(plan.hosts),
        host_source=plan.source,
        batches=[list(b) for b in plan.batches],
        parameters=scrub(describe_sources(bound))[:1000],
    )
    started = about(
        a,
        EventKind.JOB_LAUNCHED,
        ref.launched_at,
        key=runbook.name + (f":{a.manual.run_id}" if a.manual else ""),
        runbook=runbook.name,
        by=a.manual.by if a.manual else "automation",
        latency_seconds=seconds_between(a.triggered_at, ref.launched_at),
        detail={
            "platform": ref.platform,
            "job_id": ref.job_id,
            "hosts": ",".join(plan.batches[0]),
            "batch": "1",
        },
    )
    # An operator's run counts as a run of the runbook, never as the alert's automation.
    deps.store.link_job(a.alert_id, job, event=started, first_launch=first and a.manual is None)
    text = (
        f"Launched runbook {runbook.name} on {', '.join(plan.batches[0])}"
        f"{batch_words(job.batches, 0)} ({ref.platform} job {ref.job_id}). "
        f"Hosts: {len(plan.hosts)}, the {plan.source} (max_targets "
        f"{runbook.spec.max_targets})."
        + (f" Parameters: {describe_sources(bound)}." if bound else "")
    )
    logger.info("job launched", extra={"runbook": runbook.name, "job_id": ref.job_id})
    deps.store.add_note(a.alert_id, text, deps.clock(), kind="job_launched")
    if a.ticket_id:
        key = f"{a.alert_id}:launched:{runbook.name}" + (f":{a.manual.run_id}" if a.manual else "")
        post_comment(deps.outbox, deps.tickets, a.ticket_id, key, text, deps.clock(), a.alert_id)
    return job


def _next_wait(
    deps: RemediateDeps, elapsed: float, attempt: int, plan: Expected | None, remaining: float
) -> int:
    """How long the execution waits for the job before it polls. When the platform
    announces job ends, the wait is the runbook's remaining time: the event wakes it, and
    the poll at its end is only the safety net for a lost event."""
    if deps.job_events:
        return max(1, math.ceil(remaining))
    return wait_after(
        elapsed, attempt, plan, deps.poll_base_seconds, deps.poll_max_seconds, remaining
    )


def job_ref(req: TaskRequest) -> JobRef:
    if req.job is None:
        raise InvalidTaskInput(f"remediation task input: 'job' is missing for {req.action}")
    return JobRef(platform=req.job.platform, job_id=req.job.job_id, launched_at=req.job.launched_at,
                  hosts=tuple(req.job.targets.get("InstanceId", ())),
                  **req.alert.job_location())  # fmt: skip


def poll(
    deps: RemediateDeps, req: TaskRequest, status: JobStatus | None = None, woken_by: str = ""
) -> Launch:
    """The job's state; when a batch succeeded and batches remain, the next batch is
    launched (the canary must succeed before any other host is touched). `status`: read
    already by whoever woke the execution (`woken_by`: completion.py)."""
    state = _poll(deps, req, status)
    if woken_by:
        state = state.model_copy(update={"woken_by": woken_by})
    job = req.job
    if job is None or state.state != JobState.SUCCEEDED.value or job.batch + 1 >= len(job.batches):
        if job is None:
            raise InvalidTaskInput("remediation task input: 'job' is missing for poll")
        return Launch(job=job, poll=state)
    following = next_batch(deps, req.alert, job)
    return Launch(job=following, poll=_first_poll(deps, following))


def _poll(deps: RemediateDeps, req: TaskRequest, status: JobStatus | None = None) -> PollState:
    ref = job_ref(req)
    try:
        status = status or deps.platform().status(ref)
    except JobPlatformError as exc:
        # A blip of the platform is not the job's end: poll again at the next wait (soon
        # while an announced end waits to be confirmed); past the runbook's timeout the
        # job is cancelled and handed over, never "failed".
        status = JobStatus(
            state=JobState.RUNNING,
            detail=f"job platform unreachable ({scrub(str(exc))[:200]}); polled again",
            settling=bool(req.poll and req.poll.settling),
        )
    attempt = (req.poll.attempt if req.poll else 0) + 1
    timeout = req.job.timeout_seconds if req.job else 0
    elapsed = (deps.clock() - ref.launched_at).total_seconds()
    remaining = timeout - elapsed
    before = req.poll.plan if req.poll else None
    plan = Expected(**before.model_dump()) if before else None
    if status.state is JobState.SUCCEEDED and req.job is not None and status.duration_seconds:
        # As the platform timed it: poll times only bound it (a first poll that finds the
        # job done says nothing of when it ended), so without the platform's times the
        # schedule learns nothing rather than something wrong.
        deps.durations.record_job_duration(
            ref.platform, req.job.runbook, status.duration_seconds, ref.job_id, deps.clock()
        )
    wait = _next_wait(deps, elapsed, attempt, plan, remaining)
    if status.settling:  # an end announced, not confirmed yet: soon, then less often
        last = req.poll.wait_seconds if req.poll and req.poll.settling else None
        wait = settling_wait(last, deps.poll_base_seconds, deps.poll_max_seconds, remaining)
    return PollState(
        attempt=attempt,
        state=status.state.value,
        exit_code=status.exit_code,
        detail=scrub_excerpt(status.detail, 500),  # execution state: no secret
        elapsed_seconds=int(elapsed),
        timed_out=(not status.state.finished) and remaining <= 0,
        wait_seconds=wait,
        settling=status.settling,
        plan=before,
        schedule=req.poll.schedule if req.poll else "",
        verify_after_seconds=deps.verify_grace_seconds,
    )


def cancel(deps: RemediateDeps, req: TaskRequest) -> dict[str, bool]:
    """Cancel the alert's job: past its timeout (from the state machine), or because the
    alert was resolved elsewhere (from the track function, with `text` saying why)."""
    ref = job_ref(req)
    limit = req.job.timeout_seconds if req.job else "?"
    why = req.text or f"it ran past its {limit}s timeout"
    try:
        deps.platform().cancel(ref)
    except (JobPlatformError, JobPlatformRejected) as exc:  # the next step follows, saying so
        how = (
            "refused it (a job that has ended meanwhile cannot be cancelled)"
            if isinstance(exc, JobPlatformRejected)
            else "is unreachable"
        )
        text = (
            f"Could not cancel {ref.platform} job {ref.job_id} ({why}): the job platform "
            f"{how} ({scrub(str(exc))[:200]}); check the job by hand."
        )
        deps.store.add_note(req.alert.alert_id, text, deps.clock(), kind="job_not_cancelled")
        return {"cancelled": False}
    text = f"Cancelled {ref.platform} job {ref.job_id}: {why}."
    cancelled = about(
        req.alert, EventKind.JOB_CANCELLED, deps.clock(), key=ref.job_id, why=why, counted=False
    )
    deps.store.add_note(
        req.alert.alert_id, text, deps.clock(), kind="job_cancelled", event=cancelled
    )
    return {"cancelled": True}
