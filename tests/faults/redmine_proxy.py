"""The real Redmine (Debian's package on 127.0.0.1, scripts/redmine-local.sh) behind a
proxy that fails a share of calls in the fault tier's four ways. A timeout after the work
is real here: Redmine has created the issue or added the note, and the answer never
reaches OpsLink — what a retry must not repeat."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests

from tests.conftest import REDMINE


class RedmineUpstream:
    """Forwards every call to the real Redmine and remembers the issues created through it
    (whether or not their creator got the answer)."""

    def __init__(self) -> None:
        assert REDMINE is not None, "no Redmine on 127.0.0.1 (scripts/redmine-local.sh)"
        self.url = REDMINE["url"].rstrip("/")
        self.api_key = REDMINE["api_key"]
        self.field_id = int(REDMINE["field_id"])
        self.session = requests.Session()
        self.created: list[int] = []
        self._created_lock = threading.Lock()

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        sent = {k.lower(): v for k, v in headers.items()}
        out = self.session.request(
            method,
            self.url + path,
            headers={
                "X-Redmine-API-Key": sent.get("x-redmine-api-key", ""),
                "Content-Type": "application/json",
            },
            data=None if body is None else json.dumps(body),
            timeout=30,
        )
        if method == "POST" and path.split("?")[0] == "/issues.json" and out.status_code == 201:
            with self._created_lock:
                self.created.append(int(out.json()["issue"]["id"]))
        kind = out.headers.get("Content-Type", "application/json")
        return out.status_code, {"Content-Type": kind}, out.content

    def issue(self, issue_id: int | str) -> dict[str, Any]:
        out = self.session.get(
            f"{self.url}/issues/{issue_id}.json?include=journals",
            headers={"X-Redmine-API-Key": self.api_key},
            timeout=30,
        )
        out.raise_for_status()
        issue: dict[str, Any] = out.json()["issue"]
        return issue

    def close_by_hand(self, issue_id: str) -> None:
        """A person closes the issue in Redmine (straight to it, never through the faults)."""
        statuses = self.session.get(f"{self.url}/issue_statuses.json",
                                    headers={"X-Redmine-API-Key": self.api_key}, timeout=30)  # fmt: skip
        closed = next(s["id"] for s in statuses.json()["issue_statuses"] if s["name"] == "Closed")
        out = self.session.put(
            f"{self.url}/issues/{issue_id}.json",
            json={"issue": {"status_id": closed, "notes": "Fixed by hand."}},
            headers={"X-Redmine-API-Key": self.api_key},
            timeout=30,
        )
        out.raise_for_status()

    @property
    def tickets(self) -> dict[str, dict[str, Any]]:
        """The issues created through the proxy, as the fault tier counts tickets: by id,
        with the alert each one carries (its `alert_id` custom field)."""
        out: dict[str, dict[str, Any]] = {}
        for issue_id in list(self.created):
            fields = self.issue(issue_id).get("custom_fields") or []
            value = next((f.get("value") for f in fields if f.get("id") == self.field_id), "")
            out[str(issue_id)] = {"external_id": value}
        return out
