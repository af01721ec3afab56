"""Generic HTTP job API: the contract OpsLink offers any in-house job runner.

    POST /jobs                  {runbook, parameters, targets, timeout_seconds, idempotency_key}
                                -> 201/200 {id, status}; Idempotency-Key header dedupes retries
    GET  /jobs/{id}             -> {id, status: queued|running|succeeded|failed|cancelled|timed_out, exit_code?,
                                    started_at?, finished_at? (ISO 8601: the run time OpsLink learns from)}
    GET  /jobs/{id}/output      -> {stdout, stderr, truncated?}
    POST /jobs/{id}/cancel      -> 202
Bearer token authentication.
"""

from __future__ import annotations

from urllib.parse import quote

from opslink.adapters.http_client import HttpClient
from opslink.adapters.jobs.fields import duration, field, tail
from opslink.clock import utcnow
from opslink.errors import JobPlatformRejected
from opslink.remediation_models import JobOutput, JobRef, JobRequest, JobState, JobStatus
from opslink.targets import check_hosts


class HttpJobApiPlatform:
    name = "http"

    def __init__(self, base_url: str, token: str, client: HttpClient | None = None) -> None:
        self.http = client or HttpClient("job API", base_url, {"Authorization": f"Bearer {token}"})

    def launch(self, request: JobRequest) -> JobRef:
        targets = {"InstanceId": check_hosts(request.runbook, request.targets)}
        body = {
            "runbook": request.runbook,
            "parameters": request.environment,
            "targets": {k: list(v) for k, v in targets.items()},
            "timeout_seconds": request.timeout_seconds,
            "idempotency_key": request.idempotency_key,
        }
        # The server deduplicates on Idempotency-Key, so a retried launch is safe.
        doc = self.http.request(
            "POST",
            "/jobs",
            json=body,
            what=f"launch {request.runbook}",
            headers={"Idempotency-Key": request.idempotency_key},
        )
        job_id = str(field(doc, "id", "job API"))
        return JobRef(platform=self.name, job_id=job_id, launched_at=utcnow())

    def status(self, ref: JobRef) -> JobStatus:
        doc = self.http.request(
            "GET", f"/jobs/{quote(ref.job_id, safe='')}", what=f"job {ref.job_id}"
        )
        raw = field(doc, "status", "job API", str)
        try:
            state = JobState(raw)
        except ValueError:
            raise JobPlatformRejected(
                f"job API: job {ref.job_id} has unknown status {raw!r}"
            ) from None
        code = doc.get("exit_code")
        return JobStatus(
            state=state,
            exit_code=code if isinstance(code, int) else None,
            detail=str(doc.get("detail", ""))[:4000],  # scrubbed, then cut, by the caller
            duration_seconds=duration(doc.get("started_at"), doc.get("finished_at")),
        )

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        doc = self.http.request(
            "GET", f"/jobs/{quote(ref.job_id, safe='')}/output", what=f"output of job {ref.job_id}"
        )
        out = str(field(doc, "stdout", "job API", str))
        err = str(doc.get("stderr") or "")
        return JobOutput(
            stdout=tail(out, limit),
            stderr=tail(err, limit),
            truncated=bool(doc.get("truncated")) or len(out) > limit,
        )

    def cancel(self, ref: JobRef) -> None:
        self.http.request(
            "POST",
            f"/jobs/{quote(ref.job_id, safe='')}/cancel",
            what=f"cancel job {ref.job_id}",
            expect="none",
        )
