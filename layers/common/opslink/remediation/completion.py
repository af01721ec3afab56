"""A job's end wakes its execution at once, instead of at the next poll.

The state machine's `AwaitJob` state waits on a task token (`.waitForTaskToken`). Its
task, `await_job`, registers the token under the job, then looks at the job once: a job
that ended before the token was registered (the event came first) wakes it there. The
platforms announce a job's end — SSM Run Command's status-change events on EventBridge,
Rundeck and AWX job notifications forwarded by the webhook endpoint, the emulator's
watcher for local jobs — and `on_job_event` wakes the execution waiting for that job.

An event is only a hint: it names a job, and the job's state is read from the platform
itself before anything happens, so a forged or early event wakes nothing. Waking runs
the same poll as the `PollJob` state (the next canary batch, the recorded duration) and
hands its result to the execution; the token is claimed first with a conditional write,
so an event and the registration's look, or an event delivered twice, wake it once. A
lost event costs latency, never the run: the token wait times out at the runbook's
timeout and the `PollJob` state polls as before. An end that cannot be confirmed yet (AWX
still counting the hosts it reached; the platform not answering the look an event asked
for) wakes the execution into a short wait instead, once: its poll looks again, and
again less often while the end stays unconfirmed (poll_schedule.settling_wait).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from opslink.errors import ConfigurationError, InvalidTaskInput, JobPlatformError
from opslink.job_events import JOB_EVENT, SSM_COMMAND_EVENT, job_event
from opslink.models import AlertStatus
from opslink.ports import JobWaitRegistry, TaskCallbacks
from opslink.ports.records import JsonObject
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.jobs import job_ref, poll
from opslink.remediation.payloads import TaskRequest, parse_request
from opslink.remediation_models import JobState, JobStatus, JobWaiter
from opslink.scrub import scrub, scrub_excerpt

logger = Logger(child=True)


def await_job(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    """Register the execution's token for the job, then wake it if the job already ended."""
    if req.job is None or not req.token:
        raise InvalidTaskInput("remediation task input: await_job needs 'job' and 'token'")
    if not deps.job_events:  # nothing will announce the end: the wait is the poll schedule's
        return _outcome(False, "polled when the wait ends")
    waits, job = _waits(deps), req.job
    # What the waking poll needs, and no more (the item is billed by its size): the alert
    # without its announcement text, the job, the poll state.
    request: JsonObject = {
        "action": "poll",
        "alert": req.alert.model_dump(mode="json") | {"notification": {}},
        "job": job.out(),
        "poll": req.poll.out() if req.poll else None,
    }
    waits.wait_for_job(
        job.platform, job.job_id, req.alert.alert_id, req.token, request, deps.clock()
    )
    waiter = JobWaiter(alert_id=req.alert.alert_id, token=req.token, request=request)
    return _wake(deps, job.platform, job.job_id, waiter, by="registration")


def on_job_event(deps: RemediateDeps, event: dict[str, Any]) -> dict[str, Any]:
    """Wake the execution waiting for the job the event names, if its job really ended."""
    named = job_event(event)
    if named is None:
        raise InvalidTaskInput(
            f"remediate: not a job event (detail-type {str(event.get('detail-type'))[:80]!r}; "
            f"expected {SSM_COMMAND_EVENT!r} or {JOB_EVENT!r} with platform and job_id)"
        )
    platform, job_id, source = named
    if deps.jobs is None or platform != deps.jobs.name:
        return _outcome(False, f"not a job of this deployment's platform ({platform})")
    waiter = _waits(deps).job_waiter(platform, job_id)
    if waiter is None:
        return _outcome(False, "no execution waits for this job")
    if waiter.claimed:
        return _outcome(False, "already woken")
    return _wake(deps, platform, job_id, waiter, by=source)


def _wake(
    deps: RemediateDeps, platform: str, job_id: str, waiter: JobWaiter, by: str
) -> dict[str, Any]:
    req = parse_request(waiter.request)
    try:
        status = deps.platform().status(job_ref(req))
    except JobPlatformError as exc:
        why = f"job platform unreachable ({scrub_excerpt(str(exc), 200)})"
        if by == "registration":  # the wait's own look: the job may well run; its poll later
            return _outcome(False, why)
        # An end announced and not confirmed: looked at again soon, not at the wait's end.
        status = JobStatus(
            state=JobState.RUNNING, settling=True, detail=f"{why}; looked at again soon"
        )
    if not status.state.finished and not status.settling:
        return _outcome(False, f"the job is {status.state.value}")
    if status.settling and req.poll is not None and req.poll.settling:
        # Its wait is a short one already (a wake that shortened it: not again, or the
        # execution would spin between its wait and this look).
        return _outcome(False, f"{status.detail}: the short wait's poll looks again")
    if not _waits(deps).claim_job_waiter(platform, job_id, waiter.token, by):
        return _outcome(False, "already woken")
    stop = _must_not_go_on(deps, req, status)
    if stop:
        return _outcome(False, stop)
    callbacks = _callbacks(deps)
    try:
        result = poll(deps, req, status=status, woken_by=by)
    except Exception as exc:
        # The execution's AwaitJob retries (a new token, a new look) or catches it, as
        # PollJob would have; the error reaches it by its type name.
        callbacks.fail(waiter.token, type(exc).__name__, scrub(str(exc))[:2000])
        logger.warning("woken execution failed its poll", extra={"job_id": job_id, "by": by})
        return _outcome(True, f"poll failed: {type(exc).__name__}")
    sent = callbacks.succeed(waiter.token, result.out())
    logger.info("execution woken", extra={"job_id": job_id, "by": by, "sent": sent})
    return _outcome(sent, f"job {status.state.value}" if sent else "the wait had ended")


def _must_not_go_on(deps: RemediateDeps, req: TaskRequest, status: JobStatus) -> str | None:
    """Why the waking poll must not start the next batch: a human closed the alert's
    ticket, which stopped its execution (a stopped execution never polls; an event still
    arrives for its job). Checked only when a next batch would start."""
    job = req.job
    if job is None or status.state is not JobState.SUCCEEDED or job.batch + 1 >= len(job.batches):
        return None
    alert = deps.store.get(req.alert.alert_id)
    if (
        alert is not None
        and alert.status is AlertStatus.RESOLVED
        and (alert.resolution or {}).get("by") == "ticket"
    ):
        return "the alert was closed on its ticket: no further batch starts"
    return None


def _outcome(woken: bool, why: str) -> dict[str, Any]:
    return {"woken": woken, "why": why}


def _waits(deps: RemediateDeps) -> JobWaitRegistry:
    if deps.waits is None:
        raise ConfigurationError("remediate: no job-wait registry configured")
    return deps.waits


def _callbacks(deps: RemediateDeps) -> TaskCallbacks:
    if deps.callbacks is None:
        raise ConfigurationError("remediate: no Step Functions callbacks configured")
    return deps.callbacks
