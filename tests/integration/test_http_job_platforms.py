"""Generic job API, Rundeck and AWX adapters against contract servers on 127.0.0.1:
happy paths, and the errors a real deployment meets (401, 404, 429 + Retry-After, 5xx,
timeouts, garbage answers)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from opslink.adapters.http_client import HttpClient
from opslink.adapters.jobs.awx import AwxPlatform
from opslink.adapters.jobs.http_api import HttpJobApiPlatform
from opslink.adapters.jobs.rundeck import RundeckPlatform
from opslink.errors import JobPlatformError, JobPlatformRejected
from opslink.remediation_models import JobRef, JobRequest, JobState
from tests.integration.contract_servers import AwxApi, Fault, GenericJobApi, RundeckApi, serve

RUNDECK_JOB = "3b4c5d6e-0000-4000-8000-000000000001"
REQUEST = JobRequest(
    runbook="restart_service",
    script_path="/x/restart_service.sh",
    script="#!/bin/bash\n",
    environment={"SERVICE": "checkout", "WAIT_SECONDS": "30"},
    targets={"InstanceId": ("i-06b9f8adbef4ea026",)},
    timeout_seconds=300,
    idempotency_key="A-1:restart_service",
)


def fast(system: str, url: str, headers: dict[str, str], read_timeout: float = 2.0) -> HttpClient:
    return HttpClient(system, url, headers, timeout=(1.0, read_timeout), retries=3, backoff=0.01)


@pytest.fixture
def generic() -> Iterator[tuple[HttpJobApiPlatform, GenericJobApi]]:
    app = GenericJobApi()
    with serve(app) as url:
        yield (
            HttpJobApiPlatform(
                url, "secret-token", fast("job API", url, {"Authorization": "Bearer secret-token"})
            ),
            app,
        )


@pytest.fixture
def rundeck() -> Iterator[tuple[RundeckPlatform, RundeckApi]]:
    app = RundeckApi()
    with serve(app) as url:
        client = fast("Rundeck", url, {"X-Rundeck-Auth-Token": "secret-token"})
        yield RundeckPlatform(url, "secret-token", {"restart_service": RUNDECK_JOB}, client), app


@pytest.fixture
def awx() -> Iterator[tuple[AwxPlatform, AwxApi]]:
    app = AwxApi()
    with serve(app) as url:
        yield (
            AwxPlatform(
                url,
                "secret-token",
                {"restart_service": 7},
                fast("AWX", url, {"Authorization": "Bearer secret-token"}),
            ),
            app,
        )


# -- happy paths ------------------------------------------------------------------------


def test_generic_api_lifecycle_and_idempotent_launch(
    generic: tuple[HttpJobApiPlatform, GenericJobApi],
) -> None:
    platform, app = generic
    ref = platform.launch(REQUEST)
    assert platform.launch(REQUEST).job_id == ref.job_id  # the Idempotency-Key deduplicates
    assert app.requests[0].headers["Idempotency-Key"] == "A-1:restart_service"
    assert app.requests[0].body["parameters"] == {"SERVICE": "checkout", "WAIT_SECONDS": "30"}
    assert app.requests[0].body["targets"] == {"InstanceId": ["i-06b9f8adbef4ea026"]}
    assert platform.status(ref).state is JobState.RUNNING
    assert platform.output(ref).stdout == "ran restart_service\n"
    platform.cancel(ref)
    assert platform.status(ref).state is JobState.CANCELLED


def test_rundeck_lifecycle(rundeck: tuple[RundeckPlatform, RundeckApi]) -> None:
    platform, app = rundeck
    ref = platform.launch(REQUEST)
    definition, run = app.requests[:2]  # the job's definition read first, then run
    assert definition.path == f"/api/41/job/{RUNDECK_JOB}?format=yaml"
    assert run.path == f"/api/41/job/{RUNDECK_JOB}/run"
    assert (
        run.body["options"]["SERVICE"] == "checkout"
        and run.body["filter"] == "name: i-06b9f8adbef4ea026"
    )
    assert platform.status(ref).state is JobState.RUNNING
    out = platform.output(ref)
    assert out.stdout == "restarting checkout" and out.stderr == "unit checkout not found"
    platform.cancel(ref)
    assert platform.status(ref).state is JobState.CANCELLED


def test_a_rundeck_job_that_would_not_run_as_asked_is_refused_before_it_runs(
    rundeck: tuple[RundeckPlatform, RundeckApi],
) -> None:
    """A job that does not dispatch to nodes runs on the Rundeck server itself whatever
    node filter the run names (a restart of the server's own service); a job that does
    not define an option OpsLink passes never hands its value to its steps (a runbook's
    parameter; the run id a lost answer's lookup reads). Refused, saying how to fix it;
    nothing runs."""
    platform, app = rundeck
    app.dispatch = False
    with pytest.raises(JobPlatformRejected, match="run on the Rundeck server itself"):
        platform.launch(REQUEST)
    app.dispatch, app.options = True, {"SERVICE"}
    with pytest.raises(JobPlatformRejected, match=r"option\(s\) OPSLINK_RUN_ID, WAIT_SECONDS"):
        platform.launch(REQUEST)
    assert app.executions == {}
    app.options = {"SERVICE", "WAIT_SECONDS", "OPSLINK_RUN_ID", "UNUSED"}
    assert platform.launch(REQUEST).job_id == "100"
    app.faults.append(Fault("GET", r"/api/41/job/.*", 200, b"<joblist/>"))  # not YAML jobs
    with pytest.raises(JobPlatformRejected, match="not a YAML job list"):
        platform.launch(REQUEST)


def test_awx_lifecycle(awx: tuple[AwxPlatform, AwxApi]) -> None:
    platform, app = awx
    ref = platform.launch(REQUEST)
    [launched] = [r for r in app.requests if r.method == "POST"]
    assert ref.job_id == "500" and launched.body["limit"] == "i-06b9f8adbef4ea026"
    assert launched.body["extra_vars"]["SERVICE"] == "checkout"
    assert platform.status(ref).state is JobState.QUEUED
    app.jobs[500]["status"] = "failed"
    app.jobs[500]["job_explanation"] = "Task failed on web-1"
    status = platform.status(ref)
    assert status.state is JobState.FAILED and "web-1" in status.detail
    assert "TASK [restart]" in platform.output(ref).stdout


# The platforms' own records of a finished job, as their APIs return them.
FINISHED = {
    "generic": {"status": "succeeded", "exit_code": 0, "started_at": "2026-12-05T10:00:00Z",
                "finished_at": "2026-12-05T10:02:07.5Z"},
    "rundeck": {"status": "succeeded",
                "date-started": {"unixtime": 1764928800000, "date": "2026-12-05T10:00:00Z"},
                "date-ended": {"unixtime": 1764928927500, "date": "2026-12-05T10:02:07Z"}},
    "awx": {"status": "successful", "started": "2026-12-05T10:00:00.000000Z",
            "finished": "2026-12-05T10:02:07.500000Z", "elapsed": 127.5},
}  # fmt: skip


@pytest.mark.parametrize("name", ["generic", "rundeck", "awx"])
def test_a_finished_job_reports_how_long_it_ran_by_the_platforms_clock(
    name: str, request: pytest.FixtureRequest
) -> None:
    """What the poll schedule learns from: the platform's start and end, not poll times."""
    platform, app = request.getfixturevalue(name)
    ref = platform.launch(REQUEST)
    assert platform.status(ref).duration_seconds is None  # still running: no duration
    store = app.executions if name == "rundeck" else app.jobs
    key = next(iter(store))
    store[key].update(FINISHED[name])
    status = platform.status(ref)
    assert status.state is JobState.SUCCEEDED and status.duration_seconds == 127.5
    for stamp in ("started_at", "date-started", "started"):  # a platform that does not say
        store[key].pop(stamp, None)
    assert platform.status(ref).duration_seconds is None


# -- errors, the same for every platform ------------------------------------------------


def _ref(platform: Any, job_id: str) -> JobRef:
    return JobRef(platform=platform.name, job_id=job_id, launched_at=datetime.now(UTC))


PLATFORMS = ["generic", "rundeck", "awx"]


@pytest.fixture(params=PLATFORMS)
def any_platform(request: pytest.FixtureRequest) -> tuple[Any, Any, str, str]:
    platform, app = request.getfixturevalue(request.param)
    status_path = {
        "generic": r"/jobs/.+",
        "rundeck": r"/api/41/execution/\d+",
        "awx": r"/api/v2/jobs/\d+/",
    }[request.param]
    launch_path = {
        "generic": r"/jobs",
        "rundeck": r"/api/41/job/.+/run",
        "awx": r"/api/v2/job_templates/\d+/launch/",
    }[request.param]
    return platform, app, status_path, launch_path


def _status_reads(app: Any, status_path: str) -> list[Any]:
    return [
        r for r in app.requests
        if r.method == "GET" and re.fullmatch(status_path, r.path.split("?")[0])
    ]  # fmt: skip


def test_bad_credentials_are_rejected_not_retried(any_platform: tuple[Any, Any, str, str]) -> None:
    platform, app, _, _ = any_platform
    platform.http._safe.headers.pop(app.auth_header, None)
    platform.http._unsafe.headers.pop(app.auth_header, None)
    with pytest.raises(JobPlatformRejected, match="authentication refused \\(401\\)"):
        platform.launch(REQUEST)
    assert len(app.requests) == 1


def test_unknown_job_is_rejected(any_platform: tuple[Any, Any, str, str]) -> None:
    platform, _, _, _ = any_platform
    with pytest.raises(JobPlatformRejected, match="not found \\(404\\)"):
        platform.status(_ref(platform, "999"))


def test_429_retry_after_is_honoured(any_platform: tuple[Any, Any, str, str]) -> None:
    platform, app, status_path, _ = any_platform
    ref = platform.launch(REQUEST)
    app.faults.append(Fault("GET", status_path, 429, b"{}", {"Retry-After": "1"}))
    started = time.monotonic()
    assert platform.status(ref).state in (JobState.RUNNING, JobState.QUEUED)
    gets = _status_reads(app, status_path)
    assert len(gets) == 2
    assert gets[1].at - gets[0].at >= 0.95
    assert time.monotonic() - started < 5


def test_transient_5xx_is_retried_then_succeeds(any_platform: tuple[Any, Any, str, str]) -> None:
    platform, app, status_path, _ = any_platform
    ref = platform.launch(REQUEST)
    app.faults.append(Fault("GET", status_path, 502, b"bad gateway", times=2))
    assert platform.status(ref).state in (JobState.RUNNING, JobState.QUEUED)
    assert len(_status_reads(app, status_path)) == 3


def test_persistent_5xx_is_a_retryable_error(any_platform: tuple[Any, Any, str, str]) -> None:
    platform, app, status_path, _ = any_platform
    ref = platform.launch(REQUEST)
    app.faults.append(Fault("GET", status_path, 503, b"down", times=10))
    with pytest.raises(JobPlatformError):
        platform.status(ref)


def test_timeout_is_a_retryable_error(any_platform: tuple[Any, Any, str, str]) -> None:
    platform, app, status_path, _ = any_platform
    ref = platform.launch(REQUEST)
    platform.http.timeout = (1.0, 0.3)
    app.faults.append(Fault("GET", status_path, 200, b"{}", times=10, delay=0.6))
    with pytest.raises(JobPlatformError, match=r"unreachable|still failing"):
        platform.status(ref)


def test_garbage_answer_names_platform_and_field(any_platform: tuple[Any, Any, str, str]) -> None:
    platform, app, status_path, _ = any_platform
    ref = platform.launch(REQUEST)
    app.faults.append(Fault("GET", status_path, 200, b"<html>maintenance</html>"))
    with pytest.raises(JobPlatformRejected, match="not JSON"):
        platform.status(ref)
    app.faults.append(Fault("GET", status_path, 200, b"[" * 5000 + b"]" * 5000))
    with pytest.raises(JobPlatformRejected, match="not JSON"):  # too deep to decode
        platform.status(ref)
    app.faults.append(Fault("GET", status_path, 200, b'{"state": "running"}'))
    with pytest.raises(JobPlatformRejected, match="no field 'status'"):
        platform.status(ref)
    app.faults.append(Fault("GET", status_path, 200, b'{"status": "exploded", "id": 1}'))
    with pytest.raises(JobPlatformRejected, match="unknown status 'exploded'"):
        platform.status(ref)


@pytest.mark.parametrize("name", ["rundeck", "awx"])
def test_launch_is_not_repeated_after_an_ambiguous_500(
    request: pytest.FixtureRequest, name: str
) -> None:
    platform, app = request.getfixturevalue(name)
    launch_path = {"rundeck": r"/api/41/job/.+/run", "awx": r"/api/v2/job_templates/\d+/launch/"}[
        name
    ]
    app.faults.append(Fault("POST", launch_path, 500, b"oops", times=5))
    with pytest.raises(JobPlatformError):
        platform.launch(REQUEST)
    assert (
        sum(1 for r in app.requests if r.method == "POST") == 1
    )  # it may have started: never twice


def test_unmapped_runbook_is_a_clear_error(
    rundeck: tuple[RundeckPlatform, RundeckApi], awx: tuple[AwxPlatform, AwxApi]
) -> None:
    other = REQUEST.model_copy(update={"runbook": "scale_up"})
    with pytest.raises(JobPlatformRejected, match="no job configured for runbook scale_up"):
        rundeck[0].launch(other)
    with pytest.raises(
        JobPlatformRejected, match="no job template configured for runbook scale_up"
    ):
        awx[0].launch(other)


@pytest.mark.parametrize(
    ("prompt", "label"),
    [("ask_limit_on_launch", "Limit"), ("ask_variables_on_launch", "Variables")],
)
def test_an_awx_template_that_would_ignore_the_hosts_is_never_launched(
    awx: tuple[AwxPlatform, AwxApi], prompt: str, label: str
) -> None:
    """AWX ignores a launch field its template does not prompt for: without "Prompt on
    launch" for Limit the job ran on the template's whole inventory (for Variables, on
    the playbook's defaults). The template's launch requirements are read first."""
    platform, app = awx
    app.prompts[prompt] = False
    with pytest.raises(JobPlatformRejected, match=f"does not prompt on launch for {label}"):
        platform.launch(REQUEST)
    assert app.jobs == {} and [r.method for r in app.requests] == ["GET"]


def test_an_awx_launch_whose_limit_is_ignored_anyway_is_cancelled_at_once(
    awx: tuple[AwxPlatform, AwxApi],
) -> None:
    """The template changed between its requirements' read and the launch: AWX answers
    the launch with `ignored_fields` and the job would run on the whole inventory."""
    platform, app = awx
    app.applies = {"ask_limit_on_launch": False, "ask_variables_on_launch": True}
    with pytest.raises(JobPlatformRejected, match=r"ignored limit .*job 500 cancelled at once"):
        platform.launch(REQUEST)
    assert app.jobs[500]["limit"] == "" and app.jobs[500]["status"] == "canceled"


def test_rundeck_success_is_held_to_the_hosts_the_launch_named(
    rundeck: tuple[RundeckPlatform, RundeckApi],
) -> None:
    """Rundeck runs a job on the nodes its filter matches and succeeds: a host it does not
    know as a node (not yet in the EC2 node source's cache, or named by its Name tag) is
    skipped without a word — not a fix on that host."""
    platform, app = rundeck
    two = REQUEST.model_copy(update={"targets": {"InstanceId": ["i-0aaaaaaa", "i-0bbbbbbb"]}})
    app.nodes = {"i-0aaaaaaa"}
    ref = platform.launch(two)
    assert ref.hosts == ("i-0aaaaaaa", "i-0bbbbbbb")
    [ex] = app.executions.values()
    ex["status"] = "succeeded"
    status = platform.status(ref)
    assert status.state is JobState.FAILED
    assert "ran on 1 of 2 hosts; not on i-0bbbbbbb" in status.detail
    app.nodes = None  # both are nodes: a success
    assert platform.status(ref).state is JobState.SUCCEEDED
    ex["successfulNodes"] = ["i-0aaaaaaa", "i-0bbbbbbb", "rundeck-server"]  # ran elsewhere too
    status = platform.status(ref)
    assert status.state is JobState.FAILED and "did not name: rundeck-server" in status.detail
    # A reference without its hosts (an execution state from before they were kept) and a
    # Rundeck that does not list nodes: not held, as before.
    assert platform.status(ref.model_copy(update={"hosts": ()})).state is JobState.SUCCEEDED
    del ex["successfulNodes"]
    ex["status"] = "succeeded"
    app.nodes = set()
    assert platform.status(ref).state is JobState.FAILED  # the server lists none: ran nowhere


def test_awx_success_is_held_to_the_hosts_the_launch_named(
    awx: tuple[AwxPlatform, AwxApi],
) -> None:
    """A limit naming a host the inventory lacks is skipped ("skipping: no hosts matched")
    and the job succeeds; the playbook's stats say how many hosts it reached."""
    platform, app = awx
    two = REQUEST.model_copy(update={"targets": {"InstanceId": ["i-0aaaaaaa", "i-0bbbbbbb"]}})
    app.inventory = {"i-0bbbbbbb"}
    ref = platform.launch(two)
    assert ref.hosts == ("i-0aaaaaaa", "i-0bbbbbbb")
    job = app.jobs[int(ref.job_id)]
    job["status"] = "successful"
    status = platform.status(ref)
    assert status.state is JobState.FAILED
    assert "reached 1 of 2 hosts" in status.detail
    app.inventory = None
    assert platform.status(ref).state is JobState.SUCCEEDED
    # The stats come before the rest of the job's events (and before its notification):
    # counted, they are judged while AWX still processes the others.
    job |= {"event_processing_finished": False, "host_status_counts": {"ok": 1, "dark": 0}}
    assert "reached 1 of 2 hosts" in platform.status(ref).detail
    job |= {"host_status_counts": {"changed": 1, "failures": 1}}
    assert platform.status(ref).state is JobState.SUCCEEDED  # (a failed host: AWX says failed)
    # Not counted yet: not a success yet either — looked at again soon.
    job |= {"host_status_counts": {}}
    counting = platform.status(ref)
    assert counting.state is JobState.RUNNING and counting.settling
    assert "still counting the hosts" in counting.detail
    job |= {"event_processing_finished": True}  # all processed, none counted: none reached
    assert "reached 0 of 2 hosts" in platform.status(ref).detail
    from opslink.adapters.jobs.awx import _hosts_short

    assert _hosts_short(ref, {"status": "successful"}) == ""  # an AWX too old to count


@pytest.mark.parametrize("name", ["rundeck", "awx"])
def test_a_launch_whose_answer_was_lost_is_found_not_run_twice(
    name: str, request: pytest.FixtureRequest
) -> None:
    """Neither platform takes an idempotency key: a launch whose answer was lost (a
    timeout after the platform started the job) is retried by the state machine, which
    would run the runbook twice on the hosts. The retry first looks for the job by the
    run id the launch carried (a Rundeck option, an AWX variable)."""
    platform, _ = request.getfixturevalue(name)
    assert platform.find(REQUEST) is None  # nothing launched yet
    ref = platform.launch(REQUEST)
    other = REQUEST.model_copy(update={"idempotency_key": "A-2:restart_service"})
    platform.launch(other)  # a later job of the same runbook, another alert's
    found = platform.find(REQUEST)
    assert found is not None and found.job_id == ref.job_id and found.hosts == ref.hosts
    assert platform.find(other).job_id != ref.job_id
    stranger = REQUEST.model_copy(update={"idempotency_key": "A-3:restart_service"})
    assert platform.find(stranger) is None


@pytest.mark.parametrize("name", ["rundeck", "awx"])
def test_a_lost_launch_is_found_behind_a_storm_of_others(
    name: str, request: pytest.FixtureRequest
) -> None:
    """A storm launches one runbook for many alerts at once — when answers get lost: the
    job is looked for page after page (newest first), not in the latest page only; the
    scan ends at jobs older than its hour (one page read when nothing else ran)."""
    platform, app = request.getfixturevalue(name)
    ref = platform.launch(REQUEST)
    for n in range(45):  # other alerts' jobs of the same runbook, after it
        platform.launch(REQUEST.model_copy(update={"idempotency_key": f"B-{n}:restart_service"}))
    app.listed = 0
    found = platform.find(REQUEST)
    assert found is not None and found.job_id == ref.job_id
    assert app.listed == 3  # 20 + 20 + its page
    # jobs older than the window end the scan: one page, then nothing more to read
    jobs = app.executions if name == "rundeck" else app.jobs
    for job in jobs.values():
        if name == "rundeck":
            job["date-started"] = {"unixtime": 1_000_000_000_000}
        else:
            job["created"] = "2001-09-09T01:46:40Z"
    app.listed = 0
    stranger = REQUEST.model_copy(update={"idempotency_key": "C-1:restart_service"})
    assert platform.find(stranger) is None and app.listed == 1


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("", "/api/v2"),  # AWX, Tower, a controller reached directly
        ("/", "/api/v2"),
        ("/api/v2/", "/api/v2"),
        ("/api/controller/", "/api/controller/v2"),  # AAP 2.5+: the platform gateway
        ("/api/controller/v2", "/api/controller/v2"),
        ("/awx", "/awx/api/v2"),  # behind a reverse proxy's path prefix
        ("/ops/api/controller", "/ops/api/controller/v2"),
    ],
)
def test_awx_url_names_the_server_or_the_gateway_s_controller_api(path: str, api: str) -> None:
    from opslink.adapters.jobs.awx import api_root

    assert api_root(f"https://aap.example.com{path}") == ("https://aap.example.com", api)


def test_an_awx_url_with_a_query_is_refused_by_name() -> None:
    from opslink.adapters.jobs.awx import api_root
    from opslink.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="AWX_URL"):
        api_root("https://aap.example.com/?token=x")


def test_aap_through_its_platform_gateway() -> None:
    """AAP 2.5+ serves the controller's API through the platform gateway at
    /api/controller/v2/: with AWX_URL naming the gateway with that path the whole life of
    a job goes there; naming the gateway alone is refused before anything runs, saying
    what to set."""
    from tests.integration.contract_servers import AapGatewayApi

    app = AapGatewayApi()
    with serve(app) as url:
        headers = {"Authorization": "Bearer secret-token"}
        platform = AwxPlatform(f"{url}/api/controller/", "secret-token",
                               {"restart_service": 7}, fast("AWX", url, headers))  # fmt: skip
        ref = platform.launch(REQUEST)
        assert ref.job_id == "500"
        assert platform.status(ref).state is JobState.QUEUED
        assert "TASK [restart]" in platform.output(ref).stdout
        platform.cancel(ref)
        assert platform.status(ref).state is JobState.CANCELLED
        assert {r.path.split("?")[0].split("/v2/")[0] for r in app.requests} == {"/api/controller"}
        launches = len([r for r in app.requests if r.method == "POST"])
        bare = AwxPlatform(url, "secret-token", {"restart_service": 7}, fast("AWX", url, headers))
        with pytest.raises(JobPlatformRejected, match="/api/controller/"):
            bare.launch(REQUEST)
        assert len([r for r in app.requests if r.method == "POST"]) == launches  # none ran
