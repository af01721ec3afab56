"""Runbook selection on a harder world: OpsLink's ranking against textbook Thompson
sampling and the original rule, single pick and with the fallback ladder.

The world: 5 alert contexts (alert type x service) x 2 environments, 3 remediation
candidates each plus a diagnostic that exits 0 without fixing anything (kind:
diagnostic: never a candidate). Fix rates differ by environment and are correlated across
the services of one alert type; in two contexts the best runbook degrades half-way
(from alert 50 on it mostly stops working). One alert per context per day. Only a
verified fix counts. Every rule sees the same alerts and the same random outcomes.

- opslink: Thompson sampling on decayed evidence (half-life 4 weeks) with a prior pooled
  from the runbook's record in the other contexts of the alert type (learning.py);
- thompson: textbook Thompson sampling, Beta(tier prior + fixes, + misses) per context;
- baseline: the original rule, success_rate x min(runs/10, 1);
- ladder: opslink, and when the first runbook does not fix, the next-best untried one
  (MaxAttemptsPerEpisode = 2), both outcomes recorded.

Reported: per-episode verified-fix rate on each context's alerts 51-100 (after 50 alerts
per context) against the oracle, the best single runbook at that moment (it knows the
degradation). Targets: single pick >= 0.92 x oracle; ladder >= 1.10 x oracle.

    .venv/bin/python bench/selection_simulation.py [ALERTS_PER_CONTEXT] [SEEDS]
"""

from __future__ import annotations

import random
import statistics
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opslink.learning import Evidence, decayed, pooled_prior, week_of
from opslink.remediation.catalog import Runbook
from opslink.remediation.selection import Stats, baseline_score, eligible, rank
from opslink.remediation_models import RunbookKind, RunbookSpec

ENVIRONMENTS = ("production", "staging")
# alert type -> {runbook: (production rate, staging rate)}; services of a type share them
# (each service shifted a little), the diagnostic never fixes.
RATES = {
    "cpu_usage": {"restart_service": (0.55, 0.80), "scale_up": (0.85, 0.35), "throttle": (0.60, 0.55)},
    "memory_usage": {"restart_service": (0.80, 0.75), "clear_cache": (0.35, 0.60), "tune_gc": (0.50, 0.40)},
    "disk_usage": {"cleanup_logs": (0.90, 0.70), "archive_data": (0.60, 0.85), "expand_volume": (0.70, 0.65)},
}  # fmt: skip
CONTEXTS = [("cpu_usage", "checkout"), ("cpu_usage", "search"), ("memory_usage", "checkout"),
            ("memory_usage", "search"), ("disk_usage", "logs")]  # fmt: skip
SHIFT = {"checkout": 0.0, "search": -0.05, "logs": 0.0}
# (alert type, service, environment, runbook): from the half-way point it fixes 15 %.
DEGRADES = {("cpu_usage", "checkout", "production", "scale_up"),
            ("disk_usage", "logs", "production", "cleanup_logs")}  # fmt: skip
START = datetime(2026, 1, 5, tzinfo=UTC)


def catalog() -> list[Runbook]:
    names: dict[str, set[str]] = defaultdict(set)
    for alert_type, runbooks in RATES.items():
        for name in runbooks:
            names[name].add(alert_type)
    out = []
    for name, tags in sorted(names.items()):
        spec = RunbookSpec(name=name, description=name, tags=tuple(sorted(tags)),
                           environments=("any",), timeout_seconds=60, script="x.sh")  # fmt: skip
        out.append(Runbook(spec, Path("/dev/null")))
    spec = RunbookSpec(name="diagnostics", description="read-only snapshot", tags=("generic",),
                       environments=("any",), timeout_seconds=60, script="x.sh",
                       kind=RunbookKind.DIAGNOSTIC)  # fmt: skip
    return [*out, Runbook(spec, Path("/dev/null"))]


def rate(alert_type: str, service: str, env: str, runbook: str, i: int, n: int) -> float:
    if runbook == "diagnostics":
        return 0.0
    if (alert_type, service, env, runbook) in DEGRADES and i >= n // 2:
        return 0.15
    p = RATES[alert_type][runbook][ENVIRONMENTS.index(env)] + SHIFT[service]
    return min(max(p, 0.0), 1.0)


class Memory:
    """Outcomes as the store keeps them: lifetime counts and weekly buckets per context."""

    def __init__(self) -> None:
        self.life: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.weekly: dict[tuple[str, str], dict[int, list[int]]] = defaultdict(dict)

    def record(self, runbook: str, context: str, fixed: bool, at: datetime) -> None:
        self.life[(runbook, context)][0 if fixed else 1] += 1
        bucket = self.weekly[(runbook, context)].setdefault(week_of(at), [0, 0])
        bucket[0 if fixed else 1] += 1

    def stats(
        self, rule: str, runbooks: list[str], context: str, now: datetime
    ) -> dict[str, Stats]:
        out = {}
        for rb in runbooks:
            if rule != "opslink":
                f, m = self.life[(rb, context)]
                out[rb] = Stats(f, m)
                continue
            weekly = {w: (c[0], c[1]) for w, c in self.weekly[(rb, context)].items()}
            local = decayed(weekly, now)
            alert_type, _, env = context.split("#")
            same, other = [], []  # as the store pools: same environment first
            for (name, ctx), b in self.weekly.items():
                if name == rb and ctx != context and ctx.startswith(alert_type + "#"):
                    e = decayed({w: (c[0], c[1]) for w, c in b.items()}, now)
                    (same if ctx.endswith("#" + env) else other).append(e)
            prior = pooled_prior(same or other) if (same or other) else Evidence()
            out[rb] = Stats(local.fixes, local.misses, prior.fixes, prior.misses)
        return out


def simulate(rule: str, n: int, seed: int) -> tuple[float, float]:
    """(verified-fix rate, oracle rate) over each context's alerts after the first half."""
    rng = random.Random(seed)
    picker = random.Random(seed * 7919 + 1)  # the same exploration stream for every rule
    cat, mem = catalog(), Memory()
    fixed_after = oracle_after = 0.0
    counted = 0
    ladder = rule == "ladder"
    policy = "opslink" if ladder else rule
    for i in range(n):
        now = START + timedelta(days=i)
        for alert_type, service in CONTEXTS:
            env = ENVIRONMENTS[rng.random() < 0.4]
            context = f"{alert_type}#{service}#{env}"
            draws = {rb.name: rng.random() for rb in cat}  # common random numbers
            matches = eligible(cat, alert_type, service, env)
            names = [rb.name for rb, _ in matches]
            tried: list[str] = []
            fixed = False
            for _attempt in range(2 if ladder else 1):
                left = [(rb, t) for rb, t in matches if rb.name not in tried]
                if not left:
                    break
                stats = mem.stats(policy, names, context, now)
                if policy == "baseline":
                    scores = {rb.name: baseline_score(stats[rb.name]) for rb, _ in left}
                    top = max(scores.values())
                    chosen = picker.choice(sorted(k for k, s in scores.items() if s == top))
                else:
                    chosen = rank(left, stats, picker)[0].runbook.name
                tried.append(chosen)
                fixed = draws[chosen] < rate(alert_type, service, env, chosen, i, n)
                mem.record(chosen, context, fixed, now)
                if fixed:
                    break
            if i >= n // 2:
                counted += 1
                fixed_after += fixed
                oracle_after += max(rate(alert_type, service, env, r, i, n) for r in names)
    return fixed_after / counted, oracle_after / counted


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    rules = ("opslink", "thompson", "baseline", "ladder")
    ratios: dict[str, list[float]] = {r: [] for r in rules}
    rates: dict[str, list[float]] = {r: [] for r in rules}
    oracles: list[float] = []
    for seed in range(seeds):
        for rule in rules:
            got, oracle = simulate(rule, n, seed)
            rates[rule].append(got)
            ratios[rule].append(got / oracle)
        oracles.append(oracle)
    print(f"{len(CONTEXTS)} contexts x {len(ENVIRONMENTS)} environments, {n} alerts per context, "
          f"{seeds} seeds; rates on alerts {n // 2 + 1}-{n} of each context")  # fmt: skip
    print(f"oracle (best single runbook at each moment): median {statistics.median(oracles):.3f}")
    print(f"{'rule':<10}{'fix rate':>10}{'x oracle':>10}{'min':>7}{'max':>7}")
    for rule in rules:
        r = ratios[rule]
        print(f"{rule:<10}{statistics.median(rates[rule]):>10.3f}{statistics.median(r):>10.3f}"
              f"{min(r):>7.3f}{max(r):>7.3f}")  # fmt: skip
    single, ladder = statistics.median(ratios["opslink"]), statistics.median(ratios["ladder"])
    print(f"targets: single pick {single:.3f} x oracle (>= 0.92: {'met' if single >= 0.92 else 'NOT met'}); "
          f"ladder {ladder:.3f} x oracle (>= 1.10: {'met' if ladder >= 1.10 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
