"""Jira issue search: `search/jql` with its page token on Cloud, `/search` with startAt on
Data Center. `reconcileIssues` (Cloud's read-after-write for just-created issues) names
only ids known to exist; when Jira refuses one (deleted by a human since), the same
search runs plainly."""

from __future__ import annotations

from typing import Any

from opslink.adapters.http_client import HttpClient
from opslink.adapters.tickets.common import require
from opslink.errors import TicketSystemRejected


def search_issues(
    http: HttpClient,
    api: str,
    cloud: bool,
    jql: str,
    fields: str,
    limit: int = 50,
    reconcile: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every issue `jql` finds, page after page."""
    path = f"{api}/search/jql" if cloud else f"{api}/search"
    issues: list[dict[str, Any]] = []
    params: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": limit}
    if cloud and reconcile:
        params["reconcileIssues"] = ",".join(reconcile[:50])
    while True:
        try:
            doc = http.request("GET", path, params=params, what="search issues")
        except TicketSystemRejected:
            if "reconcileIssues" not in params:
                raise
            params.pop("reconcileIssues")  # one of them deleted since: search plainly
            continue
        page = require(doc, "issues", "Jira")
        if not isinstance(page, list):
            raise TicketSystemRejected("Jira: field 'issues' is not a list")
        issues += page
        token = doc.get("nextPageToken")
        if cloud and token:
            params["nextPageToken"] = token
        elif not cloud and doc.get("startAt", 0) + len(page) < doc.get("total", 0):
            params["startAt"] = doc.get("startAt", 0) + len(page)
        else:
            return issues
