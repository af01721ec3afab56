"""Multi-host runs after their canary: when a batch's job succeeded, the next batch is
launched on exactly its hosts (from the run's host plan, never re-resolved), once per
batch whatever retries the poll task gets; the timeline and the alert's notes say which
batch runs where."""

from __future__ import annotations

from opslink.errors import JobPlatformError
from opslink.journal import EventKind, about
from opslink.ports.remediation import FindsLaunches
from opslink.remediation.circuit import circuit_allows, circuit_failed, circuit_succeeded
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.parameters import resolve_parameters
from opslink.remediation.payloads import LaunchedJob
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import JobRequest


def batch_words(plan_batches: list[list[str]], batch: int) -> str:
    if len(plan_batches) <= 1:
        return ""
    return " (canary)" if batch == 0 else f" (batch {batch + 1} of {len(plan_batches)})"


def next_batch(deps: RemediateDeps, a: RemediationInput, job: LaunchedJob) -> LaunchedJob:
    batch = job.batch + 1
    hosts = tuple(job.batches[batch])
    key = f"{a.alert_id}:{job.runbook}:batch:{batch}"
    stored = next(
        (j for j in deps.store.launched_jobs(a.alert_id) if j.idempotency_key == key), None
    )
    if stored is not None:  # a retried poll: this batch runs already
        return stored
    runbook = deps.runbook(job.runbook)
    request = JobRequest(
        runbook=runbook.name,
        script_path=str(runbook.script_path),
        script=runbook.script(),
        environment=resolve_parameters(runbook, a, deps.service_map),
        targets={"InstanceId": hosts},
        timeout_seconds=runbook.spec.timeout_seconds,
        idempotency_key=key,
        **a.job_location(),
    )
    platform = deps.platform()
    circuit_allows(deps, platform.name, a)
    try:
        # Found first where launches are not idempotent: this poll may be the retry of
        # one whose launch answer was lost (the batch then runs already).
        found = platform.find(request) if isinstance(platform, FindsLaunches) else None
        ref = found or platform.launch(request)
    except JobPlatformError as exc:
        circuit_failed(deps, platform.name, exc)
        raise
    circuit_succeeded(deps, platform.name)
    following = job.model_copy(
        update={
            "job_id": ref.job_id,
            "launched_at": ref.launched_at,
            "batch": batch,
            "idempotency_key": key,
            "targets": {"InstanceId": list(hosts)},
        }
    )
    words = batch_words(job.batches, batch)
    text = (
        f"Batch {batch} of runbook {runbook.name} succeeded; launched{words} on "
        f"{', '.join(hosts)} ({ref.platform} job {ref.job_id})."
    )
    launched = about(
        a,
        EventKind.BATCH_LAUNCHED,
        ref.launched_at,
        key=f"{runbook.name}:{batch}",
        runbook=runbook.name,
        counted=False,
        detail={"platform": ref.platform, "job_id": ref.job_id, "hosts": ",".join(hosts),
                "batch": str(batch + 1)},
    )  # fmt: skip
    deps.store.link_job(a.alert_id, following, event=launched)
    deps.store.add_note(a.alert_id, text, deps.clock(), kind="batch_launched")
    return following
