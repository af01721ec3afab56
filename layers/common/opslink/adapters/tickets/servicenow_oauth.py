"""ServiceNow's OAuth 2.0 client credentials grant, for instances that do not take basic
authentication from integrations: a token from the instance's `/oauth_token.do`, sent as
a Bearer token until shortly before it expires. A 401 on a call builds the adapter again
(http_client's `refresh`: the secret re-read), which fetches a new token — a token the
instance revoked early costs one refused call.

Needs, on the instance: an OAuth API endpoint for external clients with its *OAuth
Application User* (the integration user whose roles the calls get) and the system
property `glide.oauth.inbound.client.credential.grant_type.enabled` set to true."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from opslink.adapters.http_client import DEFAULT_TIMEOUT, require_tls
from opslink.errors import TicketSystemError, TicketSystemRejected
from opslink.scrub import register, scrub_excerpt

EARLY_SECONDS = 60  # a token is renewed this long before ServiceNow says it expires
DEFAULT_LIFETIME = 1800  # ServiceNow's default access token lifespan (seconds)
_HINT = (
    "check the OAuth application's client id and secret, its OAuth Application User, and "
    "glide.oauth.inbound.client.credential.grant_type.enabled"
)


class ClientCredentials(requests.auth.AuthBase):
    """requests' auth hook: a Bearer token of the client credentials grant, one per
    lifetime, shared by the adapter's calls (thread-safe)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = require_tls("ServiceNow", base_url).rstrip("/") + "/oauth_token.do"
        self.client_id, self._client_secret = client_id, client_secret
        self.timeout, self.clock = timeout, clock
        self._token: str | None = None
        self._until = 0.0
        self._lock = threading.Lock()

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = f"Bearer {self.token()}"
        return r

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._until:
                self._token, lifetime = self._fetch()
                self._until = self.clock() + max(0, lifetime - EARLY_SECONDS)
            return self._token

    def _fetch(self) -> tuple[str, int]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._client_secret}  # fmt: skip
        try:
            resp = requests.post(self.url, data=form, timeout=self.timeout,
                                 headers={"Accept": "application/json"}, allow_redirects=False)  # fmt: skip
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise TicketSystemError(
                f"ServiceNow: OAuth token endpoint unreachable: {type(exc).__name__}"
            ) from exc
        code = resp.status_code
        if code == 429 or code >= 500:
            raise TicketSystemError(f"ServiceNow: OAuth token endpoint answered {code}")
        if code != 200:
            raise TicketSystemRejected(
                f"ServiceNow: OAuth client credentials refused ({code}: "
                f"{scrub_excerpt(resp.text, 200)}); {_HINT}"
            )
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise TicketSystemRejected(
                f"ServiceNow: the OAuth token endpoint answered no access_token; {_HINT}"
            )
        register(token)  # redacted by value wherever it would be written
        try:
            lifetime = int(doc.get("expires_in", DEFAULT_LIFETIME))
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        return token, lifetime
