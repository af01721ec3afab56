"""Choose the runbook for an alert: match, filter, rank. Pure; no I/O.

Matching tiers, most specific first: `<alert_type>_<service>`, `<alert_type>`,
`<service>`, `generic`. Runbooks whose environments do not include the alert's are out.
The most specific tier with a match wins: a generic runbook only runs when nothing more
specific matches.

Ranking is Thompson sampling on the posterior of each runbook's *verified* fix rate for
(alert type, service, environment) that learning.py computes (change points per
outcome, priors earned from other contexts and the match tier): a draw from that Beta.
A new runbook keeps a real chance of being tried (exploration), and evidence quickly
outweighs the prior. The draw is seeded by the alert id, so a retried selection picks
the same runbook.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opslink.remediation.catalog import Runbook
from opslink.remediation_models import Risk, RunbookKind

if TYPE_CHECKING:
    from opslink.learning import Belief

TIERS = ("exact", "alert_type", "service", "generic")
EVIDENCE_WEIGHT = 4.0  # see Stats.of


@dataclass(frozen=True)
class Stats:
    """The Beta posterior a candidate is drawn from, and the belief it came from (for
    the explanation); Beta(1, 1) for a runbook with no record anywhere."""

    alpha: float = 1.0
    beta: float = 1.0
    belief: Belief | None = None

    @classmethod
    def of(cls, belief: Belief) -> Stats:
        """Sampled from a sharpened Beta: the same mean, its concentration beyond the
        prior's multiplied by EVIDENCE_WEIGHT — the posterior's variance scaled down, as
        Chapelle & Li found to beat plain Thompson sampling (2011): less exploration of
        runbooks the record already ranks, while one without a record is still tried.
        4 did best across bench/selection_simulation.py's worlds (1, 2, 3 and 8 tried;
        docs/PERFORMANCE.md)."""
        size = belief.alpha + belief.beta
        evidence = max(size - belief.prior.strength, 0.0)
        scaled = belief.prior.strength + EVIDENCE_WEIGHT * evidence
        return cls(belief.alpha * scaled / size, belief.beta * scaled / size, belief)

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


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


def thompson_score(stats: Stats, rng: random.Random) -> float:
    return rng.betavariate(stats.alpha, stats.beta)


def rank(
    matches: Sequence[tuple[Runbook, str]], stats: Mapping[str, Stats], rng: random.Random
) -> list[Candidate]:
    scored = [
        Candidate(
            rb,
            tier,
            stats.get(rb.name, Stats()),
            thompson_score(stats.get(rb.name, Stats()), rng),
        )
        for rb, tier in matches
    ]
    # The most specific tier wins (runbooks/README.md); within a tier, the sampled fix
    # rate decides, ties going to the name.
    return sorted(scored, key=lambda c: (TIERS.index(c.tier), -c.score, c.runbook.name))


def explain(best: Candidate, others: Sequence[Candidate]) -> str:
    b = best.stats.belief
    record = (
        f"{b.fixes:.3g} verified fixes in {b.runs:.3g} runs of its current record"
        + (f", a break detected ({b.history_fixes + b.history_misses:.3g} earlier runs kept "
           "as history)" if b.broke else "")
        + f", prior from {b.prior.source}"
        if b is not None
        else "no record"
    )  # fmt: skip
    text = (
        f"Runbook {best.runbook.name} chosen ({best.tier} match; {record}; expected fix rate "
        f"{best.stats.mean:.2f}, sampled {best.score:.2f})"
    )
    if others:
        text += "; other candidates: " + ", ".join(
            f"{c.runbook.name} (expected {c.stats.mean:.2f}, sampled {c.score:.2f}"
            + (
                ", a break detected in its record"
                if c.stats.belief and c.stats.belief.broke
                else ""
            )
            + ")"
            for c in others[:4]
        )
    return text + "."


def needs_approval(runbook: Runbook) -> bool:
    return runbook.spec.risk is Risk.APPROVAL
