"""What a Rundeck job must be for OpsLink to run it (read from its definition before each
run, as AWX's templates are): a job that does not dispatch to nodes runs its steps on the
Rundeck server itself — whatever node filter the run names — and a job that does not
define an option OpsLink passes does not hand its value to its steps (a runbook's
parameter, or the run id a lost answer's lookup reads)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import yaml

from opslink.adapters.http_client import HttpClient
from opslink.errors import JobPlatformRejected

API = "/api/41"
RUN_ID_OPTION = "OPSLINK_RUN_ID"


def job_definition(http: HttpClient, job: str) -> dict[str, Any]:
    """The job's definition as Rundeck exports it (YAML: API 41 exports no JSON)."""
    text = http.request(
        "GET", f"{API}/job/{quote(job, safe='')}", params={"format": "yaml"},
        headers={"Accept": "application/yaml"}, expect="text", what=f"definition of job {job}",
    )  # fmt: skip
    try:
        doc = yaml.safe_load(text or "")
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, list) and len(doc) == 1 and isinstance(doc[0], dict):
        return doc[0]
    raise JobPlatformRejected(f"Rundeck: job {job}: its definition is not a YAML job list")


def defined_options(definition: dict[str, Any]) -> set[str]:
    """The options a job defines (a list of `name:` entries; a map in older exports)."""
    options = definition.get("options")
    if isinstance(options, dict):
        return {str(name) for name in options}
    if isinstance(options, list):
        return {str(o["name"]) for o in options if isinstance(o, dict) and o.get("name")}
    return set()


def problems(definition: dict[str, Any], options: Iterable[str]) -> list[str]:
    """What keeps the job from running as OpsLink asks ([] when nothing)."""
    found = []
    if not isinstance(definition.get("nodefilters"), dict):
        found.append(
            "it does not dispatch to nodes, so it would run on the Rundeck server itself "
            "(Nodes tab: 'Dispatch to Nodes')"
        )
    missing = sorted(set(options) - defined_options(definition))
    if missing:
        found.append(f"it does not define option(s) {', '.join(missing)} (Workflow: Options)")
    return found


def check_job(http: HttpClient, job: str, options: Iterable[str]) -> None:
    """Refuse (JobPlatformRejected, a hand-over that says why) a job OpsLink must not run."""
    found = problems(job_definition(http, job), options)
    if found:
        raise JobPlatformRejected(f"Rundeck: job {job} not run: {'; '.join(found)}")
