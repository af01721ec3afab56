"""What selection believes about a runbook's fix rate. Pure; no I/O.

Two improvements over a flat Beta(prior + fixes, prior + misses) per context:

- **Evidence decays, and a break is noticed**: outcomes are kept per ISO week; a week
  weighs 0.5^(age / HALF_LIFE_WEEKS), and when the last RECENT_WEEKS are improbable under
  the runbook's older record (one-sided binomial test at CHANGE_ALPHA: it used to fix,
  now it mostly misses), the older record is dropped, so a runbook that stopped working
  loses its reputation within a handful of misses instead of months.
- **Partial pooling**: the same runbook's record for the same alert type in *other*
  services of the same environment (in other environments when it has none there) is a
  prior for this one, shrunk to at most `POOL_STRENGTH` pseudo-outcomes, so a new context
  starts from what the runbook does elsewhere and its own evidence takes over after a few
  runs. Environments are pooled only as a fallback: a runbook often works in staging and
  not in production (or the reverse).

bench/selection_simulation.py measures both against textbook Thompson sampling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

HALF_LIFE_WEEKS = 26.0  # slow forgetting; a break is caught by the test below
RECENT_WEEKS = 2
CHANGE_ALPHA = 0.01  # a good runbook's 3 misses in a row; a coin-flip one's 6
POOL_STRENGTH = 4.0  # a pooled prior weighs at most this many outcomes
HORIZON_WEEKS = 104  # older weeks are ignored


def week_of(at: datetime) -> int:
    """Weeks since 1970-01-05 (a Monday): the bucket an outcome is counted in."""
    return int((at.timestamp() - 345_600) // (7 * 86_400))


@dataclass(frozen=True)
class Evidence:
    """Decayed verified fixes and misses."""

    fixes: float = 0.0
    misses: float = 0.0

    @property
    def runs(self) -> float:
        return self.fixes + self.misses

    def __add__(self, other: Evidence) -> Evidence:
        return Evidence(self.fixes + other.fixes, self.misses + other.misses)


def decayed(weekly: Mapping[int, tuple[int, int]], now: datetime) -> Evidence:
    """Weekly (fixes, misses) counts weighed by their age; only the recent weeks when
    they show the runbook stopped working (see the module's docstring)."""
    current = week_of(now)
    recent, older = Evidence(), Evidence()
    for week, (f, m) in weekly.items():
        age = current - week
        if age < 0 or age > HORIZON_WEEKS:
            continue
        if age < RECENT_WEEKS:
            recent = recent + Evidence(f, m)
        else:
            weight = 0.5 ** (age / HALF_LIFE_WEEKS)
            older = older + Evidence(weight * f, weight * m)
    if older.runs >= 5 and recent.runs >= 3:
        rate = (older.fixes + 1) / (older.runs + 2)
        if _at_most(int(recent.fixes), int(recent.runs), rate) < CHANGE_ALPHA:
            return recent  # it broke: its old record no longer says anything
    return older + recent


def _at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def pooled_prior(elsewhere: Iterable[Evidence]) -> Evidence:
    """The runbook's record in other contexts of the same alert type, shrunk to at most
    POOL_STRENGTH outcomes (its rate, with little weight)."""
    total = Evidence()
    for e in elsewhere:
        total = total + e
    if total.runs <= 0:
        return Evidence()
    scale = min(1.0, POOL_STRENGTH / total.runs)
    return Evidence(total.fixes * scale, total.misses * scale)
