"""Contract servers for ticket systems on 127.0.0.1, following each documented API:
Jira REST v3, ServiceNow Table API, Zendesk Tickets API, GitHub Issues."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs

from tests.integration.contract_servers import App, Response, json_response

NOW = "2026-11-27T10:00:00.000+0000"


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


class JiraApi(App):
    auth_value = basic("ops@example.com", "jira-token")
    routes = [
        ("POST", r"/rest/api/3/issue", "create"),
        ("GET", r"/rest/api/3/issue/([A-Z]+-\d+)", "get"),
        ("GET", r"/rest/api/3/search/jql", "search"),
        ("POST", r"/rest/api/3/issue/([A-Z]+-\d+)/comment", "comment"),
        ("GET", r"/rest/api/3/issue/([A-Z]+-\d+)/transitions", "transitions"),
        ("POST", r"/rest/api/3/issue/([A-Z]+-\d+)/transitions", "transition"),
        ("GET", r"/rest/api/3/user/search", "users"),
    ]
    STATUSES = {
        "11": ("To Do", "new"),
        "21": ("In Progress", "indeterminate"),
        "31": ("Done", "done"),
    }

    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[Any]] = {}

    def users(self, body: Any, query: str = "") -> Response:
        q = parse_qs(query)["query"][0]
        return json_response(
            200,
            [{"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": q}]
            if q == "alice@example.com"
            else [],
        )

    def _issue(self, key: str) -> dict[str, Any]:
        return {
            "id": key.split("-")[1],
            "key": key,
            "self": f"/rest/api/3/issue/{key}",
            "fields": self.issues[key],
        }

    def create(self, body: Any, query: str = "") -> Response:
        fields = body["fields"]
        if not fields.get("summary") or fields.get("description", {}).get("type") != "doc":
            return json_response(
                400,
                {
                    "errorMessages": [],
                    "errors": {"description": "Operation value must be an Atlassian Document"},
                },
            )
        key = f"OPS-{len(self.issues) + 1}"
        self.issues[key] = fields | {
            "status": {"name": "To Do", "statusCategory": {"key": "new"}},
            "created": NOW,
            "updated": NOW,
            "assignee": fields.get("assignee"),
        }
        return json_response(
            201, {"id": key.split("-")[1], "key": key, "self": f"/rest/api/3/issue/{key}"}
        )

    def get(self, body: Any, key: str, query: str = "") -> Response:
        return (
            json_response(200, self._issue(key))
            if key in self.issues
            else json_response(
                404,
                {
                    "errorMessages": [
                        "Issue does not exist or you do not have permission to see it."
                    ]
                },
            )
        )

    def search(self, body: Any, query: str = "") -> Response:
        jql = parse_qs(query)["jql"][0]
        label = re.search(r'labels = "([^"]+)"', jql)
        found = [
            self._issue(k)
            for k, f in self.issues.items()
            if label and label.group(1) in f["labels"]
        ]
        return json_response(200, {"issues": found, "isLast": True})

    def comment(self, body: Any, key: str, query: str = "") -> Response:
        if key not in self.issues:
            return json_response(404, {"errorMessages": ["Issue does not exist"]})
        self.comments.setdefault(key, []).append(body["body"])
        return json_response(201, {"id": str(len(self.comments[key]))})

    def transitions(self, body: Any, key: str, query: str = "") -> Response:
        if key not in self.issues:
            return json_response(404, {"errorMessages": ["Issue does not exist"]})
        current = self.issues[key]["status"]["name"]
        return json_response(
            200,
            {
                "transitions": [
                    {
                        "id": tid,
                        "name": f"Move to {name}",
                        "to": {"name": name, "statusCategory": {"key": cat}},
                    }
                    for tid, (name, cat) in self.STATUSES.items()
                    if name != current
                ]
            },
        )

    def transition(self, body: Any, key: str, query: str = "") -> Response:
        name, cat = self.STATUSES[body["transition"]["id"]]
        self.issues[key]["status"] = {"name": name, "statusCategory": {"key": cat}}
        self.issues[key]["updated"] = NOW
        return 204, {}, b""


class ServiceNowApi(App):
    auth_value = basic("opslink", "snow-pass")
    routes = [
        ("POST", r"/api/now/table/incident", "create"),
        ("GET", r"/api/now/table/incident", "query"),
        ("GET", r"/api/now/table/incident/([0-9a-f]{32})", "get"),
        ("PATCH", r"/api/now/table/incident/([0-9a-f]{32})", "patch"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict[str, Any]] = {}

    def create(self, body: Any, query: str = "") -> Response:
        sys_id = f"{len(self.records) + 1:032x}"
        prio = {("1", "1"): "1", ("1", "2"): "2", ("2", "2"): "3", ("3", "2"): "4"}[
            (body["impact"], body["urgency"])
        ]
        self.records[sys_id] = body | {
            "sys_id": sys_id,
            "number": f"INC00100{len(self.records) + 1:02d}",
            "state": "1",
            "priority": prio,
            "sys_created_on": "2026-11-27 10:00:00",
            "sys_updated_on": "2026-11-27 10:00:00",
            "assigned_to": {"display_value": body.get("assigned_to", ""), "value": "abc"},
        }
        return json_response(201, {"result": self.records[sys_id]})

    def query(self, body: Any, query: str = "") -> Response:
        q = parse_qs(query).get("sysparm_query", [""])[0]
        corr = re.search(r"correlation_id=([^\^]+)", q)
        rows = [
            r for r in self.records.values() if not corr or r.get("correlation_id") == corr.group(1)
        ]
        return json_response(200, {"result": rows})

    def get(self, body: Any, sys_id: str, query: str = "") -> Response:
        return (
            json_response(200, {"result": self.records[sys_id]})
            if sys_id in self.records
            else json_response(404, {"error": {"message": "No Record found"}, "status": "failure"})
        )

    def patch(self, body: Any, sys_id: str, query: str = "") -> Response:
        if sys_id not in self.records:
            return json_response(
                404, {"error": {"message": "No Record found"}, "status": "failure"}
            )
        rec = self.records[sys_id]
        if "work_notes" in body:
            rec.setdefault("_notes", []).append(body.pop("work_notes"))
        rec.update(body)
        return json_response(200, {"result": rec})


class ZendeskApi(App):
    auth_value = basic("ops@example.com/token", "zd-token")
    routes = [
        ("POST", r"/api/v2/tickets\.json", "create"),
        ("GET", r"/api/v2/tickets\.json", "list"),
        ("GET", r"/api/v2/tickets/(\d+)\.json", "get"),
        ("PUT", r"/api/v2/tickets/(\d+)\.json", "update"),
        ("GET", r"/api/v2/incremental/tickets/cursor\.json", "incremental"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}

    def create(self, body: Any, query: str = "") -> Response:
        t = body["ticket"]
        if t.get("type") == "task" and not t.get("due_at"):
            return json_response(
                422,
                {
                    "error": "RecordInvalid",
                    "details": {"due_at": [{"description": "Due date required"}]},
                },
            )
        tid = 1000 + len(self.tickets)
        self.tickets[tid] = {k: v for k, v in t.items() if k != "comment"} | {
            "id": tid,
            "status": "new",
            "description": t["comment"]["body"],
            "created_at": "2026-11-27T10:00:00Z",
            "updated_at": "2026-11-27T10:00:00Z",
            "comments": [t["comment"]],
            "assignee_id": 77 if t.get("assignee_email") else None,
        }
        return json_response(201, {"ticket": self.tickets[tid]})

    def list(self, body: Any, query: str = "") -> Response:
        ext = parse_qs(query).get("external_id", [None])[0]
        return json_response(
            200,
            {
                "tickets": [
                    t for t in self.tickets.values() if ext is None or t.get("external_id") == ext
                ],
                "next_page": None,
            },
        )

    def get(self, body: Any, tid: str, query: str = "") -> Response:
        t = self.tickets.get(int(tid))
        return (
            json_response(200, {"ticket": t})
            if t
            else json_response(404, {"error": "RecordNotFound", "description": "Not found"})
        )

    def update(self, body: Any, tid: str, query: str = "") -> Response:
        t = self.tickets.get(int(tid))
        if not t:
            return json_response(404, {"error": "RecordNotFound"})
        upd = body["ticket"]
        if "comment" in upd:
            t["comments"].append(upd["comment"])
        if "status" in upd:
            t["status"] = upd["status"]
        return json_response(200, {"ticket": t})

    def incremental(self, body: Any, query: str = "") -> Response:
        # Zendesk "Incremental Exports": deleted tickets stay in the export with
        # status "deleted" (developer.zendesk.com, Incremental Exports > Tickets).
        return json_response(
            200,
            {"tickets": list(self.tickets.values()), "after_cursor": None, "end_of_stream": True},
        )

    def delete(self, tid: int) -> None:
        self.tickets[tid]["status"] = "deleted"


class GitHubApi(App):
    auth_value = "Bearer gh-token"
    routes = [
        ("POST", r"/repos/acme/ops/issues", "create"),
        ("GET", r"/repos/acme/ops/issues", "list"),
        ("GET", r"/repos/acme/ops/issues/(\d+)", "get"),
        ("PATCH", r"/repos/acme/ops/issues/(\d+)", "patch"),
        ("POST", r"/repos/acme/ops/issues/(\d+)/comments", "comment"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[int, dict[str, Any]] = {}

    def create(self, body: Any, query: str = "") -> Response:
        n = len(self.issues) + 1
        self.issues[n] = {
            "number": n,
            "title": body["title"],
            "body": body["body"],
            "state": "open",
            "html_url": f"https://github.example/acme/ops/issues/{n}",
            "labels": [{"name": x} for x in body.get("labels", [])],
            "assignee": {"login": body["assignees"][0]} if body.get("assignees") else None,
            "created_at": "2026-11-27T10:00:00Z",
            "updated_at": "2026-11-27T10:00:00Z",
            "comments": [],
        }
        return json_response(201, self.issues[n])

    def list(self, body: Any, query: str = "") -> Response:
        labels = parse_qs(query).get("labels", [""])[0].split(",")
        found = [
            i
            for i in self.issues.values()
            if all(lab in [x["name"] for x in i["labels"]] for lab in labels if lab)
        ]
        return json_response(200, found)

    def get(self, body: Any, n: str, query: str = "") -> Response:
        i = self.issues.get(int(n))
        return json_response(200, i) if i else json_response(404, {"message": "Not Found"})

    def patch(self, body: Any, n: str, query: str = "") -> Response:
        i = self.issues.get(int(n))
        if not i:
            return json_response(404, {"message": "Not Found"})
        i.update(body)
        if body.get("state") == "closed":
            i["closed_by"] = {"login": "octocat"}
        return json_response(200, i)

    def comment(self, body: Any, n: str, query: str = "") -> Response:
        i = self.issues.get(int(n))
        if not i:
            return json_response(404, {"message": "Not Found"})
        i["comments"].append(body["body"])
        return json_response(201, {"id": len(i["comments"]), "body": body["body"]})
