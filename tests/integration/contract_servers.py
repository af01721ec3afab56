"""HTTP servers on 127.0.0.1 that follow each job API's documented request and response
shapes (generic OpsLink job API, Rundeck API v41, AWX API v2), with injectable faults."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Response = tuple[int, dict[str, str], bytes]


@dataclass
class Fault:
    """Answer the next `times` requests matching `method` and `path` regex with this."""

    method: str
    path: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


class App:
    """Routes requests to methods named after the API's operations."""

    routes: list[tuple[str, str, str]] = []  # (method, path regex, handler name)
    auth_header = "Authorization"
    auth_value = "Bearer secret-token"

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Response:
        with self.lock:
            self.requests.append(Recorded(method, path, headers, body, time.monotonic()))
            for fault in self.faults:
                if (
                    fault.times > 0
                    and fault.method == method
                    and re.fullmatch(fault.path, path.split("?")[0])
                ):
                    fault.times -= 1
                    if fault.delay:
                        time.sleep(fault.delay)
                    return fault.status, fault.headers, fault.body
        if headers.get(self.auth_header) != self.auth_value:
            return json_response(401, {"error": "unauthorized"})
        for m, pattern, name in self.routes:
            match = re.fullmatch(pattern, path.split("?")[0])
            if m == method and match:
                return getattr(self, name)(body, *match.groups(), query=path.partition("?")[2])
        return json_response(404, {"error": f"no route {method} {path}"})


def _catalog_options() -> set[str]:
    """Every parameter a runbook of the shipped or the test catalog takes, and the run id."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    names = {"OPSLINK_RUN_ID"}
    for spec in [*root.glob("runbooks/*.yaml"), *root.glob("tests/e2e/catalog/*.yaml")]:
        doc = yaml.safe_load(spec.read_text())
        names |= set((doc or {}).get("parameters") or {})
    return names


def json_response(status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc).encode()


class GenericJobApi(App):
    routes = [
        ("POST", r"/jobs", "create"),
        ("GET", r"/jobs/([^/]+)", "get"),
        ("GET", r"/jobs/([^/]+)/output", "output"),
        ("POST", r"/jobs/([^/]+)/cancel", "cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}

    def create(self, body: Any, query: str = "") -> Response:
        key = self.requests[-1].headers.get("Idempotency-Key", "")
        if key in self.by_key:
            return json_response(200, self.jobs[self.by_key[key]])
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = {
            "id": job_id,
            "status": "running",
            "runbook": body["runbook"],
            "parameters": body["parameters"],
        }
        self.by_key[key] = job_id
        return json_response(201, self.jobs[job_id])

    def get(self, body: Any, job_id: str, query: str = "") -> Response:
        if job_id not in self.jobs:
            return json_response(404, {"error": "no such job"})
        return json_response(200, self.jobs[job_id])

    def output(self, body: Any, job_id: str, query: str = "") -> Response:
        if job_id not in self.jobs:
            return json_response(404, {"error": "no such job"})
        return json_response(
            200,
            {"stdout": f"ran {self.jobs[job_id]['runbook']}\n", "stderr": "", "truncated": False},
        )

    def cancel(self, body: Any, job_id: str, query: str = "") -> Response:
        if job_id not in self.jobs:
            return json_response(404, {"error": "no such job"})
        self.jobs[job_id]["status"] = "cancelled"
        return 202, {}, b""


class RundeckApi(App):
    """Rundeck API v41. A run's `filter` (`name: a,b`) selects the project's nodes it
    names; a name that is no node is skipped without a word. A finished execution lists
    where it ran (`successfulNodes`, `failedNodes`). `nodes` None: every name is a node."""

    auth_header = "X-Rundeck-Auth-Token"
    auth_value = "secret-token"
    routes = [
        ("GET", r"/api/41/job/([^/]+)", "definition"),
        ("POST", r"/api/41/job/([^/]+)/run", "run"),
        ("GET", r"/api/41/job/([^/]+)/executions", "job_executions"),
        ("GET", r"/api/41/execution/(\d+)", "execution"),
        ("GET", r"/api/41/execution/(\d+)/output", "output"),
        ("POST", r"/api/41/execution/(\d+)/abort", "abort"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.executions: dict[int, dict[str, Any]] = {}
        self.nodes: set[str] | None = None
        self.listed = 0  # pages of executions read
        # the job's definition: whether it dispatches to nodes (else it runs on the server),
        # and the options it defines (None: the run id and every catalog parameter)
        self.dispatch = True
        self.options: set[str] | None = None

    def definition(self, body: Any, job: str, query: str = "") -> Response:
        """The job exported as YAML (`format=yaml`; API 41 exports no JSON)."""
        import yaml

        if job != "3b4c5d6e-0000-4000-8000-000000000001":
            return json_response(404, {"error": True, "message": f"Job ID does not exist: {job}"})
        assert _param(query, "format", "") == "yaml"
        names = _catalog_options() if self.options is None else self.options
        doc: dict[str, Any] = {
            "id": job, "name": "restart", "project": "ops", "loglevel": "INFO",
            "options": [{"name": n} for n in sorted(names)],
            "sequence": {"commands": [{"exec": "restart.sh"}], "keepgoing": False},
        }  # fmt: skip
        if self.dispatch:
            doc |= {"nodefilters": {"dispatch": {"threadcount": "1", "keepgoing": False},
                                    "filter": "tags: web"}, "nodesSelectedByDefault": True}  # fmt: skip
        return 200, {"Content-Type": "application/yaml"}, yaml.safe_dump([doc]).encode()

    def _ran_on(self, ex: dict[str, Any]) -> list[str]:
        named = str(ex.get("filter") or "").removeprefix("name:").strip()
        return [n for n in named.split(",") if n and (self.nodes is None or n in self.nodes)]

    def run(self, body: Any, job: str, query: str = "") -> Response:
        if job != "3b4c5d6e-0000-4000-8000-000000000001":
            return json_response(404, {"error": True, "message": f"Job ID does not exist: {job}"})
        exec_id = 100 + len(self.executions)
        self.executions[exec_id] = {
            "id": exec_id,
            "href": f"/api/41/execution/{exec_id}",
            "status": "running",
            "job": {"id": job},
            "argstring": " ".join(f"-{k} {v}" for k, v in body.get("options", {}).items()),
            "options": body.get("options", {}),
            "filter": body.get("filter"),
            "date-started": {"unixtime": int(time.time() * 1000),
                             "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        }  # fmt: skip
        return json_response(200, self.executions[exec_id])

    def job_executions(self, body: Any, job: str, query: str = "") -> Response:
        """The job's executions, newest first (`max` of them from `offset`)."""
        self.listed += 1
        mine = sorted((ex for ex in self.executions.values() if ex["job"]["id"] == job),
                      key=lambda ex: -int(ex["id"]))  # fmt: skip
        start, count = int(_param(query, "offset", "0")), int(_param(query, "max", "20"))
        page = mine[start : start + count]
        paging = {"count": len(page), "total": len(mine), "offset": start, "max": count}
        return json_response(200, {"paging": paging, "executions": page})

    def execution(self, body: Any, exec_id: str, query: str = "") -> Response:
        ex = self.executions.get(int(exec_id))
        if not ex:
            return json_response(404, {"error": True, "message": "Execution not found"})
        if ex["status"] != "running" and "successfulNodes" not in ex:
            ran = self._ran_on(ex)
            ok = ex["status"] == "succeeded"
            ex = ex | {"successfulNodes": ran if ok else [], "failedNodes": [] if ok else ran}
        return json_response(200, ex)

    def output(self, body: Any, exec_id: str, query: str = "") -> Response:
        ex = self.executions.get(int(exec_id))
        if not ex:
            return json_response(404, {"error": True})
        return json_response(
            200,
            {
                "id": int(exec_id),
                "offset": "120",
                "completed": ex["status"] != "running",
                "execCompleted": ex["status"] != "running",
                "execState": ex["status"],
                "entries": [
                    {
                        "time": "10:00:01",
                        "level": "NORMAL",
                        "log": "restarting checkout",
                        "node": "web-1",
                    },
                    {
                        "time": "10:00:02",
                        "level": "ERROR",
                        "log": "unit checkout not found",
                        "node": "web-1",
                    },
                ],
            },
        )

    def abort(self, body: Any, exec_id: str, query: str = "") -> Response:
        ex = self.executions.get(int(exec_id))
        if not ex:
            return json_response(404, {"error": True})
        ex["status"] = "aborted"
        return json_response(
            200, {"abort": {"status": "aborted"}, "execution": {"id": exec_id, "status": "aborted"}}
        )


class AwxApi(App):
    """AWX API v2. A job template takes a launch field only where it prompts for it on
    launch; any other field of the launch is ignored — the job runs on the template's own
    inventory (and limit) and variables — and named in the answer's `ignored_fields`.
    The launch endpoint's GET answers the template's launch requirements."""

    routes = [
        ("GET", r"/api/v2/job_templates/(\d+)/launch/", "requirements"),
        ("POST", r"/api/v2/job_templates/(\d+)/launch/", "launch"),
        ("GET", r"/api/v2/job_templates/(\d+)/jobs/", "template_jobs"),
        ("GET", r"/api/v2/jobs/(\d+)/", "job"),
        ("GET", r"/api/v2/jobs/(\d+)/stdout/", "stdout"),
        ("POST", r"/api/v2/jobs/(\d+)/cancel/", "cancel"),
        ("GET", r"/api/v2/me/", "me"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[int, dict[str, Any]] = {}
        # template 7's prompts; `answers` (None: the same) is what its launch applies,
        # for a template changed between the requirements' read and the launch
        self.prompts = {"ask_limit_on_launch": True, "ask_variables_on_launch": True}
        self.applies: dict[str, bool] | None = None
        # the inventory's host names (None: every name a limit gives is a host); a limit
        # naming no host of it is skipped ("no hosts matched") and the job succeeds
        self.inventory: set[str] | None = None
        # jobs whose events AWX is still processing: successful, not counted yet
        self.counting: set[int] = set()
        self.listed = 0  # pages of jobs read

    def requirements(self, body: Any, template: str, query: str = "") -> Response:
        if template != "7":
            return json_response(404, {"detail": "Not found."})
        return json_response(200, {
            "can_start_without_user_input": True, "passwords_needed_to_start": [],
            "ask_inventory_on_launch": False, "ask_credential_on_launch": False,
            "survey_enabled": False, "variables_needed_to_start": [],
            "job_template_data": {"id": 7, "name": "restart", "description": ""},
            "defaults": {"limit": "", "extra_vars": ""}, **self.prompts,
        })  # fmt: skip

    def launch(self, body: Any, template: str, query: str = "") -> Response:
        if template != "7":
            return json_response(404, {"detail": "Not found."})
        applies = self.prompts if self.applies is None else self.applies
        ignored: dict[str, Any] = {}
        if "limit" in body and not applies["ask_limit_on_launch"]:
            ignored["limit"] = body.pop("limit")
        if "extra_vars" in body and not applies["ask_variables_on_launch"]:
            ignored["extra_vars"] = body.pop("extra_vars")
        job_id = 500 + len(self.jobs)
        self.jobs[job_id] = {
            "id": job_id,
            "type": "job",
            "job_template": int(template),
            "status": "pending",
            "failed": False,
            "extra_vars": json.dumps(body.get("extra_vars", {})),
            "limit": body.get("limit", ""),  # "": the template's whole inventory
            "created": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        }
        return json_response(
            201,
            {"job": job_id, "id": job_id, "type": "job", "status": "pending",
             "ignored_fields": ignored},
        )  # fmt: skip

    def template_jobs(self, body: Any, template: str, query: str = "") -> Response:
        """The template's jobs, newest first (`order_by=-id`), a `page` of `page_size`."""
        assert _param(query, "order_by", "") == "-id"
        self.listed += 1
        mine = sorted((j for j in self.jobs.values() if j.get("job_template") == int(template)),
                      key=lambda j: -int(j["id"]))  # fmt: skip
        size, page = int(_param(query, "page_size", "25")), int(_param(query, "page", "1"))
        results = mine[(page - 1) * size : page * size]
        more = len(mine) > page * size
        nxt = f"/api/v2/job_templates/{template}/jobs/?page={page + 1}" if more else None
        return json_response(200, {"count": len(mine), "next": nxt, "results": results})

    def job(self, body: Any, job_id: str, query: str = "") -> Response:
        job = self.jobs.get(int(job_id))
        if not job:
            return json_response(404, {"detail": "Not found."})
        if job["status"] == "successful" and int(job_id) in self.counting:
            return json_response(200, job | {"event_processing_finished": False,
                                             "host_status_counts": {}})  # fmt: skip
        if job["status"] == "successful" and "host_status_counts" not in job:
            # the playbook_on_stats event, processed: hosts per outcome
            named = [h for h in str(job["limit"]).split(",") if h]
            reached = [h for h in named if self.inventory is None or h in self.inventory]
            job = job | {"event_processing_finished": True,
                         "host_status_counts": {"ok": len(reached)} if reached else {}}  # fmt: skip
        return json_response(200, job)

    def stdout(self, body: Any, job_id: str, query: str = "") -> Response:
        if int(job_id) not in self.jobs:
            return json_response(404, {"detail": "Not found."})
        assert "format=txt" in query
        return (
            200,
            {"Content-Type": "text/plain"},
            b"PLAY [all] ***\nTASK [restart] ***\nok: [web-1]\n",
        )

    def me(self, body: Any, query: str = "") -> Response:
        return json_response(200, {"count": 1, "results": [{"id": 1, "username": "opslink"}]})

    def cancel(self, body: Any, job_id: str, query: str = "") -> Response:
        job = self.jobs.get(int(job_id))
        if not job:
            return json_response(404, {"detail": "Not found."})
        if job["status"] in ("successful", "failed", "canceled"):
            return json_response(405, {"error": "not allowed"})
        job["status"] = "canceled"
        return 202, {}, b""


class AapGatewayApi(AwxApi):
    """Ansible Automation Platform 2.5+ through its platform gateway: the controller's API
    at /api/controller/v2/ (and `me/`); the controller's own /api/v2/ is not served here."""

    routes = [(m, p.replace("/api/v2/", "/api/controller/v2/"), n) for m, p, n in AwxApi.routes]


class SlackApi(App):
    """Slack's Web API as chat.postMessage answers it (docs: api.slack.com/methods):
    HTTP 200 with {"ok": true, "channel", "ts", "message"}, or {"ok": false, "error"}."""

    routes = [("POST", r"/api/chat\.postMessage", "post_message")]
    auth_value = "Bearer xoxb-test-token"

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[dict[str, Any]] = []
        self.unknown_channels: set[str] = set()

    def post_message(self, body: Any, query: str = "") -> Response:
        doc = body if isinstance(body, dict) else {}
        channel = str(doc.get("channel") or "")
        if not channel or channel in self.unknown_channels:
            return json_response(200, {"ok": False, "error": "channel_not_found"})
        self.posted.append(doc)
        ts = f"1765000000.{len(self.posted):06d}"
        return json_response(200, {"ok": True, "channel": channel, "ts": ts, "message": doc})


@contextmanager
def serve(app: App) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _do(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            status, headers, payload = app.handle(self.command, self.path, dict(self.headers), body)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            # The client may have given up first (the timeout tests): nothing to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = _do

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    if getattr(app, "base_url", None) == "":  # an app whose Link headers need its address
        app.base_url = url  # type: ignore[attr-defined]
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


Factory = Callable[[], App]


def _param(query: str, name: str, default: str) -> str:
    """A query string parameter's value (the last one given), or `default`."""
    from urllib.parse import parse_qs

    return (parse_qs(query).get(name) or [default])[-1]
