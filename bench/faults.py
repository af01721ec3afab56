"""Fault figures at full size (the test tier `tests/faults` runs the same scenarios
scaled down). Prints one line per scenario; targets: 0 lost, 0 duplicate tickets, 0
orphan tickets, 0 duplicate alerts or executions.

    .venv/bin/python bench/faults.py [ALARMS]      (default 1000; PYTHONPATH=. is set below)

Scenarios: each alarm delivered 3x concurrently across 100 resources; 30 % of ticket
calls failing (5xx, 429 with Retry-After, timeouts before and after the work) with
Lambda's retries and the reconciler; the ticket system down while the alarms arrive,
then back (time to drain = the reconciler's passes after recovery). The emulator's
DynamoDB copies a table per transaction, so each scenario runs on its own table.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults import scenarios


def main(alarms: int) -> int:
    failed = False
    for name, run in (
        ("3x concurrent deliveries", lambda: scenarios.duplicate_deliveries(alarms, 100)),
        ("30% ticket-call faults", lambda: scenarios.ticket_faults(alarms, rate=0.3)),
        ("ticket system down, then back", lambda: scenarios.ticket_outage(alarms)),
    ):
        started = time.monotonic()
        out = run()
        bad = out.lost + out.duplicate_tickets + out.orphan_tickets + out.duplicate_alerts
        failed |= bool(bad + out.duplicate_executions)
        print(f"{name}: {out.line()} [{time.monotonic() - started:.0f}s]", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
