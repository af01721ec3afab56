"""Approval requests and hand-overs posted to Microsoft Teams by OpsLink's bot, through
the Bot Connector REST API (the documented proactive-message path): an Adaptive Card
posted to the service's channel (the service map's `teams_conversation`, or the default
one) and replaced in place once decided. The bot signs in with its app id and client
secret (OAuth 2.0 client credentials, scope `https://api.botframework.com/.default`; the
token is reused until five minutes before it expires; a refused sign-in reads the secret
again once, so a rotated client secret is picked up). A Teams or sign-in that fails
raises ChatError: the caller records a fault and the remediation goes on (the CLI still
decides)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from opslink.adapters.chat.slack_messages import ChatError
from opslink.adapters.chat.teams_cards import (
    attachment,
    handover_card,
    md,
    outcome_card,
    request_card,
)
from opslink.scrub import scrub, scrub_excerpt, scrub_fields

LOGIN_URL = "https://login.microsoftonline.com/"
SERVICE_URL = "https://smba.trafficmanager.net/teams/"
SCOPE = "https://api.botframework.com/.default"
PREFIX = "teams:"  # a posted message: "teams:<conversation id>/<activity id>"
TIMEOUT = 5


class TeamsApprovalMessages:
    name = "teams"

    def __init__(
        self,
        app_id: str,
        password: str,
        default_conversation: str,
        conversations: dict[str, str] | None = None,
        tenant: str = "",
        service_url: str = "",
        login_url: str = "",
        reread: Callable[[], str] | None = None,
    ) -> None:
        self.app_id, self._password, self._reread = app_id, password, reread
        self.default_conversation = default_conversation
        self.conversations = conversations or {}
        self.tenant = tenant or "botframework.com"  # single-tenant bots name their tenant
        self.service_url = (service_url or SERVICE_URL).rstrip("/") + "/"
        self.login_url = (login_url or LOGIN_URL).rstrip("/") + "/"
        self._token: tuple[str, float] = ("", 0.0)
        self._http = requests.Session()

    def check(self) -> str:
        """Whether the bot signs in (nothing is posted): what it is."""
        self._token = ("", 0.0)
        self._bearer()
        return (f"Teams: bot {self.app_id} signs in (tenant {self.tenant}); default "
                f"conversation {self.default_conversation or '(none)'}")  # fmt: skip

    def approval_requested(self, facts: dict[str, str]) -> str:
        facts = scrub_fields(facts)  # as every ticket write: no secret reaches a conversation
        return self._post(self._conversation(facts), request_card(facts))

    def handed_over(self, facts: dict[str, str]) -> str:
        facts = scrub_fields(facts)
        return self._post(self._conversation(facts), handover_card(facts))

    def fault(self, facts: dict[str, str]) -> str:
        """A fault opened or recovered, in the default conversation (the operators')."""
        if not self.default_conversation:
            raise ChatError("no default Teams conversation for faults (TeamsConversation)")
        facts = scrub_fields(facts)
        return self._post(self.default_conversation, outcome_card(facts["body"], facts["title"]))

    def reply(self, conversation: str, activity: str, text: str) -> None:
        """Answer a message sent to the bot, in its conversation (a thread: its reply)."""
        url = (f"{self.service_url}v3/conversations/{quote(conversation, safe='')}/activities/"
               f"{quote(activity, safe='')}")  # fmt: skip
        body = {"type": "message", "text": md(scrub(text)), "replyToId": activity}
        self._call("POST", url, body, f"reply in {conversation}")

    def replace(self, message: str, text: str) -> None:
        """Replace a posted card (`teams:<conversation>/<activity>`) with the outcome."""
        conversation, _, activity = message.removeprefix(PREFIX).rpartition("/")
        url = (f"{self.service_url}v3/conversations/{quote(conversation, safe='')}/activities/"
               f"{quote(activity, safe='')}")  # fmt: skip
        card = outcome_card(scrub(text))
        body = {"type": "message", "id": activity, "attachments": [attachment(card)]}
        self._call("PUT", url, body, f"update of {message}")

    def _conversation(self, facts: dict[str, str]) -> str:
        conversation = self.conversations.get(facts["service"]) or self.default_conversation
        if not conversation:
            raise ChatError(f"no Teams conversation for {facts['service']} (TeamsConversation "
                            "or the service map's teams_conversation)")  # fmt: skip
        return conversation

    def _post(self, conversation: str, card: dict[str, Any]) -> str:
        url = f"{self.service_url}v3/conversations/{quote(conversation, safe='')}/activities"
        body = {"type": "message", "attachments": [attachment(card)]}
        answer = self._call("POST", url, body, f"post to {conversation}")
        activity = str(answer.get("id") or "")
        if not activity:
            raise ChatError(f"Teams took the post to {conversation} but named no activity")
        return f"{PREFIX}{conversation}/{activity}"

    def _call(self, method: str, url: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        try:
            reply = self._http.request(method, url, json=body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise ChatError(f"Teams {what}: {type(exc).__name__}") from exc
        if reply.status_code == 401:
            self._token = ("", 0.0)  # signed in again next time
        if reply.status_code >= 300:
            raise ChatError(
                f"Teams {what}: HTTP {reply.status_code} {scrub_excerpt(reply.text, 200)}"
            )
        try:
            doc = reply.json() if reply.content else {}
        except ValueError:
            doc = {}
        return doc if isinstance(doc, dict) else {}

    def _bearer(self) -> str:
        token, until = self._token
        if token and time.monotonic() < until:
            return token
        status, doc = self._sign_in()
        if status in (400, 401) and self._reread is not None:  # rotated: read it again, once
            self._password = self._reread()
            status, doc = self._sign_in()
        token = str(doc.get("access_token") or "")
        if not token:  # never the body: it may echo what was sent
            raise ChatError(f"Teams sign-in (tenant {self.tenant}) refused: HTTP {status}; "
                            "check TeamsAppId and its client secret")  # fmt: skip
        life = float(doc.get("expires_in") or 3600)
        self._token = (token, time.monotonic() + max(life - 300, 60))
        return token

    def _sign_in(self) -> tuple[int, dict[str, Any]]:
        url = f"{self.login_url}{quote(self.tenant, safe='')}/oauth2/v2.0/token"
        form = {"grant_type": "client_credentials", "client_id": self.app_id,
                "client_secret": self._password, "scope": SCOPE}  # fmt: skip
        try:
            reply = self._http.post(url, data=form, timeout=TIMEOUT)
            doc = reply.json() if reply.status_code == 200 else {}
        except (requests.RequestException, ValueError) as exc:
            raise ChatError(f"Teams sign-in (tenant {self.tenant}): {type(exc).__name__}") from exc
        return reply.status_code, doc if isinstance(doc, dict) else {}
