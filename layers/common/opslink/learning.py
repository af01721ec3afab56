"""What selection believes about a runbook's fix rate in one context. Pure; no I/O.

**Change detection per outcome** (change_points.py). A runbook's verified outcomes in a
context (alert type, service, environment) are a sequence whose fix rate is constant
between change points nobody announces; the tracker holds the posterior over where the
current segment started. It counts outcomes, not weeks, so it behaves the same whether a
runbook runs daily or monthly; a run of misses that the old rate cannot explain moves
the weight to a new segment within a handful of outcomes, a chance streak of a good
runbook moves little of it, and nothing is restored by time passing: the belief changes
only with outcomes (the old segment stays in the record as history).

**Earned priors.** A segment starts from a prior built from the catalog's own record:
- the runbook's record for the same alert type in the other services of the same
  environment, weighed by how alike contexts have been (empirical Bayes: the
  between-context variance of the candidates' fix rates sets how many outcomes the pooled
  rate is worth);
- its record in the other environment only when there is none in this one, and weighed
  by how well one environment has predicted the other so far (barely, until it has);
- a tier prior: the fix rate of the candidates' records in the same match tier (exact,
  alert type, service, generic), two outcomes' worth, instead of fixed odds.

bench/selection_simulation.py measures the result against textbook Thompson sampling in
several worlds and arrival rates; docs/ARCHITECTURE.md#learning explains the choices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from opslink.change_points import ChangeTracker, track

BREAK_PROBABILITY = 0.95  # "a break was detected" when a change is this probable
TIER_PRIOR_OUTCOMES = 2.0  # the tier prior is worth this many outcomes
SAME_ENV_DEFAULT, OTHER_ENV_DEFAULT = 2.0, 0.5  # pooled strength before it can be estimated
MAX_POOL_OUTCOMES = 30.0


@dataclass(frozen=True)
class Record:
    """One runbook's verified outcomes in one context, oldest first, as stored."""

    runbook: str
    service: str
    environment: str
    outcomes: tuple[tuple[int, bool], ...] = ()  # (day, fixed)
    compacted_fixes: int = 0  # outcomes older than the kept ones
    compacted_misses: int = 0


@dataclass(frozen=True)
class Prior:
    fixes: float = 1.0
    misses: float = 1.0
    source: str = "uniform (no record to learn from)"

    @property
    def strength(self) -> float:
        return self.fixes + self.misses


@dataclass(frozen=True)
class Belief:
    """The posterior of a runbook's current fix rate in a context, with its reasons.

    `fixes`/`misses` are the expected outcomes of the current segment over the possible
    change points, `alpha`/`beta` those plus the prior; `history_*` the outcomes before
    the segment (and compacted ones)."""

    alpha: float = 1.0
    beta: float = 1.0
    fixes: float = 0.0
    misses: float = 0.0
    prior: Prior = field(default_factory=Prior)
    break_probability: float = 0.0
    break_day: int | None = None  # the first day of the current segment, if it broke
    history_fixes: float = 0.0
    history_misses: float = 0.0

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def runs(self) -> float:
        return self.fixes + self.misses

    @property
    def broke(self) -> bool:
        return self.break_probability >= BREAK_PROBABILITY


def belief(record: Record | None, prior: Prior, tracker: ChangeTracker | None = None) -> Belief:
    """The belief from `record`'s segments (their weights from `tracker`, or computed),
    `prior` being each segment's starting point."""
    if record is None or not record.outcomes:
        compacted = (record.compacted_fixes, record.compacted_misses) if record else (0, 0)
        return Belief(
            prior.fixes, prior.misses, prior=prior,
            history_fixes=compacted[0], history_misses=compacted[1],
        )  # fmt: skip
    t = tracker if tracker is not None else track(record.outcomes)
    # After a break the context's own change is the news: the prior keeps its rate but
    # weighs no more than the tier prior, so a few outcomes settle the new segment. The
    # posterior is the Beta of the current segment's expected counts, the prior weighed
    # by how probable each start is.
    fresh = min(1.0, TIER_PRIOR_OUTCOMES / prior.strength)
    weight = t.prior_weight(fresh)
    fixes, misses = t.expected_counts()
    total_f, total_m = t.fixes, t.n - t.fixes
    p_break = t.break_probability()
    start = t.likely_start()
    return Belief(
        alpha=max(prior.fixes * weight + fixes, 1e-3),
        beta=max(prior.misses * weight + misses, 1e-3),
        fixes=fixes,
        misses=misses,
        prior=prior,
        break_probability=p_break,
        break_day=record.outcomes[start][0] if p_break >= BREAK_PROBABILITY and start else None,
        history_fixes=total_f - fixes + record.compacted_fixes,
        history_misses=total_m - misses + record.compacted_misses,
    )


# --- earned priors -----------------------------------------------------------------


def _current(record: Record, trackers: Mapping[int, ChangeTracker]) -> tuple[float, float]:
    """The expected (fixes, misses) of the record's current segment."""
    t = trackers.get(id(record)) or track(record.outcomes)
    return t.expected_counts()


def _excess_variance(groups: Iterable[Sequence[tuple[float, float]]]) -> float | None:
    """Between-member variance of fix rates within groups, less the binomial noise
    (method of moments); None without two members of one group with 3+ outcomes."""
    excess, count = 0.0, 0
    for group in groups:
        members = [(f, f + m) for f, m in group if f + m >= 3]
        if len(members) < 2:
            continue
        total_f, total_n = sum(f for f, _ in members), sum(n for _, n in members)
        mu = total_f / total_n
        for f, n in members:
            excess += (f / n - mu) ** 2 - mu * (1 - mu) / n
            count += 1
    if count == 0:
        return None
    return max(excess / count, 1e-4)


def _strength(tau2: float | None, default: float) -> float:
    """Outcomes a pooled rate is worth when contexts differ by variance tau2 (Beta with
    that variance around a rate near 1/2)."""
    if tau2 is None:
        return default
    return min(max(0.25 / tau2 - 1, 0.5), MAX_POOL_OUTCOMES)


@dataclass(frozen=True)
class Similarity:
    """How many outcomes another context's rate is worth here, estimated from the
    candidates' records of this alert type."""

    same_environment: float = SAME_ENV_DEFAULT
    other_environment: float = OTHER_ENV_DEFAULT


def similarity(records: Sequence[Record], trackers: Mapping[int, ChangeTracker]) -> Similarity:
    current = {id(r): _current(r, trackers) for r in records}
    same: dict[tuple[str, str], list[tuple[float, float]]] = {}
    pairs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in records:
        same.setdefault((r.runbook, r.environment), []).append(current[id(r)])
        pairs.setdefault((r.runbook, r.service), []).append(current[id(r)])
    tau_same = _excess_variance(same.values())
    # A pair (one service, two environments) is a group of two: its excess variance is
    # half the squared difference's, so the same estimator applies.
    tau_cross = _excess_variance(g for g in pairs.values() if len(g) == 2)
    return Similarity(
        _strength(tau_same, SAME_ENV_DEFAULT), _strength(tau_cross, OTHER_ENV_DEFAULT)
    )


def tier_priors(
    records: Sequence[Record],
    tier_of: Callable[[str, str], str | None],
    trackers: Mapping[int, ChangeTracker],
) -> dict[str, Prior]:
    """Per match tier, the fix rate of the records in that tier (current segments),
    TIER_PRIOR_OUTCOMES outcomes' worth; uniform where a tier has no record."""
    totals: dict[str, list[float]] = {}
    for r in records:
        tier = tier_of(r.runbook, r.service)
        if tier is None:
            continue
        f, m = _current(r, trackers)
        t = totals.setdefault(tier, [0.0, 0.0])
        t[0] += f
        t[1] += m
    out = {}
    for tier, (f, m) in totals.items():
        rate = (f + 1) / (f + m + 2)
        out[tier] = Prior(
            TIER_PRIOR_OUTCOMES * rate,
            TIER_PRIOR_OUTCOMES * (1 - rate),
            f"{tier} tier: {rate:.2f} over {f + m:.0f} outcomes",
        )
    return out


def beliefs(
    candidates: Mapping[str, str],
    records: Sequence[Record],
    service: str,
    environment: str,
    tier_of: Callable[[str, str], str | None],
    trackers: Mapping[int, ChangeTracker] | None = None,
) -> dict[str, Belief]:
    """The belief in each candidate (name → its tier here) for (service, environment),
    from the candidates' records of this alert type. `trackers` (by id of a record) lets
    a caller that keeps trackers between calls skip recomputing them."""
    known = dict(trackers or {})
    for r in records:
        if id(r) not in known:
            known[id(r)] = track(r.outcomes)
    sim = similarity(records, known)
    tiers = tier_priors(records, tier_of, known)
    by_runbook: dict[str, list[Record]] = {}
    for r in records:
        by_runbook.setdefault(r.runbook, []).append(r)
    out: dict[str, Belief] = {}
    for name, tier in candidates.items():
        mine = by_runbook.get(name, [])
        here = next(
            (r for r in mine if r.service == service and r.environment == environment), None
        )
        base = tiers.get(tier, Prior())
        same = [r for r in mine if r is not here and r.environment == environment]
        other = [r for r in mine if r.environment != environment]
        prior = _pooled(base, same, sim.same_environment, "other services here", known)
        if prior is base:
            prior = _pooled(base, other, sim.other_environment, "other environments", known)
        out[name] = belief(here, prior, known.get(id(here)) if here else None)
    return out


def _pooled(
    base: Prior,
    others: Sequence[Record],
    worth: float,
    where: str,
    trackers: Mapping[int, ChangeTracker],
) -> Prior:
    """`base` plus the rate of `others` (current segments), worth at most `worth`
    outcomes and never more than they hold."""
    f = m = 0.0
    for r in others:
        rf, rm = _current(r, trackers)
        f, m = f + rf, m + rm
    if f + m < 1:
        return base
    rate = (f + 1) / (f + m + 2)
    weight = min(worth, f + m)
    return Prior(
        base.fixes + weight * rate,
        base.misses + weight * (1 - rate),
        f"{base.source}; {where}: {rate:.2f} over {f + m:.0f} outcomes, worth {weight:.1f}",
    )


def describe(b: Belief, day_text: Callable[[int], str] = str) -> str:
    """One line a human reads: the estimate and where it comes from."""
    text = (
        f"{b.mean:.2f} expected fix rate: {b.fixes:.3g} fixes and {b.misses:.3g} misses "
        f"in the current record, prior {b.prior.fixes:.2g}:{b.prior.misses:.2g} "
        f"({b.prior.source})"
    )
    if b.broke and b.break_day is not None:
        text += (
            f"; a break was detected ({100 * b.break_probability:.0f} % probable): the "
            f"current record starts {day_text(b.break_day)}, {b.history_fixes:.3g} fixes and "
            f"{b.history_misses:.3g} misses before it are kept as history"
        )
    elif b.history_fixes + b.history_misses >= 0.5:
        text += f"; {b.history_fixes + b.history_misses:.3g} older outcomes weigh less"
    return text
