"""Hand-overs told in chat, in the service's channel: once per alert and reason (a retried
task posts nothing twice), its thread the alert's (replies become ticket comments). A chat
platform that fails is a fault record and a note, never a failed hand-over: the ticket
is the hand-over, the message only says so."""

from __future__ import annotations

from datetime import datetime

from opslink.approvals import latest_decision, message_decided_slot
from opslink.errors import RetryableError
from opslink.remediation.deps import RemediateDeps
from opslink.remediation_input import RemediationInput
from opslink.scrub import scrub_excerpt


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
        chat_failed(deps, a, exc, "The hand-over", "the ticket has it", now)
        return
    deps.chat_threads.link_chat_message(message, a.alert_id, now)


def decision_to_chat(deps: RemediateDeps, a: RemediationInput, now: datetime) -> None:
    """Replace the approval request's message with the decision once the run moves on,
    whoever decided (the CLI, a chat dialog): who, when, what happens now. A button whose
    own answer replaced it claimed the same slot already."""
    if deps.chat is None:
        return
    # One consistent read: every decider (chat, the CLI) notes the decision before it wakes
    # the run (approvals.decide); a run woken without one (a token answered by hand) has
    # nothing to show.
    alert = deps.store.get(a.alert_id)
    if alert is None or not alert.chat_message:
        return
    if (decided := latest_decision(alert.notes)) is None:
        return
    if not deps.store.claim_slot(a.alert_id, message_decided_slot(alert.chat_message), None, now):
        return
    then = decided.get("at", "")
    text = f"{decided['text']} ({then}) — " + (
        "the runbook runs now." if decided["kind"] == "approved" else "the alert stays with humans.")  # fmt: skip
    try:
        deps.chat.replace(alert.chat_message, text)
    except RetryableError as exc:
        chat_failed(deps, a, exc, "The decision", "the ticket has it", now)


def chat_failed(
    deps: RemediateDeps, a: RemediationInput, exc: Exception, what: str, instead: str,
    now: datetime,
) -> None:  # fmt: skip
    """A chat platform that did not take a message: a fault record and a note."""
    name = deps.chat.name if deps.chat is not None else "chat"
    if deps.faults is not None:
        deps.faults.record("chat", name, exc, {"alert_id": a.alert_id}, now)
    deps.store.add_note(a.alert_id, f"{what} could not be posted to {name} "
                        f"({scrub_excerpt(str(exc), 200)}); {instead}.", now, kind="chat_failed")  # fmt: skip
