"""AWX / Ansible Automation Platform: launch a job template, follow the job, stdout, cancel.

Where its API is: AWX, Tower and a controller reached directly serve it at `/api/v2/`;
AAP 2.5+'s platform gateway serves the controller at `/api/controller/v2/` (the direct
route is deprecated there). AWX_URL names the server, or the gateway with that path
(`https://aap.example.com/api/controller/`); a path prefix before `/api` (a reverse
proxy's) is kept (`api_root`).

Each runbook maps to a job template id (AWX_TEMPLATES); parameters become extra_vars,
the explicit host list the inventory `limit` (hosts named by instance id, as the
EC2 inventory plugin's `hostnames: [instance-id]` names them). Bearer token (OAuth2 personal access token).

AWX silently ignores a launch field its template does not prompt for: without "Prompt on
launch" for Limit the job runs on the template's whole inventory, without it for
Variables on the playbook's defaults. So a template is checked before each launch
(its launch requirements: one GET), and a launch that AWX still answers with
`ignored_fields` (the template changed meanwhile) is cancelled at once and refused.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opslink.adapters.http_client import HttpClient
from opslink.adapters.jobs.fields import duration, field, tail
from opslink.adapters.jobs.lookup import find_recent
from opslink.clock import utcnow
from opslink.errors import ConfigurationError, JobPlatformError, JobPlatformRejected
from opslink.remediation_models import JobOutput, JobRef, JobRequest, JobState, JobStatus
from opslink.scrub import scrub_excerpt
from opslink.targets import check_hosts

PAGE = 20  # jobs per page of a lookup
_PROMPTS = {"ask_limit_on_launch": "Limit", "ask_variables_on_launch": "Variables"}
_PROMPTS_NEEDED = "enable 'Prompt on launch' for Limit and Variables on the job template"

_STATES = {
    "new": JobState.QUEUED,
    "pending": JobState.QUEUED,
    "waiting": JobState.QUEUED,
    "running": JobState.RUNNING,
    "successful": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "error": JobState.FAILED,
    "canceled": JobState.CANCELLED,
}


def api_root(url: str) -> tuple[str, str]:
    """(the server's URL, the controller API's path) for an AWX_URL: the server alone
    (`/api/v2`), a gateway's `/api/controller[/v2]`, or either behind a path prefix."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    server = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    if parts.query or parts.fragment:
        raise ConfigurationError(f"AWX_URL {url!r}: give the server's URL (or the gateway's "
                                 "with /api/controller/), without a query")  # fmt: skip
    for api in ("/api/controller/v2", "/api/v2"):
        if path.endswith(api):
            return server, path
    if path.endswith("/api/controller"):
        return server, f"{path}/v2"
    if path.endswith("/api"):
        return server, f"{path}/v2"
    return server, f"{path}/api/v2"


class AwxPlatform:
    name = "awx"

    def __init__(
        self, base_url: str, token: str, templates: dict[str, int], client: HttpClient | None = None
    ) -> None:
        server, self.api = api_root(base_url)
        self.http = client or HttpClient("AWX", server, {"Authorization": f"Bearer {token}"})
        self.templates = templates

    def _job_id(self, ref: JobRef) -> int:
        if not ref.job_id.isdigit():
            raise JobPlatformRejected(f"AWX: malformed job id {ref.job_id[:40]!r}")
        return int(ref.job_id)

    def launch(self, request: JobRequest) -> JobRef:
        template = self.templates.get(request.runbook)
        if template is None:
            raise JobPlatformRejected(
                f"AWX: no job template configured for runbook {request.runbook} (AWX_TEMPLATES)"
            )
        body: dict[str, object] = {
            "extra_vars": request.environment | {"opslink_run_id": request.idempotency_key}
        }
        # Always an explicit limit of exact inventory host names (the instance ids): never
        # the template's whole inventory, never `all` or a pattern.
        hosts = check_hosts(request.runbook, request.targets)
        body["limit"] = ",".join(hosts)
        self.check_template(int(template))
        doc = self.http.request(
            "POST",
            f"{self.api}/job_templates/{int(template)}/launch/",
            json=body,
            idempotent=False,
            what=f"launch template {template}",
        )
        job = doc.get("job", doc.get("id")) if isinstance(doc, dict) else None
        if not isinstance(job, int) or isinstance(job, bool):
            raise JobPlatformRejected("AWX: launch response has no integer 'job' field")
        ignored = doc.get("ignored_fields") or {}
        if ignored:  # it runs on the template's own inventory or variables: stopped now
            raise JobPlatformRejected(
                f"AWX: job template {template} ignored {', '.join(sorted(map(str, ignored)))} "
                f"of the launch ({self._stopped(job)}): {_PROMPTS_NEEDED}"
            )
        return JobRef(platform=self.name, job_id=str(job), launched_at=utcnow(), hosts=hosts)

    def find(self, request: JobRequest) -> JobRef | None:
        """The job this request started, among its template's latest (its `opslink_run_id`
        variable): a launch whose answer was lost is found, not run twice."""
        template = self.templates.get(request.runbook)
        if template is None:
            return None
        job = find_recent(
            self._jobs(int(template)),
            lambda job: _run_id(job) == request.idempotency_key,
            lambda job: job.get("created"),
        )
        if job is None:
            return None
        hosts = check_hosts(request.runbook, request.targets)
        return JobRef(platform=self.name, job_id=str(job.get("id")), launched_at=utcnow(),
                      hosts=hosts)  # fmt: skip

    def _jobs(self, template: int) -> Iterator[list[dict[str, Any]]]:
        """The template's jobs, newest first, a page at a time."""
        for page in itertools.count(1):
            doc = self.http.request(
                "GET", f"{self.api}/job_templates/{template}/jobs/",
                params={"order_by": "-id", "page_size": PAGE, "page": page},
                what=f"latest jobs of template {template}",
            )  # fmt: skip
            results = doc.get("results") if isinstance(doc, dict) else None
            yield (
                [job for job in results if isinstance(job, dict)]
                if isinstance(results, list)
                else []
            )
            if not isinstance(doc, dict) or not doc.get("next"):
                return

    def check_template(self, template: int) -> None:
        """Refuse a template that would ignore the limit or the variables (before any job
        exists): AWX answers its launch requirements on a GET of the launch endpoint."""
        doc = self.http.request(
            "GET", f"{self.api}/job_templates/{template}/launch/",
            what=f"launch requirements of template {template}", missing_ok=True,
        )  # fmt: skip
        if doc is None:
            raise JobPlatformRejected(
                f"AWX: no job template {template} at {self.api}/job_templates/: check "
                "AWX_TEMPLATES, and on AAP 2.5+ let AWX_URL name the platform gateway with "
                "/api/controller/"
            )
        lacking = [label for key, label in _PROMPTS.items() if not (doc or {}).get(key)]
        if lacking:
            raise JobPlatformRejected(
                f"AWX: job template {template} does not prompt on launch for "
                f"{' and '.join(lacking)}, so AWX would ignore OpsLink's hosts or parameters "
                f"and run on the template's own: {_PROMPTS_NEEDED}"
            )

    def _stopped(self, job: int) -> str:
        """Cancel a job launched on what OpsLink did not name; how it went, in words."""
        try:
            self.cancel(JobRef(platform=self.name, job_id=str(job), launched_at=utcnow()))
        except (JobPlatformError, JobPlatformRejected) as exc:
            return f"job {job} NOT cancelled ({scrub_excerpt(str(exc), 200)}): stop it by hand"
        return f"job {job} cancelled at once"

    def status(self, ref: JobRef) -> JobStatus:
        doc = self.http.request(
            "GET", f"{self.api}/jobs/{self._job_id(ref)}/", what=f"job {ref.job_id}"
        )
        raw = field(doc, "status", "AWX", str)
        if raw not in _STATES:
            raise JobPlatformRejected(f"AWX: job {ref.job_id} has unknown status {raw!r}")
        state, detail = _STATES[raw], str(doc.get("job_explanation") or "")[:4000]
        short = _hosts_short(ref, doc) if state is JobState.SUCCEEDED else ""
        if short is None:
            state = JobState.RUNNING
            detail = (f"AWX reports job {ref.job_id} successful and is still counting the "
                      "hosts it reached (processing the job's events)")  # fmt: skip
        elif short:
            state, detail = JobState.FAILED, short
        return JobStatus(
            state=state,
            detail=detail,
            duration_seconds=duration(doc.get("started"), doc.get("finished")),  # AWX's own
            settling=short is None,
        )

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        text = self.http.request(
            "GET",
            f"{self.api}/jobs/{self._job_id(ref)}/stdout/",
            params={"format": "txt"},
            what=f"stdout of job {ref.job_id}",
            expect="text",
        )
        return JobOutput(stdout=tail(str(text), limit), truncated=len(str(text)) > limit)

    def cancel(self, ref: JobRef) -> None:
        self.http.request(
            "POST",
            f"{self.api}/jobs/{self._job_id(ref)}/cancel/",
            what=f"cancel job {ref.job_id}",
            expect="none",
        )


def _hosts_short(ref: JobRef, doc: dict[str, Any]) -> str | None:
    """Why a successful job did not do what OpsLink asked ("" when it did, or an AWX too
    old to count; None while AWX has not counted yet): a limit naming a host the
    inventory lacks is skipped ("no hosts matched") and the job succeeds. The playbook's
    stats (`host_status_counts`: hosts per outcome, set as AWX processes the stats event,
    before it sends the job's notifications) count the hosts it reached; empty, they mean
    none only once all the job's events are processed (`event_processing_finished`)."""
    counts = doc.get("host_status_counts")
    processed = doc.get("event_processing_finished")
    if not ref.hosts:
        return ""
    if not (isinstance(counts, dict) and counts):  # no stats (yet)
        if processed is False:
            return None
        if processed is not True or not isinstance(counts, dict):
            return ""
    reached = sum(n for n in counts.values() if isinstance(n, int) and not isinstance(n, bool))
    if reached >= len(ref.hosts):
        return ""
    return (
        f"AWX reported success but the playbook reached {reached} of {len(ref.hosts)} hosts "
        f"({', '.join(ref.hosts)}): is each host in the template's inventory, named by its "
        "instance id?"
    )


def _run_id(job: dict[str, Any]) -> str | None:
    """The `opslink_run_id` a job was launched with (its extra variables: the JSON text
    AWX keeps of OpsLink's launch; anything else is no launch of OpsLink's)."""
    raw = job.get("extra_vars")
    try:
        variables = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    value = variables.get("opslink_run_id") if isinstance(variables, dict) else None
    return str(value) if value is not None else None
