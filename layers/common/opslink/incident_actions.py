"""An operator's correction of alert correlation — `opslink incidents split ALERT` (the
alert leaves its incident for a ticket of its own) and `opslink incidents merge FROM INTO`
(one incident's open alerts join another's ticket; the first is resolved into it). They
run in the track function, which holds the ticket system's credentials. Each is journaled
as a grouping correction (`incident_corrected`: the correction-rate KPI, and the
incidents count moves by one), with who and why, and said on the tickets involved.

The ticket system goes first (a split's ticket is created with the alert's marker, so a
retry finds it instead of making a second); every store step after it can be redone, so
a failure part-way is finished by running the same command again."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opslink.alert_actions import Refused, answered, open_alert
from opslink.comment_outbox import noted_status, post_comment
from opslink.incidents import IncidentState, TicketRef, incident_id_for
from opslink.journal import EventKind, about
from opslink.models import Alarm, Alert, AlertStatus, Enrichment, TicketStatus
from opslink.ticket_policy import draft_ticket
from opslink.track_service import TrackDeps


class IncidentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["split", "merge"]
    by: str = Field(min_length=1)
    reason: str = Field(default="", max_length=1000)
    alert_id: str | None = None  # split: the alert to take out
    source: str | None = None  # merge: the incident (or one of its alerts) merged away
    into: str | None = None  # merge: the incident (or one of its alerts) that stays


def handle_incident_request(deps: TrackDeps, raw: Any) -> dict[str, Any]:
    """The answer the CLI prints: {"ok": true, ...} or {"ok": false, "code", "error"}."""

    def act() -> dict[str, Any]:
        req = IncidentRequest.model_validate(raw)
        if deps.incidents is None:
            raise Refused("unavailable", "this stack's track function keeps no incidents")
        done = _split(deps, req) if req.action == "split" else _merge(deps, req)
        return {"action": req.action, "by": req.by} | done

    return answered(act)


def _why(req: IncidentRequest) -> str:
    return f": {req.reason}" if req.reason else ""


def _incident(deps: TrackDeps, ident: str | None, what: str) -> IncidentState:
    """An open incident by its id, or by the id of one of its alerts."""
    assert deps.incidents is not None
    if not ident:
        raise Refused("invalid", f"give the {what} incident (INC-...) or one of its alerts")
    incident_id = ident
    if not ident.startswith("INC-"):
        alert = deps.store.get(ident)
        if alert is None:
            raise Refused("not_found", f"incident or alert {ident!r} not found")
        if alert.incident_id is None:
            raise Refused("conflict", f"alert {ident} is in no incident")
        incident_id = alert.incident_id
    state = deps.incidents.incident(incident_id)
    if state is None:
        raise Refused("not_found", f"incident {incident_id!r} not found")
    if state.resolved_at is not None:
        raise Refused("conflict", f"incident {incident_id} is resolved ({state.resolution}): "
                      "nothing to change")  # fmt: skip
    if not state.ticket_id:
        raise Refused(
            "conflict", f"incident {incident_id} has no ticket yet; try again in a minute"
        )
    return state


def _split(deps: TrackDeps, req: IncidentRequest) -> dict[str, Any]:
    assert deps.incidents is not None
    if not req.alert_id:
        raise Refused("invalid", "give the alert to split out of its incident")
    alert = open_alert(deps, req.alert_id, "split")
    if alert.incident_id is None:
        raise Refused("conflict", f"alert {alert.alert_id} is in no incident: nothing to split")
    if alert.incident_role != "joined":
        raise Refused("conflict", f"alert {alert.alert_id} opened incident {alert.incident_id}: "
                      "its ticket is the incident's. Split the other alerts out, or merge "
                      "the incident into another")  # fmt: skip
    state = _incident(deps, alert.incident_id, "")
    old_ticket = str(state.ticket_id)
    now = deps.clock().replace(microsecond=0)
    why = f"split out of {state.incident_id} by {req.by}{_why(req)}"
    ticket = deps.tickets.create(_own_ticket(alert, old_ticket))
    new_id = incident_id_for(alert.alert_id)
    deps.incidents.open_alone(new_id, alert.alert_id, now, why,
                              TicketRef(ticket.provider, ticket.id, ticket.url))  # fmt: skip
    fields = {"incident_id": new_id, "incident_role": "opened", "incident_why": why}
    event = about(alert, EventKind.INCIDENT_CORRECTED, now, key=f"split:{state.incident_id}",
                  by=req.by, why=req.reason or why,
                  detail={"how": "split", "incident": state.incident_id, "ticket": ticket.id})  # fmt: skip
    text = f"Split out of incident {state.incident_id} (ticket {old_ticket}) by {req.by}{_why(req)}: ticket {ticket.id} is its own."
    deps.store.add_note(alert.alert_id, text, now, kind="incident_split", event=event,
                        fields=fields)  # fmt: skip
    created = about(alert, EventKind.TICKET_CREATED, now, key=ticket.id)
    moved = alert.model_copy(update=fields)
    deps.store.move_ticket(moved, ticket.provider, old_ticket, ticket.id, created)
    after = deps.incidents.remove_member(state.incident_id, alert.alert_id)
    left = len(after.firing) if after else 0
    post_comment(deps.outbox, deps.tickets, old_ticket, f"{alert.alert_id}:split", (
        f"Alarm {alert.alarm_name} (alert {alert.alert_id}) was split out of this incident by "
        f"{req.by}{_why(req)}: it goes on in ticket {ticket.id}. {left} alarm(s) of incident "
        f"{state.incident_id} still firing."), now, alert.alert_id)  # fmt: skip
    post_comment(deps.outbox, deps.tickets, ticket.id, f"{alert.alert_id}:split-from", text, now,
                 alert.alert_id)  # fmt: skip
    if after is not None and not after.firing and after.resolve_on != "never":
        _resolve(deps, after, now, f"its last firing alarm was split out by {req.by}")
    return {"alert_id": alert.alert_id, "from": state.incident_id, "incident_id": new_id,
            "ticket_id": ticket.id}  # fmt: skip


def _own_ticket(alert: Alert, incident_ticket: str) -> Any:
    """The ticket the alert would have had on its own (its alarm as stored, the facts
    enrichment gave it, its priority), referring to the incident's ticket."""
    if alert.source_alarm is None:
        raise Refused("conflict", f"alert {alert.alert_id} keeps no alarm to make a ticket from")
    alarm = Alarm.model_validate_json(alert.source_alarm)
    enr = Enrichment(service=alert.service, team=alert.team, owner=alert.owner,
                     environment=alert.environment, alert_type=alert.alert_type,
                     severity=alert.severity)  # fmt: skip
    draft = draft_ticket(alarm, enr, alert.alert_id, None, previous_ticket=incident_ticket)
    # The alert's marker is searched first: a retried split finds the ticket it made.
    return draft.model_copy(update={"priority": alert.priority,
                                    "earlier_attempt_at": alert.triggered_at})  # fmt: skip


def _merge(deps: TrackDeps, req: IncidentRequest) -> dict[str, Any]:
    assert deps.incidents is not None
    source, into = _incident(deps, req.source, "source"), _incident(deps, req.into, "target")
    if source.incident_id == into.incident_id:
        raise Refused("conflict", f"{source.incident_id} and {into.incident_id} are one incident")
    now = deps.clock().replace(microsecond=0)
    why = f"merged into {into.incident_id} by {req.by}{_why(req)}"
    target = str(into.ticket_id)
    moved: list[str] = []
    for alert_id in source.members:
        alert = deps.store.get(alert_id)
        if alert is None or alert.status is not AlertStatus.OPEN:
            continue
        if alert.incident_id == source.incident_id:
            fields = {"incident_id": into.incident_id, "incident_role": "joined",
                      "incident_why": why}  # fmt: skip
            event = (
                about(alert, EventKind.INCIDENT_CORRECTED, now, key=f"merge:{into.incident_id}",
                      by=req.by, why=req.reason or why,
                      detail={"how": "merge", "incident": source.incident_id,
                              "into": into.incident_id})
                if alert_id == source.opener else None
            )  # fmt: skip
            deps.store.add_note(alert_id, f"Incident {source.incident_id} {why}.", now,
                                kind="incident_merged", event=event, fields=fields)  # fmt: skip
            alert = alert.model_copy(update=fields)
        if alert.incident_id == into.incident_id and alert.ticket_id != target:
            deps.store.move_ticket(alert, deps.tickets.name, str(source.ticket_id), target)
        moved.append(alert_id)
    firing = {a for a in source.firing if a in moved}
    if moved:
        deps.incidents.add_members(into.incident_id, set(moved), firing)
    if source.root_height < into.root_height:  # the deeper dependency's remediation leads
        deps.incidents.claim_root(into.incident_id, source.root, source.root_height)
    post_comment(deps.outbox, deps.tickets, target, f"{source.incident_id}:merged", (
        f"Incident {source.incident_id} (ticket {source.ticket_id}) was merged into this one "
        f"by {req.by}{_why(req)}: its alarms {', '.join(moved) or '(none open)'} go on here."),
        now, source.opener)  # fmt: skip
    _resolve(deps, source, now, why, f"Merged into ticket {target} ({why}).")
    return {"from": source.incident_id, "incident_id": into.incident_id, "ticket_id": target,
            "moved": moved}  # fmt: skip


def _resolve(
    deps: TrackDeps, state: IncidentState, at: datetime, how: str, note: str | None = None
) -> None:
    """The incident ends (merged away, or nothing of it fires any more): it and its ticket
    resolved, once."""
    assert deps.incidents is not None and state.ticket_id
    deps.incidents.mark_resolved(state, at, how)
    noted_status(deps.outbox, deps.tickets, state.ticket_id, TicketStatus.RESOLVED,
                 note or f"Incident {state.incident_id} resolved: {how}.",
                 f"{state.incident_id}:resolved", at, state.opener,
                 keep_on_failure=True)  # fmt: skip
