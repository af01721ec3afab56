"""Contract servers for ticket systems on 127.0.0.1, following each documented API:
Jira REST v3, ServiceNow Table API, Zendesk Tickets API, GitHub Issues."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

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
        ("GET", r"/rest/api/3/issue/([A-Z]+-\d+)/comment", "comments_of"),
        ("GET", r"/rest/api/3/issue/([A-Z]+-\d+)/transitions", "transitions"),
        ("POST", r"/rest/api/3/issue/([A-Z]+-\d+)/transitions", "transition"),
        ("GET", r"/rest/api/3/user/search", "users"),
        ("PUT", r"/rest/api/3/issue/([A-Z]+-\d+)/assignee", "assign"),
    ]
    STATUSES = {
        "11": ("To Do", "new"),
        "21": ("In Progress", "indeterminate"),
        "31": ("Done", "done"),
    }

    # Jira may return fewer comments than maxResults asks (the cap is the site's): a
    # low one here, so a read-back that stops at its first page is caught.
    comment_page_cap = 100

    def __init__(self) -> None:
        super().__init__()
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[Any]] = {}
        # Moved issues: Jira keeps answering the old key with the issue under its new key.
        self.moved: dict[str, str] = {}
        # Statuses with no transition out (a workflow's final "Closed").
        self.final: set[str] = set()

    def _key(self, key: str) -> str:
        return self.moved.get(key, key)

    def move(self, key: str, new_key: str) -> None:
        """Move an issue to another project: it gets a new key; the old one still answers."""
        self.issues[new_key] = self.issues.pop(key)
        self.comments[new_key] = self.comments.pop(key, [])
        self.moved[key] = new_key

    def close_for_good(self, key: str) -> None:
        self.STATUSES = {**self.STATUSES, "41": ("Closed", "done")}
        self.issues[self._key(key)]["status"] = {
            "name": "Closed",
            "statusCategory": {"key": "done"},
        }
        self.final.add("Closed")

    @staticmethod
    def rate_limited(retry_after: int) -> tuple[int, dict[str, str], bytes]:
        """Jira Cloud's 429 (developer.atlassian.com, "Rate limiting"): Retry-After in
        seconds, X-RateLimit-Reset as an ISO-8601 time."""
        reset = (datetime.now(UTC) + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%MZ")
        return (429, {"Content-Type": "application/json", "Retry-After": str(retry_after),
                      "X-RateLimit-Reset": reset, "RateLimit-Reason": "jira-burst-based"},
                b'{"errorMessages":["Rate limit exceeded."]}')  # fmt: skip

    def users(self, body: Any, query: str = "") -> Response:
        q = parse_qs(query)["query"][0]
        return json_response(
            200,
            [{"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": q}]
            if q == "alice@example.com"
            else [],
        )

    ACCOUNTS = {"5b10ac8d82e05b22cc7d4ef5": "Alice"}

    def assign(self, body: Any, key: str, query: str = "") -> Response:
        # "Assign issue" (PUT /rest/api/3/issue/{key}/assignee): accountId; 204 No Content.
        if self._key(key) not in self.issues:
            return json_response(404, {"errorMessages": ["Issue does not exist"]})
        account = (body or {}).get("accountId")
        if account not in self.ACCOUNTS:
            return json_response(400, {"errorMessages": [], "errors": {
                "assignee": f"User '{account}' cannot be assigned issues."}})  # fmt: skip
        self.issues[self._key(key)]["assignee"] = {"accountId": account,
                                                   "displayName": self.ACCOUNTS[account]}  # fmt: skip
        return 204, {}, b""

    def _issue(self, key: str) -> dict[str, Any]:
        key = self._key(key)
        return {
            "id": key.split("-")[1],
            "key": key,
            "self": f"/rest/api/3/issue/{key}",
            "fields": {k: v for k, v in self.issues[key].items() if not k.startswith("_")},
        }

    # Fields the project's screens do not show: a create or edit setting one is refused
    # whole (400), naming each.
    screen_lacks: frozenset[str] = frozenset()

    def off_screen(self, fields: dict[str, Any]) -> Response | None:
        lacking = sorted(f for f in fields if f in self.screen_lacks)
        if not lacking:
            return None
        return json_response(400, {"errorMessages": [], "errors": {
            f: f"Field '{f}' cannot be set. It is not on the appropriate screen, or unknown."
            for f in lacking}})  # fmt: skip

    # Jira's text fields hold at most 32,767 characters (jira.text.field.character.limit);
    # more is refused with 400 and nothing created. Counted here on the stored form (an
    # Atlassian document's JSON): the stricter reading.
    TEXT_LIMIT = 32_767

    @classmethod
    def too_long(cls, field: str, value: Any) -> Response | None:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(text) <= cls.TEXT_LIMIT:
            return None
        why = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
        return json_response(400, {"errorMessages": [], "errors": {field: why}})

    def create(self, body: Any, query: str = "") -> Response:
        fields = body["fields"]
        refused = self.too_long("description", fields.get("description"))
        if refused:
            return refused
        refused = self.off_screen(fields)
        if refused:
            return refused
        account = (fields.get("assignee") or {}).get("accountId")
        if account is not None and account not in self.ACCOUNTS:  # as "Assign issue" does
            return json_response(400, {"errorMessages": [], "errors": {
                "assignee": f"User '{account}' cannot be assigned issues."}})  # fmt: skip
        if len(str(fields.get("summary", "")).encode("utf-16-le")) > 2 * 255:  # Java's length
            why = "Summary can't exceed 255 characters."
            return json_response(400, {"errorMessages": [], "errors": {"summary": why}})
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
            if self._key(key) in self.issues
            else json_response(
                404,
                {
                    "errorMessages": [
                        "Issue does not exist or you do not have permission to see it."
                    ]
                },
            )
        )

    # GET /rest/api/3/search/jql is eventually consistent (Jira Cloud platform REST API v3,
    # "Search for issues using JQL enhanced search"): a just-created issue appears in
    # results only after indexing, unless its id is listed in `reconcileIssues`.
    search_lag = 0  # searches before a new issue is indexed

    def search(self, body: Any, query: str = "") -> Response:
        q = parse_qs(query)
        jql = q["jql"][0]
        reconcile = {x for x in ",".join(q.get("reconcileIssues", [])).split(",") if x}
        known = {k.split("-")[1] for k in self.issues}
        if reconcile - known:  # an id that no longer exists (deleted by a human)
            return json_response(
                400, {"errorMessages": [f"Issue ids {sorted(reconcile - known)} do not exist"]}
            )
        label = re.search(r'labels = "([^"]+)"', jql)
        for f in self.issues.values():
            f["_searches"] = f.get("_searches", 0) + 1
        found = [
            self._issue(k)
            for k, f in self.issues.items()
            if label
            and label.group(1) in f["labels"]
            and (f["_searches"] > self.search_lag or k.split("-")[1] in reconcile)
        ]
        return json_response(200, {"issues": found, "isLast": True})

    def comment(self, body: Any, key: str, query: str = "") -> Response:
        key = self._key(key)
        if key not in self.issues:
            return json_response(404, {"errorMessages": ["Issue does not exist"]})
        refused = self.too_long("comment", body["body"])
        if refused:
            return refused
        if self.done_locked and self.issues[key]["status"]["statusCategory"]["key"] == "done":
            return json_response(403, {"errorMessages": [
                "You cannot add a comment to an issue that is not in an editable workflow state."
            ], "errors": {}})  # fmt: skip
        self.comments.setdefault(key, []).append(body["body"])
        return json_response(201, {"id": str(len(self.comments[key]))})

    def comments_of(self, body: Any, key: str, query: str = "") -> Response:
        key = self._key(key)
        if key not in self.issues:
            return json_response(404, {"errorMessages": ["Issue does not exist"]})
        found = [{"id": str(i + 1), "body": b} for i, b in enumerate(self.comments.get(key, []))]
        q = parse_qs(query)
        start = int(q.get("startAt", ["0"])[0])
        size = min(int(q.get("maxResults", ["5000"])[0]), self.comment_page_cap)
        return json_response(200, {"startAt": start, "maxResults": size, "total": len(found),
                                   "comments": found[start : start + size]})  # fmt: skip

    def transitions(self, body: Any, key: str, query: str = "") -> Response:
        key = self._key(key)
        if key not in self.issues:
            return json_response(404, {"errorMessages": ["Issue does not exist"]})
        current = self.issues[key]["status"]["name"]
        if current in self.final:
            return json_response(200, {"transitions": []})
        return json_response(
            200,
            {
                "transitions": [
                    {
                        "id": tid,
                        "name": f"Move to {name}",
                        "to": {"name": name, "statusCategory": {"key": cat}},
                    }
                    | (
                        {"fields": self._resolve_screen()}
                        if cat == "done" and "transitions.fields" in query
                        else {"fields": self._reopen_screen()}
                        if cat == "new" and "transitions.fields" in query
                        else {}
                    )
                    for tid, (name, cat) in self.STATUSES.items()
                    if name != current and self._leads(current, tid)
                ]
            },
        )

    # A Server/Data Center workflow whose resolve screen requires a Resolution: the
    # transition is refused without one (400 "Resolution is required.").
    resolution_required = False
    RESOLUTIONS = [{"id": "10000", "name": "Done"}, {"id": "10001", "name": "Won't Do"},
                   {"id": "10002", "name": "Fixed"}]  # fmt: skip

    # A workflow whose done statuses lead only to these (ids; None: anywhere) — "Reopen"
    # back to In Progress, say, with no way to To Do.
    done_leads_to: tuple[str, ...] | None = None

    def _leads(self, current: str, target: str) -> bool:
        done = any(n == current and c == "done" for n, c in self.STATUSES.values())
        return not done or self.done_leads_to is None or target in self.done_leads_to

    # A workflow whose reopen screen requires a comment: refused without one (400).
    reopen_comment_required = False

    # A workflow whose done statuses are not editable (`jira.issue.editable = false`, the
    # usual "Closed"): comments are refused there (403 here); transitions still work.
    done_locked = False

    def _reopen_screen(self) -> dict[str, Any]:
        return (
            {"comment": {"required": True, "name": "Comment"}}
            if self.reopen_comment_required
            else {}
        )

    def _resolve_screen(self) -> dict[str, Any]:
        if not self.resolution_required:
            return {}
        return {"resolution": {"required": True, "name": "Resolution", "hasDefaultValue": False,
                               "allowedValues": self.RESOLUTIONS}}  # fmt: skip

    def transition(self, body: Any, key: str, query: str = "") -> Response:
        key = self._key(key)
        name, cat = self.STATUSES[body["transition"]["id"]]
        said = ((body.get("update") or {}).get("comment") or [{}])[0].get("add", {}).get("body")
        if cat == "new" and self.reopen_comment_required and not said:
            return json_response(400, {"errorMessages": [],
                                       "errors": {"comment": "Comment body can not be empty!"}})  # fmt: skip
        if said:
            self.comments.setdefault(key, []).append(said)
        resolution = ((body.get("fields") or {}).get("resolution") or {}).get("id")
        if cat == "done" and self.resolution_required and resolution is None:
            return json_response(400, {"errorMessages": [],
                                       "errors": {"resolution": "Resolution is required."}})  # fmt: skip
        if resolution is not None:
            self.issues[key]["resolution"] = next(
                r for r in self.RESOLUTIONS if r["id"] == resolution
            )
        self.issues[key]["status"] = {"name": name, "statusCategory": {"key": cat}}
        self.issues[key]["updated"] = NOW
        return 204, {}, b""


class ServiceNowApi(App):
    """ServiceNow Table API as documented (docs.servicenow.com, "Table API"):
    - with `sysparm_input_display_value=true` the instance reads date-times in the
      integration user's time zone (here US Pacific, UTC-8) and reference fields by
      display value; by default it takes raw values: UTC dates and sys_ids;
    - reference fields are read back as bare sys_ids with `sysparm_exclude_reference_link`
      (else as {"link", "value"});
    - `close_code` must be one of the instance's choices (the default choice list);
    - listings (incidents, journal entries) page with `sysparm_limit`/`sysparm_offset` and
      a `Link: rel="next"` header.
    """

    auth_value = basic("opslink", "snow-pass")
    routes = [
        ("POST", r"/api/now/table/incident", "create"),
        ("GET", r"/api/now/table/incident", "query"),
        ("GET", r"/api/now/table/incident/([0-9a-f]{32})", "get"),
        ("PATCH", r"/api/now/table/incident/([0-9a-f]{32})", "patch"),
        ("GET", r"/api/now/table/sys_user", "users"),
        ("GET", r"/api/now/table/sys_user/([0-9a-f]{32})", "user"),
        ("GET", r"/api/now/table/sys_journal_field", "journal"),
    ]
    CLOSE_CODES = (
        "Duplicate",
        "Known error",
        "No resolution provided",
        "Resolved by caller",
        "Resolved by change",
        "Resolved by problem",
        "Resolved by request",
        "Solution provided",
        "Workaround provided",
        "User error",
    )
    USERS = {
        "a" * 32: {"sys_id": "a" * 32, "email": "alice@example.com", "user_name": "alice"},
        "e" * 32: {"sys_id": "e" * 32, "email": "erin@example.com", "user_name": "erin"},
    }
    base_url = ""
    # Rows one request returns at most, whatever sysparm_limit asks (an instance can set
    # it lower than the default 10,000: the Link header still leads to the next page).
    journal_page_cap = 10_000
    # An instance's own state choices (sys_choice on incident.state): "Awaiting Vendor"
    # (still active) and "Cancelled by customer" (inactive).
    closed_custom = ("102",)
    # How the instance treats updates of Closed/Canceled incidents: "writable" (baseline
    # for admin-like users), "acl" (a write ACL on closed incidents: 403), "kept" (a
    # business rule or data policy keeps the state: 200, state unchanged).
    closed_records = "writable"

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict[str, Any]] = {}

    def set_custom_state(self, sys_id: str, state: str) -> None:
        rec = self.records[sys_id]
        rec["state"] = state
        rec["active"] = "false" if state in self.closed_custom else "true"
        rec["sys_updated_on"] = "2026-11-27 10:30:00"

    def _raw(self, body: dict[str, Any], query: str) -> dict[str, Any]:
        out = dict(body)
        display = parse_qs(query).get("sysparm_input_display_value", ["false"])[0] == "true"
        if "due_date" in out and display:  # read as the user's local (UTC-8) time
            local = datetime.strptime(out["due_date"], "%Y-%m-%d %H:%M:%S")
            out["due_date"] = (local + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
        if "assigned_to" in out and out["assigned_to"] not in self.USERS:
            out["assigned_to"] = ""  # neither a sys_id nor (raw) a resolvable value
        return out

    def _out(self, rec: dict[str, Any], query: str) -> dict[str, Any]:
        bare = parse_qs(query).get("sysparm_exclude_reference_link", ["false"])[0] == "true"
        out = {k: v for k, v in rec.items() if not k.startswith("_")}
        for ref in ("assigned_to", "resolved_by"):
            if out.get(ref) and not bare:
                out[ref] = {"link": f"/api/now/table/sys_user/{out[ref]}", "value": out[ref]}
        return out

    def create(self, body: Any, query: str = "") -> Response:
        sys_id = f"{len(self.records) + 1:032x}"
        prio = {("1", "1"): "1", ("1", "2"): "2", ("2", "2"): "3", ("3", "2"): "4"}[
            (body["impact"], body["urgency"])
        ]
        self.records[sys_id] = self._raw(body, query) | {
            "sys_id": sys_id,
            "number": f"INC00100{len(self.records) + 1:02d}",
            "state": "1",
            "active": "true",
            "priority": prio,
            "sys_created_on": "2026-11-27 10:00:00",
            "sys_updated_on": "2026-11-27 10:00:00",
        }
        return json_response(201, {"result": self._out(self.records[sys_id], query)})

    def query(self, body: Any, query: str = "") -> Response:
        params = parse_qs(query)
        q = params.get("sysparm_query", [""])[0]
        corr = re.search(r"correlation_id=([^\^]+)", q)
        rows = [
            r for r in self.records.values() if not corr or r.get("correlation_id") == corr.group(1)
        ]
        limit = int(params.get("sysparm_limit", ["10000"])[0])
        offset = int(params.get("sysparm_offset", ["0"])[0])
        page = rows[offset : offset + limit]
        headers = {}
        if offset + limit < len(rows):
            nxt = {k: v[0] for k, v in params.items()} | {"sysparm_offset": str(offset + limit)}
            headers["Link"] = (
                f'<{self.base_url}/api/now/table/incident?{urlencode(nxt)}>;rel="next"'
            )
        return json_response(200, {"result": [self._out(r, query) for r in page]}, headers)

    def get(self, body: Any, sys_id: str, query: str = "") -> Response:
        return (
            json_response(200, {"result": self._out(self.records[sys_id], query)})
            if sys_id in self.records
            else json_response(404, {"error": {"message": "No Record found"}, "status": "failure"})
        )

    def patch(self, body: Any, sys_id: str, query: str = "") -> Response:
        if sys_id not in self.records:
            return json_response(
                404, {"error": {"message": "No Record found"}, "status": "failure"}
            )
        if "close_code" in body and body["close_code"] not in self.CLOSE_CODES:
            return json_response(
                403,
                {
                    "error": {
                        "message": "Operation Failed",
                        "detail": f"Invalid value for close_code: {body['close_code']}",
                    },
                    "status": "failure",
                },
            )
        rec = self.records[sys_id]
        closed = rec.get("state") in ("7", "8")
        if closed and self.closed_records == "acl":
            return json_response(403, {"error": {
                "message": "Operation Failed",
                "detail": "ACL Exception Update Failed due to security constraints"},
                "status": "failure"})  # fmt: skip
        upd = self._raw(body, query)
        if closed and self.closed_records == "kept":
            upd.pop("state", None)  # a business rule keeps a closed incident closed
        if "work_notes" in upd:
            rec.setdefault("_notes", []).append(upd.pop("work_notes"))
        if upd.get("state") in ("6", "7"):
            upd["resolved_by"] = "e" * 32  # the user who resolved it, as a reference
        if "state" in upd:
            upd["active"] = (
                "false"
                if upd["state"] in ("7", "8") or upd["state"] in self.closed_custom
                else "true"
            )
        rec.update(upd)
        return json_response(200, {"result": self._out(rec, query)})

    def journal(self, body: Any, query: str = "") -> Response:
        """sys_journal_field: the work notes of one record (element_id=<sys_id>)."""
        q = parse_qs(query).get("sysparm_query", [""])[0]
        terms = dict(t.split("=", 1) for t in q.split("^") if "=" in t)
        rec = self.records.get(terms.get("element_id", ""), {})
        notes = rec.get("_notes", []) if terms.get("element") == "work_notes" else []
        params = parse_qs(query)
        offset = int(params.get("sysparm_offset", ["0"])[0])
        limit = min(int(params.get("sysparm_limit", ["10000"])[0]), self.journal_page_cap)
        headers = {}
        if offset + limit < len(notes):  # as the Table API pages: a Link to the next
            nxt = {k: v[0] for k, v in params.items()} | {"sysparm_offset": str(offset + limit)}
            headers["Link"] = (
                f'<{self.base_url}/api/now/table/sys_journal_field?{urlencode(nxt)}>;rel="next"'
            )
        return json_response(
            200, {"result": [{"value": n} for n in notes[offset : offset + limit]]}, headers
        )

    def users(self, body: Any, query: str = "") -> Response:
        q = parse_qs(query).get("sysparm_query", [""])[0]
        email = q.removeprefix("email=")
        rows = [{"sys_id": u["sys_id"]} for u in self.USERS.values() if u["email"] == email]
        return json_response(200, {"result": rows})

    def user(self, body: Any, sys_id: str, query: str = "") -> Response:
        if sys_id not in self.USERS:
            return json_response(404, {"error": {"message": "No Record found"}})
        return json_response(200, {"result": self.USERS[sys_id]})


class ServiceNowOAuthApi(ServiceNowApi):
    """An instance that takes OAuth and refuses basic authentication from integrations:
    `/oauth_token.do` issues Bearer tokens for the client credentials grant (form body:
    grant_type, client_id, client_secret), `expires_in` seconds long; a bad client is
    refused with 401 `access_denied`. `revoke()` ends every token issued so far."""

    CLIENT = ("opslink-client", "client-secret")

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()
        self.issued = 0
        self.lifetime = 1799
        self.auth_seen: list[str] = []  # the Authorization each API call came with

    def revoke(self) -> None:
        self.tokens.clear()

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Response:
        if path.split("?")[0] == "/oauth_token.do" and method == "POST":
            raw = body.decode() if isinstance(body, bytes) else str(body or "")
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            client = (form.get("client_id"), form.get("client_secret"))
            if form.get("grant_type") != "client_credentials" or client != self.CLIENT:
                return json_response(401, {"error": "server_error",
                                           "error_description": "access_denied"})  # fmt: skip
            self.issued += 1
            token = f"snow-token-{self.issued}"
            self.tokens.add(token)
            return json_response(200, {"access_token": token, "scope": "useraccount",
                                       "token_type": "Bearer", "expires_in": self.lifetime})  # fmt: skip
        given = headers.get("Authorization", "")
        self.auth_seen.append(given)
        valid = given.startswith("Bearer ") and given.removeprefix("Bearer ") in self.tokens
        # A valid token acts as the OAuth Application User; basic authentication is refused.
        headers = {**headers, "Authorization": self.auth_value if valid else ""}
        return super().handle(method, path, headers, body)


class ZendeskApi(App):
    auth_value = basic("ops@example.com/token", "zd-token")
    AGENTS = {"alice@example.com": 77, "lee@example.com": 78}
    routes = [
        ("POST", r"/api/v2/tickets\.json", "create"),
        ("GET", r"/api/v2/tickets\.json", "list"),
        ("GET", r"/api/v2/tickets/(\d+)\.json", "get"),
        ("GET", r"/api/v2/tickets/(\d+)/comments\.json", "comments_of"),
        ("PUT", r"/api/v2/tickets/(\d+)\.json", "update"),
        ("GET", r"/api/v2/incremental/tickets/cursor\.json", "incremental"),
    ]

    page_size = 1000  # the export's default page (per_page caps it)

    def __init__(self) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}

    def create(self, body: Any, query: str = "") -> Response:
        t = body["ticket"]
        source = t.get("via_followup_source_id")
        if source is not None and self.tickets.get(int(source), {}).get("status") != "closed":
            return json_response(422, {"error": "RecordInvalid", "description": "Record validation errors",
                                       "details": {"base": [{"description": "Follow-up source must be closed"}]}})  # fmt: skip
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
            "via": {
                "channel": "api",
                "source": {"rel": "follow_up", "from": {"ticket_id": int(source)}},
            }
            if source is not None
            else {"channel": "api", "source": {"rel": None}},
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
            if t and t["status"] != "deleted"
            else json_response(404, {"error": "RecordNotFound", "description": "Not found"})
        )

    def comments_of(self, body: Any, tid: str, query: str = "") -> Response:
        t = self.tickets.get(int(tid))
        if not t:
            return json_response(404, {"error": "RecordNotFound", "description": "Not found"})
        found = [
            {"id": i + 1, "body": c.get("body", ""), "public": c.get("public", True)}
            for i, c in enumerate(t["comments"])
        ]
        q = parse_qs(query)
        if "page[size]" not in q:  # offset pagination: 100 a page, `next_page` after it
            page = int(q.get("page", ["1"])[0])
            more = len(found) > page * 100
            return json_response(200, {"comments": found[(page - 1) * 100 : page * 100],
                                       "next_page": f"/comments.json?page={page + 1}" if more else None,
                                       "count": len(found)})  # fmt: skip
        size = min(int(q["page[size]"][0]), 100)  # cursor pagination: 100 a page at most
        start = int(q.get("page[after]", ["0"])[0])  # the cursor: the last id seen
        chunk = found[start : start + size]
        more = start + size < len(found)
        return json_response(200, {"comments": chunk,
                                   "meta": {"has_more": more, "after_cursor": str(start + size) if chunk else None,
                                            "before_cursor": str(start)},
                                   "links": {"next": None, "prev": None}})  # fmt: skip

    def update(self, body: Any, tid: str, query: str = "") -> Response:
        t = self.tickets.get(int(tid))
        if not t or t["status"] == "deleted":
            return json_response(404, {"error": "RecordNotFound"})
        if t["status"] == "closed":  # Zendesk: a closed ticket is read-only
            return json_response(422, {"error": "RecordInvalid", "description": "Record validation errors",
                                       "details": {"status": [{"description": "Status: closed prevents ticket update"}]}})  # fmt: skip
        upd = body["ticket"]
        if "assignee_email" in upd:
            agent = self.AGENTS.get(upd["assignee_email"])
            if agent is None:
                return json_response(422, {"error": "RecordInvalid", "description": "Record validation errors",
                                           "details": {"assignee": [{"description": "Assignee is not an agent"}]}})  # fmt: skip
            t["assignee_id"] = agent
        if "comment" in upd:
            t["comments"].append(upd["comment"])
        if "status" in upd:
            t["status"] = upd["status"]
        return json_response(200, {"ticket": t})

    def incremental(self, body: Any, query: str = "") -> Response:
        # Zendesk "Incremental Exports" (cursor-based): pages of `per_page` tickets in
        # update order, `after_cursor` and `end_of_stream`; deleted tickets stay in the
        # export with status "deleted".
        q = {k: v[0] for k, v in parse_qs(query).items()}
        if "cursor" not in q and "start_time" not in q:
            return json_response(
                400, {"error": "InvalidValue", "description": "start_time or cursor required"}
            )
        size = min(self.page_size, int(q.get("per_page", self.page_size)))
        rows = sorted(self.tickets.values(), key=lambda t: (t["updated_at"], t["id"]))
        start = int(base64.b64decode(q["cursor"]).decode()) if "cursor" in q else 0
        page = rows[start : start + size]
        end = start + size >= len(rows)
        cursor = base64.b64encode(str(start + size).encode()).decode()
        return json_response(200, {"tickets": page, "after_cursor": cursor, "before_cursor": None,
                                   "end_of_stream": end,
                                   "after_url": None if end else f"/api/v2/incremental/tickets/cursor.json?cursor={cursor}"})  # fmt: skip

    def delete(self, tid: int) -> None:
        self.tickets[tid]["status"] = "deleted"
        self.tickets[tid]["updated_at"] = "2026-11-27T10:20:00Z"

    def close(self, tid: int) -> None:
        """Zendesk closes solved tickets by itself after a while: read-only from then on."""
        self.tickets[tid]["status"] = "closed"
        self.tickets[tid]["updated_at"] = "2026-11-27T10:30:00Z"


class GitHubApi(App):
    auth_value = "Bearer gh-token"
    COLLABORATORS = {"octocat", "alice", "oncall-ops"}
    routes = [
        ("POST", r"/repos/acme/ops/issues", "create"),
        ("GET", r"/repos/acme/ops/issues", "list"),
        ("GET", r"/repos/acme/ops/issues/(\d+)", "get"),
        ("PATCH", r"/repos/acme/ops/issues/(\d+)", "patch"),
        ("POST", r"/repos/acme/ops/issues/(\d+)/comments", "comment"),
        ("GET", r"/repos/acme/ops/issues/(\d+)/comments", "comments_of"),
    ]

    base_url = ""  # set by serve(): the Link headers' address

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
        if "assignees" in body:
            bad = [a for a in body["assignees"] if a not in self.COLLABORATORS]
            if bad:
                return json_response(422, {"message": "Validation Failed", "errors": [
                    {"value": bad[0], "resource": "Issue", "field": "assignees", "code": "invalid"}]})  # fmt: skip
            body = body | {"assignees": [{"login": a} for a in body["assignees"]],
                           "assignee": {"login": body["assignees"][0]} if body["assignees"] else None}  # fmt: skip
        i.update(body)
        if body.get("state") == "closed":
            i["closed_by"] = {"login": "octocat"}
        return json_response(200, i)

    def comments_of(self, body: Any, n: str, query: str = "") -> Response:
        i = self.issues.get(int(n))
        if not i:
            return json_response(404, {"message": "Not Found"})
        found = [{"id": k + 1, "body": b} for k, b in enumerate(i["comments"])]
        q = {k: v[0] for k, v in parse_qs(query).items()}
        per_page, page = min(int(q.get("per_page", 30)), 100), int(q.get("page", 1))
        headers = {}
        if page * per_page < len(found):  # GitHub pages with a Link header
            nxt = urlencode(q | {"page": str(page + 1)})
            headers["Link"] = (
                f'<{self.base_url}/repos/acme/ops/issues/{n}/comments?{nxt}>; rel="next"'
            )
        return json_response(200, found[(page - 1) * per_page : page * per_page], headers)

    def comment(self, body: Any, n: str, query: str = "") -> Response:
        i = self.issues.get(int(n))
        if not i:
            return json_response(404, {"message": "Not Found"})
        i["comments"].append(body["body"])
        return json_response(201, {"id": len(i["comments"]), "body": body["body"]})
