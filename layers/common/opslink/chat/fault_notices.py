"""Integration faults told in chat: when a ticket system, a job platform or the
notifications start failing (and when they answer again), the default channel hears it
— what fails, since when, the impact, what OpsLink does meanwhile (e.g. automation
paused: circuit open) and the recovery plan, as the operators' e-mail says it.

Told the moment it opens or recovers where the function has chat (the remediate
function: a job platform's circuit opening), and by the track function's scheduled pass
(every 5 minutes) from the fault records themselves for the rest (a ticket system's
fault seen by ingest): once per state, and a chat that is away is simply tried again on
the next pass — nothing is lost.
Faults of the chat platform itself are not told there."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from opslink.errors import RetryableError
from opslink.ports import ChatMessages, FaultListing, ReplayGuard
from opslink.scrub import scrub_excerpt

logger = Logger(child=True)
RECENT = timedelta(days=1)  # older faults were told (or are in `opslink faults`)


def tell_faults(
    faults: FaultListing, told: ReplayGuard, chat: ChatMessages, now: datetime
) -> list[str]:
    """Tell the faults opened or recovered lately that were not told yet; their ids."""
    said: list[str] = []
    for fault in faults.faults(limit=50):
        at = fault.recovered_at if fault.state == "recovered" else fault.first_at
        if at is None or now - at > RECENT:
            continue
        try:
            if tell_one(fault, told, chat, now, raise_errors=True):
                said.append(fault.fault_id)
        except RetryableError as exc:  # the next pass tries again
            logger.warning("fault not told in chat", extra={"error": scrub_excerpt(str(exc), 200)})
            break
    return said


def tell_one(
    fault: Any, told: ReplayGuard, chat: ChatMessages, now: datetime, raise_errors: bool = False
) -> bool:
    """Tell one fault's current state in chat unless it was told; whether it was told now.
    A chat that fails is retried by the next scheduled pass (`raise_errors`: the pass
    stops there)."""
    key = f"chat-fault:{fault.fault_id}:{fault.state}"
    if fault.component == "chat" or told.delivery_seen(key):
        return False
    try:
        chat.fault(_facts(fault, now))
    except RetryableError as exc:
        if raise_errors:
            raise
        logger.warning("fault not told in chat yet", extra={"error": scrub_excerpt(str(exc), 200)})
        return False
    try:
        told.claim_delivery(key, now)
    except RetryableError as exc:  # told; a later pass may tell it once more
        logger.warning(
            "fault told in chat, not recorded as told",
            extra={"error": scrub_excerpt(str(exc), 200)},
        )
    return True


def _facts(fault: Any, now: datetime) -> dict[str, str]:
    a = fault.assessment
    if fault.state == "recovered":
        title = f"OpsLink recovered: {fault.integration} ({fault.component}) answers again"
        body = [f"Fault {fault.fault_id} lasted {fault.duration(now)}, {fault.count} failure(s)."]
    else:
        title = f"OpsLink fault: {fault.integration} ({fault.component}) failing"
        body = [
            f"Since {fault.first_at.isoformat()}: {fault.error[:300]}",
            f"Impact: {a.impact} (severity {a.severity}).",
            "Meanwhile: " + "; ".join(a.emergency_actions) + ".",
            "Recovery plan: " + " → ".join(a.plan.steps) + f" ({a.plan.responsible_team}).",
            f"`opslink faults` shows it ({fault.fault_id}).",
        ]
    return {"title": title, "body": "\n".join(body)}
