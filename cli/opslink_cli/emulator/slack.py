"""A local Slack workspace for the emulator: its Web API on 127.0.0.1 takes the messages
OpsLink posts (chat.postMessage, with the bot token), and a person's button click comes
back as Slack sends it — a `block_actions` interactive payload, form-encoded, signed with
the app's signing secret (v0 HMAC over timestamp and body) — to the track function's
URL at /chat/slack. Shapes as Slack documents them (api.slack.com: chat.postMessage,
"block_actions payloads", "Verifying requests from Slack")."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from opslink_cli.emulator import json_http

BOT_TOKEN = "xoxb-opslink-emulator"  # noqa: S105 (the local workspace's own)
SIGNING_SECRET = "opslink-emulator-signing-secret"  # noqa: S105
TEAM = {"id": "T0OPSLINK", "domain": "opslink-local"}


@dataclass
class LocalSlack:
    """The workspace: `messages` as posted, `click` to press one of their buttons."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)  # dialogs opened (views.open)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def start(self) -> LocalSlack:
        self._server = json_http.serve(
            lambda _method, path, headers, raw: self._api(path, headers, raw)
        )
        return self

    def stop(self) -> None:
        json_http.stop(self._server)
        self._server = None

    def _api(self, path: str, headers: Any, raw: bytes) -> tuple[int, dict[str, Any]]:
        if headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}
        kind = headers.get("Content-Type", "")
        doc: dict[str, Any] = (json.loads(raw or b"{}") if "json" in kind
                               else {k: v[0] for k, v in parse_qs(raw.decode()).items()})  # fmt: skip
        for key in ("blocks", "view"):
            if isinstance(doc.get(key), str):
                doc[key] = json.loads(doc[key])
        if path.startswith("/api/views.open"):
            with self._lock:
                self.views.append(doc["view"] | {"trigger_id": doc.get("trigger_id", "")})
            return 200, {"ok": True, "view": {"id": f"V{len(self.views):08d}"}}
        if path.startswith("/api/chat.update"):
            with self._lock:
                for message in self.messages:
                    if (message["channel"], message["ts"]) == (doc.get("channel"), doc.get("ts")):
                        message |= {"text": doc.get("text", ""), "blocks": doc.get("blocks") or []}
                        return 200, {"ok": True, "channel": message["channel"], "ts": message["ts"]}
            return 200, {"ok": False, "error": "message_not_found"}
        if not path.startswith("/api/chat.postMessage"):
            return 200, {"ok": False, "error": "unknown_method"}
        if not doc.get("channel"):
            return 200, {"ok": False, "error": "channel_not_found"}
        with self._lock:
            ts = f"{int(time.time())}.{len(self.messages) + 1:06d}"
            message = {"ts": ts, "channel": doc["channel"], "text": doc.get("text", ""),
                       "blocks": doc.get("blocks") or []}  # fmt: skip
            self.messages.append(message)
        return 200, {"ok": True, "channel": doc["channel"], "ts": ts, "message": message}

    def message_for(self, execution: str, wait: float = 30.0) -> dict[str, Any]:
        """The approval request posted for `execution` (its buttons carry it), waiting up
        to `wait` seconds for it: it is posted just after the execution starts waiting."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                for message in reversed(self.messages):
                    if any(e.get("value") == execution for b in message["blocks"]
                           for e in b.get("elements", [])):  # fmt: skip
                        return message
            if time.monotonic() >= deadline:
                raise LookupError(f"no Slack message has buttons for {execution}")
            time.sleep(0.05)

    def click(
        self, message: dict[str, Any], action_id: str, user_id: str, username: str
    ) -> dict[str, Any]:
        """The Function URL event Slack's request becomes when `user_id` presses a
        button of `message`: a signed `block_actions` payload."""
        [button] = [e for b in message["blocks"] for e in b.get("elements", [])
                    if e.get("action_id") == action_id]  # fmt: skip
        now = time.time()
        payload = _from(user_id, username) | {
            "type": "block_actions",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": message["channel"],
                "is_ephemeral": False,
            },
            "trigger_id": f"{int(now)}.{TEAM['id']}.emulator",
            "channel": {"id": message["channel"], "name": message["channel"].lstrip("#")},
            "message": {"type": "message", "ts": message["ts"], "text": message["text"]},
            "response_url": "https://hooks.slack.com/actions/T0OPSLINK/emulator",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "opslink-approval",
                    "text": button["text"],
                    "value": button["value"],
                    "type": "button",
                    "action_ts": f"{now:.6f}",
                }
            ],
        }
        return _signed_event(payload, now)

    def submit(
        self, view: dict[str, Any], reason: str, user_id: str, username: str
    ) -> dict[str, Any]:
        """The Function URL event of `user_id` submitting dialog `view` with `reason`."""
        now = time.time()
        payload = _from(user_id, username) | {
            "type": "view_submission",
            "trigger_id": f"{int(now)}.{TEAM['id']}.submit",
            "view": {
                "id": "V00000001", "type": "modal", "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {"values": {"reason": {"reason": {"type": "plain_text_input",
                                                           "value": reason}}}},
            },
        }  # fmt: skip
        return _signed_event(payload, now)


def _from(user_id: str, username: str) -> dict[str, Any]:
    """Who and where, as every interactive payload of the workspace says it."""
    return {"team": TEAM, "api_app_id": "A0OPSLINK",
            "user": {"id": user_id, "username": username, "team_id": TEAM["id"]}}  # fmt: skip


def _signed_event(payload: dict[str, Any], now: float) -> dict[str, Any]:
    """A Function URL request as Slack makes it: form-encoded `payload`, signed v0."""
    body = urlencode({"payload": json.dumps(payload)})
    ts = str(int(now))
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
    return {
        "version": "2.0",
        "rawPath": "/chat/slack",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": f"v0={mac.hexdigest()}",
        },
        "requestContext": {"http": {"method": "POST", "path": "/chat/slack"}},
        "body": body,
        "isBase64Encoded": False,
    }
