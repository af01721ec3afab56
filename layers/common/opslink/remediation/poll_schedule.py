"""When to poll a job, from the runbook's own duration history. Pure.

With at least `MIN_HISTORY` past successful runs on this platform, the first poll comes
just before the job is likely to end (the history's 10th percentile), then polls follow
every `tolerance` seconds until past the 90th percentile, so a job ending where it
usually does is noticed within max(15 s, 10 % of its typical duration) at a handful of
state transitions. A job running past its history falls back to geometric backoff (each
wait as long as the time already elapsed). Without history: today's schedule (base x
2^attempt, capped). Never past the runbook's timeout."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from opslink.remediation.policy import next_wait

MIN_HISTORY = 5
MIN_TOLERANCE = 15.0  # seconds: the detection latency allowed for short jobs
TOLERANCE_SHARE = 0.10  # ... and for long ones, this share of the typical duration


@dataclass(frozen=True)
class Expected:
    """What the history says about this runbook's duration on this platform."""

    low: float  # 10th percentile
    typical: float  # median
    high: float  # 90th percentile
    runs: int

    @property
    def tolerance(self) -> float:
        return max(MIN_TOLERANCE, TOLERANCE_SHARE * self.typical)


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def expected(durations: Sequence[float]) -> Expected | None:
    """None below MIN_HISTORY runs (too little to plan on)."""
    usable = [d for d in durations if d > 0]
    if len(usable) < MIN_HISTORY:
        return None
    return Expected(
        quantile(usable, 0.1), quantile(usable, 0.5), quantile(usable, 0.9), len(usable)
    )


def wait_after(
    elapsed: float,
    attempt: int,
    plan: Expected | None,
    base: int,
    cap: int,
    remaining: float,
) -> int:
    """Seconds until the next poll, `elapsed` seconds after launch (attempt = polls done)."""
    if plan is None:
        return next_wait(attempt, base, cap, remaining)
    step = plan.tolerance
    if elapsed < plan.low:
        wait = plan.low - elapsed  # sleep through the part the job never finishes in
    elif elapsed < plan.high + step:
        wait = step  # dense around the likely end
    else:
        wait = min(float(cap), max(step, elapsed))  # overdue: geometric backoff
    if remaining > 0:
        wait = min(wait, remaining)
    return max(1, math.ceil(wait))


def settling_wait(before: int | None, base: int, cap: int, remaining: float) -> int:
    """An end announced but not confirmed yet (AWX counting a job's hosts; the platform not
    answering the look an event asked for): no event comes for it again, so it is looked
    at after `base`, then at twice the wait `before` (the last wait, when it was one of
    these too), up to `cap` — AWX can take minutes to count under load."""
    wait = base if before is None else min(cap, 2 * before)
    return max(1, min(wait, math.ceil(remaining)))


def describe(plan: Expected | None, base: int, cap: int) -> str:
    """The schedule in words, for the execution's timeline."""
    if plan is None:
        return (
            f"no duration history yet (fewer than {MIN_HISTORY} runs): polls after {base} s, "
            f"then doubling up to {cap} s"
        )
    return (
        f"from {plan.runs} past runs (p10 {plan.low:.0f} s, median {plan.typical:.0f} s, "
        f"p90 {plan.high:.0f} s): first poll at {plan.low:.0f} s, then every "
        f"{plan.tolerance:.0f} s until {plan.high + plan.tolerance:.0f} s, then backing off"
    )
