"""What the vendors' rate-limit answers mean: throttling, never a refusal.

- 429 from anyone (Jira, Zendesk, ServiceNow, AWX, Rundeck, GitHub's secondary limit).
- GitHub also answers 403 when a limit is hit: the primary limit says so with
  `x-ratelimit-remaining: 0` (and `x-ratelimit-reset`, epoch seconds), the secondary
  limit with `retry-after` or only in its message ("secondary rate limit"); a 403 without
  any of these is a real permission refusal.

How long to wait, in the order the vendors document: `Retry-After` (seconds or an HTTP
date), then `X-RateLimit-Reset` (epoch seconds on GitHub and ServiceNow, an ISO-8601
time on Jira Cloud); a secondary limit without either waits a minute (GitHub's advice);
otherwise None, and the caller backs off on its own schedule.

Whether to wait at all (`why_not_wait`): at most MAX_WAIT per wait and MAX_TOTAL_WAIT per
call, and never past the invocation's budget (opslink/deadline.py); a vendor asking for
longer is not retried sooner than it asked — the work is left for a later run.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from opslink.deadline import remaining

SECONDARY_DEFAULT = 60.0
MAX_WAIT = 20.0  # one wait
MAX_TOTAL_WAIT = 25.0  # every wait of one call together, bounded run or not
_RATE_WORDS = re.compile(r"rate limit|too many requests|abuse detection", re.IGNORECASE)


def _header(resp: Any, name: str) -> str:
    return str(resp.headers.get(name) or "").strip()


def is_throttled(resp: Any) -> bool:
    if resp.status_code == 429:
        return True
    if resp.status_code != 403:
        return False
    if _header(resp, "retry-after") or _header(resp, "x-ratelimit-remaining") == "0":
        return True
    return bool(_RATE_WORDS.search(resp.text[:500] if resp.text else ""))


def _seconds_until(value: str, now: float) -> float | None:
    if re.fullmatch(r"\d+(\.\d+)?", value):
        number = float(value)
        # Epoch seconds (a reset time) are far larger than any sensible delay.
        return max(0.0, number - now) if number > 1_000_000_000 else number
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            at = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if at.tzinfo is None:
        return None
    return max(0.0, at.timestamp() - now)


def throttle_wait(resp: Any, now: float | None = None) -> float | None:
    """Seconds the vendor asks us to wait before the next call, or None if it does not say."""
    at = time.time() if now is None else now
    for name in ("retry-after", "x-ratelimit-reset"):
        value = _header(resp, name)
        if value:
            seconds = _seconds_until(value, at)
            if seconds is not None:
                return seconds
    if resp.status_code == 403 or _RATE_WORDS.search(resp.text[:500] if resp.text else ""):
        return SECONDARY_DEFAULT if "secondary" in (resp.text or "").lower() else None
    return None


def why_not_wait(wait: float, waited: float, attempt: int, retries: int) -> str:
    """Why the next wait of a call is not taken ('' when it is)."""
    if attempt >= retries:
        return "still busy after retries"
    if wait > MAX_WAIT or waited + wait > MAX_TOTAL_WAIT:
        return f"asked to wait {wait:.0f}s, longer than one call may wait"
    left = remaining()
    if left is not None and wait > left:
        return f"waiting {wait:.0f}s would pass this run's time budget ({max(left, 0):.0f}s left)"
    return ""
