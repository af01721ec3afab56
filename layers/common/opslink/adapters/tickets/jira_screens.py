"""Fields a Jira project's screens may lack.

A create or edit that sets a field its screen does not show is refused whole: 400, "Field
'duedate' cannot be set. It is not on the appropriate screen, or unknown." Team-managed
projects and trimmed company screens often have no due date, priority or assignee. The
alarm would never be ticketed, the hand-over never made. Such a field is left out and the
write made again; the container remembers the screen's lack (no refused call per alarm),
and the ticket's text says what to set by hand. Fields OpsLink cannot do without (summary,
description, labels: its idempotency marker) stay refusals.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from opslink.errors import TicketSystemRejected

logger = Logger(child=True)
OPTIONAL = frozenset({"priority", "duedate", "assignee"})
_LABELS = {"priority": "priority", "duedate": "due date", "assignee": "assignee"}


def unsettable(exc: TicketSystemRejected) -> set[str]:
    """The optional fields a 400 says its screen cannot set."""
    if exc.status != 400:
        return set()
    try:
        errors = json.loads(exc.answer).get("errors") or {}
    except (ValueError, AttributeError):
        return set()
    return {f for f, why in errors.items() if f in OPTIONAL and "cannot be set" in str(why)}


def notice(skipped: set[str], values: dict[str, str]) -> str:
    """Plain text (read alike in every markup) saying what the screen could not take, with the values to set by hand."""
    said = ", ".join(f"{_LABELS[f]} {values[f]}" for f in sorted(skipped) if values.get(f))
    return (
        f"Not set (this Jira screen has no such field): {said}. Set it by hand, or add the "
        "field to the project's screens.\n\n"
        if said
        else ""
    )


class Screens:
    """What each screen ("create", "edit") was found to lack, per container."""

    def __init__(self) -> None:
        self.lacks: dict[str, set[str]] = {"create": set(), "edit": set()}
        self._lock = threading.Lock()

    def write(self, screen: str, send: Callable[[set[str]], Any]) -> tuple[Any, set[str]]:
        """`send(skipped)` once, and again leaving out what its refusal names; returns its
        answer and the fields left out."""
        skipped = set(self.lacks[screen])
        try:
            return send(skipped), skipped
        except TicketSystemRejected as exc:
            new = unsettable(exc) - skipped
            if not new:
                raise
            with self._lock:
                self.lacks[screen] |= new
            logger.warning(
                f"Jira's {screen} screen has no {', '.join(sorted(new))} field: written "
                "without it from now on (docs/TICKET_SYSTEMS.md)"
            )
            skipped |= new
            return send(skipped), skipped
