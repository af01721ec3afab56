"""A burst delivered at once: N alarms of one family (one Auto Scaling group), each
delivered once by its own thread at the same moment, correlation on, on the emulator's
DynamoDB with each conditional write applied atomically (as DynamoDB applies it) and
the builtin ticket system. Prints, per run and as medians: deliveries placed at their
first attempt, deliveries left for a Lambda retry (and why), tickets and executions
(targets: every delivery placed, 1 ticket, 1 execution) and the wall time.

    .venv/bin/python bench/burst_placement.py [ALARMS] [RUNS]     (default 40 3)

Run from another tree (a `git worktree` of an earlier commit, with this file copied
there) to compare: the figures come from the code of the tree the script is in.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common"), str(ROOT / "cli")]

from moto import mock_aws  # noqa: E402
from tests.conftest import create_tables  # noqa: E402
from tests.unit.conftest import Clock, build_deps  # noqa: E402

from opslink.adapters.store.incident_keys import IncidentKeys  # noqa: E402
from opslink.ingest import IngestPolicy, ingest_event  # noqa: E402
from opslink.ingest.grouping import load_correlator  # noqa: E402
from opslink_cli import samples  # noqa: E402
from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes  # noqa: E402


def _alarm(n: int) -> dict[str, Any]:
    instance = f"i-0abc{n:013x}"
    return samples.sns_event(
        samples.metric_alarm(
            f"prod-search-cpu-high-{instance}",
            samples.T0 + timedelta(seconds=n),
            dimensions={"AutoScalingGroupName": "search-asg", "InstanceId": instance},
        )
    )


def run(alarms: int) -> dict[str, Any]:
    with mock_aws():
        ddb = create_tables()
        deps = build_deps(ddb, Clock(samples.T0 + timedelta(minutes=1)))
        deps.incidents = IncidentKeys("AlertsTable", ddb)
        deps.correlator = load_correlator(None, deps.service_map.depends_on())
        policy = IngestPolicy()
        results: list[Any] = []
        start = threading.Barrier(alarms)

        def deliver(n: int) -> None:
            start.wait()
            [result] = ingest_event(_alarm(n), deps, policy)
            results.append(result)

        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(alarms)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    left = [r for r in results if r.retryable]
    why = Counter(r.reason.rsplit(": ", 1)[-1][:60] for r in left)
    placed = [r for r in results if not r.retryable]
    return {
        "placed": len(placed),
        "left": len(left),
        "why": dict(why),
        "tickets": len({r.ticket_id for r in placed if r.ticket_id}),
        "executions": sum(r.execution_name is not None for r in placed),
        "seconds": elapsed,
    }


def main() -> None:
    alarms = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    serialise_dynamodb_writes()
    print(f"tree {ROOT}; {alarms} alarms of one burst delivered at once, {runs} runs")
    figures = []
    for n in range(runs):
        got = run(alarms)
        figures.append(got)
        print(f"run {n + 1}: placed at first attempt {got['placed']}, left for a retry "
              f"{got['left']} {got['why'] or ''}, tickets {got['tickets']}, executions "
              f"{got['executions']}, {got['seconds']:.1f} s")  # fmt: skip
    med = {k: statistics.median(f[k] for f in figures) for k in ("placed", "left", "seconds")}
    print(f"median: placed {med['placed']:.0f}/{alarms}, left for a retry {med['left']:.0f}, "
          f"{med['seconds']:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
