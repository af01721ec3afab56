"""Polling schedule and escalation texts of the remediation state machine. Pure."""

from __future__ import annotations

import math


def next_wait(attempt: int, base: int, cap: int, remaining: float) -> int:
    """Seconds before poll number `attempt` + 1: base x 2^attempt, capped, and never past
    the runbook's timeout (so a hung job is cancelled on time). Geometric growth keeps the
    number of polls logarithmic in the job's duration."""
    wait = min(cap, base * (2**attempt))
    if remaining > 0:
        wait = min(wait, math.ceil(remaining))
    return max(1, int(wait))


def polls_needed(duration: float, base: int, cap: int) -> int:
    """How many polls this schedule makes for a job of `duration` seconds."""
    elapsed, attempt = 0.0, 0
    while True:
        elapsed += next_wait(attempt, base, cap, 0)
        attempt += 1
        if elapsed >= duration:
            return attempt


ESCALATIONS = {
    "failed": "the runbook failed",
    "timeout": "the runbook did not finish within its timeout and was cancelled",
    "not_fixed": "the runbook ran but the alarm is still firing",
    "parameter_rejected": "a runbook parameter was rejected; nothing was run",
    "platform_error": "the job platform gave an unusable answer (a launched job may still be running)",
    "approval_timeout": "nobody approved the runbook in time",
    "budget": "the service's hourly automation budget is used up (runaway protection)",
    "platform_down": "the job platform is unreachable; automation is paused for it",
    "automation_error": "automated remediation stopped on an unexpected error",
}
