"""A human's decision on a runbook waiting for approval — from the CLI (`opslink executions
approve|reject`) or a chat button (chat/slack.py). One decision per request: it is
claimed on the alert before the state machine hears of it, so two people deciding at
once, a double click or a retried request give one decision, the second is told who
decided, and no note ever says the opposite of what ran.

Step-up: a runbook with `min_approvers: N` runs only once N distinct people approved the
same request (each counted once, atomically: two at once are two); one rejection stops
it, and after a decision no approval counts any more."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from opslink.identity import alert_of_execution
from opslink.journal import EventKind, about
from opslink.ports import EventRecorder, TaskCallbacks, TrackStore


class NotWaiting(Exception):
    """Nothing to decide: no such execution, or it waits for no approval (any more)."""


@dataclass(frozen=True)
class Decided:
    execution: str
    verdict: str  # approved | rejected
    by: str
    first: bool  # False: someone decided before (`earlier` says who)
    earlier: str = ""
    waiting_for: int = 0  # step-up: approvals still needed (0: decided)
    approvers: tuple[str, ...] = ()  # who approved, in order (step-up)

    def said(self) -> str:
        """The outcome in words, for the person who acted."""
        if not self.first:
            return f"Already decided: {self.earlier}"
        if self.waiting_for:
            return (f"Approved by {self.by}: {len(self.approvers)} of "
                    f"{len(self.approvers) + self.waiting_for} approvals; the runbook waits "
                    f"for {self.waiting_for} more, from someone else.")  # fmt: skip
        if self.verdict == "approved":
            return f"Approved by {', '.join(self.approvers) or self.by}: the runbook runs now."
        return f"Rejected by {self.by}: the alert stays with humans."


def decide(
    store: TrackStore,
    journal: EventRecorder,
    callbacks: TaskCallbacks,
    execution: str,
    approve: bool,
    by: str,
    reason: str,
    now: datetime,
    shown_slot: str | None = None,
) -> Decided:
    """Approve or reject the runbook execution `execution` waits for; NotWaiting when it
    waits for none (or its wait ended: decided, timed out, stopped). `shown_slot`: the
    chat message the decider's answer replaces (the run then leaves it alone)."""
    alert_id = alert_of_execution(execution)
    alert = store.get(alert_id)
    token = store.approval_token(alert_id) if alert is not None else None
    verdict = "approved" if approve else "rejected"
    if alert is None or token is None:
        # Decided a moment ago, and the run has moved on (its launch clears the token):
        # the second person is told who decided, not that nothing waits.
        earlier = _last_decision(alert.notes) if alert is not None else None
        if earlier:
            return Decided(execution, verdict, by, first=False, earlier=earlier)
        raise NotWaiting(f"execution {execution} is not waiting for an approval")
    request = hashlib.sha256(token.encode()).hexdigest()[:16]
    approvers: tuple[str, ...] = (by,)
    if approve and (needed := store.approvals_needed(alert_id)) > 1:
        earlier = _decision_since_request(alert.notes)
        if earlier:
            return Decided(execution, verdict, by, first=False, earlier=earlier)
        got = store.add_approver(alert_id, request, by)
        if got is None:
            return Decided(execution, verdict, by, first=False,
                           earlier=f"{by} approved this request already; {needed} different "
                                   "people must approve it")  # fmt: skip
        approvers, count = got, len(got)
        if count < needed:
            text = (f"Runbook approved by {by} ({count} of {needed} approvals, step-up): it "
                    f"waits for {needed - count} more, from someone else.")  # fmt: skip
            event = about(alert, EventKind.APPROVAL_GRANTED, now, by=by, why=reason,
                          key=f"approval:{by}", counted=False)  # fmt: skip
            store.add_note(alert_id, text, now, kind="approved_partial", event=event)
            return Decided(execution, verdict, by, first=True, waiting_for=needed - count,
                           approvers=approvers)  # fmt: skip
    if not store.claim_slot(alert_id, "decided_" + request, None, now):
        return Decided(execution, verdict, by, first=False, earlier=_earlier(store, alert_id))
    if shown_slot:  # the decider's own answer shows it: claimed before the run moves on
        store.claim_slot(alert_id, shown_slot, None, now)
    if approve:
        text, kind, event_kind = (
            f"Runbook approved by {', '.join(approvers)}" + (f" ({reason})." if reason else "."),
            "approved",
            EventKind.APPROVAL_GRANTED,
        )
    else:
        text = f"Runbook rejected by {by}: {reason or 'no reason given'}"
        kind, event_kind = "rejected", EventKind.APPROVAL_DENIED
    # Noted before the run is woken, so what the run notes next (its launch, its hand-over)
    # follows the decision on the alert, whatever the timing; counted once it took effect.
    store.add_note(alert_id, text, now, kind=kind)
    if approve:
        answered = callbacks.succeed(
            token, {"approved_by": ", ".join(approvers), "at": now.isoformat()}
        )
    else:
        answered = callbacks.fail(token, "ApprovalRejected", text)
    if not answered:
        store.add_note(alert_id, f"That decision came too late: execution {execution} no "
                       "longer waited for it (timed out or stopped).", now, kind="decision_void")  # fmt: skip
        raise NotWaiting(f"execution {execution} no longer waits (timed out or stopped)")
    journal.record_event(about(alert, event_kind, now, by=by, why=reason, key="decision"))
    return Decided(execution, verdict, by, first=True, approvers=approvers if approve else ())


def _earlier(store: TrackStore, alert_id: str) -> str:
    alert = store.get(alert_id)
    return _last_decision(alert.notes if alert is not None else []) or (
        "by someone else a moment ago"
    )


def _decisions(notes: list[dict[str, str]]) -> list[dict[str, str]]:
    """The decision notes that took effect, oldest first (one that came too late is
    followed by its `decision_void` note)."""
    out: list[dict[str, str]] = []
    for n in notes:
        if n.get("kind") in ("approved", "rejected"):
            out.append(n)
        elif n.get("kind") == "decision_void" and out:
            out.pop()
    return out


def _last_decision(notes: list[dict[str, str]]) -> str | None:
    decided = _decisions(notes)
    return decided[-1]["text"] if decided else None


def latest_decision(notes: list[dict[str, str]]) -> dict[str, str] | None:
    """The decision note on the latest approval request (an alert may be asked again
    later: an earlier request's decision is not this one's)."""
    start = max((i for i, n in enumerate(notes) if n.get("kind") == "approval_requested"),
                default=-1)  # fmt: skip
    decided = _decisions(notes[start + 1 :])
    return decided[-1] if decided else None


def _decision_since_request(notes: list[dict[str, str]]) -> str | None:
    decided = latest_decision(notes)
    return decided["text"] if decided else None


def message_decided_slot(message: str) -> str:
    """The alert's slot claimed by whoever shows the decision on the request's chat
    message ("<channel>/<ts>"): the chat answer itself, or the run once it moves on."""
    return "chat_decided_" + hashlib.sha256(message.encode()).hexdigest()[:16]
