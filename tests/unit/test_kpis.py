"""KPIs from the lifecycle journal, against a hand-computed day: duplicate deliveries,
retried tasks, a re-fire that reopens a ticket, alerts resolved by automation, by the
alarm and by a human. Then the counters under concurrent writers, and the formulas."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.journal import BUCKETS, EventKind, LifecycleEvent
from opslink.kpis import compute, percentile, runbook_rates, top_n
from opslink.models import TicketStatus
from opslink.quality import Thresholds, assess
from opslink.remediation import run_task
from opslink.remediation_models import JobState
from opslink.track_service import apply_ticket
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import FakePlatform, remediate_deps, tracking_on

T0 = samples.T0
SELECTION = {"runbook": {"name": "restart_service", "tier": "alert_type", "timeout_seconds": 300}}


def _fire(deps: IngestDeps, name: str, minutes: float, state: str = "ALARM") -> Any:
    event = samples.sns_event(
        samples.metric_alarm(
            name,
            T0 + timedelta(minutes=minutes),
            state=state,
            old="OK" if state == "ALARM" else "ALARM",
            dimensions={"InstanceId": "i-0123456789abcdef0"},
        )
    )
    first = ingest_event(event, deps, IngestPolicy())
    ingest_event(event, deps, IngestPolicy())  # a duplicate delivery of the same change
    return first[0]


def _payload(deps: IngestDeps, result: Any) -> dict[str, Any]:
    return dict(deps.workflow.started[result.execution_name])  # type: ignore[attr-defined]


@pytest.fixture(params=["by the fold", "in each transaction"])
def day(deps: IngestDeps, clock: Clock, request: pytest.FixtureRequest) -> dict[str, Any]:
    """One day on checkout: 5 alerts (one a re-fire that reopens its ticket), 2 automated
    (one verified fix, one failed job and a hand-over), 1 closed by a human, 1 back to OK.

    Counted by the fold (each event recorded at its time: the store's clock is the day's),
    or in each transaction (every event recorded long after its time, as a redelivered
    alarm's is); the figures must not differ."""
    folded = request.param == "by the fold"
    store = deps.store
    if folded:
        store.clock = clock  # type: ignore[attr-defined]
    platform = FakePlatform(clock)
    rdeps = remediate_deps(deps, platform, clock)
    names = [f"prod-checkout-api-cpu-high-{i}" for i in range(1, 5)]
    opened = {n: _fire(deps, n, 0) for n in names}
    a1, a2, a3, _ = (_payload(deps, opened[n]) for n in names)

    # A1: launched 2 min after the alarm, verified fix at 4 min (every task retried once).
    clock.now = T0 + timedelta(minutes=2)
    job1 = run_task({"action": "launch", "alert": a1, "selection": SELECTION}, rdeps)
    run_task({"action": "launch", "alert": a1, "selection": SELECTION}, rdeps)
    clock.now = T0 + timedelta(minutes=4)
    for _ in range(2):
        run_task({"action": "resolve", "alert": a1, "job": job1["job"]}, rdeps)

    # A2: launched at 6 min, the job fails, handed over (escalate retried).
    clock.now = T0 + timedelta(minutes=6)
    job2 = run_task({"action": "launch", "alert": a2, "selection": SELECTION}, rdeps)
    platform.state = JobState.FAILED
    for _ in range(2):
        run_task(
            {
                "action": "escalate",
                "alert": a2,
                "job": job2["job"],
                "selection": SELECTION,
                "escalation": {"kind": "failed", "detail": "exit 1"},
            },
            rdeps,
        )

    # A3: closed by a human on its ticket at 30 min.
    clock.now = T0 + timedelta(minutes=30)
    track = tracking_on(deps, clock=clock)  # type: ignore[arg-type]
    ticket = deps.tickets.set_status(a3["ticket_id"], TicketStatus.CLOSED, by="erin")  # type: ignore[call-arg]
    apply_ticket(track, ticket, "sweep")
    apply_ticket(track, ticket, "sweep")

    # A4: its alarm returns to OK at 10 min (delivered twice).
    _fire(deps, names[3], 10, state="OK")

    # A1's alarm fires again at 20 min: a new alert, its resolved ticket reopened.
    clock.now = T0 + timedelta(minutes=20)
    again = _fire(deps, names[0], 20)
    rows = store.journal.kpi_counters(T0)  # type: ignore[attr-defined]
    if folded:
        client = store.client  # type: ignore[attr-defined]
        kpi_items = [i for i in client.scan(TableName="AlertsTable")["Items"]
                     if i["pk"]["S"].startswith("KPI#")]  # fmt: skip
        assert kpi_items == []  # nothing counted in the transactions: all read unfolded
        clock.now = T0 + timedelta(minutes=55)  # those after 10 min are too recent to fold
        early = store.journal.fold_kpis()  # type: ignore[attr-defined]
        assert 0 < early.events < 30 and store.journal.kpi_counters(T0) == rows  # type: ignore[attr-defined]
        clock.now = T0 + timedelta(hours=2)
        assert store.journal.fold_kpis().events > 0  # type: ignore[attr-defined]
        assert store.journal.fold_kpis().events == 0  # type: ignore[attr-defined]  # once
        assert store.journal.kpi_counters(T0) == rows  # type: ignore[attr-defined]  # folded: the same
    return {"again": again, "rows": rows}


def test_a_day_of_kpis_matches_the_hand_count(day: dict[str, Any]) -> None:
    assert day["again"].outcome.value == "created"
    k = compute(day["rows"]["all"])
    assert (k.alerts, k.automated, k.tickets, k.runs, k.jobs) == (5, 2, 4, 2, 2)
    assert k.automation_rate == 40.0  # 2 of 5 alerts had a job launched
    assert k.ticket_creation_rate == 80.0  # the re-fire reopened a ticket: 4 created
    assert k.success_rate_exit0 == 50.0 and k.success_rate_verified == 50.0
    assert k.escalation_rate == 20.0
    assert k.mtta_minutes == 4.0  # (2 + 6) / 2
    # resolved: automation at 4 min, the alarm at 10, a human at 30
    assert k.resolved_by == {"alarm": 1, "automation": 1, "human": 1}
    assert k.mttr_minutes == round((4 + 10 + 30) / 3, 2)


def test_scopes_and_runbook_rates(day: dict[str, Any]) -> None:
    rows = day["rows"]
    assert compute(rows["service#checkout"]).alerts == 5
    assert compute(rows["type#cpu_usage"]).automated == 2
    [restart] = runbook_rates(rows)
    assert (restart.runbook, restart.runs, restart.jobs, restart.verified) == (
        "restart_service",
        2,
        2,
        1,
    )
    assert restart.verified_rate == 50.0


def test_counting_writes_only_the_cohort_days_scope_rows(
    day: dict[str, Any], deps: IngestDeps
) -> None:
    """Every counter write is one of the day's scope rows (all, service, type, runbook):
    no other partition is paid for on each event (the hour rows nothing read are gone)."""
    client = deps.store.client  # type: ignore[attr-defined]
    items = client.scan(TableName="AlertsTable")["Items"]
    kpi = {(i["pk"]["S"], i["sk"]["S"]) for i in items if i["pk"]["S"].startswith("KPI#")}
    assert {pk for pk, _ in kpi} == {f"KPI#{T0.strftime('%Y-%m-%d')}"}
    assert {sk.split("#")[0] for _, sk in kpi} <= {"all", "service", "type", "runbook", "where"}


def test_the_journal_holds_each_step_once(day: dict[str, Any], deps: IngestDeps) -> None:
    events = deps.store.journal.events([T0], kinds=None)  # type: ignore[attr-defined]
    kinds = [e["kind"] for e in events]
    assert kinds.count("alert_opened") == 5
    assert kinds.count("fix_verified") == 1 and kinds.count("job_failed") == 1
    assert kinds.count("ticket_escalated") == 1
    human = [e for e in events if e["kind"] == "alert_resolved" and e["by"] == "erin"]
    assert len(human) == 1


def test_quality_findings_name_the_problem(day: dict[str, Any]) -> None:
    findings = assess(day["rows"], T0.date(), Thresholds(min_runs=2, runbook_verified_rate=60))
    titles = [f.title for f in findings]
    assert titles[0] == "Automation rate below target"  # high first
    assert "Automation success rate below target" in titles
    rb = next(f for f in findings if "restart_service" in f.title)
    assert "50 % over 2 runs" in rb.evidence and rb.team == "SRE team"
    assert rb.deadline == T0.date() + timedelta(weeks=1)


def test_counters_stay_exact_under_concurrent_writers(ddb: Any) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # DynamoDB applies each transaction atomically
    store = DynamoAlertStore("AlertsTable", ddb)

    def event(i: int) -> LifecycleEvent:
        return LifecycleEvent(
            alert_id=f"A-{i}",
            kind=EventKind.ALERT_OPENED,
            at=T0,
            service=f"svc{i % 3}",
            alert_type="cpu_usage",
            cohort=T0,
        )

    def writer(offset: int) -> None:
        for i in range(offset, offset + 20):
            store.journal.record_event(event(i))
            store.journal.record_event(event(i))  # a retry: not counted again

    threads = [threading.Thread(target=writer, args=(n * 10,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = store.journal.kpi_counters(T0)
    assert rows["all"]["alerts"] == 70  # ids 0..69, each written up to 4 times
    assert sum(rows[f"service#svc{i}"]["alerts"] for i in range(3)) == 70


def test_percentiles_are_within_two_percent_at_any_duration_and_merge_across_days() -> None:
    """Hand-counted: ten latencies over three days, from 40 s to 20 days, counted per day
    as the journal does; the merged days give the exact nearest-rank quantiles ±2 %."""
    from opslink.journal import counter_updates
    from opslink.kpis import total

    days = {
        "mon": [40, 610, 3 * 3600],  # 40 s, 10 min 10 s, 3 h
        "tue": [26 * 3600, 2 * 86400, 45],  # past the old 24 h bucket
        "wed": [20 * 86400, 7 * 86400, 90, 5 * 3600],
    }
    rows = []
    for latencies in days.values():
        row: dict[str, int] = {}
        for s in latencies:
            ev = LifecycleEvent("A-1", EventKind.ALERT_RESOLVED, T0, latency_seconds=s)
            for k, v in counter_updates(ev).items():
                row[k] = row.get(k, 0) + v
        rows.append(row)
    merged = total(rows)
    every = sorted(s for ls in days.values() for s in ls)
    assert every == [40, 45, 90, 610, 10800, 18000, 93600, 172800, 604800, 1728000]
    for q, exact in ((0.5, 10800), (0.9, 604800), (1.0, 1728000), (0.1, 40)):
        got = percentile(merged, "ttr", q)
        assert got is not None and abs(got - exact) <= 0.02 * exact, (q, got, exact)
    k = compute(merged)
    assert k.mttr_minutes is not None and k.ttr_p90_minutes is not None
    assert k.ttr_p90_minutes >= k.ttr_p50_minutes  # type: ignore[operator]
    assert k.ttr_p90_minutes == pytest.approx(604800 / 60, rel=0.02)  # 7 days, not capped
    assert percentile({}, "tta", 0.5) is None
    # Counters written before the sketch (fixed buckets) are still read.
    assert percentile({"tta_b0": 2, "tta_b2": 2}, "tta", 1.0) == 90.0
    assert len(BUCKETS) == 11


def test_top_n_keeps_cardinality_bounded() -> None:
    rows = {f"service#s{i}": {"alerts": i} for i in range(1, 16)} | {"all": {"alerts": 120}}
    top = top_n(rows, "service#", 3, by="alerts")
    assert list(top) == ["s15", "s14", "s13", "other"]
    assert top["other"]["alerts"] == sum(range(1, 13))


def test_a_member_accounts_alarms_are_sliced_by_account_and_region(deps: IngestDeps) -> None:
    """Alarms of a member account count in a row of their account and region as well;
    the stack's own account is what remains (a single-account stack writes no such row)."""
    from opslink.kpis import by_place

    deps.store.home_account = "123456789012"  # type: ignore[attr-defined]
    own = samples.metric_alarm("prod-checkout-api-cpu-high", T0)
    theirs = samples.metric_alarm("prod-shipping-api-cpu-high", T0 + timedelta(minutes=1))
    theirs |= {"AWSAccountId": "210987654321", "Region": "US West (Oregon)",
               "AlarmArn": "arn:aws:cloudwatch:us-west-2:210987654321:alarm:prod-shipping-api-cpu-high"}  # fmt: skip
    for message in (own, theirs):
        ingest_event(samples.sns_event(message), deps, IngestPolicy())
    rows = deps.store.journal.kpi_counters(T0)
    assert sorted(s for s in rows if s.startswith("where#")) == ["where#210987654321#us-west-2"]
    places = by_place(rows)
    assert [(p.account, p.region, p.kpis.alerts) for p in places] == [
        ("", "", 1), ("210987654321", "us-west-2", 1)]  # fmt: skip
    assert places[0].kpis.ticket_creation_rate == places[1].kpis.ticket_creation_rate == 100.0
    deps.store.home_account = ""  # type: ignore[attr-defined]  # a stack not told its account
    again = samples.metric_alarm("prod-shipping-api-cpu-high", T0 + timedelta(hours=2))
    again |= {k: theirs[k] for k in ("AWSAccountId", "Region", "AlarmArn")}
    again["AlarmName"] = "prod-shipping-api-latency"
    again["AlarmArn"] = again["AlarmArn"].replace("cpu-high", "latency")
    ingest_event(samples.sns_event(again), deps, IngestPolicy())
    after = deps.store.journal.kpi_counters(T0)
    assert after["all"]["alerts"] == 3 and after["where#210987654321#us-west-2"]["alerts"] == 1
    assert by_place({"all": {"alerts": 3}}) == []  # no member account: no slicing
