"""A local Microsoft Teams for the emulator, on 127.0.0.1: the sign-in endpoint OpsLink's
bot gets its token from (OAuth 2.0 client credentials), the Bot Connector REST API it
posts and updates cards with (`/teams/v3/conversations/{id}/activities`), and the Bot
Framework's OpenID metadata and signing keys (a key pair made at start, endorsed for
`msteams`). A person's button press comes back as Teams sends it: an `invoke` activity
named `adaptiveCard/action`, with a Bearer token signed by that key (issuer
https://api.botframework.com, audience the bot's app id, the activity's serviceUrl), to
the track function's URL at /chat/teams. Shapes as Microsoft documents them (Bot
Connector API, "Universal Actions for Adaptive Cards", "Authentication with the Bot
Connector API")."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from opslink_cli.emulator import json_http

APP_ID = "6a1d6b1e-0f3c-4c55-9a53-0b7e0c0a5e11"  # the local bot's app id
APP_PASSWORD = "opslink-emulator-teams-secret"  # noqa: S105 (the local bot's own)
TENANT = "0f9e3c2a-1b7d-4e5f-8a6b-opslinklocal"
ISSUER = "https://api.botframework.com"
_ACTIVITIES = re.compile(r"^/teams/v3/conversations/([^/]+)/activities(?:/([^/]+))?$")


@dataclass
class LocalTeams:
    """Teams: `messages` as the bot posted them (cards), `press` to click one's button."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key: Any = None
    _token: str = ""

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/teams/"

    @property
    def openid_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    def environment(self) -> dict[str, str]:
        """The functions' settings that point OpsLink at this Teams."""
        return {"TEAMS_LOGIN_URL": f"{self.base_url}/", "TEAMS_OPENID_URL": self.openid_url,
                "TEAMS_SERVICE_URL": self.service_url}  # fmt: skip

    def start(self) -> LocalTeams:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server = json_http.serve(self._api)
        return self

    def stop(self) -> None:
        json_http.stop(self._server)
        self._server = None

    def _api(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, dict[str, Any]]:
        if method == "GET" and path == "/v1/.well-known/openidconfiguration":
            return 200, {"issuer": ISSUER, "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                         "id_token_signing_alg_values_supported": ["RS256"]}  # fmt: skip
        if method == "GET" and path == "/v1/.well-known/keys":
            return 200, {"keys": [self.jwk()]}
        if method == "POST" and path.endswith("/oauth2/v2.0/token"):
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if (form.get("client_id"), form.get("client_secret")) != (APP_ID, APP_PASSWORD):
                return 401, {"error": "invalid_client"}
            with self._lock:
                self.tokens_issued += 1
                self._token = f"teams-bot-token-{uuid.uuid4().hex}"
            return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": self._token}
        match = _ACTIVITIES.match(path)
        if match is None:
            return 404, {"error": {"code": "NotFound", "message": path[:80]}}
        if not self._token or headers.get("Authorization") != f"Bearer {self._token}":
            return 401, {"error": {"code": "Unauthorized", "message": "bad bot token"}}
        conversation, activity = unquote(match[1]), unquote(match[2] or "")
        doc = json.loads(raw or b"{}")
        cards = [a["content"] for a in doc.get("attachments") or []]
        with self._lock:
            if method == "PUT":
                for message in self.messages:
                    if (message["conversation"], message["id"]) == (conversation, activity):
                        message["cards"] = cards
                        return 200, {"id": activity}
                return 404, {"error": {"code": "ActivityNotFound", "message": activity}}
            message = {"id": f"1765{len(self.messages) + 1:09d}", "conversation": conversation,
                       "cards": cards, "text": str(doc.get("text") or ""),
                       "reply_to": activity or None}  # fmt: skip
            self.messages.append(message)
        return 201, {"id": message["id"]}

    def jwk(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return jwk | {"kid": "opslink-local", "use": "sig", "endorsements": ["msteams"]}

    def message_for(self, execution: str, wait: float = 30.0) -> dict[str, Any]:
        """The card posted for `execution` (its buttons carry it), waiting for it."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                for message in reversed(self.messages):
                    if any(a.get("data", {}).get("execution") == execution
                           for c in message["cards"] for a in c.get("actions", [])):  # fmt: skip
                        return message
            if time.monotonic() >= deadline:
                raise LookupError(f"no Teams card has buttons for {execution}")
            time.sleep(0.05)

    def press(
        self, message: dict[str, Any], verb: str, aad_object_id: str, name: str,
        reason: str = "", at: float | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The Function URL event Teams' request becomes when a person presses `verb` on
        `message` (with `reason` typed in the card's box)."""
        [action] = [a for c in message["cards"] for a in c.get("actions", [])
                    if a.get("verb") == verb]  # fmt: skip
        data = dict(action["data"])
        if action.get("associatedInputs") == "auto":
            data["reason"] = reason
        activity = self._activity(message, aad_object_id, name) | {
            "type": "invoke", "name": "adaptiveCard/action", "replyToId": message["id"],
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data},
                      "trigger": "manual"},
        }  # fmt: skip
        return self.event(activity, self.token(at=at))

    def reply(self, message: dict[str, Any], text: str, aad_object_id: str, name: str) -> dict[str, Any]:  # fmt: skip
        """The Function URL event of a person replying in `message`'s thread."""
        activity = self._activity(message, aad_object_id, name) | {
            "type": "message", "text": f"<p>{text}</p>", "textFormat": "xml",
            "replyToId": message["id"],
        }  # fmt: skip
        return self.event(activity)

    def command(self, message: dict[str, Any], text: str, aad_object_id: str, name: str,
                at: float | None = None) -> dict[str, Any]:  # fmt: skip
        """The Function URL event of a person writing "@OpsLink <text>" in `message`'s
        thread (the bot mentioned, as Teams marks it)."""
        activity = self._activity(message, aad_object_id, name) | {
            "type": "message", "text": f"<p><at>OpsLink</at> {text}</p>", "textFormat": "xml",
            "replyToId": message["id"],
            "entities": [{"type": "mention", "text": "<at>OpsLink</at>",
                          "mentioned": {"id": f"28:{APP_ID}", "name": "OpsLink"}}],
        }  # fmt: skip
        return self.event(activity, self.token(at=at))

    def _activity(self, message: dict[str, Any], aad: str, name: str) -> dict[str, Any]:
        return {
            "id": f"f:{uuid.uuid4().hex}", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "serviceUrl": self.service_url, "channelId": "msteams",
            "from": {"id": f"29:{aad}", "name": name, "aadObjectId": aad},
            "conversation": {"isGroup": True, "conversationType": "channel", "tenantId": TENANT,
                             "id": f"{message['conversation']};messageid={message['id']}"},
            "recipient": {"id": f"28:{APP_ID}", "name": "OpsLink"},
            "channelData": {"tenant": {"id": TENANT}, "channel": {"id": message["conversation"]}},
        }  # fmt: skip

    def token(self, service_url: str | None = None, at: float | None = None, key: Any = None,
              **claims: Any) -> str:  # fmt: skip
        """A Bot Framework Connector token for the bot, signed with this Teams' key (or
        `key`), issued at `at` (now)."""
        import jwt

        now = int(time.time() if at is None else at)
        body = {"iss": ISSUER, "aud": APP_ID, "serviceurl": service_url or self.service_url,
                "nbf": now - 5, "exp": now + 3600} | claims  # fmt: skip
        return jwt.encode(
            body, key or self._key, algorithm="RS256", headers={"kid": "opslink-local"}
        )

    def event(self, activity: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        """A Function URL request as the Bot Connector makes it."""
        return {
            "version": "2.0",
            "rawPath": "/chat/teams",
            "headers": {"content-type": "application/json",
                        "authorization": f"Bearer {token or self.token()}"},
            "requestContext": {"http": {"method": "POST", "path": "/chat/teams"}},
            "body": json.dumps(activity),
            "isBase64Encoded": False,
        }  # fmt: skip
