"""HTTP for adapters: requests + urllib3 retries, timeouts on every call, clear errors.

- Idempotent calls (GET, and POSTs the server deduplicates) retry on connection errors,
  read timeouts and 5xx; calls that could start work twice retry only when the server
  surely did nothing (connection refused, throttled, 503).
- Throttling (429, rate-limit 403s) is one policy for every vendor (adapters/throttling.py):
  the vendor's wait is honoured when it fits the call's and the run's limits; otherwise
  the adapter's "throttled" error carries `retry_after` and the work waits for later.
- Redirects are followed by hand, same method and body, to the configured host only
  (GitHub answers 301 for a transferred issue, for writes too).
- 401/403/404/409 and unusable bodies raise the adapter's "rejected" error naming the
  system; exhausted retries raise its "retryable" error (job platforms: JobPlatformRejected
  and JobPlatformError; ticket systems: TicketSystemRejected and TicketSystemError).
- A 401 first re-reads the credentials once (`refresh`, the secret skipping its cache: it
  may have been rotated) and repeats the call; a second 401 is final.
- TLS only: plain http:// is refused except to 127.0.0.1/localhost, and certificates are
  always verified.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from opslink.adapters.throttling import is_throttled, throttle_wait, why_not_wait
from opslink.deadline import DeadlineReached, check_wait
from opslink.errors import (
    ConfigurationError,
    JobPlatformError,
    JobPlatformRejected,
    JobPlatformThrottled,
    RetryableError,
)
from opslink.observability import subsegment
from opslink.scrub import scrub_excerpt

DEFAULT_TIMEOUT = (3.05, 15.0)  # connect, read
MOVED = (301, 302, 307, 308)


class _BudgetedRetry(Retry):
    """urllib3's retries of connection errors and 500/502/504 (short backoffs), never
    past the run's budget. Retry-After answers (429, 503) are the waiting loop's."""

    def sleep(self, response: Any = None) -> None:
        check_wait(self.get_backoff_time(), "HTTP retry")
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


@dataclass(frozen=True)
class _Call:
    """One request as the caller asked for it (the URL may change: redirects)."""

    method: str
    path: str
    json: Any
    params: dict[str, Any] | None
    headers: dict[str, str] | None


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
        throttled: type[Exception] = JobPlatformThrottled,
    ) -> None:
        self.system = system
        self.retryable = retryable
        self.rejected = rejected
        self.throttled = throttled
        self.retries = retries
        self.backoff = backoff
        self.auth: Any = None  # e.g. a (user, password) tuple for basic authentication
        # Builds a client with freshly read credentials (set by the registries).
        self.refresh: Callable[[], HttpClient] | None = None
        self.base_url = require_tls(system, base_url).rstrip("/")
        self.timeout = timeout
        self._safe = _session(
            _BudgetedRetry(
                total=retries,
                status_forcelist=(500, 502, 504),  # 429 and 503: the waiting loop
                allowed_methods=None,
                backoff_factor=backoff,
                respect_retry_after_header=False,  # the waiting loop's
                raise_on_status=False,
            )
        )
        self._unsafe = _session(
            _BudgetedRetry(
                total=retries,
                read=0,
                status_forcelist=(),
                allowed_methods=None,
                backoff_factor=backoff,
                respect_retry_after_header=False,  # the waiting loop's
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
        call = _Call(method, path, json, params, headers)
        label = what or f"{method} {path}"
        waited = 0.0
        for attempt in range(self.retries + 1):
            resp = self._follow(session, url, call)
            if resp.status_code == 401 and self.refresh is not None:
                self._take_credentials(self.refresh())  # rotated? read the secret again, once
                resp = self._follow(session, url, call)
            busy = is_throttled(resp)
            if not busy and resp.status_code != 503:
                return self._check(resp, label, missing_ok)
            wait = throttle_wait(resp)
            planned = wait if wait is not None else self.backoff * (2**attempt)
            problem = why_not_wait(planned, waited, attempt, self.retries)
            if problem:
                raise self._busy(resp, label, busy, wait, problem)
            time.sleep(planned)
            waited += planned
        raise AssertionError("unreachable")  # the loop returns or raises

    def _busy(
        self, resp: requests.Response, label: str, throttled: bool, wait: float | None, why: str
    ) -> Exception:
        kind = "rate limit hit" if throttled else "unavailable"
        after = f"; retry after {wait:.0f}s" if wait is not None else ""
        exc = (self.throttled if throttled else self.retryable)(
            f"{self.system}: {label}: {kind} ({resp.status_code}), {why}{after}; "
            "left for a later run"
        )
        if isinstance(exc, RetryableError):
            exc.retry_after = wait
        return exc

    def _follow(self, session: requests.Session, url: str, call: _Call) -> requests.Response:
        """One call, following moves (same method and body) on the configured host only."""
        resp = self._call(session, url, call)
        for _ in range(3):
            location = resp.headers.get("Location")
            if resp.status_code not in MOVED or not location:
                return resp
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(self.base_url).netloc:
                raise self.rejected(
                    f"{self.system}: {call.method} {call.path} moved to another host "
                    f"({urlsplit(target).netloc}); not followed with OpsLink's credentials"
                )
            url, call = require_tls(self.system, target), replace(call, params=None)
            resp = self._call(session, url, call)
        return resp

    def _take_credentials(self, fresh: HttpClient) -> None:
        self.auth = fresh.auth
        for mine, theirs in ((self._safe, fresh._safe), (self._unsafe, fresh._unsafe)):
            mine.headers.update(theirs.headers)

    def _call(self, session: requests.Session, url: str, call: _Call) -> requests.Response:
        where = f"{self.system}: {call.method} {call.path}"
        try:
            with subsegment(f"## {self.system}", method=call.method):
                return session.request(
                    call.method,
                    url,
                    json=call.json,
                    params=call.params,
                    headers=call.headers,
                    timeout=self.timeout,
                    auth=self.auth,
                    allow_redirects=False,  # followed by hand: _follow
                )
        except DeadlineReached as exc:
            raise self.retryable(f"{where}: {exc}") from exc
        except requests.exceptions.RetryError as exc:
            raise self.retryable(f"{where} still failing after retries: {exc}") from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self.retryable(f"{where} unreachable: {type(exc).__name__}") from exc

    def _check(
        self, resp: requests.Response, label: str, missing_ok: bool
    ) -> requests.Response | None:
        code = resp.status_code
        if code in (404, 410) and missing_ok:  # 410: deleted (GitHub)
            return None
        if code == 429 or code >= 500:
            raise self._answered(resp, f"{label}: answered {code} after retries", retryable=True)
        if code < 400:
            return resp
        said = f": {scrub_excerpt(resp.text, 200)}"
        if code == 401:
            raise self._answered(resp, f"{label}: authentication refused (401)")
        if code == 403:  # rights or rules (a ServiceNow data policy); never throttling
            raise self._answered(resp, f"{label}: refused (403){said}")
        if code == 404:
            raise self._answered(resp, f"{label}: not found (404)")
        if code == 409:
            raise self._answered(resp, f"{label}: conflict (409){said}")
        raise self._answered(resp, f"{label}: answered {code}{said}")

    def _answered(self, resp: requests.Response, what: str, retryable: bool = False) -> Exception:
        """The adapter's error for an answer, carrying its status and (scrubbed) body for
        the callers that decide by them (a refused assignee, a comment moot on a closed
        ticket)."""
        exc = (self.retryable if retryable else self.rejected)(f"{self.system}: {what}")
        if isinstance(exc, RetryableError):
            exc.status = resp.status_code
            exc.answer = scrub_excerpt(resp.text, 4000)
        return exc

    def _decode(
        self, resp: requests.Response, method: str, path: str, what: str, expect: str
    ) -> Any:
        if expect == "text":
            return resp.text
        if expect == "none" or not resp.content:
            return None
        try:
            return resp.json()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
            raise self.rejected(
                f"{self.system}: {what or f'{method} {path}'}: response is not JSON: "
                f"{scrub_excerpt(resp.text, 120)!r}"
            ) from None
