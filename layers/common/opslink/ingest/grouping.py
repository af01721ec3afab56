"""Alert correlation on the ingest path (docs/CORRELATION.md): a new alert joins the
incident open under its grouping key, or opens one; a member links to the incident's
ticket and comments on it instead of opening a ticket and a remediation of its own.

Costs a new alert nothing beyond its opening: the placement is written by the
transaction that opens it (`open_placed`); a key with an item refuses that opening with
the item, and the second opening is placed from it. A member costs one more read (the
incident's ticket). The grouping itself is computed before the alert is stored, so an
alert grouping leaves alone carries why from its first write."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from opslink.comment_outbox import post_comment
from opslink.errors import RetryableError
from opslink.identity import execution_name
from opslink.incident_tickets import SAID_IN_FULL as JOINS_SAID_IN_FULL
from opslink.incident_tickets import resolve_alert_ticket, said_at
from opslink.incidents import TicketRef, incident_id_for
from opslink.inert import code
from opslink.ingest.remediation_start import remediation_input
from opslink.lock_holder import (
    DECISION_FIELDS,
    AlarmClearedFirst,
    PlacementRefused,
    decision_fields,
)
from opslink.models import Alert, Outcome, RecordResult
from opslink.scrub import scrub_excerpt

if TYPE_CHECKING:  # the rules and the engine are imported when the deps are built
    from collections.abc import Mapping
    from datetime import datetime

    from opslink.correlation import Dependencies, Grouping, Signal
    from opslink.correlation_rules import CorrelationRules
    from opslink.ingest.deps import IngestDeps
    from opslink.ingest.episode import Episode

logger = Logger(child=True)
# A member arriving while the incident's opener creates its ticket waits this long for it
# (re-reading the incident) before its delivery is retried.
TICKET_WAIT_READS = 4
TICKET_WAIT_SECONDS = 0.75


class IncidentTicketPending(RetryableError):
    """The incident's opener has not linked its ticket yet: retried, no fallback notice
    (the operators hear of the incident from its opener). `stalled`: the opener's
    delivery failed, nobody is making the ticket now."""

    def __init__(self, message: str, opener: str = "", stalled: bool = False) -> None:
        super().__init__(message)
        self.opener, self.stalled = opener, stalled


@dataclass(frozen=True)
class Correlator:
    """The rules and the service map's dependencies, loaded once per container."""

    rules: CorrelationRules
    dependencies: Dependencies

    def grouping(self, alert: Alert, tags: Mapping[str, str]) -> tuple[Signal, Grouping]:
        from opslink.correlation import safe_grouping, signal_of

        s = replace(signal_of(alert), tags=dict(tags))
        return s, safe_grouping(s, self.rules, self.dependencies)


def load_correlator(rules_path: str | None, depends_on: Mapping[str, list[str]]) -> Correlator:
    from opslink.correlation import Dependencies
    from opslink.correlation_rules import load_rules

    return Correlator(load_rules(rules_path or None), Dependencies(depends_on))


def placed(episode: Episode, deps: IngestDeps) -> Episode:
    """The episode with its alert placed in an incident (the decision is on the stored
    alert too); unchanged when grouping leaves it alone."""
    g, s = episode.grouping, episode.signal
    if g is None or s is None or g.key is None or deps.incidents is None:
        return episode
    alert = episode.alert
    height = _height(alert, deps)
    d = deps.incidents.place(
        s,
        g,
        incident_id_for(alert.alert_id),
        lock_of=(alert.fingerprint, alert.alert_id),
        height=height,
    )
    fields = decision_fields(d)
    if d.alone:
        return replace(
            episode, alert=alert.model_copy(update={"incident_why": fields["incident_why"]})
        )
    return _decided(episode, fields)


def open_placed(
    episode: Episode,
    deps: IngestDeps,
    lease_until: datetime,
    replaces: str | None = None,
    previous: dict[str, str] | None = None,
    replaces_cleared: str | None = None,
) -> Episode:
    """Open the episode's alert (store.open_alert: `replaces` is its `replace`; `previous`
    and the OpenAlertConflict it raises as there), placed in its incident. An alert whose
    key has no item yet is placed in the opening's own transaction, without reading the
    key; one whose key has an item is refused with that item and opened again with the
    placement decided from it — no read either way. A composite, a suppressed alarm, or a
    race on the key: opened, then placed (`placed`)."""
    g, s = episode.grouping, episode.signal
    plan = None
    if g is not None and s is not None and deps.incidents is not None:
        new_id, height = incident_id_for(episode.alert.alert_id), _height(episode.alert, deps)
        plan = deps.incidents.opening_placement(s, g, new_id, height)
    for _ in range(2):
        if plan is None:
            break
        try:
            deps.store.open_alert(episode.alert.model_copy(update=plan.fields), lease_until=lease_until, replace=replaces,
                                  previous=previous, placement=plan, replace_cleared=replaces_cleared)  # fmt: skip
        except PlacementRefused as refused:
            assert g is not None and s is not None and deps.incidents is not None
            plan = deps.incidents.placement_after(refused.found, s, g, new_id, height)
            continue
        return _decided(episode, plan.fields)
    deps.store.open_alert(episode.alert, lease_until=lease_until, replace=replaces,
                          previous=previous, replace_cleared=replaces_cleared)  # fmt: skip
    return placed(episode, deps)


def _decided(episode: Episode, fields: dict[str, str]) -> Episode:
    """The episode with its alert in the incident it was placed in (logged)."""
    logger.info("incident", extra={"alert_id": episode.alert.alert_id, **fields})
    return replace(episode, alert=episode.alert.model_copy(update=fields))


def _height(alert: Alert, deps: IngestDeps) -> int:
    return deps.correlator.dependencies.height(alert.service) if deps.correlator else 0


def decision_of(alert: Alert) -> dict[str, str]:
    """The alert's incident decision, as the lock keeps it."""
    return {k: v for k in DECISION_FIELDS if (v := getattr(alert, k))}


def with_decision(alert: Alert, decision: dict[str, str] | None) -> Alert:
    """A later delivery (or the reconciler) finishing an alert: the incident decision its
    first delivery made, as kept on the dedup lock (none: not placed yet)."""
    if not decision or not decision.get("incident_id"):
        return alert
    return alert.model_copy(update=decision)


def said_on_joining(members: int) -> bool:
    """Whether the incident's ticket hears of the alarm that made it `members` strong: each
    of the first JOINS_SAID_IN_FULL, then at each doubling (a burst of 300 instance alarms
    would otherwise add 300 comments — and ticket-system calls — in a minute). A new root
    is always said. Decided on the count its read saw: concurrent joins may say one more
    or one fewer."""
    return said_at(members)


def join_incident_ticket(episode: Episode, deps: IngestDeps, wait: bool = True) -> RecordResult:
    """A member's opening: linked to its incident's ticket, which gets a comment saying
    which alarm joined and why. No ticket and no remediation of its own. `wait`: while
    the opener may still be making the ticket, wait a moment for it (a live delivery);
    the reconciler never waits (it finishes openers first)."""
    alarm, alert = episode.alarm, episode.alert
    assert deps.incidents is not None and alert.incident_id is not None
    state = deps.incidents.incident(alert.incident_id)
    for _ in range(TICKET_WAIT_READS - 1 if wait else 0):
        if state is None or state.ticket_id is not None or state.opener_stalled_at:
            break  # nothing to wait for: a ticket, or an opener whose delivery failed
        time.sleep(TICKET_WAIT_SECONDS)
        state = deps.incidents.incident(alert.incident_id)
    if state is None or state.ticket_id is None:
        opener = state.opener if state else "?"
        stalled = bool(state and state.opener_stalled_at)
        how = "failed to open" if stalled else "is still opening"
        raise IncidentTicketPending(
            f"incident {alert.incident_id} {how} its ticket (alert {opener}); "
            f"alert {alert.alert_id} joins it on the retry",
            opener if state else "",
            stalled,
        )
    ticket = TicketRef(deps.tickets.name, state.ticket_id, state.ticket_url)
    now = deps.clock()
    # A member on a deeper dependency than the incident's root becomes its root: the
    # remediation that can fix the cause is its own (the opener's keeps running).
    execution = None
    height = _height(alert, deps)
    if (
        alert.pending_ok is None
        and height < state.root_height
        and deps.incidents.claim_root(state.incident_id, alert.alert_id, height)
    ):
        execution = execution_name(alert.alert_id)
        payload = remediation_input(alarm, alert, ticket.id, ticket.url)
        deps.workflow.start_remediation(execution, payload)
    try:
        deps.store.link_opened(alert, ticket, execution, new_ticket=False, member=True)
    except AlarmClearedFirst:  # its OK came meanwhile: linked all the same, then cleared
        if execution:
            deps.workflow.stop_remediation(execution, "the alarm returned to OK first")
        execution = None
        fresh = deps.store.get(alert.alert_id)
        if fresh is None or fresh.pending_ok is None:
            raise RetryableError(f"alert {alert.alert_id} changed while it was opened") from None
        alert = with_decision(fresh, decision_of(alert))  # not on the stored alert yet
        deps.store.link_opened(alert, ticket, None, new_ticket=False)
    count = len(state.members)
    if execution or said_on_joining(count):
        text = (
            f"Alarm {code(alarm.name)} ({alert.service}, {alert.environment}) fired at "
            f"{alarm.state_changed_at.isoformat()} and joins incident {state.incident_id} "
            f"(alert {alert.alert_id}): {alert.incident_why}. {count} alarm(s) in "
            "this incident; no ticket of its own. "
            + (f"{alert.service} is the deepest dependency so far: the incident's root, its "
               f"remediation runs ({execution}). " if execution else "")
            + (f"From now on the ticket hears of joining alarms at {count * 2} and so on; "
               f"`opslink incidents show {state.incident_id}` lists every one. "
               if count >= JOINS_SAID_IN_FULL and said_on_joining(count) else "")
            + f"Reason: {code(scrub_excerpt(alarm.reason, 500))}"
        )  # fmt: skip
        post_comment(deps.outbox, deps.tickets, ticket.id, f"{alert.alert_id}:joined", text,
                     now, alert.alert_id)  # fmt: skip
    reason = (
        f"joined incident {state.incident_id}: on its ticket {ticket.id} ({alert.incident_why})"
    )
    if execution:
        reason += f"; the deepest dependency so far: the incident's root ({execution})"
    if alert.pending_ok is not None:  # it cleared before it was linked
        pending = alert.pending_ok
        linked = alert.model_copy(update={"ticket_id": ticket.id})
        at = pending.get("at") or now.isoformat()
        resolve_alert_ticket(deps.store, deps.outbox, deps.tickets, deps.incidents, linked,
                             pending.get("note") or "Alarm returned to OK.",
                             f"{alert.alert_id}:ok:{at}", now)  # fmt: skip
        from datetime import datetime

        deps.store.resolve(linked, {"by": "alarm", "how": "alarm returned to OK", "at": at,
                                    "reason": pending.get("reason", "")},
                           datetime.fromisoformat(at))  # fmt: skip
        return RecordResult(index=0, outcome=Outcome.RESOLVED, reason=reason + "; then cleared",
                            alert_id=alert.alert_id, ticket_id=ticket.id)  # fmt: skip
    return RecordResult(
        index=0, outcome=Outcome.CREATED, reason=reason, alert_id=alert.alert_id,
        ticket_id=ticket.id, execution_name=execution,
    )  # fmt: skip
