"""Hand-overs told in chat, in the service's channel: once per alert and reason (a retried
task posts nothing twice), its thread the alert's (replies become ticket comments). A chat
platform that fails is a fault record and a note, never a failed hand-over: the ticket
is the hand-over, the message only says so."""

from __future__ import annotations

from datetime import datetime

from opslink.errors import RetryableError
from opslink.remediation.deps import RemediateDeps
from opslink.remediation_input import RemediationInput


def handover_to_chat(
    deps: RemediateDeps, a: RemediationInput, kind: str, why: str, ticket: str, assignee: str,
    now: datetime,
) -> None:  # fmt: skip
    if deps.chat is None or not deps.store.claim_slot(
        a.alert_id, f"chat_handover_{kind}", None, now
    ):
        return
    facts = {"alert_id": a.alert_id, "service": a.service, "environment": a.environment,
             "alarm": a.alarm_name, "why": why, "ticket": ticket, "assignee": assignee,
             "where": " / ".join(x for x in (a.account_id, a.region) if x)}  # fmt: skip
    try:
        message = deps.chat.handed_over(facts)
    except RetryableError as exc:
        if deps.faults is not None:
            deps.faults.record("chat", deps.chat.name, exc, {"alert_id": a.alert_id}, now)
        deps.store.add_note(a.alert_id, f"The hand-over could not be posted to {deps.chat.name} "
                            f"({str(exc)[:200]}); the ticket has it.", now, kind="chat_failed")  # fmt: skip
        return
    deps.store.link_chat_message(message, a.alert_id, now)
