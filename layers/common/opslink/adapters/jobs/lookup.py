"""Finding the job a launch whose answer was lost started (`FindsLaunches.find`): the
platform's jobs, newest first, page after page — until the launch's own, a job started
before the lookup's window, or the page limit. A storm launches one runbook for many
alerts at once, which is when answers get lost: the latest page alone could hold only
the others' jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from opslink.adapters.jobs.fields import instant
from opslink.clock import utcnow

# A lost answer's retry comes within minutes (the state machine's retries, a batch's next
# poll): jobs started before the window cannot be one's own.
WINDOW = timedelta(hours=1)
MAX_PAGES = 5


def find_recent(
    pages: Iterable[list[dict[str, Any]]],
    mine: Callable[[dict[str, Any]], bool],
    started: Callable[[dict[str, Any]], Any],
) -> dict[str, Any] | None:
    """The first job of `pages` (newest first; a generator that stops when the platform
    has no more) that is `mine`, or None. `started`: a job's start time as the platform
    writes it (ISO 8601, epoch milliseconds or a datetime)."""
    cutoff = (utcnow() - WINDOW).timestamp()
    for read, jobs in enumerate(pages, 1):
        found = next((job for job in jobs if mine(job)), None)
        if found is not None:
            return found
        times = [t for t in (instant(started(job)) for job in jobs) if t is not None]
        if read >= MAX_PAGES or not jobs or (times and min(times) < cutoff):
            return None
    return None
