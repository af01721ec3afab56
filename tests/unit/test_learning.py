"""Selection's learning on hand-built histories: breaks caught per outcome and kept,
chance streaks ignored, priors earned from alike contexts and the tier's record, and
the store's outcome list (order, bound, older items, retries)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.adapters.store.runbook_records import KEEP_OUTCOMES
from opslink.change_points import MAX_RUN_LENGTHS, track
from opslink.ingest import IngestDeps
from opslink.journal import EventKind, LifecycleEvent
from opslink.learning import (
    OTHER_ENV_DEFAULT,
    SAME_ENV_DEFAULT,
    Record,
    belief,
    beliefs,
    describe,
    similarity,
)
from opslink.learning import Prior as LearningPrior
from opslink.remediation.catalog import load_catalog
from opslink.remediation.select import candidate_beliefs
from opslink.remediation.selection import Stats, eligible, rank
from tests.conftest import ROOT

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
CATALOG = load_catalog(str(ROOT / "runbooks"))


def outcomes(pattern: str, first_day: int = 20_000, every: int = 1) -> tuple[tuple[int, bool], ...]:
    """'F' a verified fix, 'm' a miss; one outcome every `every` days."""
    return tuple((first_day + i * every, c == "F") for i, c in enumerate(pattern))


def rec(pattern: str, service: str = "checkout", env: str = "production", **kw: int) -> Record:
    return Record("scale_up", service, env, outcomes(pattern, **kw))


def _no_tier(runbook: str, service: str) -> str | None:
    return None


def _alert_type(runbook: str, service: str) -> str | None:
    return "alert_type"


GOOD_20_WEEKS = "FFFFFFFFFmFFFFFFFFFFFFFFmFFFFFFFFFFFFmFF"  # 40 runs, 37 fixes


def test_a_real_break_is_caught_within_a_handful_of_outcomes_and_stays_caught() -> None:
    before = belief(rec(GOOD_20_WEEKS), LearningPrior())
    assert before.mean > 0.85 and not before.broke
    broke = belief(rec(GOOD_20_WEEKS + "mmmmm"), LearningPrior())
    assert broke.broke and broke.mean < 0.3
    assert broke.break_day == 20_000 + len(GOOD_20_WEEKS)  # the first miss of the run
    # It then runs twice in the next months: the old record does not come back.
    later = belief(rec(GOOD_20_WEEKS + "mmmmm" + "Fm"), LearningPrior())
    assert later.broke and later.mean < 0.45
    assert later.history_fixes > 30  # kept as history, not forgotten
    assert "a break was detected" in describe(later)


def test_the_same_outcomes_mean_the_same_whether_daily_or_monthly() -> None:
    pattern = GOOD_20_WEEKS + "mmmm"
    daily = belief(Record("r", "s", "e", outcomes(pattern, every=1)), LearningPrior())
    monthly = belief(Record("r", "s", "e", outcomes(pattern, every=30)), LearningPrior())
    assert daily.mean == pytest.approx(monthly.mean)
    assert daily.break_probability == pytest.approx(monthly.break_probability)


def test_a_chance_streak_of_a_good_runbook_does_not_drop_it() -> None:
    """About 90 % over 60 runs, then 3 misses in 10 (a bad fortnight by chance)."""
    history = GOOD_20_WEEKS + "FFFFFFFFFmFFFFFFFFFF"
    got = belief(rec(history + "FmFFmFFmFF"), LearningPrior())
    assert got.mean > 0.78
    assert not got.broke


def test_a_steady_new_miss_rate_is_learnt_not_ignored() -> None:
    """A perfect record, then one miss in four: the estimate follows within 40 runs, and
    the change is reported (at 95 %) within 60."""
    got = belief(rec("F" * 40 + "FFFm" * 10), LearningPrior())
    assert 0.6 < got.mean < 0.85
    assert belief(rec("F" * 40 + "FFFm" * 15), LearningPrior()).broke


def test_pooled_prior_follows_alike_contexts_in_the_same_environment() -> None:
    alike = [rec("FFFFFFFFFm" * 2, service=s) for s in ("search", "cart", "auth")]
    got = beliefs({"scale_up": "alert_type"}, alike, "billing", "production", _no_tier)
    prior = got["scale_up"].prior
    assert prior.fixes / prior.strength > 0.8
    assert prior.strength > SAME_ENV_DEFAULT  # alike contexts: worth more than the default
    assert "other services here" in prior.source


def test_the_pooled_prior_is_weak_where_contexts_have_differed() -> None:
    unlike = [
        rec("FFFFFFFFFF", service="search"),
        rec("mmmmmmmmmm", service="cart"),
        rec("FFFFFmmmmm", service="auth"),
    ]
    sim = similarity(unlike, {})
    assert sim.same_environment < 1.5


def test_the_other_environment_counts_only_as_far_as_it_has_predicted() -> None:
    staging = rec("FFFFFFFFFF", service="billing", env="staging")
    alone = beliefs({"scale_up": "alert_type"}, [staging], "billing", "production", _no_tier)
    assert alone["scale_up"].prior.strength == pytest.approx(2 + OTHER_ENV_DEFAULT)
    # Where both environments have run it, they disagreed: staging says little here.
    disagreed = [rec("FFFFFFFFFF", "search", "staging"), rec("mmmmmmmmmm", "search", "production")]
    got = beliefs(
        {"scale_up": "alert_type"}, [staging, *disagreed], "billing", "production", _no_tier
    )
    assert "other services here" in got["scale_up"].prior.source  # same env first
    agreed = [
        rec("FFFFFFFFFm", "search", "staging"),
        rec("FFFFFFFFmF", "search", "production"),
        rec("FFFFmFFFFF", "cart", "staging"),
        rec("FFFFFFmFFF", "cart", "production"),
    ]
    sim = similarity(agreed, {})
    assert sim.other_environment > OTHER_ENV_DEFAULT


def test_the_tier_prior_is_calibrated_from_the_catalogs_record() -> None:
    """Where this tier's runbooks have mostly not fixed anything, a new one in the tier
    does not start at optimistic odds (an unmarked check that exits 0 costs little)."""
    poor = [Record("check", s, "production", outcomes("mmmmmmmmFm")) for s in ("a", "b")]
    got = beliefs(
        {"check": "alert_type", "new_one": "alert_type"}, poor, "c", "production", _alert_type
    )
    assert got["new_one"].prior.fixes / got["new_one"].prior.strength < 0.3
    assert got["new_one"].prior.strength == pytest.approx(2.0)
    empty = beliefs({"new_one": "exact"}, [], "c", "production", _no_tier)
    assert (empty["new_one"].alpha, empty["new_one"].beta) == (1.0, 1.0)  # uniform


def test_a_check_that_exits_0_but_fixes_nothing_is_rarely_picked() -> None:
    matches = eligible(CATALOG, "cpu_usage", "checkout", "production")
    names = [rb.name for rb, _ in matches]
    assert {"restart_service", "scale_up"} <= set(names)
    records = [
        Record("restart_service", "checkout", "production", outcomes("m" * 12)),
        Record("restart_service", "search", "production", outcomes("m" * 20)),
        Record("scale_up", "checkout", "production", outcomes("FFFFmFFFFF")),
    ]
    got = candidate_beliefs(matches, records, "cpu_usage", "checkout", "production")
    stats = {n: Stats.of(b) for n, b in got.items()}
    rng = random.Random(7)
    picks = [rank(matches, stats, rng)[0].runbook.name for _ in range(400)]
    assert picks.count("restart_service") < 0.03 * len(picks)


def test_a_new_context_starts_from_the_runbooks_record_elsewhere() -> None:
    matches = eligible(CATALOG, "cpu_usage", "billing", "production")
    records = [
        Record("scale_up", "search", "production", outcomes("FFFFFFFFmF")),
        Record("restart_service", "search", "production", outcomes("mmFmmmmFmm")),
    ]
    got = candidate_beliefs(matches, records, "cpu_usage", "billing", "production")
    stats = {n: Stats.of(b) for n, b in got.items()}
    rng = random.Random(1)
    picks = [rank(matches, stats, rng)[0].runbook.name for _ in range(300)]
    assert picks.count("scale_up") > 0.75 * len(picks)


def test_a_tracker_fed_one_outcome_at_a_time_matches_one_built_at_once() -> None:
    pattern = GOOD_20_WEEKS + "mmmFmm"
    stepwise = track(())
    for fixed in (c == "F" for c in pattern):
        stepwise.update(fixed)
    at_once = track(outcomes(pattern))
    assert stepwise.expected_counts() == pytest.approx(at_once.expected_counts())
    assert len(stepwise.runs) <= MAX_RUN_LENGTHS  # bounded whatever the length


# --- the store --------------------------------------------------------------------


def test_the_store_keeps_outcomes_in_order_per_context(deps: IngestDeps) -> None:
    store = deps.store
    for i, fixed in enumerate((True, True, False)):
        at = NOW + timedelta(days=i)
        store.record_runbook_outcome("scale_up", "cpu_usage", "search", "production", fixed, at)
    store.record_runbook_outcome("scale_up", "cpu_usage", "billing", "staging", False, NOW)
    store.record_runbook_outcome("scale_up", "memory_usage", "search", "production", True, NOW)
    records = {
        (r.service, r.environment): r for r in store.runbook_records(["scale_up"], "cpu_usage")
    }
    assert set(records) == {("search", "production"), ("billing", "staging")}
    day = int(NOW.timestamp() // 86_400)
    assert records[("search", "production")].outcomes == (
        (day, True), (day + 1, True), (day + 2, False),
    )  # fmt: skip
    assert store.runbook_stats(["scale_up"], "cpu_usage", "search", "production") == {
        "scale_up": (2, 1)
    }


def test_the_outcome_list_is_bounded_and_its_older_half_becomes_history(
    deps: IngestDeps,
) -> None:
    store = deps.store
    total = KEEP_OUTCOMES + 7
    for i in range(total):
        store.record_runbook_outcome(
            "scale_up", "cpu_usage", "search", "production", i % 4 != 0, NOW
        )
    (record,) = store.runbook_records(["scale_up"], "cpu_usage")
    kept = len(record.outcomes)
    assert kept <= KEEP_OUTCOMES
    assert kept + record.compacted_fixes + record.compacted_misses == total
    assert record.compacted_misses == sum(1 for i in range(total - kept) if i % 4 == 0)
    assert store.runbook_stats(["scale_up"], "cpu_usage", "search", "production")["scale_up"] == (
        total - (total + 3) // 4,
        (total + 3) // 4,
    )


def test_a_retried_outcome_counts_once(deps: IngestDeps) -> None:
    store = deps.store
    event = LifecycleEvent(
        kind=EventKind.FIX_VERIFIED, alert_id="A-1", at=NOW, service="search", alert_type="cpu_usage",
        runbook="scale_up", key="job-1",
    )  # fmt: skip
    for _ in range(2):
        store.record_runbook_outcome(
            "scale_up", "cpu_usage", "search", "production", True, NOW, event=event
        )
    (record,) = store.runbook_records(["scale_up"], "cpu_usage")
    assert len(record.outcomes) == 1


def test_records_from_before_the_outcome_list_are_read_as_outcomes(deps: IngestDeps) -> None:
    """An item of the weekly-bucket format (f<week>/m<week>) keeps counting, older than
    anything appended after the upgrade."""
    from opslink.adapters.store import keys
    from opslink.adapters.store.items import to_item

    store = deps.store
    item = keys.runbook_stats("scale_up", "cpu_usage", "search", "production") | {
        "fixes": 9, "misses": 3, "runs": 12, "last_run_at": NOW.isoformat(),
        "f2917": 5, "m2917": 1, "f2918": 4, "m2918": 2,
    }  # fmt: skip
    store.client.put_item(TableName=store.table, Item=to_item(item))
    store.record_runbook_outcome("scale_up", "cpu_usage", "search", "production", False, NOW)
    (record,) = store.runbook_records(["scale_up"], "cpu_usage")
    assert len(record.outcomes) == 13
    assert sum(f for _, f in record.outcomes[:12]) == 9
    assert record.outcomes[0][0] < record.outcomes[6][0] < record.outcomes[-1][0]
    assert record.outcomes[-1][1] is False


# --- opslink runbooks stats ---------------------------------------------------------


def _stats_args(**kw: str) -> Any:
    import argparse

    base = {
        "alert_type": "cpu_usage", "service": "checkout", "environment": "production",
        "catalog": ROOT / "runbooks", "output": "json", "query": None, "color": "off",
    }  # fmt: skip
    return argparse.Namespace(**(base | kw))


def test_runbooks_stats_explains_the_leader_and_the_break(deps: IngestDeps) -> None:
    import io
    import json
    from types import SimpleNamespace

    from opslink_cli.runbook_stats import runbooks_stats

    store = deps.store
    for i, c in enumerate(GOOD_20_WEEKS + "mmmmmm"):
        at = NOW - timedelta(days=60 - i)
        store.record_runbook_outcome(
            "scale_up", "cpu_usage", "checkout", "production", c == "F", at
        )
    for i in range(6):
        store.record_runbook_outcome(
            "restart_service", "cpu_usage", "checkout", "production", i != 2, NOW
        )
    out = io.StringIO()
    assert runbooks_stats(SimpleNamespace(alerts=store), _stats_args(), out) == 0
    doc = json.loads(out.getvalue())
    rows = {r["runbook"]: r for r in doc["candidates"]}
    assert doc["candidates"][0]["runbook"] == "restart_service"
    broke_on = (NOW - timedelta(days=60 - len(GOOD_20_WEEKS))).date().isoformat()
    assert rows["scale_up"]["break"].startswith(f"since {broke_on}")
    assert rows["scale_up"]["history"] > 30 and rows["scale_up"]["expected"] < 0.3
    assert doc["why"].startswith("restart_service leads")
    assert "scale_up" in doc["why"] and "(broke)" in doc["why"]
    table = io.StringIO()
    runbooks_stats(SimpleNamespace(alerts=store), _stats_args(output="table"), table)
    assert "restart_service leads" in table.getvalue().splitlines()[-1]


def test_runbooks_stats_refuses_what_it_cannot_answer(deps: IngestDeps) -> None:
    from types import SimpleNamespace

    from opslink_cli.connection import OperatorError
    from opslink_cli.runbook_stats import runbooks_stats

    with pytest.raises(OperatorError, match="reads the record on a stack"):
        runbooks_stats(None, _stats_args(), io_sink())
    with pytest.raises(OperatorError, match=r"no runbook .* matches alert type nope"):
        runbooks_stats(
            SimpleNamespace(alerts=deps.store), _stats_args(alert_type="nope"), io_sink()
        )


def io_sink() -> Any:
    import io

    return io.StringIO()


def test_a_runbook_without_a_record_is_still_tried_beside_a_well_known_one() -> None:
    """The sharpened draw (EVIDENCE_WEIGHT) explores less among runbooks with a record,
    never to the point of ignoring one that has none."""
    matches = eligible(CATALOG, "cpu_usage", "checkout", "production")
    known = Record("restart_service", "checkout", "production", outcomes("FFFm" * 10))
    got = candidate_beliefs(matches, [known], "cpu_usage", "checkout", "production")
    stats = {n: Stats.of(b) for n, b in got.items()}
    rng = random.Random(3)
    picks = [rank(matches, stats, rng)[0].runbook.name for _ in range(400)]
    assert 0.05 * len(picks) < picks.count("scale_up") < 0.6 * len(picks)


def test_compaction_folds_the_older_format_into_history(deps: IngestDeps) -> None:
    """Weekly buckets from before the outcome list are folded into the compacted counts
    (and removed) at the first compaction: the item stays bounded."""
    from opslink.adapters.store import keys
    from opslink.adapters.store.items import from_item, to_item

    store = deps.store
    key = keys.runbook_stats("scale_up", "cpu_usage", "search", "production")
    legacy = {"fixes": 9, "misses": 3, "runs": 12, "last_run_at": NOW.isoformat(),
              "f2917": 5, "m2917": 1, "f2918": 4, "m2918": 2}  # fmt: skip
    store.client.put_item(TableName=store.table, Item=to_item(key | legacy))
    for _ in range(KEEP_OUTCOMES + 1):
        store.record_runbook_outcome("scale_up", "cpu_usage", "search", "production", True, NOW)
    item = from_item(store.client.get_item(TableName=store.table, Key=to_item(key))["Item"])
    assert not any(name in item for name in ("f2917", "m2917", "f2918", "m2918"))
    (record,) = store.runbook_records(["scale_up"], "cpu_usage")
    total = len(record.outcomes) + record.compacted_fixes + record.compacted_misses
    assert total == 12 + KEEP_OUTCOMES + 1
    assert record.compacted_misses == 3
    assert len(record.outcomes) <= KEEP_OUTCOMES


# --- properties ----------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=120))
def test_the_tracker_is_a_distribution_over_consistent_segments(seq: list[bool]) -> None:
    t = track(outcomes("".join("F" if f else "m" for f in seq)))
    runs = t.runs
    assert sum(s.weight for s in runs) == pytest.approx(1.0)
    assert 1 <= len(runs) <= MAX_RUN_LENGTHS
    for s in runs:  # each candidate segment counts exactly the outcomes since its start
        assert s.fixes == sum(seq[s.start :]) and s.fixes + s.misses == len(seq) - s.start
    assert 0.0 <= t.break_probability() <= 1.0 + 1e-9
    assert t.fixes == sum(seq)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=80),
    st.floats(0.1, 20),
    st.floats(0.1, 20),
)
def test_a_belief_is_a_proper_beta_between_prior_and_record(
    seq: list[bool], a: float, b: float
) -> None:
    got = belief(rec("".join("F" if f else "m" for f in seq)), LearningPrior(a, b))
    assert got.alpha > 0 and got.beta > 0 and 0.0 < got.mean < 1.0
    # Between the prior and what some recent stretch of the record says, never outside.
    rates = [a / (a + b)] + [sum(seq[i:]) / len(seq[i:]) for i in range(len(seq))]
    assert min(rates) - 1e-9 <= got.mean <= max(rates) + 1e-9
    assert got.fixes + got.misses + got.history_fixes + got.history_misses == pytest.approx(
        len(seq)
    )
