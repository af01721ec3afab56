"""Fault figures at full size (the test tier `tests/faults` runs the same scenarios
scaled down). Prints one line per scenario; targets: 0 lost, 0 duplicate tickets, 0
orphan tickets, 0 duplicate alerts or executions.

    .venv/bin/python bench/faults.py [ALARMS] [notes|redmine|store|incident]   (default
        1000; `notes`: only the status-notes scenario per system; `redmine`: only the
        scenarios on the real Redmine, which scripts/redmine-local.sh starts; `store`:
        only DynamoDB throttling and lost answers; `incident`: only the alarms of one
        incident (correlation on) on its shared ticket, up to 50: re-fire comments and
        the clearing under 30 % ticket faults, the ticket system down then back, and the
        2-hour outage with clearings)

Scenarios: each alarm delivered 3x concurrently across 100 resources; 30 % of ticket
calls failing (5xx, 429 with Retry-After, timeouts before and after the work) with
Lambda's retries and the reconciler; the ticket system down while the alarms arrive,
then back (time to drain = the reconciler's passes after recovery); a 2-hour outage
during which every third alarm returns to OK (each must end with one ticket, resolved,
its OK note once); "returned to OK" notes under 30 % faults on Jira and GitHub (state,
then note: two calls), Zendesk and ServiceNow (one call); and, where a Redmine answers on
127.0.0.1, the real Redmine behind a proxy injecting the same faults (faulty calls, down
then back, issues closed by people swept, notes: one PUT); DynamoDB itself throttling
15 % of ingest's calls and losing the answer of 15 % (half the alarms clearing meanwhile),
and the same with alert correlation on, every alarm of one family clearing (one incident
per shard: one ticket, resolved with its note once, nothing left firing).
The emulator's
DynamoDB copies a table per transaction, so the alarms run in shards of 100, each on its
own table (the shards' figures are added up; "100 resources" = 10 per shard).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults import scenarios
from tests.faults.store_faults import (
    IncidentFaultOutcome,
    StoreFaultOutcome,
    correlated_store_faults,
    store_faults,
)

SHARD = 100  # alarms per table: moto copies a whole table on every transaction
INCIDENT_SHARD = 50  # one incident's alarms: every comment goes to its one ticket


def _sharded(alarms: int, run: Any) -> scenarios.Outcome:
    """Run in shards of SHARD alarms, each on its own table, and add the figures up."""
    total: scenarios.Outcome | None = None
    for start in range(0, alarms, SHARD):
        part = run(min(SHARD, alarms - start))
        if total is None:
            total = part
            continue
        for name in (
            "alarms",
            "deliveries",
            "parked",
            "reconcile_passes",
            "lost",
            "duplicate_tickets",
            "orphan_tickets",
            "duplicate_alerts",
            "duplicate_executions",
            "comments_expected",
            "comments_missing",
            "comments_duplicated",
            "comments_out_of_order",
            "cleared",
            "ok_not_applied",
            "unlinked",
            "unlinked_running",
            "not_resolved",
            "notes_not_once",
            "wrongly_resolved",
            "incidents",
            "extra_tickets",
            "incidents_open",
        ):
            if hasattr(part, name):
                setattr(total, name, getattr(total, name) + getattr(part, name))
        total.drain_seconds += part.drain_seconds
        if hasattr(part, "drained_after_minutes"):
            total.drained_after_minutes = max(
                total.drained_after_minutes, part.drained_after_minutes
            )  # type: ignore[attr-defined]
        total.injected = {k: total.injected.get(k, 0) + v for k, v in part.injected.items()}
    assert total is not None
    return total


def _incident(alarms: int) -> bool:
    """Alert correlation on (the default): the alarms are one incident's, on one shared
    ticket. Re-fire comments and the clearing under 30% ticket faults. True on a miss."""
    n = min(alarms, INCIDENT_SHARD)
    started = time.monotonic()
    out = scenarios.comment_faults(n, refires=2, rate=0.3, correlated=True)
    bad = out.lost + out.duplicate_tickets + out.orphan_tickets + out.duplicate_alerts
    bad += out.comments_missing + out.comments_duplicated + out.comments_out_of_order
    print(f"one incident, 30% ticket-call faults on re-fire comments (2 per alarm): "
          f"{out.line()} [{time.monotonic() - started:.0f}s]", flush=True)  # fmt: skip
    started = time.monotonic()
    down = scenarios.ticket_outage(n, correlated=True)
    bad += down.lost + down.duplicate_tickets + down.orphan_tickets + down.duplicate_alerts
    print(f"one incident, ticket system down while its alarms arrive, then back: "
          f"{down.line()} [{time.monotonic() - started:.0f}s]", flush=True)  # fmt: skip
    started = time.monotonic()
    long = scenarios.timed_outage(n, 120, clear_every=3, correlated=True)
    bad += long.lost + long.duplicate_tickets + long.orphan_tickets + long.ok_not_applied
    print(f"incidents, ticket system down 2 h, every 3rd alarm clears during it: "
          f"{long.line()} [{time.monotonic() - started:.0f}s]", flush=True)  # fmt: skip
    for system in ("jira", "zendesk", "servicenow", "github"):
        started = time.monotonic()
        notes = scenarios.status_notes(system, n, rate=0.3, correlated=True)
        bad += notes.notes_missing + notes.notes_duplicated + notes.not_resolved
        print(f"one incident clearing, 30% faults, {notes.line()} "
              f"[{time.monotonic() - started:.0f}s]", flush=True)  # fmt: skip
    return bool(bad)


def main(
    alarms: int,
    notes_only: bool = False,
    redmine_only: bool = False,
    store_only: bool = False,
    incident_only: bool = False,
) -> int:
    if incident_only:
        return 1 if _incident(alarms) else 0
    failed = False
    correlated = (
        "DynamoDB: the same faults, correlation on, every alarm clearing",
        correlated_store_faults,
    )
    only_store = (("DynamoDB: 15% of calls throttled, 15% answers lost", store_faults), correlated)
    for name, run in (
        only_store
        if store_only
        else ()
        if notes_only or redmine_only
        else (
            (
                "3x concurrent deliveries, 100 resources",
                lambda n: scenarios.duplicate_deliveries(n, 10),
            ),
            ("30% ticket-call faults", lambda n: scenarios.ticket_faults(n, rate=0.3)),
            ("ticket system down 5 min", lambda n: scenarios.timed_outage(n, 5)),
            ("ticket system down 30 min", lambda n: scenarios.timed_outage(n, 30)),
            (
                "ticket system down 2 h, every 3rd alarm clears during it",
                lambda n: scenarios.timed_outage(n, 120, clear_every=3),
            ),
            (
                "30% ticket-call faults on re-fire comments (2 per alarm)",
                lambda n: scenarios.comment_faults(n, refires=2, rate=0.3),
            ),
            ("DynamoDB: 15% of calls throttled, 15% answers lost", store_faults),
            correlated,
        )
    ):
        started = time.monotonic()
        out = _sharded(alarms, run)
        bad = out.lost + out.duplicate_tickets + out.orphan_tickets + out.duplicate_alerts
        if isinstance(out, scenarios.CommentOutcome):
            bad += out.comments_missing + out.comments_duplicated + out.comments_out_of_order
        if isinstance(out, scenarios.OutageOutcome):
            bad += out.ok_not_applied
        if isinstance(out, StoreFaultOutcome):
            bad += out.not_resolved + out.notes_not_once + out.wrongly_resolved
            bad += out.unlinked_running
        if isinstance(out, IncidentFaultOutcome):
            bad += out.extra_tickets + out.not_resolved + out.incidents_open + out.notes_not_once
        failed |= bool(bad + out.duplicate_executions)
        print(f"{name}: {out.line()} [{time.monotonic() - started:.0f}s]", flush=True)
    if store_only:
        return 1 if failed else 0
    failed |= _redmine(alarms) if scenarios.REDMINE or redmine_only else False
    for system in () if redmine_only else ("jira", "zendesk", "servicenow", "github"):
        started = time.monotonic()
        notes = scenarios.status_notes(system, min(alarms, SHARD), rate=0.3)
        failed |= bool(notes.notes_missing + notes.notes_duplicated + notes.not_resolved)
        print(f"status notes, 30% faults, {notes.line()} [{time.monotonic() - started:.0f}s]",
              flush=True)  # fmt: skip
    for brake in (
        ()
        if notes_only or redmine_only
        else (scenarios.job_platform_down(20), scenarios.flapping(20))
    ):
        print(f"{brake.name}: {brake.line()}", flush=True)
    return 1 if failed else 0


def _redmine(alarms: int) -> bool:
    """The real Redmine (one project, so one shard at most): faulty calls, down then back,
    and the notes. True when a target was missed."""
    n = min(alarms, SHARD)
    failed = False
    for name, run in (
        ("Redmine, 30% faulty calls", lambda: scenarios.ticket_faults(n, 0.3, system="redmine")),
        ("Redmine down, then back", lambda: scenarios.ticket_outage(n, system="redmine")),
    ):
        started = time.monotonic()
        out = run()
        failed |= bool(out.lost + out.duplicate_tickets + out.orphan_tickets
                       + out.duplicate_alerts + out.duplicate_executions)  # fmt: skip
        print(f"{name}: {out.line()} [{time.monotonic() - started:.0f}s]", flush=True)
    started = time.monotonic()
    swept = scenarios.sweep_faults("redmine", n, rate=0.3)
    failed |= bool(swept.not_resolved + swept.wrongly_resolved + swept.resolved_twice)
    print(f"issues closed by people, swept under 30% faults, {swept.line()} "
          f"[{time.monotonic() - started:.0f}s]", flush=True)  # fmt: skip
    started = time.monotonic()
    notes = scenarios.status_notes("redmine", n, rate=0.3)
    failed |= bool(notes.notes_missing + notes.notes_duplicated + notes.not_resolved)
    print(f"status notes, 30% faults, {notes.line()} [{time.monotonic() - started:.0f}s]",
          flush=True)  # fmt: skip
    return failed


if __name__ == "__main__":
    flags = sys.argv[2:]
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, "notes" in flags,
                  "redmine" in flags, "store" in flags, "incident" in flags))  # fmt: skip
