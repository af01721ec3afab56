"""DynamoDB failing under ingest: a share of calls throttled before any work (a single
write: ProvisionedThroughputExceededException; a transaction: cancelled with
ThrottlingError on its items), and a share whose answer is lost after the work was done
(the call committed, the caller sees a read timeout). Alarms open, then half of them
clear, while the faults last; Lambda retries each delivery twice; then the faults stop
and the reconciler drains. Each alarm must end with one ticket, each cleared alarm with
its alert and ticket resolved and its OK note once, no other alert resolved."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from opslink.ingest import IngestDeps, IngestPolicy
from opslink.remediation import run_task
from opslink.remediation.catalog import load_catalog
from opslink.service_map import load_service_map
from tests.conftest import ROOT
from tests.faults.scenarios import (
    Outcome,
    _all_alerts,
    _count,
    _deliver,
    _drain,
    _fire_all,
    _ok_event,
    world,
)
from tests.unit.fakes import FakeAlarms, remediation_on


class DynamoFaults:
    """botocore hooks on one client: throttles before the call, or loses the answer
    after it, each with probability `rate` (seeded)."""

    def __init__(self, rate: float, seed: int = 11) -> None:
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def _roll(self) -> bool:
        with self.lock:
            return self.rng.random() < self.rate

    def before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if not self._roll():
            return
        self.injected["throttled"] += 1
        if model.name == "TransactWriteItems":
            items = len(params.get("TransactItems") or [])
            codes = ["ThrottlingError", *(["None"] * max(0, items - 1))]
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException",
                              "Message": f"Transaction cancelled [{', '.join(codes)}]"},
                    "CancellationReasons": [{"Code": c} for c in codes],
                },
                model.name,
            )  # fmt: skip
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            model.name,
        )

    def after(self, model: Any, **_: Any) -> None:
        if model.name in ("GetItem", "BatchGetItem", "Query", "Scan") or not self._roll():
            return
        self.injected["answer_lost"] += 1
        raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    def install(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self.before)
        client.meta.events.register("after-call.dynamodb", self.after)


@dataclass
class StoreFaultOutcome(Outcome):
    cleared: int = 0
    # Executions started before a failed link while the alarm cleared: on no alert, and
    # each must run nothing (its select finds the alert resolved); `unlinked_running`:
    # any that would still run a runbook.
    unlinked: int = 0
    unlinked_running: int = 0
    not_resolved: int = 0  # cleared alarms whose alert or ticket is still open
    notes_not_once: int = 0  # cleared alarms whose ticket has its OK note 0 or 2+ times
    wrongly_resolved: int = 0  # alarms that never cleared, yet their alert is resolved

    def line(self) -> str:
        return super().line() + (
            f", cleared {self.cleared}, executions on no alert {self.unlinked} (would run a "
            f"runbook: {self.unlinked_running}), not resolved {self.not_resolved}, OK note not once "
            f"{self.notes_not_once}, resolved without an OK {self.wrongly_resolved}"
        )


def store_faults(alarms: int, rate: float = 0.15, workers: int = 8) -> StoreFaultOutcome:
    out = StoreFaultOutcome(alarms=alarms)
    policy = IngestPolicy(lease=timedelta(seconds=1))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    cleared_at = at + timedelta(minutes=3)
    faults = DynamoFaults(rate)
    with world() as (deps, app), ThreadPoolExecutor(workers) as pool:
        faults.install(deps.store.client)  # type: ignore[attr-defined]
        _fire_all(pool, deps, policy, at, alarms, out)
        clearing = list(range(0, alarms, 2))
        out.cleared = len(clearing)
        list(pool.map(lambda i: _deliver(deps, policy, _ok_event(i, 100, at, cleared_at), out),
                      clearing))  # fmt: skip
        faults.rate = 0.0  # the throttling is over: what is left, the reconciler finishes
        import time

        time.sleep(1.1)  # leases of failed deliveries run out
        # An OK whose three attempts all failed is in the DLQ: redriven, as an operator does.
        list(pool.map(lambda i: _deliver(deps, policy, _ok_event(i, 100, at, cleared_at), out),
                      clearing))  # fmt: skip
        _drain(deps, policy, out, passes=60)
        _count(deps, app, out)
        out.injected = dict(faults.injected)
        _unlinked(deps, out)
        names = {f"prod-checkout-api-cpu-high-{i}" for i in clearing}
        for alert in _all_alerts(deps):
            ticket = app.tickets.get(int(alert.ticket_id)) if alert.ticket_id else None
            if alert.alarm_name in names:
                notes = sum("returned to OK" in str(c.get("body", ""))
                            for c in (ticket or {}).get("comments", []))  # fmt: skip
                out.not_resolved += not (
                    alert.status.value == "resolved"
                    and ticket is not None
                    and ticket.get("status") in ("solved", "closed")
                )
                out.notes_not_once += notes != 1
            else:
                out.wrongly_resolved += alert.status.value == "resolved"
        return out


def _unlinked(deps: IngestDeps, out: StoreFaultOutcome) -> None:
    """Started executions no alert names (their link failed while the alarm cleared):
    each one's select must find nothing to run. They are not duplicates (one per alert by
    name), so they leave the duplicate count."""
    linked = {a.execution_name for a in _all_alerts(deps) if a.execution_name}
    started: dict[str, Any] = deps.workflow.started  # type: ignore[attr-defined]
    rdeps = remediation_on(deps, catalog=load_catalog(str(ROOT / "runbooks")),
                           service_map=load_service_map(), alarms=FakeAlarms(),
                           runs_per_service_hour=1000)  # fmt: skip
    for name, payload in started.items():
        if name in linked:
            continue
        out.unlinked += 1
        chosen = run_task({"action": "select", "alert": dict(payload)}, rdeps)
        out.unlinked_running += chosen.get("runbook") is not None
    out.duplicate_executions -= out.unlinked


@dataclass
class IncidentFaultOutcome(Outcome):
    """The same faults with alert correlation on: the alarms (one family, one service)
    group into incidents that share one ticket each, and every alarm clears."""

    incidents: int = 0
    extra_tickets: int = 0  # tickets beyond one per incident
    not_resolved: int = 0  # alerts still open, or incidents' tickets not resolved
    incidents_open: int = 0  # incidents not resolved, or with a member still firing
    notes_not_once: int = 0  # incidents' tickets whose resolution note is not there once

    def line(self) -> str:
        return super().line() + (
            f", incidents {self.incidents}, tickets beyond one per incident "
            f"{self.extra_tickets}, not resolved {self.not_resolved}, incidents left open "
            f"{self.incidents_open}, resolution note not once {self.notes_not_once}"
        )


def correlated_store_faults(
    alarms: int, rate: float = 0.15, workers: int = 8, seed: int = 11
) -> IncidentFaultOutcome:
    """Alarms of one family open (grouped into incidents) and all clear while DynamoDB
    throttles and loses answers; OKs parked in the DLQ are redriven, then the reconciler
    drains. Each incident must end with one ticket, resolved with its note once, every
    member resolved and nothing left firing."""
    from opslink.adapters.store.incident_keys import IncidentKeys
    from opslink.ingest.grouping import load_correlator

    out = IncidentFaultOutcome(alarms=alarms)
    policy = IngestPolicy(lease=timedelta(seconds=1))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    cleared_at = at + timedelta(minutes=3)
    faults = DynamoFaults(rate, seed)
    with world() as (deps, app), ThreadPoolExecutor(workers) as pool:
        deps.incidents = IncidentKeys(deps.store.table, deps.store.client)  # type: ignore[attr-defined]
        deps.correlator = load_correlator(None, deps.service_map.depends_on())
        faults.install(deps.store.client)  # type: ignore[attr-defined]
        _fire_all(pool, deps, policy, at, alarms, out)
        clear = [lambda i=i: _deliver(deps, policy, _ok_event(i, 100, at, cleared_at), out)
                 for i in range(alarms)]  # fmt: skip
        list(pool.map(lambda f: f(), clear))
        faults.rate = 0.0
        import time

        time.sleep(1.1)  # leases of failed deliveries run out
        list(pool.map(lambda f: f(), clear))  # the DLQ's OKs redriven
        _drain(deps, policy, out, passes=60)
        out.injected = dict(faults.injected)
        alerts = _all_alerts(deps)
        incidents = {a.incident_id for a in alerts if a.incident_id}
        out.incidents = len(incidents)
        out.lost = sum(1 for a in alerts if not a.ticket_id)
        tickets = {a.ticket_id for a in alerts if a.ticket_id}
        out.extra_tickets = len(app.tickets) - len(incidents)
        out.orphan_tickets = sum(1 for tid in app.tickets if str(tid) not in tickets)
        out.duplicate_alerts = max(0, len(alerts) - alarms)
        for incident_id in incidents:
            state = deps.incidents.incident(incident_id)
            out.incidents_open += state is None or state.resolved_at is None or bool(state.firing)
        for ticket_id in tickets:
            ticket = app.tickets.get(int(ticket_id)) or {}
            out.not_resolved += ticket.get("status") not in ("solved", "closed")
            notes = sum(" resolved: all " in str(c.get("body", ""))
                        for c in ticket.get("comments", []))  # fmt: skip
            out.notes_not_once += notes != 1
        out.not_resolved += sum(1 for a in alerts if a.status.value != "resolved")
        return out
