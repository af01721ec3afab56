"""Runbook selection: OpsLink's rule against the original rule, on the same alerts.

A seeded stream of cpu_usage alerts for one service in two environments; each runbook
really fixes the problem with a probability that depends on the environment. Only a
verified fix counts. Both rules see the same alerts and the same random outcomes
(common random numbers per alert and runbook); outcome stats are kept per
(runbook, alert type, service, environment), as OpsLink stores them.

- OpsLink: Thompson sampling on Beta(prior + fixes, prior + misses), tier priors.
- baseline: success_rate x min(runs/10, 1); ties (e.g. all new) broken at random.

    .venv/bin/python bench/selection_simulation.py [ALERTS] [SEEDS]
"""

from __future__ import annotations

import random
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from opslink.remediation.catalog import Runbook
from opslink.remediation.selection import Stats, baseline_score, eligible, rank
from opslink.remediation_models import RunbookSpec

# fix probability per environment
RUNBOOKS = {
    "restart_service": ({"production": 0.55, "staging": 0.80}, ["cpu_usage"]),
    "scale_up": ({"production": 0.85, "staging": 0.30}, ["cpu_usage"]),
    "throttle_clients": ({"production": 0.60, "staging": 0.60}, ["cpu_usage"]),
    "diagnostics": ({"production": 0.02, "staging": 0.02}, ["generic"]),
}
ENVIRONMENTS = ("production", "staging")


def catalog() -> list[Runbook]:
    out = []
    for name, (_, tags) in sorted(RUNBOOKS.items()):
        spec = RunbookSpec(
            name=name,
            description=name,
            tags=tuple(tags),
            environments=("any",),
            timeout_seconds=60,
            script="x.sh",
        )
        out.append(Runbook(spec, Path("/dev/null")))
    return out


def simulate(rule: str, alerts: int, seed: int) -> tuple[float, dict[str, int | None]]:
    rng = random.Random(seed)  # the alert stream and the outcomes: identical for both rules
    picker = random.Random(seed * 7919 + (0 if rule == "opslink" else 1))
    cat = catalog()
    stats: dict[tuple[str, str], Stats] = defaultdict(Stats)
    fixes = 0
    best = {env: max(RUNBOOKS, key=lambda n: RUNBOOKS[n][0][env]) for env in ENVIRONMENTS}
    picks: dict[str, list[bool]] = {env: [] for env in ENVIRONMENTS}
    for _ in range(alerts):
        env = ENVIRONMENTS[rng.random() < 0.4]  # 60 % production
        draws = {name: rng.random() for name in RUNBOOKS}
        matches = eligible(cat, "cpu_usage", "web", env)
        env_stats = {rb.name: stats[(rb.name, env)] for rb, _ in matches}
        if rule == "opslink":
            chosen = rank(matches, env_stats, picker)[0].runbook.name
        else:
            scores = {rb.name: baseline_score(env_stats[rb.name]) for rb, _ in matches}
            top = max(scores.values())
            chosen = picker.choice(sorted(n for n, s in scores.items() if s == top))
        fixed = draws[chosen] < RUNBOOKS[chosen][0][env]
        fixes += fixed
        old = stats[(chosen, env)]
        stats[(chosen, env)] = Stats(old.fixes + fixed, old.misses + (not fixed))
        picks[env].append(chosen == best[env])
    converged: dict[str, int | None] = {}
    for env, seq in picks.items():
        converged[env] = next(
            (
                i
                for i in range(len(seq) - 20)
                if sum(seq[i : i + 20]) >= 18
                and all(sum(seq[j : j + 20]) >= 18 for j in range(i, len(seq) - 20, 10))
            ),
            None,
        )
    return fixes / alerts, converged


def main() -> None:
    alerts = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    rates: dict[str, list[float]] = {"opslink": [], "baseline": []}
    conv: dict[str, dict[str, list[int | None]]] = {r: {e: [] for e in ENVIRONMENTS} for r in rates}
    for seed in range(seeds):
        for rule in rates:
            rate, converged = simulate(rule, alerts, seed)
            rates[rule].append(rate)
            for env, at in converged.items():
                conv[rule][env].append(at)
    oracle = 0.6 * max(p["production"] for p, _ in RUNBOOKS.values()) + 0.4 * max(
        p["staging"] for p, _ in RUNBOOKS.values()
    )
    print(f"{alerts} alerts x {seeds} seeds; best possible verified-fix rate {oracle:.3f}")
    print(
        f"{'rule':<10}{'median fix rate':>16}{'min':>7}{'max':>7}   converged (alerts per env until the best runbook is picked >=90%, median; never = n/a)"
    )
    for rule, values in rates.items():
        parts = []
        for env in ENVIRONMENTS:
            done = [c for c in conv[rule][env] if c is not None]
            never = len(conv[rule][env]) - len(done)
            parts.append(
                f"{env}: {statistics.median(done) if done else 'n/a'} (never in {never}/{seeds})"
            )
        print(
            f"{rule:<10}{statistics.median(values):>16.3f}{min(values):>7.3f}{max(values):>7.3f}   "
            + "; ".join(parts)
        )
    print(
        f"ratio opslink/baseline (medians): {statistics.median(rates['opslink']) / statistics.median(rates['baseline']):.2f}"
    )


if __name__ == "__main__":
    main()
