"""HTTP for adapters: requests + urllib3 retries, timeouts on every call, clear errors.

- Idempotent calls (GET, and POSTs the server deduplicates) retry on connection errors,
  read timeouts, 429 and 5xx; calls that could start work twice retry only when the
  server surely did nothing (connection refused, 429, 503).
- Retry-After is honoured, capped at 20 s per wait, and no wait ever runs past the
  invocation's time budget (opslink/deadline.py): the call then fails retryable and the
  work is left for a later run.
- 401/403/404/409 and unusable bodies raise the adapter's "rejected" error naming the
  system; exhausted retries raise its "retryable" error (job platforms: JobPlatformRejected
  and JobPlatformError; ticket systems: TicketSystemRejected and TicketSystemError).
- A 401 first re-reads the credentials once (`refresh`, the secret skipping its cache: it
  may have been rotated) and repeats the call; a second 401 is final.
- TLS only: plain http:// is refused except to 127.0.0.1/localhost, and certificates are
  always verified.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from opslink.deadline import DeadlineReached, check_wait
from opslink.errors import ConfigurationError, JobPlatformError, JobPlatformRejected
from opslink.observability import subsegment
from opslink.scrub import scrub

DEFAULT_TIMEOUT = (3.05, 15.0)  # connect, read
MAX_RETRY_AFTER = 20.0


class _CappedRetry(Retry):
    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER)

    def sleep(self, response: Any = None) -> None:
        wait = self.get_retry_after(response) if response is not None else None
        check_wait(wait if wait is not None else self.get_backoff_time(), "HTTP retry")
        super().sleep(response)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def require_tls(system: str, url: str) -> str:
    """`url` if it is https (or http to this machine); ConfigurationError otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url
    raise ConfigurationError(
        f"{system}: {url!r} is not an https:// URL; OpsLink sends credentials only over "
        "TLS (plain http only to 127.0.0.1/localhost)"
    )


def _session(retry: Retry) -> requests.Session:
    session = requests.Session()
    session.verify = True  # never switched off, whatever the environment says
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HttpClient:
    def __init__(
        self,
        system: str,
        base_url: str,
        headers: dict[str, str],
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        retryable: type[Exception] = JobPlatformError,
        rejected: type[Exception] = JobPlatformRejected,
    ) -> None:
        self.system = system
        self.retryable = retryable
        self.rejected = rejected
        self.auth: Any = None  # e.g. a (user, password) tuple for basic authentication
        # Builds a client with freshly read credentials (set by the registries).
        self.refresh: Callable[[], HttpClient] | None = None
        self.base_url = require_tls(system, base_url).rstrip("/")
        self.timeout = timeout
        self._safe = _session(
            _CappedRetry(
                total=retries,
                status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=None,
                backoff_factor=backoff,
                respect_retry_after_header=True,
                raise_on_status=False,
            )
        )
        self._unsafe = _session(
            _CappedRetry(
                total=retries,
                read=0,
                status_forcelist=(429, 503),
                allowed_methods=None,
                backoff_factor=backoff,
                respect_retry_after_header=True,
                raise_on_status=False,
            )
        )
        for s in (self._safe, self._unsafe):
            s.headers.update({"Accept": "application/json", "User-Agent": "opslink/0.1", **headers})

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = True,
        what: str = "",
        expect: str = "json",
        headers: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """One call. With `missing_ok`, a 404 or 410 answers None instead of raising."""
        resp = self._send(method, path, json, params, idempotent, what, headers, missing_ok)
        return None if resp is None else self._decode(resp, method, path, what, expect)

    def pages(
        self, path: str, *, params: dict[str, Any] | None = None, what: str = "", limit: int = 50
    ) -> list[Any]:
        """GET a listing and every page after it, following `Link: <…>; rel="next"` (GitHub,
        ServiceNow); each page's decoded body, at most `limit` pages."""
        out: list[Any] = []
        url, query = path, params
        while url and len(out) < limit:
            resp = self._send("GET", url, None, query, True, what, None, False)
            assert resp is not None
            out.append(self._decode(resp, "GET", path, what, "json"))
            nxt = resp.links.get("next", {}).get("url")
            url, query = (nxt.removeprefix(self.base_url) if nxt else ""), None
        return out

    def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: dict[str, Any] | None,
        idempotent: bool,
        what: str,
        headers: dict[str, str] | None,
        missing_ok: bool,
    ) -> requests.Response | None:
        session = self._safe if idempotent else self._unsafe
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        require_tls(self.system, url)  # a Link header may point anywhere
        resp = self._call(session, method, url, path, json, params, headers)
        if resp.status_code == 401 and self.refresh is not None:
            self._take_credentials(self.refresh())  # rotated? read the secret again, once
            resp = self._call(session, method, url, path, json, params, headers)
        label = what or f"{method} {path}"
        return self._check(resp, label, missing_ok)

    def _take_credentials(self, fresh: HttpClient) -> None:
        self.auth = fresh.auth
        for mine, theirs in ((self._safe, fresh._safe), (self._unsafe, fresh._unsafe)):
            mine.headers.update(theirs.headers)

    def _call(
        self,
        session: requests.Session,
        method: str,
        url: str,
        path: str,
        json: Any,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
    ) -> requests.Response:
        try:
            with subsegment(f"## {self.system}", method=method):
                return session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                    auth=self.auth,
                )
        except DeadlineReached as exc:
            raise self.retryable(f"{self.system}: {method} {path}: {exc}") from exc
        except requests.exceptions.RetryError as exc:
            raise self.retryable(
                f"{self.system}: {method} {path} still failing after retries: {exc}"
            ) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self.retryable(
                f"{self.system}: {method} {path} unreachable: {type(exc).__name__}"
            ) from exc

    def _check(
        self, resp: requests.Response, label: str, missing_ok: bool
    ) -> requests.Response | None:
        if resp.status_code in (401, 403):
            raise self.rejected(
                f"{self.system}: {label}: authentication refused ({resp.status_code})"
            )
        if resp.status_code in (404, 410) and missing_ok:  # 410: deleted (GitHub)
            return None
        if resp.status_code == 404:
            raise self.rejected(f"{self.system}: {label}: not found (404)")
        if resp.status_code == 409:
            raise self.rejected(f"{self.system}: {label}: conflict (409): {scrub(resp.text[:200])}")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise self.retryable(
                f"{self.system}: {label}: answered {resp.status_code} after retries"
            )
        if resp.status_code >= 400:
            raise self.rejected(
                f"{self.system}: {label}: answered {resp.status_code}: {scrub(resp.text[:200])}"
            )
        return resp

    def _decode(
        self, resp: requests.Response, method: str, path: str, what: str, expect: str
    ) -> Any:
        if expect == "text":
            return resp.text
        if expect == "none" or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise self.rejected(
                f"{self.system}: {what or f'{method} {path}'}: response is not JSON: "
                f"{scrub(resp.text[:120])!r}"
            ) from None


def field(doc: Any, name: str, system: str, kind: type | tuple[type, ...] = (str, int)) -> Any:
    """A required field of a response, or a JobPlatformRejected naming it."""
    if not isinstance(doc, dict) or name not in doc:
        raise JobPlatformRejected(f"{system}: response has no field {name!r}")
    value = doc[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise JobPlatformRejected(
            f"{system}: field {name!r} has unexpected type {type(value).__name__}"
        )
    return value
