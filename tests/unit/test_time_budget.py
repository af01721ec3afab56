"""The reconciler has a time budget from its Lambda context: it stops taking new alerts a
safety margin before the function would be killed, leaves the rest for the next run and
says so (`left`)."""

from __future__ import annotations

import time
from typing import Any

from opslink import reconciler
from opslink.deadline import MARGIN_SECONDS, budget
from opslink.errors import TicketSystemError
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink_cli import samples


class Context:
    """A Lambda context with `seconds` left, counting down in real time."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


class SlowDownTickets:
    """A ticket system that takes `seconds` to fail every create (an outage with
    connection timeouts)."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner, self.seconds, self.name, self.down = inner, seconds, inner.name, True

    def create(self, draft: Any) -> Any:
        if self.down:
            time.sleep(self.seconds)
            raise TicketSystemError("ticket system: connect timeout")
        return self.inner.create(draft)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def test_the_reconciler_leaves_what_its_budget_cannot_finish(deps: IngestDeps) -> None:
    policy = IngestPolicy()
    slow = SlowDownTickets(deps.tickets, 0.4)
    deps.tickets = slow  # type: ignore[assignment]
    for i in range(8):
        name = f"prod-checkout-api-cpu-high-{i}"
        [r] = ingest_event(samples.sns_event(samples.metric_alarm(name, samples.T0)), deps, policy)
        assert r.retryable
    deps.clock = lambda: samples.T0.replace(year=samples.T0.year + 1)  # every lease ran out
    budget_seconds = MARGIN_SECONDS + reconciler.RESERVE_SECONDS + 1.0
    started = time.monotonic()
    with budget(Context(budget_seconds)):
        run = reconciler.reconcile(deps, policy)
    assert time.monotonic() - started < budget_seconds - MARGIN_SECONDS + 0.5
    assert run["left"] and len(run["failed"]) + len(run["left"]) == 8
    slow.down = False  # the next run (5 minutes later), with the ticket system back
    deps.clock = lambda: samples.T0.replace(year=samples.T0.year + 1, minute=30)
    with budget(Context(60)):
        done = reconciler.reconcile(deps, policy)
    assert len(done["finished"]) == 8 and done["left"] == []
    assert len(deps.tickets.list(limit=20)) == 8  # type: ignore[attr-defined]
