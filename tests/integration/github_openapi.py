"""A GitHub Issues server on 127.0.0.1 driven by GitHub's own OpenAPI description
(npm `@octokit/openapi`, installed by `make install`).

Every request must be an operation of the description: its path and method, only query
parameters the operation declares, a JSON body valid against the operation's request
schema; anything else is answered 400/404 and recorded in `violations`, which the tests
assert empty. Responses start from the description's own example for the operation
(`components.examples.issue`, …) with this server's state laid over it, so OpsLink reads
exactly the shapes GitHub documents. As documented for "Create an issue", labels and
assignees are dropped silently when the token has no push access (`push_access=False`).
Listings page with `per_page`/`page` and a `Link` header, as GitHub does. Every JSON
response this server sends is validated against the operation's response schema for its
status too (a violation when the fake drifts from GitHub's shapes).

Beyond the happy path, as documented: a transferred issue answers 301 with its new
location (reads and writes); an assignee who is not a collaborator is refused with 422
"Validation Failed"; `rate_limit()` builds the primary (403, `x-ratelimit-remaining: 0`)
and secondary (403 with `retry-after`, or only the message) rate-limit answers.
"""

from __future__ import annotations

import copy
import json
import re
import time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jsonschema

from tests.integration.contract_servers import App, Response, json_response

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"
WEBHOOK_EXAMPLES = ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com"
WEBHOOK_SCHEMA = ROOT / "node_modules" / "@octokit" / "webhooks-schemas" / "schema.json"


@cache
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        raise RuntimeError(f"{SPEC} is missing: run `make install` (npm ci) first")
    return dict(_nullable(json.loads(SPEC.read_text(encoding="utf-8"))))


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` in JSON Schema terms (Draft 7 has no such keyword)."""
    if isinstance(node, list):
        return [_nullable(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        elif "type" not in out:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(spec()["components"]["examples"][name]["value"])


@cache
def _operations() -> list[tuple[re.Pattern[str], str]]:
    ops = []
    for template in spec()["paths"]:
        parts = re.split(r"\{[^}]+\}", template)
        ops.append((re.compile("^" + "[^/]+".join(map(re.escape, parts)) + "$"), template))
    return ops


def operation(method: str, path: str) -> dict[str, Any] | None:
    for pattern, template in _operations():
        if pattern.match(path):
            op = spec()["paths"][template].get(method.lower())
            if op is not None:
                return dict(op)
    return None


def schema_validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    root = {"components": spec()["components"], **schema}
    return jsonschema.Draft7Validator(root)


class GitHubSpecApi(App):
    auth_value = "Bearer gh-token"
    routes = [
        ("POST", r"/repos/acme/ops/issues", "create"),
        ("GET", r"/repos/acme/ops/issues", "list"),
        ("GET", r"/repos/acme/ops/issues/(\d+)", "get"),
        ("PATCH", r"/repos/acme/ops/issues/(\d+)", "patch"),
        ("POST", r"/repos/acme/ops/issues/(\d+)/comments", "comment"),
        ("GET", r"/repos/acme/infra/issues/(\d+)", "get_moved"),
        ("PATCH", r"/repos/acme/infra/issues/(\d+)", "patch_moved"),
        ("POST", r"/repos/acme/infra/issues/(\d+)/comments", "comment_moved"),
    ]
    COLLABORATORS = ("octocat", "alice", "oncall-bot")

    def __init__(self, push_access: bool = True) -> None:
        super().__init__()
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[str]] = {}
        self.violations: list[str] = []
        self.push_access = push_access
        self.deleted: set[int] = set()
        self.transferred: dict[int, int] = {}  # number here -> number in acme/infra
        self.infra: dict[int, dict[str, Any]] = {}  # acme/infra's issues (moved here)
        self._valid: set[tuple[int, str]] = set()  # (schema, document) pairs found valid

    def transfer(self, n: int, new_number: int) -> None:
        """Transfer issue `n` to acme/infra, where it gets `new_number`."""
        self.infra[new_number] = self.issues.pop(n)
        self.transferred[n] = new_number

    @staticmethod
    def rate_limit(kind: str, wait: int = 1) -> tuple[int, dict[str, str], bytes]:
        """GitHub's rate-limit answers (docs.github.com, "Rate limits for the REST API")."""
        if kind == "primary":
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                       "x-ratelimit-used": "5000", "x-ratelimit-resource": "core",
                       "x-ratelimit-reset": str(int(time.time()) + wait)}  # fmt: skip
            message = "API rate limit exceeded for user ID 1."
        else:
            headers = {"retry-after": str(wait)} if kind == "secondary" else {}
            message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        body = {
            "message": message,
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        }
        return 403, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()

    # -- the description as the gate ----------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Response:
        bare, _, query = path.partition("?")
        op = operation(method, bare)
        if op is None:
            self.violations.append(f"{method} {bare}: not an operation of the description")
            return json_response(404, {"message": "Not Found"})
        declared = {
            resolve(p)["name"] for p in op.get("parameters", []) if resolve(p)["in"] == "query"
        }
        unknown = set(parse_qs(query, keep_blank_values=True)) - declared
        if unknown:
            self.violations.append(
                f"{method} {bare}: undeclared query parameters {sorted(unknown)}"
            )
            return json_response(400, {"message": f"unknown parameters {sorted(unknown)}"})
        if "requestBody" in op and body is not None:
            schema = resolve(op["requestBody"])["content"]["application/json"]["schema"]
            errors = sorted(schema_validator(resolve(schema)).iter_errors(body), key=str)
            if errors:
                self.violations.append(f"{method} {bare}: body invalid: {errors[0].message}")
                return json_response(422, {"message": "Validation Failed"})
        moved = re.fullmatch(r"/repos/acme/ops/issues/(\d+)(/comments)?", bare)
        if moved and int(moved.group(1)) in self.transferred:
            target = f"/repos/acme/infra/issues/{self.transferred[int(moved.group(1))]}"
            return json_response(301, {"message": "Moved Permanently", "url": target},
                                 {"Location": target + (moved.group(2) or "")})  # fmt: skip
        answer = super().handle(method, path, headers, body)
        self._check_response(op, method, bare, answer)
        return answer

    def _check_response(self, op: dict[str, Any], method: str, bare: str, answer: Response) -> None:
        """The response must be what the description says this operation answers."""
        status, _headers, payload = answer
        if status >= 300 and status not in (301, 304):
            return  # errors, rate limits: shapes checked by the code that reads them
        declared = op.get("responses", {}).get(str(status))
        if declared is None:
            self.violations.append(f"{method} {bare}: answered {status}, not a documented status")
            return
        content = resolve(declared).get("content", {}).get("application/json")
        if content is None or not payload:
            return
        schema, doc = resolve(content["schema"]), json.loads(payload)
        if isinstance(doc, list) and schema.get("type") == "array" and "items" in schema:
            # A list: each distinct item checked once (a sweep pages the same issues often).
            pairs = [(resolve(schema["items"]), item) for item in doc]
        else:
            pairs = [(schema, doc)]
        for part, item in pairs:
            seen = (id(part), json.dumps(item, sort_keys=True))
            if seen in self._valid:
                continue
            errors = sorted(schema_validator(part).iter_errors(item), key=str)
            if errors:
                self.violations.append(f"{method} {bare}: response invalid: {errors[0].message}")
                return
            self._valid.add(seen)

    # -- state over the description's examples --------------------------------------------

    def _issue(self, n: int, repo: str = "acme/ops") -> dict[str, Any]:
        doc = example("issue")
        state = self.issues[n] if repo == "acme/ops" else self.infra[n]
        doc.update(
            {
                "number": n,
                "id": 1000 + n,
                "url": f"https://api.github.com/repos/{repo}/issues/{n}",
                "repository_url": f"https://api.github.com/repos/{repo}",
                "locked": bool(state.get("locked", False)),
                "html_url": f"https://github.com/{repo}/issues/{n}",
                "title": state["title"],
                "body": state["body"],
                "state": state["state"],
                "state_reason": state.get("state_reason"),
                "labels": [{**doc["labels"][0], "name": x} for x in state["labels"]],
                "assignee": (
                    {**doc["user"], "login": state["assignees"][0]} if state["assignees"] else None
                ),
                "assignees": [{**doc["user"], "login": a} for a in state["assignees"]],
                "closed_by": (
                    {**doc["user"], "login": "octocat"} if state["state"] == "closed" else None
                ),
                "created_at": state["created_at"],
                "updated_at": state["updated_at"],
                "closed_at": state.get("closed_at"),
            }
        )
        doc.pop("pull_request", None)
        return doc

    def create(self, body: Any, query: str = "") -> Response:
        refused = [a for a in body.get("assignees", []) if a not in self.COLLABORATORS]
        if refused and self.push_access:
            return json_response(422, {"message": "Validation Failed", "errors": [
                {"value": refused[0], "resource": "Issue", "field": "assignees", "code": "invalid"}],
                "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                "status": "422"})  # fmt: skip
        n = len(self.issues) + len(self.infra) + 1
        self.issues[n] = {
            "title": body["title"],
            "body": body.get("body", ""),
            "state": "open",
            # Without push access GitHub drops labels and assignees silently.
            "labels": list(body.get("labels", [])) if self.push_access else [],
            "assignees": list(body.get("assignees", [])) if self.push_access else [],
            "created_at": "2026-11-27T10:00:00Z",
            "updated_at": "2026-11-27T10:00:00Z",
        }
        self.comments[n] = []
        return json_response(201, self._issue(n))

    def list(self, body: Any, query: str = "") -> Response:
        q = {k: v[0] for k, v in parse_qs(query).items()}
        wanted = [x for x in q.get("labels", "").split(",") if x]
        numbers = [
            n
            for n, i in self.issues.items()
            if n not in self.deleted
            and all(w in i["labels"] for w in wanted)
            and (q.get("state", "open") == "all" or i["state"] == q.get("state", "open"))
        ]
        numbers.sort(reverse=q.get("direction", "desc") == "desc")
        per_page, page = int(q.get("per_page", 30)), int(q.get("page", 1))
        chunk = numbers[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(numbers):
            nxt = urlencode({**q, "page": page + 1})
            headers["Link"] = f'<{self.base_url}/repos/acme/ops/issues?{nxt}>; rel="next"'
        return json_response(200, [self._issue(n) for n in chunk], headers)

    base_url = ""

    def get(self, body: Any, n: str, query: str = "") -> Response:
        if int(n) in self.deleted:
            return json_response(410, {"message": "This issue was deleted"})
        if int(n) not in self.issues:
            return json_response(404, {"message": "Not Found"})
        return json_response(200, self._issue(int(n)))

    def patch(self, body: Any, n: str, query: str = "") -> Response:
        if int(n) not in self.issues:
            return json_response(404, {"message": "Not Found"})
        i = self.issues[int(n)]
        for key in ("title", "body", "state", "state_reason"):
            if key in body:
                i[key] = body[key]
        if "labels" in body and self.push_access:
            i["labels"] = [x if isinstance(x, str) else x["name"] for x in body["labels"]]
        if "assignees" in body and self.push_access:
            i["assignees"] = list(body["assignees"])
        i["updated_at"] = "2026-11-27T11:00:00Z"
        return json_response(200, self._issue(int(n)))

    def comment(self, body: Any, n: str, query: str = "") -> Response:
        if int(n) not in self.issues:
            return json_response(404, {"message": "Not Found"})
        self.comments[int(n)].append(body["body"])
        doc = example("issue-comment")
        doc.update({"id": len(self.comments[int(n)]), "body": body["body"]})
        return json_response(201, doc)


# -- webhooks -----------------------------------------------------------------------------


@cache
def webhook_examples() -> dict[str, list[dict[str, Any]]]:
    """Event name → the published example payloads."""
    index = json.loads((WEBHOOK_EXAMPLES / "index.json").read_text(encoding="utf-8"))
    return {entry["name"]: entry["examples"] for entry in index}


@cache
def _webhook_schema() -> dict[str, Any]:
    return dict(json.loads(WEBHOOK_SCHEMA.read_text(encoding="utf-8")))


def validate_webhook(event: str, action: str | None, payload: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `payload` is a valid `event.action`."""
    schema = _webhook_schema()
    name = f"{event}${action}" if action else f"{event}$event"
    root = {"definitions": schema["definitions"], "$ref": f"#/definitions/{name}"}
    jsonschema.Draft7Validator(root).validate(payload)


def _moved(self: GitHubSpecApi, n: str, act: str, body: Any) -> Response:
    """acme/infra's side of a transfer: the same operations on the moved issues."""
    num = int(n)
    if num not in self.infra:
        return json_response(404, {"message": "Not Found"})
    issue = self.infra[num]
    if act == "patch":
        for key in ("title", "body", "state", "state_reason"):
            if key in body:
                issue[key] = body[key]
        issue["updated_at"] = "2026-11-27T11:00:00Z"
    if act == "comment":
        issue.setdefault("comments", []).append(body["body"])
        doc = example("issue-comment")
        doc.update({"id": len(issue["comments"]), "body": body["body"]})
        return json_response(201, doc)
    return json_response(200, self._issue(num, "acme/infra"))


GitHubSpecApi.get_moved = lambda self, body, n, query="": _moved(self, n, "get", body)  # type: ignore[attr-defined]
GitHubSpecApi.patch_moved = lambda self, body, n, query="": _moved(self, n, "patch", body)  # type: ignore[attr-defined]
GitHubSpecApi.comment_moved = lambda self, body, n, query="": _moved(self, n, "comment", body)  # type: ignore[attr-defined]
