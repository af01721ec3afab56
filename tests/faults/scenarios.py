"""Fault scenarios shared by the fault-injection test tier (scaled down) and
`bench/faults.py` (full size): ingest with the real DynamoDB adapter (moto), a real
Zendesk-shaped ticket API on 127.0.0.1 that injects faults, Lambda's delivery behaviour
(a failed delivery is retried twice, then parked), concurrent duplicate deliveries, and
the scheduled reconciler.

Faults injected on the ticket API, with a seeded random generator:
- 5xx before any work;
- 429 with `Retry-After: 1` before any work;
- a timeout before the work (the request hangs past the client's timeout, nothing done);
- a timeout after the work (the ticket is created or the comment added, the answer
  comes too late): the case that creates orphans and duplicates when a retry repeats it.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.faults import FaultRecords
from opslink.adapters.store.reliability import ReliabilityRecords
from opslink.adapters.tickets.common import ticket_http
from opslink.adapters.tickets.github import GitHubTickets
from opslink.adapters.tickets.jira import JiraTickets
from opslink.adapters.tickets.redmine import RedmineTickets
from opslink.adapters.tickets.servicenow import ServiceNowTickets
from opslink.adapters.tickets.zendesk import ZendeskTickets
from opslink.incident_tickets import said_at
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.reconciler import reconcile
from opslink.remediation_input import RemediationInput
from opslink.service_map import load_service_map
from opslink_cli import samples
from opslink_cli.emulator.template import load_template
from tests.conftest import REDMINE, ROOT
from tests.faults.redmine_proxy import RedmineUpstream
from tests.integration.contract_servers import json_response, serve
from tests.integration.ticket_servers import GitHubApi, JiraApi, ServiceNowApi, ZendeskApi
from tests.unit.conftest import RecordingWorkflow, StaticTags
from tests.unit.fakes import remediation_on

# The ticket client's read timeout in these scenarios: generous, because a loaded 2-core
# machine answers a healthy call slowly (0.4 s was met by real load, not only by the
# injected faults, and a delivery could run out of its three quick attempts); an injected
# timeout sleeps twice as long.
CLIENT_TIMEOUT = 1.5


class FaultInjection:
    """A contract server that fails a share of calls, in the four ways real APIs fail."""

    def __init__(self, rate: float = 0.0, seed: int = 7) -> None:
        super().__init__()  # type: ignore[call-arg]
        self.rate = rate
        self.down = False
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.lock_rng = threading.Lock()
        self.state_lock = threading.Lock()

    def _fault(self) -> str | None:
        with self.lock_rng:
            if self.down:
                return "down"
            if self.rng.random() >= self.rate:
                return None
            return self.rng.choice(("5xx", "429", "timeout_before", "timeout_after"))

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        fault = self._fault()
        if fault:
            self.injected[fault] += 1
        if fault in ("down", "5xx"):
            return json_response(503, {"error": "Service Unavailable"})
        if fault == "429":
            return json_response(429, {"error": "TooManyRequests"}, {"Retry-After": "1"})
        if fault == "timeout_before":
            time.sleep(CLIENT_TIMEOUT * 2)
            return json_response(503, {"error": "too late"})
        with self.state_lock:  # serialise the state changes, as one account would
            answer = super().handle(method, path, headers, body)  # type: ignore[misc]
        if fault == "timeout_after":
            time.sleep(CLIENT_TIMEOUT * 2)
        return answer


class FaultyZendesk(FaultInjection, ZendeskApi):
    """Zendesk failing a share of calls."""


class FaultyJira(FaultInjection, JiraApi):
    """Jira Cloud failing a share of calls (its status change and its note are two calls)."""


class FaultyServiceNow(FaultInjection, ServiceNowApi):
    """ServiceNow failing a share of calls (state and work note: one PATCH)."""


class FaultyGitHub(FaultInjection, GitHubApi):
    """GitHub failing a share of calls (state, then the note: two calls)."""


class FaultyRedmine(FaultInjection, RedmineUpstream):
    """The real Redmine behind a proxy failing a share of calls (its state change and
    its note: one PUT)."""


FAULTY = {"jira": FaultyJira, "zendesk": FaultyZendesk, "servicenow": FaultyServiceNow,
          "github": FaultyGitHub, "redmine": FaultyRedmine}  # fmt: skip


def faulty_tickets(system: str, url: str) -> Any:
    """The system's adapter on the faulty server: short timeouts, two retries."""

    def http(name: str, auth: Any = None, headers: dict[str, str] | None = None) -> Any:
        return ticket_http(name, url, headers or {}, auth=auth, timeout=(0.5, CLIENT_TIMEOUT),
                           retries=2, backoff=0.01)  # fmt: skip

    if system == "jira":
        client = http("Jira", ("ops@example.com", "jira-token"))
        return JiraTickets(url, "OPS", "ops@example.com", "jira-token", client=client)
    if system == "servicenow":
        client = http("ServiceNow", ("opslink", "snow-pass"))
        return ServiceNowTickets(url, "opslink", "snow-pass", client=client)
    if system == "github":
        client = http("GitHub", headers={"Authorization": "Bearer gh-token"})
        return GitHubTickets("acme/ops", "gh-token", client=client)
    if system == "redmine":
        assert REDMINE is not None
        key = REDMINE["api_key"]
        client = http("Redmine", headers={"X-Redmine-API-Key": key})
        return RedmineTickets(url, key, "opslink", int(REDMINE["field_id"]), client=client)
    client = http("Zendesk", ("ops@example.com/token", "zd-token"))
    return ZendeskTickets(url, "ops@example.com", "zd-token", client=client)


@dataclass
class Outcome:
    alarms: int
    deliveries: int = 0
    parked: int = 0  # deliveries that failed three times (Lambda's DLQ)
    reconcile_passes: int = 0
    drain_seconds: float = 0.0
    lost: int = 0  # accepted alarms without a ticket at the end
    duplicate_tickets: int = 0  # tickets beyond one per alert
    orphan_tickets: int = 0  # tickets no alert points to
    duplicate_executions: int = 0
    duplicate_alerts: int = 0
    injected: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        extra = ""
        if hasattr(self, "outage_minutes"):
            extra = (
                f"outage {self.outage_minutes} min, last ticket "
                f"{self.drained_after_minutes:.0f} min after recovery, "
            )
        return extra + (
            f"alarms {self.alarms}, deliveries {self.deliveries}, parked {self.parked}, "
            f"reconciler passes {self.reconcile_passes} ({self.drain_seconds:.1f}s), lost "
            f"{self.lost}, duplicate tickets {self.duplicate_tickets}, orphan tickets "
            f"{self.orphan_tickets}, duplicate alerts {self.duplicate_alerts}, duplicate "
            f"executions {self.duplicate_executions}, "
            f"faults injected {dict(self.injected)}"
        )


@contextmanager
def world(
    rate: float = 0.0, system: str = "zendesk", correlated: bool = False
) -> Iterator[tuple[IngestDeps, Any]]:
    """Ingest wired to moto's DynamoDB and a faulty ticket system (FAULTY) on 127.0.0.1;
    `correlated`: alert correlation on, as deployed by default (the scenarios' alarms are
    one service's: they group into incidents that share a ticket)."""
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # DynamoDB applies each write atomically; moto needs help
    app: Any = FAULTY[system](rate)
    with mock_aws(), serve(app) as url:
        client = boto3.client("dynamodb", region_name="us-east-1")
        props = load_template(ROOT / "template.yaml")["Resources"]["AlertsTable"]["Properties"]
        client.create_table(
            TableName="AlertsTable",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        smap = load_service_map()
        from opslink.adapters.directory.service_map_directory import ServiceMapDirectory

        store = DynamoAlertStore("AlertsTable", client)
        deps = IngestDeps(
            store=store,
            outbox=store.outbox,
            rejections=Bookkeeping(store.table, store.client),
            tickets=faulty_tickets(system, url),
            directory=ServiceMapDirectory(smap),
            tags=StaticTags(),
            workflow=SafeWorkflow(),
            service_map=smap,
            flaps=ReliabilityRecords("AlertsTable", client),
        )
        if correlated:
            from opslink.adapters.store.incident_keys import IncidentKeys
            from opslink.ingest.grouping import load_correlator

            deps.incidents = IncidentKeys("AlertsTable", client)
            deps.correlator = load_correlator(None, smap.depends_on())
        yield deps, app


class SafeWorkflow(RecordingWorkflow):
    """Step Functions: one execution per name, whoever asks first (thread-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: Counter[str] = Counter()
        self.lock = threading.Lock()

    def start_remediation(self, name: str, payload: RemediationInput) -> bool:
        with self.lock:
            self.asked[name] += 1
            return super().start_remediation(name, payload)


def _event(i: int, resources: int, at: datetime) -> dict[str, Any]:
    return samples.sns_event(
        samples.metric_alarm(
            f"prod-checkout-api-cpu-high-{i}",
            at,
            dimensions={"InstanceId": f"i-{i % resources:017x}"},
        )
    )


def _deliver(deps: IngestDeps, policy: IngestPolicy, event: Any, out: Outcome) -> None:
    """Lambda's asynchronous delivery: the first attempt and two retries, then the DLQ."""
    for _ in range(3):
        out.deliveries += 1
        results = ingest_event(event, deps, policy)
        if not any(r.retryable for r in results):
            return
    out.parked += 1


def _fire_all(
    pool: ThreadPoolExecutor,
    deps: IngestDeps,
    policy: IngestPolicy,
    at: datetime,
    alarms: int,
    out: Outcome,
) -> None:
    """Every alarm fires at `at` (one each on 100 resources), delivered concurrently."""
    list(pool.map(lambda i: _deliver(deps, policy, _event(i, 100, at), out), range(alarms)))


def _drain(deps: IngestDeps, policy: IngestPolicy, out: Outcome, passes: int = 30) -> None:
    started = time.monotonic()
    for _ in range(passes):
        out.reconcile_passes += 1
        done = reconcile(deps, policy)
        queued = deps.outbox.queued_comments()  # type: ignore[attr-defined]
        if not done["waiting"] and not done["failed"] and not _unfinished(deps) and not queued:
            break
    out.drain_seconds = time.monotonic() - started


def _unfinished(deps: IngestDeps) -> list[str]:
    return [a.alert_id for a in deps.store.open_alerts() if not a.ticket_id]  # type: ignore[attr-defined]


def _all_alerts(deps: IngestDeps) -> list[Any]:
    """Every alert, open or resolved."""
    return list(deps.store.list_alerts(limit=1_000_000))  # type: ignore[attr-defined]


def _count(deps: IngestDeps, app: Any, out: Outcome) -> Outcome:
    everything = _all_alerts(deps)
    alerts = [a for a in everything if a.status.value == "open"]
    per_alert = Counter(str(t.get("external_id", "")) for t in app.tickets.values())
    # Lost: any accepted alarm without exactly one ticket at the end, whatever its status.
    out.lost = sum(
        1 for a in everything if not a.ticket_id or per_alert[f"opslink-{a.alert_id}"] != 1
    )
    out.duplicate_tickets = sum(n - 1 for n in per_alert.values() if n > 1)
    linked = {a.ticket_id for a in everything}
    out.orphan_tickets = (
        sum(1 for tid in app.tickets if str(tid) not in linked) - out.duplicate_tickets
    )
    workflow: SafeWorkflow = deps.workflow  # type: ignore[assignment]
    out.duplicate_alerts = max(0, len(everything) - out.alarms)
    # One execution per alert: names derive from alert ids, so a second start is refused.
    out.duplicate_executions = len(workflow.started) - len(
        {a.execution_name for a in everything if a.execution_name}
    )
    del alerts
    out.injected = dict(app.injected)
    return out


def duplicate_deliveries(alarms: int, resources: int, copies: int = 3, workers: int = 8) -> Outcome:
    """Every alarm delivered `copies` times at once, no faults. The lease outlasts the
    slowest opening (as the deployed 90 s does): copies that find it held are retried or
    parked, never a takeover of a delivery still creating its ticket — on a loaded
    machine 1 s was not always enough for the ticket system's create."""
    out = Outcome(alarms=alarms)
    lease = timedelta(seconds=4)
    policy = IngestPolicy(lease=lease)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with world() as (deps, app), ThreadPoolExecutor(workers) as pool:
        events = [_event(i, resources, at) for i in range(alarms)]
        list(
            pool.map(
                lambda e: _deliver(deps, policy, e, out), [e for e in events for _ in range(copies)]
            )
        )
        time.sleep(lease.total_seconds() + 0.1)  # any lease a parked delivery left runs out
        _drain(deps, policy, out)
        return _count(deps, app, out)


def ticket_faults(
    alarms: int, rate: float = 0.3, workers: int = 8, system: str = "zendesk"
) -> Outcome:
    """A share of ticket calls failing in the four ways; deliveries retried as Lambda
    does, the reconciler running until the backlog is gone."""
    out = Outcome(alarms=alarms)
    policy = IngestPolicy(lease=timedelta(seconds=1))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with world(rate, system) as (deps, app), ThreadPoolExecutor(workers) as pool:
        _fire_all(pool, deps, policy, at, alarms, out)
        time.sleep(1.1)
        _drain(deps, policy, out)
        return _count(deps, app, out)


@dataclass
class OutageOutcome(Outcome):
    outage_minutes: int = 0
    drained_after_minutes: float = 0.0  # from recovery to the last alert with its ticket
    cleared: int = 0  # alarms that returned to OK before the outage ended
    ok_not_applied: int = 0  # of those: alert open, ticket not resolved, or its OK note not once

    def line(self) -> str:
        return super().line() + (
            f", cleared during the outage {self.cleared}, OK not applied {self.ok_not_applied}"
        )


def _ok_event(i: int, resources: int, fired: datetime, at: datetime) -> dict[str, Any]:
    return samples.sns_event(
        samples.metric_alarm(
            f"prod-checkout-api-cpu-high-{i}",
            at,
            state="OK",
            old="ALARM",
            dimensions={"InstanceId": f"i-{i % resources:017x}"},
        )
    )


def timed_outage(
    alarms: int, minutes: int, clear_every: int = 0, correlated: bool = False
) -> OutageOutcome:
    """The ticket system down for `minutes` while alarms arrive (spread over the outage),
    on a simulated clock: Lambda retries a failed delivery after 1 and 3 minutes, then
    parks it; the reconciler runs every 5 minutes (as deployed). With `clear_every` N,
    every Nth alarm returns to OK two minutes after it fired, while the ticket system is
    still down. Reports how long after recovery the last alert got its ticket, and
    whether every cleared alarm ended with its ticket created, then resolved, once.
    `correlated`: the alarms group into incidents that share a ticket; a cleared alarm
    must end resolved with its own note once on that ticket, which is resolved exactly
    when every alert on it is."""
    out = OutageOutcome(alarms=alarms, outage_minutes=minutes)
    policy = IngestPolicy(lease=timedelta(seconds=90))
    start = datetime.now(UTC).replace(microsecond=0)
    now = [start]
    recovery = start + timedelta(minutes=minutes)
    with world(correlated=correlated) as (deps, app):
        deps.clock = lambda: now[0]
        attempts: list[tuple[datetime, int, int]] = []  # (when, alarm, attempt); <0: an OK
        fired: dict[int, datetime] = {}
        for i in range(alarms):
            at = start + timedelta(seconds=i * minutes * 60 / max(alarms, 1))
            attempts.append((at, i, 0))
            fired[i] = start + timedelta(seconds=i)
            if clear_every and i % clear_every == 0 and at + timedelta(minutes=2) < recovery:
                attempts.append((at + timedelta(minutes=2), i, -1))
                out.cleared += 1
        schedule = [start + timedelta(minutes=5 * k) for k in range(1, 200)]
        finished_at: dict[str, datetime] = {}
        while attempts or _unfinished(deps):
            attempts.sort()
            next_delivery = attempts[0][0] if attempts else None
            next_sweep = next(t for t in schedule if t > now[0])
            if next_delivery is not None and next_delivery <= next_sweep:
                when, i, attempt = attempts.pop(0)
                now[0] = when
                app.down = when < recovery
                out.deliveries += 1
                event = (
                    _ok_event(i, 100, fired[i], fired[i] + timedelta(minutes=2))
                    if attempt < 0
                    else _event(i, 100, fired[i])
                )
                if any(r.retryable for r in ingest_event(event, deps, policy)):
                    if attempt < 0:
                        out.parked += 1  # an OK that could not be taken: counted as lost
                    elif attempt < 2:
                        attempts.append((when + timedelta(minutes=(1, 2)[attempt]), i, attempt + 1))
                    else:
                        out.parked += 1
            else:
                now[0] = next_sweep
                app.down = next_sweep < recovery
                out.reconcile_passes += 1
                for alert_id in reconcile(deps, policy)["finished"]:
                    finished_at[alert_id] = next_sweep
            if now[0] > recovery + timedelta(hours=3):
                break
        last = max([*finished_at.values(), recovery])
        out.drained_after_minutes = (last - recovery).total_seconds() / 60
        (_count_incidents if correlated else _count)(deps, app, out)
        everything = _all_alerts(deps)
        by_name = {a.alarm_name: a for a in everything}
        open_on: Counter[str] = Counter(a.ticket_id for a in everything if a.status.value == "open")
        for i in range(0, alarms, clear_every or alarms + 1):
            when = start + timedelta(seconds=i * minutes * 60 / max(alarms, 1))
            if not clear_every or when + timedelta(minutes=2) >= recovery:
                continue
            alert = by_name.get(f"prod-checkout-api-cpu-high-{i}")
            ticket = app.tickets.get(int(alert.ticket_id)) if alert and alert.ticket_id else None
            mine = re.compile(rf"Alarm `?prod-checkout-api-cpu-high-{i}`? returned to OK")
            notes = [
                body
                for c in (ticket or {}).get("comments", [])
                if (mine if correlated else re.compile("returned to OK")).search(
                    body := str(c.get("body", ""))
                )
            ]
            still_open = bool(alert and open_on[alert.ticket_id or ""])
            out.ok_not_applied += not (
                alert is not None
                and alert.status.value == "resolved"
                and ticket is not None
                and (ticket.get("status") in ("solved", "closed")) != still_open
                and len(notes) == 1
            )
        return out


def ticket_outage(
    alarms: int, workers: int = 8, system: str = "zendesk", correlated: bool = False
) -> Outcome:
    """The ticket system down while the alarms arrive; then back. `correlated`: the
    alarms are one incident's (its opener's delivery fails like every other)."""
    out = Outcome(alarms=alarms)
    policy = IngestPolicy(lease=timedelta(seconds=1))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with (
        world(system=system, correlated=correlated) as (deps, app),
        ThreadPoolExecutor(workers) as pool,
    ):
        app.down = True
        _fire_all(pool, deps, policy, at, alarms, out)
        assert reconcile(deps, policy)["finished"] == []  # nothing can finish while down
        app.down = False
        time.sleep(1.1)
        _drain(deps, policy, out)
        return (_count_incidents if correlated else _count)(deps, app, out)


@dataclass
class SweepOutcome:
    system: str
    alarms: int
    closed: int = 0  # tickets people closed in the ticket system
    passes: int = 0  # sweeps until every closed ticket's alert was resolved
    paused: int = 0  # sweeps a failing call stopped (the checkpoint kept)
    not_resolved: int = 0  # alerts of closed tickets still open at the end
    wrongly_resolved: int = 0  # alerts of open tickets resolved
    resolved_twice: int = 0  # alerts whose resolution was applied more than once
    injected: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.system}: alarms {self.alarms}, tickets closed by people {self.closed}, "
            f"sweeps {self.passes} ({self.paused} paused by a failing call), alerts of "
            f"closed tickets left open {self.not_resolved}, alerts of open tickets resolved "
            f"{self.wrongly_resolved}, resolved twice {self.resolved_twice}, faults injected "
            f"{dict(self.injected)}"
        )


def sweep_faults(
    system: str, alarms: int, rate: float = 0.3, max_passes: int = 30, correlated: bool = False
) -> SweepOutcome:
    """Alarms open their tickets; people close every other one in the ticket system; the
    track sweep then runs while a share of ticket calls fail, until every closed ticket's
    alert is resolved. A failing listing pauses a pass with its checkpoint kept, so no
    close is passed over; each resolution is applied once; open tickets stay open."""
    from opslink.track_service import TrackDeps, sweep

    out = SweepOutcome(system=system, alarms=alarms)
    policy = IngestPolicy(lease=timedelta(seconds=1))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    tally = Outcome(alarms=alarms)
    with (
        world(system=system, correlated=correlated) as (deps, app),
        ThreadPoolExecutor(8) as pool,
    ):
        started = datetime.now(UTC)
        _fire_all(pool, deps, policy, at, alarms, tally)
        opened = sorted(_all_alerts(deps), key=lambda a: a.alarm_name)
        # Every other ticket (with incidents: every alert on a closed incident ticket).
        tickets = sorted({str(a.ticket_id) for a in opened})
        shut = set(tickets[::2])
        closed = {a.alert_id for a in opened if str(a.ticket_id) in shut}
        for ticket_id in shut:
            app.close_by_hand(ticket_id)
        out.closed = len(shut)
        bookkeeping = Bookkeeping(deps.store.table, deps.store.client)  # type: ignore[attr-defined]
        # Issues other runs changed earlier are not this scenario's: start at its own.
        bookkeeping.set_checkpoint(f"track#{deps.tickets.name}", started)
        track = TrackDeps(store=deps.store, tickets=deps.tickets, journal=deps.store.journal,  # type: ignore[attr-defined]
                          outbox=deps.outbox, bookkeeping=bookkeeping)  # type: ignore[arg-type]  # fmt: skip
        app.rate = rate
        resolved: Counter[str] = Counter()
        while out.passes < max_passes:
            out.passes += 1
            result = sweep(track)
            out.paused += "paused" in result
            resolved.update(result["resolved"])
            states = {a.alert_id: a.status.value for a in _all_alerts(deps)}
            # Three passes at least: the overlap lists the same closes again, and they
            # must not be applied twice.
            if all(states[a] == "resolved" for a in closed) and out.passes >= 3:
                break
        app.rate = 0.0
        states = {a.alert_id: a.status.value for a in _all_alerts(deps)}
        out.not_resolved = sum(states[a] != "resolved" for a in closed)
        out.wrongly_resolved = sum(v == "resolved" for a, v in states.items() if a not in closed)
        out.resolved_twice = sum(n > 1 for n in resolved.values())
        out.injected = dict(app.injected)
        return out


@dataclass
class BrakeOutcome:
    name: str
    figures: dict[str, Any]

    def line(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.figures.items())


class _DownPlatform:
    """A job platform that refuses every launch until `up`; counts the calls it gets."""

    name = "fake"

    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    def launch(self, request: Any) -> Any:
        from opslink.errors import JobPlatformError
        from opslink.remediation_models import JobRef

        self.calls += 1
        if not self.up:
            raise JobPlatformError("fake: 503 Service Unavailable")
        return JobRef(platform=self.name, job_id=f"j{self.calls}", launched_at=datetime.now(UTC))


def job_platform_down(alarms: int) -> BrakeOutcome:
    """Launch attempts for `alarms` alerts while the job platform is down (each launch and
    its one retry, as the state machine makes them), then one after recovery."""
    from opslink.errors import AutomationSuppressed, JobPlatformError
    from opslink.remediation import run_task
    from opslink.remediation.catalog import load_catalog
    from opslink.service_map import load_service_map

    notes: list[str] = []

    class Notes:
        def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None:
            notes.append(attributes["kind"])

    platform = _DownPlatform()
    now = [datetime.now(UTC)]
    with world() as (deps, _):
        rdeps = remediation_on(
            deps,
            jobs=platform,
            catalog=load_catalog(str(ROOT / "runbooks")),
            service_map=load_service_map(),
            runs_per_service_hour=alarms + 10,
            runs_per_resource_hour=3,
            notifier=Notes(),
            clock=lambda: now[0],
        )
        from opslink.faults import FaultReporter

        records = FaultRecords(deps.store.table, deps.store.client)  # type: ignore[attr-defined]
        rdeps.faults = FaultReporter(records, Notes())  # type: ignore[arg-type]
        selection = {"runbook": {"name": "restart_service", "tier": "alert_type"}}
        handed, refused = 0, 0
        policy = IngestPolicy()
        for i in range(alarms + 1):
            if i == alarms:  # the platform is back; the cooldown has passed
                platform.up = True
                now[0] += timedelta(minutes=6)
            [r] = ingest_event(_event(i, 100, now[0]), deps, policy)
            payload = deps.workflow.started[r.execution_name]  # type: ignore[attr-defined]
            for _attempt in range(2):
                try:
                    run_task({"action": "launch", "alert": payload, "selection": selection}, rdeps)
                    break
                except JobPlatformError:
                    continue
                except AutomationSuppressed:
                    refused += 1
                    break
            else:
                handed += 1
        hour = now[0].astimezone(UTC).strftime("%Y-%m-%dT%H")
        used = (
            deps.store._call(  # type: ignore[attr-defined]
                "get_item",
                TableName="AlertsTable",
                Key={"pk": {"S": "BUDGET#checkout"}, "sk": {"S": hour}},
            )
            .get("Item", {})
            .get("runs", {})
            .get("N", "0")
        )
        records = FaultRecords(deps.store.table, deps.store.client)  # type: ignore[attr-defined]
        faults = len(records.faults())
        open_faults = len(records.faults(state="open"))
    return BrakeOutcome(
        "job platform down",
        {
            "alerts": alarms,
            "platform calls while down": platform.calls - 1,
            "launches refused by the open circuit": refused,
            "failed launches handed over": handed,
            "budget used": used,
            "notifications": notes,
            "faults": faults,
            "open faults": open_faults,
        },
    )


def flapping(changes: int) -> BrakeOutcome:
    """One alarm toggling ALARM/OK `changes` times, 30 s apart."""
    with world() as (deps, app):
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        for i in range(changes):
            state = "ALARM" if i % 2 == 0 else "OK"
            event = samples.sns_event(
                samples.metric_alarm(
                    "prod-checkout-api-cpu-high",
                    at + timedelta(seconds=30 * i),
                    state=state,
                    old="OK" if state == "ALARM" else "ALARM",
                    dimensions={"InstanceId": "i-04f0c64bba9809e64"},
                )
            )
            ingest_event(event, deps, IngestPolicy())
        alerts = deps.store.list_alerts()  # type: ignore[attr-defined]
        workflow: SafeWorkflow = deps.workflow  # type: ignore[assignment]
        return BrakeOutcome(
            "flapping alarm",
            {
                "changes": changes,
                "tickets": len(app.tickets),
                "alerts": len(alerts),
                "executions": len(workflow.started),
                "suppressed": any(a.flapping_since for a in alerts),
                "open tickets": sum(
                    1 for t in app.tickets.values() if t["status"] not in ("solved", "closed")
                ),
            },
        )


@dataclass
class CommentOutcome(Outcome):
    comments_expected: int = 0
    comments_missing: int = 0
    comments_duplicated: int = 0
    comments_out_of_order: int = 0

    def line(self) -> str:
        return super().line() + (
            f", comments expected {self.comments_expected}, missing {self.comments_missing}, "
            f"duplicated {self.comments_duplicated}, out of order {self.comments_out_of_order}"
        )


def comment_faults(
    alarms: int, refires: int = 2, rate: float = 0.3, workers: int = 8, correlated: bool = False
) -> CommentOutcome:
    """Alarms open their tickets, then fire again `refires` times each while a share of
    ticket calls fail (answers lost after the work included); deliveries retried as
    Lambda does, the reconciler draining the comment outbox. Every re-fire comment must be
    on its ticket exactly once, in the order of the re-fires. `correlated`: the alarms are
    one incident's, so their comments all go to its one ticket, delivered concurrently."""
    out = CommentOutcome(alarms=alarms, comments_expected=alarms * refires)
    policy = IngestPolicy(lease=timedelta(seconds=1), refire_comment_period=timedelta(0))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    with world(correlated=correlated) as (deps, app), ThreadPoolExecutor(workers) as pool:
        _fire_all(pool, deps, policy, at, alarms, out)
        app.rate = rate
        for k in range(1, refires + 1):
            later = at + timedelta(minutes=k)
            list(
                pool.map(
                    lambda i, when=later: _deliver(deps, policy, _event(i, 100, when), out),
                    range(alarms),
                )
            )
        time.sleep(1.1)
        _drain(deps, policy, out, passes=60)
        app.rate = 0.0
        if correlated:
            _count_incidents(deps, app, out)
        else:
            _count(deps, app, out)
        stamps = [(at + timedelta(minutes=k)).isoformat() for k in range(1, refires + 1)]
        for alert in _all_alerts(deps):
            ticket = app.tickets.get(int(alert.ticket_id)) if alert.ticket_id else None
            mine = f"Alarm `{alert.alarm_name}` fired again at "  # Zendesk keeps Markdown
            bodies = [str(c.get("body", "")) for c in (ticket or {}).get("comments", [])]
            order = [k for b in bodies if mine in b for k, st in enumerate(stamps) if st in b]
            for k in range(refires):
                n = order.count(k)
                out.comments_missing += n == 0
                out.comments_duplicated += max(0, n - 1)
            out.comments_out_of_order += order != sorted(order)
        return out


def _count_incidents(deps: IngestDeps, app: Any, out: Outcome) -> Outcome:
    """`_count` for correlated alarms: one ticket per incident, every member on it."""
    everything = _all_alerts(deps)
    tickets: dict[str, set[str | None]] = {}
    for a in everything:
        tickets.setdefault(a.incident_id or a.alert_id, set()).add(a.ticket_id)
    out.lost = sum(1 for a in everything if not a.ticket_id)
    out.duplicate_tickets = sum(len(t - {None}) - 1 for t in tickets.values() if len(t) > 1)
    linked = {a.ticket_id for a in everything}
    out.orphan_tickets = sum(1 for tid in app.tickets if str(tid) not in linked)
    out.duplicate_alerts = max(0, len(everything) - out.alarms)
    workflow: SafeWorkflow = deps.workflow  # type: ignore[assignment]
    out.duplicate_executions = len(workflow.started) - len(
        {a.execution_name for a in everything if a.execution_name}
    )
    out.injected = dict(app.injected)
    return out


@dataclass
class NotesOutcome:
    system: str
    alarms: int
    deliveries: int = 0
    parked: int = 0
    notes_missing: int = 0  # tickets without their "returned to OK" note
    notes_duplicated: int = 0
    not_resolved: int = 0  # tickets left open although their alarm cleared
    injected: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.system}: alarms {self.alarms} opened then cleared, deliveries "
            f"{self.deliveries}, parked {self.parked}, OK notes missing {self.notes_missing}, "
            f"duplicated {self.notes_duplicated}, tickets not resolved {self.not_resolved}, "
            f"faults injected {dict(self.injected)}"
        )


def status_notes(
    system: str, alarms: int, rate: float = 0.3, workers: int = 8, correlated: bool = False
) -> NotesOutcome:
    """Alarms open their tickets, then return to OK while a share of ticket calls fail
    (answers lost after the work included): every ticket must end resolved, with each
    alarm's "returned to OK" note exactly once (Jira and GitHub change the state and add
    the note in two calls; Zendesk and ServiceNow in one). `correlated`: the alarms are one
    incident's, on its one ticket, which the last clearing resolves with the incident's
    note, once (counted with the notes)."""
    out = NotesOutcome(system=system, alarms=alarms)
    policy = IngestPolicy(lease=timedelta(seconds=1))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    tally = Outcome(alarms=alarms)
    with (
        world(system=system, correlated=correlated) as (deps, app),
        ThreadPoolExecutor(workers) as pool,
    ):
        _fire_all(pool, deps, policy, at, alarms, tally)
        app.rate = rate
        cleared = at + timedelta(minutes=3)
        list(
            pool.map(
                lambda i: _deliver(deps, policy, _ok_event(i, 100, at, cleared), tally),
                range(alarms),
            )
        )
        time.sleep(1.1)
        _drain(deps, policy, tally, passes=60)
        app.rate = 0.0
        out.deliveries, out.parked, out.injected = (
            tally.deliveries,
            tally.parked,
            dict(app.injected),
        )
        texts_of: dict[str, list[str]] = {}
        said: Counter[str] = Counter()  # per ticket: alarms whose note is on it
        alerts = _all_alerts(deps)
        for alert in alerts:
            ticket = deps.tickets.get(alert.ticket_id) if alert.ticket_id else None
            if alert.ticket_id and alert.ticket_id not in texts_of:
                texts_of[alert.ticket_id] = deps.tickets.comment_texts(alert.ticket_id)  # type: ignore[attr-defined]
            texts = texts_of.get(alert.ticket_id or "", [])
            # its own note (a code span on Markdown systems, plain text from Jira's ADF)
            mine = re.compile(rf"Alarm `?{re.escape(alert.alarm_name)}`? returned to OK")
            n = sum(bool(mine.search(t)) for t in texts)
            said[alert.ticket_id or ""] += n > 0
            out.notes_missing += n == 0 and not correlated
            out.notes_duplicated += max(0, n - 1)
            out.not_resolved += ticket is None or ticket.status.value not in ("resolved", "closed")
        if correlated:  # an incident's ticket hears of clearings as incident_tickets.said_at says
            on = Counter(a.ticket_id or "" for a in alerts)
            for tid, members in on.items():
                expected = 1 + sum(said_at(left) for left in range(1, members))
                out.notes_missing += max(0, expected - said[tid])
        for texts in texts_of.values() if correlated else ():  # the incident's own note
            n = sum(" resolved: all " in t for t in texts)
            out.notes_missing += n == 0
            out.notes_duplicated += max(0, n - 1)
        return out
