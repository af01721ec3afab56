"""Stable identities: alarm fingerprint, alert id and remediation execution name.

Derived, never random, so that a retried or duplicated delivery computes the same ids
and conditional writes (and Step Functions execution names) turn it into a no-op.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from opslink.models import Alarm


def fingerprint(alarm: Alarm) -> str:
    """Same alarm, same fingerprint, whatever form the state change arrived in."""
    key = f"{alarm.account_id}|{alarm.region}|{alarm.name}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def alert_id(fp: str, opened_at: datetime) -> str:
    """One alert per alarm episode: the fingerprint and the ALARM transition's time."""
    key = f"{fp}|{opened_at.isoformat()}"
    return "A-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


MANUAL_RUN = "--run-"


def execution_name(alert: str, run_id: str | None = None) -> str:
    """Step Functions names are unique per state machine for 90 days: one automated run
    per alert; an operator's on-demand run adds its own run id."""
    return f"remediate-{alert}" + (f"{MANUAL_RUN}{run_id}" if run_id else "")


def alert_of_execution(name: str) -> str:
    """The inverse of execution_name; accepts an execution name or ARN."""
    return name.rsplit(":", 1)[-1].removeprefix("remediate-").split(MANUAL_RUN, 1)[0]
