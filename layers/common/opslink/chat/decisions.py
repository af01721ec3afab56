"""What a press in chat decides, whichever chat it came from (Slack, Teams): the person
is mapped to a directory identity (the service map's `chat_users`), must be one of the
alerted service's `approvers`, and decides through approvals.py (one decision per
request; the second person is told who decided; step-up counts distinct approvers).

The answer is ready within the request — a DynamoDB write and a Step Functions callback.
What may be slow waits for nobody: the decision's ticket comment is queued in the comment
outbox and delivered by an asynchronous invocation of the remediate function (`courier`;
the reconciler delivers whatever that misses), in order with the ticket's other comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opslink.approvals import NotWaiting, decide, message_decided_slot
from opslink.chat.slack_commands import PAUSE_BUTTON, CommandRefused, pause
from opslink.comment_outbox import post_soon
from opslink.identity import alert_of_execution
from opslink.models import Alert
from opslink.ports import AutomationControl, TaskCallbacks
from opslink.service_map import ServiceMap, may_approve
from opslink.track_service import TrackDeps

ACTIONS = ("approve", "reject", "pause")


@dataclass(frozen=True)
class Press:
    platform: str  # "Slack" | "Teams": how notes, the ticket and the journal name it
    user: str  # as keyed in chat_users: "slack:<user id>", "teams:<Entra object id>"
    label: str  # how the person is shown beside their e-mail (a display name)
    kind: str  # approve | reject | pause (automation for the alert's service, an hour)
    execution: str
    reason: str | None = None  # a rejection's reason (None: the platform asked none)


@dataclass(frozen=True)
class Answer:
    outcome: str  # refused | paused | partial (step-up) | already | decided
    text: str
    verdict: str = ""  # approved | rejected, when decided

    @property
    def changed(self) -> bool:
        """The channel may see it: something was decided or paused."""
        return self.outcome in ("paused", "partial", "decided")


def email_of(smap: ServiceMap, press: Press) -> str | None:
    return smap.chat_users.get(press.user)


def answer(
    press: Press,
    deps: TrackDeps,
    callbacks: TaskCallbacks,
    smap: ServiceMap,
    now: datetime,
    control: AutomationControl | None = None,
    shows_decision: bool = True,
) -> Answer:
    """Decide (or pause) as `press` asks, if its person may. `shows_decision`: the
    platform's own answer replaces the request's message with the outcome (the run need
    not replace it again)."""
    user_id = press.user.partition(":")[2]
    who = _who(press, deps, smap)
    if isinstance(who, str):
        return refused(who)
    email, alert = who
    if press.kind == "pause":  # the service's approvers only (pause checks)
        try:
            said = pause(control, deps.journal, smap, alert.service, PAUSE_BUTTON, email,
                         f"paused from the approval request of {press.execution}", now,
                         platform=press.platform)  # fmt: skip
        except CommandRefused as exc:
            return refused(f"{exc}: nothing was changed.")
        return Answer("paused", said)
    if not_approver := _not_approver(smap, email, alert):
        return refused(not_approver)
    if press.kind == "reject" and press.reason is not None and not press.reason.strip():
        return refused("Say why it must not run (the reason goes on the ticket).")
    source = f"from {press.platform} ({press.label or user_id})"
    why = f"{press.reason.strip()} ({source})" if press.reason else source
    approve = press.kind == "approve"
    shown = (
        message_decided_slot(alert.chat_message) if shows_decision and alert.chat_message else None
    )
    try:
        done = decide(
            deps.store, deps.journal, callbacks, press.execution, approve, email, why, now, shown
        )
    except NotWaiting as exc:
        return refused(f"{exc}: nothing was decided.")
    if not done.first:
        return Answer("already", done.said())
    if done.waiting_for:  # step-up: the buttons stay for the next approver
        return Answer("partial", f"{done.said()} ({email} {source})")
    who = ", ".join(done.approvers) if approve else email
    text = (f"{'Approved' if approve else 'Rejected'} by {who} {why} at "
            f"{now.replace(microsecond=0).isoformat()}: {press.execution} "
            + ("runs its runbook now." if approve else "stays with humans."))  # fmt: skip
    if alert.ticket_id:
        # one comment per request: a later runbook of the ladder asks (and is decided) anew
        key = f"{alert.alert_id}:{press.platform.lower()}:{alert.approval_runbook or '-'}:{done.verdict}"
        post_soon(deps.outbox, deps.tickets, alert.ticket_id, key, text, now, alert.alert_id,
                  deps.courier)  # fmt: skip
    return Answer("decided", text, done.verdict)


def refused(text: str) -> Answer:
    return Answer("refused", text)


def may_decide(press: Press, deps: TrackDeps, smap: ServiceMap) -> str:
    """Why this person may not decide the request (before a dialog asks them why);
    empty: they may."""
    who = _who(press, deps, smap)
    if isinstance(who, str):
        return who
    return _not_approver(smap, *who)


def _who(press: Press, deps: TrackDeps, smap: ServiceMap) -> tuple[str, Alert] | str:
    """The person's directory identity and the alert the execution is about, or why not."""
    email = email_of(smap, press)
    if not email:
        return (f"Your {press.platform} user ({press.user.partition(':')[2]}) is not mapped to "
                "a directory identity (the service map's chat_users): nothing was decided.")  # fmt: skip
    alert = deps.store.get(alert_of_execution(press.execution))
    if alert is None:
        return f"{press.execution} is not an OpsLink execution here."
    return email, alert


def _not_approver(smap: ServiceMap, email: str, alert: Alert) -> str:
    if may_approve(smap.services.get(alert.service), email, alert.approval_runbook):
        return ""
    runbook = alert.approval_runbook
    what = f"runbook {runbook}" if runbook else "runbooks"
    return (f"{email} may not approve {what} of {alert.service} (the service map's "
            "approvers): nothing was decided.")  # fmt: skip
