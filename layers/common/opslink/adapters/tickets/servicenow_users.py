"""ServiceNow users as OpsLink reads them: an assignee's e-mail to its `sys_user` sys_id
(a raw reference value), and a reference read back (`assigned_to`, `resolved_by`) to an
e-mail or user name. Both cached for the container's life."""

from __future__ import annotations

import re
from typing import Any

from opslink.adapters.tickets.common import require
from opslink.adapters.tickets.servicenow_fields import USERS


class ServiceNowUsers:
    def __init__(self, http: Any) -> None:
        self.http = http
        self._ids: dict[str, str | None] = {}  # e-mail -> sys_id
        self._names: dict[str, str] = {}  # sys_id -> e-mail or user name

    def id_of(self, email: str | None) -> str | None:
        """The sys_user sys_id of an e-mail (raw reference value); None when unknown."""
        if not email:
            return None
        if email not in self._ids:
            doc = self.http.request(
                "GET",
                USERS,
                params={
                    "sysparm_query": f"email={email}",
                    "sysparm_fields": "sys_id",
                    "sysparm_limit": 1,
                },
                what="find assignee",
            )
            rows = require(doc, "result", "ServiceNow")
            self._ids[email] = str(rows[0]["sys_id"]) if rows else None
        return self._ids[email]

    def name_of(self, value: Any) -> str | None:
        """A reference read back: a display value as is, a bare sys_id resolved to a name."""
        if isinstance(value, dict):
            value = value.get("display_value") or value.get("value")
        if not value:
            return None
        text = str(value)
        if not re.fullmatch(r"[0-9a-f]{32}", text):
            return text
        if text not in self._names:
            doc = self.http.request(
                "GET",
                f"{USERS}/{text}",
                params={"sysparm_fields": "email,user_name,name"},
                what=f"user {text}",
                missing_ok=True,
            )
            rec = (doc or {}).get("result") or {}
            self._names[text] = str(
                rec.get("email") or rec.get("user_name") or rec.get("name") or text
            )
        return self._names[text]
