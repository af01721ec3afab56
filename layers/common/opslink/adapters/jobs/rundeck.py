"""Rundeck job platform (API v41+): run a job, follow the execution, read output, abort.

Each runbook maps to a Rundeck job UUID (RUNDECK_JOBS); runbook parameters become job
options, targets a node filter. Token in the X-Rundeck-Auth-Token header.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from opslink.adapters.http_client import HttpClient
from opslink.adapters.jobs.fields import duration, field, tail
from opslink.adapters.jobs.lookup import find_recent
from opslink.adapters.jobs.rundeck_jobs import RUN_ID_OPTION, check_job
from opslink.clock import utcnow
from opslink.errors import JobPlatformRejected
from opslink.remediation_models import JobOutput, JobRef, JobRequest, JobState, JobStatus
from opslink.targets import check_hosts

API = "/api/41"
PAGE = 20  # executions per page of a lookup
_STATES = {
    "scheduled": JobState.QUEUED,
    "queued": JobState.QUEUED,
    "running": JobState.RUNNING,
    "succeeded": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "failed-with-retry": JobState.FAILED,
    "aborted": JobState.CANCELLED,
    "timedout": JobState.TIMED_OUT,
    "incomplete": JobState.FAILED,
    "other": JobState.FAILED,
}


class RundeckPlatform:
    name = "rundeck"

    def __init__(
        self, base_url: str, token: str, jobs: dict[str, str], client: HttpClient | None = None
    ) -> None:
        self.http = client or HttpClient("Rundeck", base_url, {"X-Rundeck-Auth-Token": token})
        self.jobs = jobs

    def launch(self, request: JobRequest) -> JobRef:
        job = self.jobs.get(request.runbook)
        if not job:
            raise JobPlatformRejected(
                f"Rundeck: no job configured for runbook {request.runbook} (RUNDECK_JOBS)"
            )
        options = request.environment | {RUN_ID_OPTION: request.idempotency_key}
        body: dict[str, object] = {"options": options}
        # Always an exact node-name filter (nodes named by instance id, the EC2 node
        # source's default): never the job's whole node set, never `.*`.
        hosts = check_hosts(request.runbook, request.targets)
        body["filter"] = "name: " + ",".join(hosts)
        check_job(self.http, job, options)  # dispatched to those nodes, given its options
        # Running a job is not idempotent: retried only when Rundeck surely did nothing.
        doc = self.http.request(
            "POST",
            f"{API}/job/{quote(job, safe='')}/run",
            json=body,
            idempotent=False,
            what=f"run job {job}",
        )
        return JobRef(
            platform=self.name,
            job_id=str(field(doc, "id", "Rundeck")),
            launched_at=utcnow(),
            hosts=hosts,
        )

    def find(self, request: JobRequest) -> JobRef | None:
        """The execution this request started, among the job's latest (its OPSLINK_RUN_ID
        option): a launch whose answer was lost is found, not run twice (lookup.py)."""
        job = self.jobs.get(request.runbook)
        if not job:
            return None
        ex = find_recent(
            self._executions(job),
            lambda ex: _run_id(ex) == request.idempotency_key,
            lambda ex: (ex.get("date-started") or {}).get("unixtime"),
        )
        if ex is None:
            return None
        hosts = check_hosts(request.runbook, request.targets)
        return JobRef(platform=self.name, job_id=str(ex.get("id")), launched_at=utcnow(),
                      hosts=hosts)  # fmt: skip

    def _executions(self, job: str) -> Iterator[list[dict[str, Any]]]:
        """The job's executions, newest first, a page at a time."""
        for offset in itertools.count(0, PAGE):
            doc = self.http.request(
                "GET", f"{API}/job/{quote(job, safe='')}/executions",
                params={"max": PAGE, "offset": offset}, what=f"latest executions of job {job}",
            )  # fmt: skip
            page = doc.get("executions") if isinstance(doc, dict) else None
            executions = (
                [ex for ex in page if isinstance(ex, dict)] if isinstance(page, list) else []
            )
            yield executions
            if len(executions) < PAGE:
                return

    def status(self, ref: JobRef) -> JobStatus:
        doc = self.http.request(
            "GET", f"{API}/execution/{quote(ref.job_id, safe='')}", what=f"execution {ref.job_id}"
        )
        raw = field(doc, "status", "Rundeck", str)
        if raw not in _STATES:
            raise JobPlatformRejected(f"Rundeck: execution {ref.job_id} has unknown status {raw!r}")
        failed = doc.get("failedNodes") or []
        state, detail = (
            _STATES[raw],
            f"failed nodes: {', '.join(map(str, failed))}" if failed else "",
        )
        if state is JobState.SUCCEEDED and (elsewhere := _not_as_named(ref, doc)):
            state, detail = JobState.FAILED, elsewhere
        # Rundeck's execution: "date-started"/"date-ended" {"unixtime": ms, "date": ISO}.
        started, ended = doc.get("date-started") or {}, doc.get("date-ended") or {}
        return JobStatus(
            state=state,
            detail=detail,
            duration_seconds=duration(started.get("unixtime"), ended.get("unixtime"))
            if isinstance(started, dict) and isinstance(ended, dict)
            else None,
        )

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        doc = self.http.request(
            "GET",
            f"{API}/execution/{quote(ref.job_id, safe='')}/output",
            params={"lastlines": 500},
            what=f"output of execution {ref.job_id}",
        )
        entries = field(doc, "entries", "Rundeck", list)
        out = "\n".join(
            str(e.get("log", ""))
            for e in entries
            if isinstance(e, dict) and e.get("level") != "ERROR"
        )
        err = "\n".join(
            str(e.get("log", ""))
            for e in entries
            if isinstance(e, dict) and e.get("level") == "ERROR"
        )
        return JobOutput(
            stdout=tail(out, limit), stderr=tail(err, limit), truncated=len(out) > limit
        )

    def cancel(self, ref: JobRef) -> None:
        doc = self.http.request(
            "POST",
            f"{API}/execution/{quote(ref.job_id, safe='')}/abort",
            what=f"abort execution {ref.job_id}",
        )
        status = (doc or {}).get("abort", {}).get("status") if isinstance(doc, dict) else None
        if status == "failed":
            raise JobPlatformRejected(
                f"Rundeck: abort of execution {ref.job_id} failed: {doc.get('abort', {}).get('reason', '')}"
            )


def _not_as_named(ref: JobRef, doc: dict[str, Any]) -> str:
    """Why a succeeded execution did not do what OpsLink asked ("" when it did): Rundeck
    runs a job on the nodes its filter matches and succeeds — a host its node source does
    not know (yet, or named otherwise than by instance id) is skipped without a word. Held
    to the hosts the launch named where Rundeck lists the nodes (`successfulNodes`)."""
    ran = doc.get("successfulNodes")
    if not ref.hosts or not isinstance(ran, list):
        return ""
    skipped = [h for h in ref.hosts if h not in ran]
    beyond = [str(n) for n in ran if n not in ref.hosts]
    if beyond:  # the filter named exact hosts: only a job that runs elsewhere gets here
        return (
            f"Rundeck reported success on nodes OpsLink did not name: {', '.join(beyond)} "
            "(check the job's node dispatch and workflow steps)"
        )
    if skipped:
        return (
            f"Rundeck reported success but ran on {len(ref.hosts) - len(skipped)} of "
            f"{len(ref.hosts)} hosts; not on {', '.join(skipped)} (is each host a node of "
            "the project, named by its instance id?)"
        )
    return ""


_RUN_ID = re.compile(r'-OPSLINK_RUN_ID\s+(?:"([^"]*)"|(\S+))')


def _run_id(execution: dict[str, Any]) -> str | None:
    """The OPSLINK_RUN_ID option an execution ran with (its job's options, else its
    argument string)."""
    options = (
        (execution.get("job") or {}).get("options")
        if isinstance(execution.get("job"), dict)
        else None
    )
    if isinstance(options, dict) and "OPSLINK_RUN_ID" in options:
        return str(options["OPSLINK_RUN_ID"])
    found = _RUN_ID.search(str(execution.get("argstring") or ""))
    return (found.group(1) or found.group(2)) if found else None
