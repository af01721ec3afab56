"""The re-fire comment slots this container has seen taken.

An open alert's ticket gets at most one re-fire comment per period: the write that counts
a re-fire takes the slot (`last_comment_at`) on the condition that the period has passed,
and when it has not, a second write counts the re-fire alone. The slot only ever moves
forward (a claim sets it to a time past the period after the one before), so a time this
container saw stored is never later than what the table holds: when that time is inside
the period, the slot is certainly taken and the claim would fail — the count alone is
written, one call instead of two. A slot the container has not seen (a cold container,
an evicted entry, a claim it saw before another container's) is tried as before, so the
cache changes how many calls a re-fire makes, never what it does."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime


class RecentComments:
    """Alert id -> the latest `last_comment_at` seen stored, bounded (least recent out)."""

    def __init__(self, size: int = 4096) -> None:
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()  # one container's deps may serve threads

    def taken_since(self, alert_id: str, due_before: datetime) -> bool:
        """Whether the alert's slot is known to have been taken after `due_before` (a
        claim now would fail)."""
        at = self._seen.get(alert_id)
        return at is not None and at > due_before

    def saw(self, alert_id: str, at: datetime | None) -> None:
        """`at` is the alert's stored `last_comment_at` as a write returned it."""
        if at is None:
            return
        with self._lock:
            known = self._seen.pop(alert_id, None)
            self._seen[alert_id] = at if known is None or at > known else known
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
