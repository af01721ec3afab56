"""Runbook selection in several worlds and at several alert rates: OpsLink's learning
(opslink/learning.py, the code selection runs) against textbook Thompson sampling, single
pick and with the fallback ladder.

Every world has alert contexts (alert type x service) in two environments (an alert is
in production with probability 0.6) and a few remediation candidates per alert type;
each runbook has a true fix rate per (service, environment) that may change with time.
Alerts arrive at RATE per context per week for HORIZON weeks; only a verified fix counts,
and every rule sees the same alerts and the same random outcomes (common random numbers).

Worlds:
- base: fix rates differ by environment and are alike across the services of an alert
  type; in two contexts the best runbook stops working half-way (15 %);
- drift: in every context the best runbook slowly gets worse and another better;
- new_runbook: at 40 % of the horizon a better runbook joins each alert type's candidates;
- sparse: one alert type on 12 services, each seeing a sixth of the alerts, alike;
- env_specific: the best runbook in production is the worst in staging and vice versa;
- unmarked_check: a candidate that exits 0 and fixes nothing (not marked diagnostic).

Rules:
- opslink: Thompson sampling on learning.beliefs (change points per outcome, earned
  priors pooled from other contexts, a calibrated tier prior);
- thompson: textbook Thompson sampling, Beta(1 + fixes, 1 + misses) per context;
- ladder: opslink, and when the first runbook does not fix, the next-best untried one
  (MaxAttemptsPerEpisode = 2), both outcomes recorded.

Reported per world and rate: the verified-fix rate on the alerts of the horizon's second
half against the oracle (the best runbook for that alert at that moment: it knows the
changes), medians over the seeds; opslink - thompson with its seed noise (2 standard
errors of the paired difference). Targets: base world single pick >= 0.92 x oracle at
500 alerts (5 per context per week) and >= 0.97 x at 2,000 (20 per week); never below
Thompson by more than seed noise; ladder >= 1.10 x oracle.

    .venv/bin/python bench/selection_simulation.py [SEEDS] [--worlds base,drift,...] [--rates 1,5,20,50]
    .venv/bin/python bench/selection_simulation.py [SEEDS] --false-alarms
    .venv/bin/python bench/selection_simulation.py --timing
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from opslink.adapters.store.runbook_records import KEEP_OUTCOMES
from opslink.change_points import ChangeTracker
from opslink.learning import BREAK_PROBABILITY, Record, beliefs
from opslink.remediation.catalog import Runbook
from opslink.remediation.selection import Stats, match_tier, rank
from opslink.remediation_models import RunbookSpec

ENVIRONMENTS = ("production", "staging")
HORIZON_WEEKS = 20

# rate(service, env, runbook, t) with t in [0, 1) the fraction of the horizon
RateFn = Callable[[str, str, str, float], float]


@dataclass
class World:
    name: str
    contexts: list[tuple[str, str]]  # (alert type, service)
    runbooks: dict[str, list[str]]  # alert type -> candidates
    rate: Callable[[str, str, str, str, float], float]  # (type, service, env, rb, t)
    share: dict[str, float] = field(default_factory=dict)  # service -> share of RATE
    joins: dict[str, float] = field(default_factory=dict)  # runbook -> t it appears


BASE_RATES = {
    "cpu_usage": {"restart_service": (0.55, 0.80), "scale_up": (0.85, 0.35), "throttle": (0.60, 0.55)},
    "memory_usage": {"restart_service": (0.80, 0.75), "clear_cache": (0.35, 0.60), "tune_gc": (0.50, 0.40)},
    "disk_usage": {"cleanup_logs": (0.90, 0.70), "archive_data": (0.60, 0.85), "expand_volume": (0.70, 0.65)},
}  # fmt: skip
BASE_CONTEXTS = [("cpu_usage", "checkout"), ("cpu_usage", "search"), ("memory_usage", "checkout"),
                 ("memory_usage", "search"), ("disk_usage", "logs")]  # fmt: skip
SHIFT = {"checkout": 0.0, "search": -0.05, "logs": 0.0}
DEGRADES = {("cpu_usage", "checkout", "production", "scale_up"),
            ("disk_usage", "logs", "production", "cleanup_logs")}  # fmt: skip


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)


def _base_rate(at: str, svc: str, env: str, rb: str, t: float) -> float:
    if (at, svc, env, rb) in DEGRADES and t >= 0.5:
        return 0.15
    return _clip(BASE_RATES[at][rb][ENVIRONMENTS.index(env)] + SHIFT.get(svc, 0.0))


def _drift_rate(at: str, svc: str, env: str, rb: str, t: float) -> float:
    p = _clip(BASE_RATES[at][rb][ENVIRONMENTS.index(env)] + SHIFT.get(svc, 0.0))
    ranked = sorted(BASE_RATES[at], key=lambda r: -BASE_RATES[at][r][ENVIRONMENTS.index(env)])
    if rb == ranked[0]:
        return _clip(p - 0.5 * t)
    if rb == ranked[-1]:
        return _clip(p + 0.35 * t)
    return p


def _new_rate(at: str, svc: str, env: str, rb: str, t: float) -> float:
    return 0.92 if rb == "new_fix" else _base_rate(at, svc, env, rb, 0.0)


def _unmarked_rate(at: str, svc: str, env: str, rb: str, t: float) -> float:
    return 0.0 if rb == "health_check" else _base_rate(at, svc, env, rb, 0.0)


SPARSE_SERVICES = [f"svc{i:02d}" for i in range(12)]
SPARSE_RATES = {"restart_service": 0.45, "scale_up": 0.8, "throttle": 0.6, "tune_gc": 0.55}


def _sparse_rate(at: str, svc: str, env: str, rb: str, t: float) -> float:
    wobble = (hash((svc, rb)) % 7 - 3) * 0.02  # alike, not identical
    return _clip(SPARSE_RATES[rb] + wobble - (0.1 if env == "staging" else 0.0))


ENV_RATES = {"blue": (0.85, 0.25), "green": (0.30, 0.85), "grey": (0.55, 0.55)}


def _env_rate(at: str, svc: str, env: str, rb: str, t: float) -> float:
    return ENV_RATES[rb][ENVIRONMENTS.index(env)]


def worlds() -> dict[str, World]:
    base_rbs = {at: sorted(rbs) for at, rbs in BASE_RATES.items()}
    return {
        "base": World("base", BASE_CONTEXTS, base_rbs, _base_rate),
        "drift": World("drift", BASE_CONTEXTS, base_rbs, _drift_rate),
        "new_runbook": World(
            "new_runbook",
            BASE_CONTEXTS,
            {at: [*rbs, "new_fix"] for at, rbs in base_rbs.items()},
            _new_rate,
            joins={"new_fix": 0.4},
        ),
        "sparse": World(
            "sparse",
            [("cpu_usage", s) for s in SPARSE_SERVICES],
            {"cpu_usage": sorted(SPARSE_RATES)},
            _sparse_rate,
            share=dict.fromkeys(SPARSE_SERVICES, 1 / 6),
        ),
        "env_specific": World(
            "env_specific",
            [("latency", "api"), ("latency", "web"), ("errors", "api")],
            {"latency": sorted(ENV_RATES), "errors": sorted(ENV_RATES)},
            _env_rate,
        ),
        "unmarked_check": World(
            "unmarked_check",
            BASE_CONTEXTS,
            {at: [*rbs, "health_check"] for at, rbs in base_rbs.items()},
            _unmarked_rate,
        ),
    }


def _catalog(world: World) -> dict[str, Runbook]:
    tags: dict[str, set[str]] = {}
    for at, rbs in world.runbooks.items():
        for rb in rbs:
            tags.setdefault(rb, set()).add(at)
    return {
        name: Runbook(
            RunbookSpec(
                name=name,
                description=name,
                tags=tuple(sorted(t)),
                environments=("any",),
                timeout_seconds=60,
                script="x.sh",
            ),
            Path("/dev/null"),
        )
        for name, t in tags.items()
    }


class Memory:
    """Outcomes as the store keeps them: per runbook and context, in order; trackers kept
    beside them so each outcome is scored once (the store recomputes them per selection)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str, str, str], Record] = {}
        self.trackers: dict[int, ChangeTracker] = {}
        self.counts: dict[tuple[str, str, str, str], list[int]] = {}

    def add(self, at: str, svc: str, env: str, rb: str, fixed: bool, day: int) -> None:
        key = (rb, at, svc, env)
        old = self.records.get(key)
        tracker = self.trackers.pop(id(old), None) if old else None
        new = Record(rb, svc, env, ((old.outcomes if old else ()) + ((day, fixed),)))
        self.trackers[id(new)] = (tracker or ChangeTracker()).extend([fixed])
        self.records[key] = new
        self.counts.setdefault(key, [0, 0])[0 if fixed else 1] += 1

    def of_type(self, at: str, names: list[str]) -> list[Record]:
        wanted = set(names)
        return [r for (rb, a, _, _), r in self.records.items() if a == at and rb in wanted]


def simulate(world: World, rule: str, rate: float, seed: int) -> tuple[float, float]:
    """(verified-fix rate, oracle rate) over the second half of the horizon."""
    rng = random.Random(seed)
    picker = random.Random(seed * 7919 + 1)
    cat = _catalog(world)
    mem = Memory()
    events: list[tuple[float, str, str]] = []  # (week, alert type, service)
    for at, svc in world.contexts:
        per_week = rate * world.share.get(svc, 1.0)
        count = max(1, round(per_week * HORIZON_WEEKS))
        events += [((i + rng.random()) / per_week, at, svc) for i in range(count)]
    events.sort()
    fixed_after = oracle_after = 0.0
    counted = 0
    ladder = rule == "ladder"
    for week, at, svc in events:
        t = week / HORIZON_WEEKS
        env = ENVIRONMENTS[rng.random() < 0.4]
        draws = {name: rng.random() for name in sorted(cat)}
        names = [rb for rb in world.runbooks[at] if world.joins.get(rb, 0.0) <= t]
        tried: list[str] = []
        fixed = False
        for _attempt in range(2 if ladder else 1):
            left = [n for n in names if n not in tried]
            if not left:
                break
            chosen = _choose(rule, world, mem, at, svc, env, names, left, picker)
            tried.append(chosen)
            fixed = draws[chosen] < world.rate(at, svc, env, chosen, t)
            mem.add(at, svc, env, chosen, fixed, int(week * 7))
            if fixed:
                break
        if t >= 0.5:
            counted += 1
            fixed_after += fixed
            oracle_after += max(world.rate(at, svc, env, n, t) for n in names)
    return fixed_after / max(counted, 1), oracle_after / max(counted, 1)


def _choose(
    rule: str, world: World, mem: Memory, at: str, svc: str, env: str,
    names: list[str], left: list[str], picker: random.Random,
) -> str:  # fmt: skip
    cat = _catalog_cache(world)
    matches = [(cat[n], "alert_type") for n in left]
    if rule == "thompson":
        stats = {}
        for n in left:
            f, m = mem.counts.get((n, at, svc, env), [0, 0])
            stats[n] = Stats(alpha=1 + f, beta=1 + m)
        return rank(matches, stats, picker)[0].runbook.name

    def tier_of(rb: str, service: str) -> str | None:
        return match_tier(cat[rb], at, service)

    got = beliefs(
        {n: "alert_type" for n in names}, mem.of_type(at, names), svc, env, tier_of, mem.trackers
    )
    return rank(matches, {n: Stats.of(got[n]) for n in left}, picker)[0].runbook.name


_CATALOGS: dict[str, dict[str, Runbook]] = {}


def _catalog_cache(world: World) -> dict[str, Runbook]:
    if world.name not in _CATALOGS:
        _CATALOGS[world.name] = _catalog(world)
    return _CATALOGS[world.name]


def false_alarms(seeds: int) -> None:
    """How the change-point test behaves on its own: how often a steady runbook is
    reported broken (P(break) >= BREAK_PROBABILITY) at some point in 200 outcomes, and how
    many outcomes a real break takes to be reported."""
    print(f"change-point test alone ({seeds * 10} sequences each; reported when P >= "
          f"{BREAK_PROBABILITY}):")  # fmt: skip
    print(f"{'steady rate':<14}{'reported at some point in 200':>32}{'at the end':>12}")
    for p in (0.5, 0.7, 0.9, 0.95):
        rng = random.Random(int(p * 1000))
        ever = end = 0
        for _ in range(seeds * 10):
            t = ChangeTracker()
            seen = False
            for _ in range(200):
                t.update(rng.random() < p)
                seen = seen or t.break_probability() >= BREAK_PROBABILITY
            ever += seen
            end += t.break_probability() >= BREAK_PROBABILITY
        n = seeds * 10
        print(f"{p:<14}{100 * ever / n:>31.1f}%{100 * end / n:>11.1f}%")
    print(f"{'break':<14}{'outcomes to report it (median, p90)':>40}")
    for before, after in ((0.9, 0.15), (0.9, 0.5), (0.8, 0.4), (0.6, 0.1)):
        rng = random.Random(int(before * 100 + after * 10))
        delays = []
        for _ in range(seeds * 10):
            t = ChangeTracker().extend(rng.random() < before for _ in range(60))
            taken = 0
            while taken < 200:
                taken += 1
                t.update(rng.random() < after)
                if t.break_probability() >= BREAK_PROBABILITY and t.likely_start() >= 55:
                    break
            delays.append(taken)
        q = statistics.quantiles(delays, n=10)
        print(f"{before} -> {after:<6}{statistics.median(delays):>30.0f}{q[-1]:>10.0f}")


def timing() -> None:
    """What one selection's arithmetic costs at the bound: 3 candidates x 4 contexts x
    KEEP_OUTCOMES outcomes, computed from scratch as the remediate function does."""
    rng = random.Random(1)
    records = [
        Record(rb, svc, env, tuple((i, rng.random() < 0.7) for i in range(KEEP_OUTCOMES)))
        for rb in ("a", "b", "c")
        for svc in ("x", "y")
        for env in ENVIRONMENTS
    ]
    took = []
    for _ in range(15):
        began = time.perf_counter()
        beliefs(dict.fromkeys("abc", "alert_type"), records, "x", ENVIRONMENTS[0], _any_tier)
        took.append(time.perf_counter() - began)
    print(f"beliefs for 3 candidates x 4 contexts x {KEEP_OUTCOMES} outcomes: median "
          f"{1000 * statistics.median(took):.1f} ms of 15")  # fmt: skip


def _any_tier(runbook: str, service: str) -> str:
    return "alert_type"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seeds", nargs="?", type=int, default=20)
    ap.add_argument("--false-alarms", action="store_true", help="the change-point test alone")
    ap.add_argument("--timing", action="store_true", help="one selection's arithmetic")
    ap.add_argument("--worlds", default=",".join(worlds()))
    ap.add_argument("--rates", default="1,5,20,50", help="alerts per context per week")
    args = ap.parse_args()
    if args.false_alarms:
        false_alarms(args.seeds)
        return
    if args.timing:
        timing()
        return
    chosen = [worlds()[w] for w in args.worlds.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    began = time.perf_counter()
    print(f"{args.seeds} seeds; {HORIZON_WEEKS} weeks; fix rate on the second half vs the oracle "
          "(medians); opslink - thompson: mean of paired differences ± 2 s.e.")  # fmt: skip
    print(f"{'world':<15}{'rate/wk':>8}{'alerts':>8}{'opslink':>9}{'thompson':>10}"
          f"{'ladder':>8}{'ops-thom':>10}{'±noise':>8}  verdict")  # fmt: skip
    failures = []
    for world in chosen:
        for rate in rates:
            ratios: dict[str, list[float]] = {r: [] for r in ("opslink", "thompson", "ladder")}
            for seed in range(args.seeds):
                for rule in ratios:
                    got, oracle = simulate(world, rule, rate, seed)
                    ratios[rule].append(got / oracle if oracle else 1.0)
            diffs = [a - b for a, b in zip(ratios["opslink"], ratios["thompson"], strict=True)]
            noise = 2 * statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
            mean_diff = statistics.fmean(diffs)
            alerts = sum(
                max(1, round(rate * world.share.get(s, 1.0) * HORIZON_WEEKS))
                for _, s in world.contexts
            )
            verdict = "ok" if mean_diff >= -noise else "BELOW thompson"
            if verdict != "ok":
                failures.append(f"{world.name}@{rate:g}")
            med = {r: statistics.median(v) for r, v in ratios.items()}
            print(f"{world.name:<15}{rate:>8g}{alerts:>8}{med['opslink']:>9.3f}"
                  f"{med['thompson']:>10.3f}{med['ladder']:>8.3f}{mean_diff:>+10.3f}"
                  f"{noise:>8.3f}  {verdict}", flush=True)  # fmt: skip
    print(f"({time.perf_counter() - began:.0f} s)")
    print("never below thompson beyond seed noise: "
          + ("met" if not failures else "NOT met in " + ", ".join(failures)))  # fmt: skip


if __name__ == "__main__":
    main()
