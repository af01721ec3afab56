"""Choose the runbook for an alert: match, filter, rank. Pure; no I/O.

Matching tiers, most specific first: `<alert_type>_<service>`, `<alert_type>`,
`<service>`, `generic`. Runbooks whose environments do not include the alert's are out.
The most specific tier with a match wins: a generic runbook only runs when nothing more
specific matches.

Ranking is Thompson sampling on a Beta posterior of each runbook's *verified* fix rate for
(alert type, service, environment): a draw from Beta(a0 + fixes, b0 + misses), where the
prior (a0, b0) favours specific matches. A new runbook keeps a real chance of being tried
(exploration), and evidence quickly outweighs the prior. The draw is seeded by the alert
id, so a retried selection picks the same runbook. The product's original rule,
`success_rate x min(runs / 10, 1)`, is kept as `baseline_score` for comparison.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opslink.remediation.catalog import Runbook
from opslink.remediation_models import Risk, RunbookKind

TIERS = ("exact", "alert_type", "service", "generic")
# Pseudo-counts (fixes, misses) before any evidence: a specific match starts ahead of a
# generic one, and a few real outcomes outweigh the head start.
TIER_PRIORS: dict[str, tuple[float, float]] = {
    "exact": (3.0, 1.0),
    "alert_type": (2.0, 1.0),
    "service": (1.5, 1.0),
    "generic": (1.0, 3.0),
}


@dataclass(frozen=True)
class Stats:
    """Verified fixes and misses in this context (decayed: learning.py), and the prior
    pooled from the runbook's record in the alert type's other contexts."""

    fixes: float = 0
    misses: float = 0
    prior_fixes: float = 0
    prior_misses: float = 0

    @property
    def runs(self) -> float:
        return self.fixes + self.misses


@dataclass(frozen=True)
class Candidate:
    runbook: Runbook
    tier: str
    stats: Stats
    score: float


def match_tier(runbook: Runbook, alert_type: str, service: str) -> str | None:
    tags = set(runbook.spec.tags)
    for tier, tag in zip(
        TIERS, (f"{alert_type}_{service}", alert_type, service, "generic"), strict=True
    ):
        if tag in tags:
            return tier
    return None


def eligible(
    catalog: Sequence[Runbook],
    alert_type: str,
    service: str,
    environment: str,
    kind: RunbookKind = RunbookKind.REMEDIATION,
) -> list[tuple[Runbook, str]]:
    """Runbooks of `kind` matching the alert, with their tier (remediations by default:
    diagnostics are never candidates for the fix)."""
    out = []
    for runbook in catalog:
        if runbook.spec.kind is not kind:
            continue
        tier = match_tier(runbook, alert_type, service)
        if tier is None:
            continue
        envs = runbook.spec.environments
        if "any" not in envs and environment not in envs:
            continue
        out.append((runbook, tier))
    return out


def seeded_rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))  # noqa: S311 (not crypto)


def thompson_score(tier: str, stats: Stats, rng: random.Random) -> float:
    a0, b0 = TIER_PRIORS[tier]
    return rng.betavariate(
        a0 + stats.prior_fixes + stats.fixes, b0 + stats.prior_misses + stats.misses
    )


def baseline_score(stats: Stats) -> float:
    """The original rule: success rate x min(runs/10, 1). New runbooks score 0."""
    if stats.runs == 0:
        return 0.0
    return stats.fixes / stats.runs * min(stats.runs / 10, 1.0)


def rank(
    matches: Sequence[tuple[Runbook, str]], stats: Mapping[str, Stats], rng: random.Random
) -> list[Candidate]:
    scored = [
        Candidate(
            rb,
            tier,
            stats.get(rb.name, Stats()),
            thompson_score(tier, stats.get(rb.name, Stats()), rng),
        )
        for rb, tier in matches
    ]
    # The most specific tier wins (runbooks/README.md); within a tier, the sampled fix
    # rate decides, ties going to the name.
    return sorted(scored, key=lambda c: (TIERS.index(c.tier), -c.score, c.runbook.name))


def explain(best: Candidate, others: Sequence[Candidate]) -> str:
    s = best.stats
    text = (
        f"Runbook {best.runbook.name} chosen ({best.tier} match; {s.fixes:.3g} verified fixes in "
        f"{s.runs:.3g} recent runs"
        + (f", {s.prior_fixes + s.prior_misses:.2g} pooled from other services/environments"
           if s.prior_fixes + s.prior_misses else "")
        + f"; sampled fix rate {best.score:.2f})"
    )  # fmt: skip
    if others:
        text += "; other candidates: " + ", ".join(
            f"{c.runbook.name} ({c.stats.fixes:.3g}/{c.stats.runs:.3g}, {c.score:.2f})"
            for c in others[:4]
        )
    return text + "."


def needs_approval(runbook: Runbook) -> bool:
    return runbook.spec.risk is Risk.APPROVAL
