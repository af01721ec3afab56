"""An operator's hand on an alert — acknowledge, assign, snooze (`opslink alerts
ack|assign|snooze`). They run in the track function, which holds the ticket system's
credentials: each is recorded on the alert with a journal event (`opslink audit`) and
mirrored on its ticket (ack: in progress; assign: the ticket's assignee; snooze: no
reminders until then). The ticket is changed first: when the ticket system refuses or
is away, nothing is recorded and the operator is told why, so a retry does it all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from opslink.comment_outbox import noted_status, post_comment
from opslink.errors import RetryableError, TicketSystemError, TicketSystemRejected
from opslink.journal import EventKind, about
from opslink.models import Alert, AlertStatus, TicketStatus
from opslink.track_service import TrackDeps

MAX_SNOOZE = timedelta(days=7)


class OperatorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["ack", "assign", "snooze"]
    alert_id: str
    by: str
    assignee: str | None = None
    until: datetime | None = None
    reason: str = ""


class Refused(Exception):
    """The request cannot be done as asked: `code` says how (not_found, conflict,
    rejected, unavailable)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def handle_operator_request(deps: TrackDeps, raw: Any) -> dict[str, Any]:
    """The answer the CLI prints: {"ok": true, ...} or {"ok": false, "code", "error"}."""

    def act() -> dict[str, Any]:
        req = OperatorRequest.model_validate(raw)
        alert = open_alert(deps, req.alert_id, req.action)
        done = {"ack": _ack, "assign": _assign, "snooze": _snooze}[req.action](deps, req, alert)
        return {"alert_id": req.alert_id, "action": req.action, "by": req.by} | done

    return answered(act)


def open_alert(deps: TrackDeps, alert_id: str, action: str) -> Alert:
    """The open, ticketed alert an operator acts on; Refused otherwise, saying why."""
    alert = deps.store.get(alert_id)
    if alert is None:
        raise Refused("not_found", f"alert {alert_id!r} not found")
    if alert.status is not AlertStatus.OPEN:
        raise Refused("conflict", f"alert {alert_id} is {alert.status.value}: nothing to {action}")
    if not alert.ticket_id:
        raise Refused("conflict", f"alert {alert_id} has no ticket yet (it is being "
                      "opened); try again in a minute")  # fmt: skip
    return alert


def answered(act: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """An operator request's answer: {"ok": true, ...} or {"ok": false, "code", "error"}
    (invalid, not_found, conflict, rejected, unavailable)."""
    try:
        done = act()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return {"ok": False, "code": "invalid", "error": f"field {where!r}: {first['msg']}"}
    except Refused as exc:
        return {"ok": False, "code": exc.code, "error": str(exc)}
    except TicketSystemRejected as exc:
        return {"ok": False, "code": "rejected", "error": f"the ticket system refused: {exc}"}
    except (RetryableError, TicketSystemError) as exc:
        return {"ok": False, "code": "unavailable",
                "error": f"the ticket system is unavailable ({exc}); nothing was recorded, "
                "try again"}  # fmt: skip
    return {"ok": True} | done


def _why(req: OperatorRequest) -> str:
    return f": {req.reason}" if req.reason else ""


def _ack(deps: TrackDeps, req: OperatorRequest, alert: Alert) -> dict[str, Any]:
    if alert.acknowledged_by:
        at = alert.acknowledged_at.isoformat() if alert.acknowledged_at else "?"
        return {"changed": False, "acknowledged_by": alert.acknowledged_by, "acknowledged_at": at}
    now = deps.clock().replace(microsecond=0)
    text = f"Acknowledged by {req.by} at {now.isoformat()}{_why(req)}."
    ticket_id = alert.ticket_id or ""
    ticket = deps.tickets.get(ticket_id)
    if ticket is not None and ticket.status is TicketStatus.OPEN:
        noted_status(deps.outbox, deps.tickets, ticket_id, TicketStatus.IN_PROGRESS, text,
                     f"{alert.alert_id}:ack", now, alert.alert_id)  # fmt: skip
    else:
        post_comment(deps.outbox, deps.tickets, ticket_id, f"{alert.alert_id}:ack", text, now,
                     alert.alert_id)  # fmt: skip
    event = about(alert, EventKind.ALERT_ACKNOWLEDGED, now, key="ack", by=req.by, why=req.reason)
    deps.store.add_note(alert.alert_id, text, now, kind="acknowledged", event=event,
                        fields={"acknowledged_by": req.by, "acknowledged_at": now.isoformat()})  # fmt: skip
    return {"changed": True, "acknowledged_at": now.isoformat(), "ticket_id": ticket_id}


def _assign(deps: TrackDeps, req: OperatorRequest, alert: Alert) -> dict[str, Any]:
    who = (req.assignee or "").strip()
    if not who:
        raise Refused("invalid", "give the assignee (a login, e-mail or account id)")
    now = deps.clock().replace(microsecond=0)
    ticket_id = alert.ticket_id or ""
    ticket = deps.tickets.assign(ticket_id, who)
    text = f"Assigned to {who} by {req.by}{_why(req)}."
    key = f"{alert.alert_id}:assign:{now.isoformat()}"
    post_comment(deps.outbox, deps.tickets, ticket_id, key, text, now, alert.alert_id)
    event = about(alert, EventKind.ALERT_ASSIGNED, now, key=f"assign:{now.isoformat()}",
                  by=req.by, why=req.reason, detail={"assignee": who})  # fmt: skip
    deps.store.add_note(alert.alert_id, text, now, kind="assigned", event=event,
                        fields={"assignee": who})  # fmt: skip
    return {"changed": True, "assignee": ticket.assignee or who, "ticket_id": ticket_id}


def _snooze(deps: TrackDeps, req: OperatorRequest, alert: Alert) -> dict[str, Any]:
    now = deps.clock().replace(microsecond=0)
    until = req.until
    if until is None or until.tzinfo is None:
        raise Refused("invalid", "give the snooze's end as a time with its zone (or --hours)")
    if until <= now:
        raise Refused("invalid", f"{until.isoformat()} is not in the future")
    if until - now > MAX_SNOOZE:
        raise Refused("invalid", f"a snooze lasts at most {MAX_SNOOZE.days} days (until "
                      f"{(now + MAX_SNOOZE).isoformat()}); resolve the alert instead")  # fmt: skip
    until = until.replace(microsecond=0)
    text = (f"Snoozed by {req.by} until {until.isoformat()}{_why(req)}: no reminders until then; "
            "the alarm's own changes still reach this ticket.")  # fmt: skip
    ticket_id = alert.ticket_id or ""
    key = f"{alert.alert_id}:snooze:{until.isoformat()}"
    post_comment(deps.outbox, deps.tickets, ticket_id, key, text, now, alert.alert_id)
    event = about(alert, EventKind.ALERT_SNOOZED, now, key=f"snooze:{until.isoformat()}",
                  by=req.by, why=req.reason, detail={"until": until.isoformat()})  # fmt: skip
    deps.store.add_note(alert.alert_id, text, now, kind="snoozed", event=event,
                        fields={"snoozed_until": until.isoformat()})  # fmt: skip
    return {"changed": True, "snoozed_until": until.isoformat(), "ticket_id": ticket_id}
