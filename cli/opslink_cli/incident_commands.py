"""`opslink incidents list`: the incidents of the newest alerts, open ones first, with how
many of their alerts still fire and their ticket.
`opslink incidents show ID`: one incident as the stack keeps it — its grouping key and
rule, its ticket, each alert (the opener first) with its alarm, service, whether it still
fires and why it joined, and how the incident resolved (or why it stays open).
`opslink incidents split ALERT` / `merge SOURCE INTO`: an operator's correction, done by
the stack's track function (it holds the ticket system's credentials)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from opslink_cli.connection import Connection, NotFound, OperatorError
from opslink_cli.operator import _said
from opslink_cli.render import emit, style_from

MEMBER_COLUMNS = ("alert", "role", "alarm", "service", "firing", "status", "why")
LIST_COLUMNS = ("incident", "status", "opened_at", "alerts", "firing", "ticket", "rule", "opener")


def incidents_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    """Incidents have no listing of their own: they are found through the newest alerts
    (`--alerts` of them, every status), each read once."""
    seen: dict[str, str] = {}  # incident id -> the alarm of its newest alert listed
    names: dict[str, str] = {}  # alert id -> its alarm (openers are mostly listed too)
    for alert in conn.alerts.list_alerts(limit=args.alerts):
        names[alert.alert_id] = alert.alarm_name
        if alert.incident_id and alert.incident_id not in seen:
            seen[alert.incident_id] = alert.alarm_name
    rows: list[dict[str, Any]] = []
    for ident in seen:
        state = conn.incidents.incident(ident)
        if state is None:  # its item expired (the alerts outlive it): nothing to show
            continue
        status = "resolved" if state.resolved_at else "open"
        if args.status and status != args.status:
            continue
        if state.opener and state.opener not in names:  # opened before the alerts listed
            found = conn.alerts.get(state.opener)
            names[state.opener] = found.alarm_name if found else seen[ident]
        rows.append({
            "incident": state.incident_id,
            "status": status,
            "opened_at": state.opened_at.isoformat(),
            "alerts": len(state.members),
            "firing": len(state.firing),
            "ticket": state.ticket_id,
            "rule": state.rule,
            "opener": names.get(state.opener or "", seen[ident]),
            "resolved_at": state.resolved_at.isoformat() if state.resolved_at else None,
        })  # fmt: skip
    rows.sort(key=lambda r: r["opened_at"], reverse=True)
    rows.sort(key=lambda r: r["status"] != "open")  # open first, each group newest first
    emit(rows[: args.limit], style_from(args, out), out, LIST_COLUMNS)
    return 0


def incidents_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    ident = str(args.incident_id)
    if not ident.startswith("INC-"):  # an alert's id: its incident
        alert = conn.alerts.get(ident)
        if alert is None:
            raise NotFound("incident or alert", ident)
        if alert.incident_id is None:
            why = alert.incident_why or "it was opened before alert correlation was on"
            out.write(f"Alert {ident} is in no incident: {why}\n")
            return 0
        ident = alert.incident_id
    state = conn.incidents.incident(ident)
    if state is None:
        raise NotFound("incident", ident)
    members: list[dict[str, Any]] = []
    for alert_id in state.members:
        alert = conn.alerts.get(alert_id)
        members.append({
            "alert": alert_id,
            "role": "opened" if alert_id == state.opener else "joined",
            "alarm": alert.alarm_name if alert else "?",
            "service": alert.service if alert else "?",
            "firing": alert_id in state.firing,
            "status": alert.status.value if alert else "gone",
            "why": (alert.incident_why if alert else "") or "",
        })  # fmt: skip
    summary = {
        "incident": state.incident_id,
        "rule": state.rule,
        "grouping_key": state.grouping_key,
        "resolve_on": state.resolve_on,
        "opened_at": state.opened_at.isoformat(),
        "ticket": state.ticket_id,
        "ticket_url": state.ticket_url,
        "follows": state.follows,
        "alerts": len(state.members),
        "firing": len(state.firing),
        "resolved_at": state.resolved_at.isoformat() if state.resolved_at else None,
        "resolution": state.resolution or None,
    }
    style = style_from(args, out)
    if style.output in ("json", "yaml") or style.query:
        emit(summary | {"members": members}, style, out)
        return 0
    emit({k: v for k, v in summary.items() if v is not None}, style, out)
    out.write("\n")
    emit(members, style, out, MEMBER_COLUMNS, max_width=80)
    return 0


def incidents_correct(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    action = args.incidents_command
    request: dict[str, Any] = {"action": action, "by": args.by or conn.identity(),
                               "reason": args.reason or ""}  # fmt: skip
    if action == "split":
        request["alert_id"] = args.alert_id
    else:
        request["source"], request["into"] = args.source, args.into
    answer = conn.invoke("TrackFunction", {"incident": request})
    if not isinstance(answer, dict) or not answer.get("ok"):
        error = answer.get("error") if isinstance(answer, dict) else answer
        if isinstance(answer, dict) and answer.get("code") == "not_found":
            raise OperatorError(str(error))
        raise OperatorError(f"{action}: {error}")
    doc = {k: v for k, v in answer.items() if k != "ok"}
    if action == "split":
        line = (f"split {answer.get('alert_id')} out of {answer.get('from')}: its own incident "
                f"{answer.get('incident_id')}, ticket {answer.get('ticket_id')}")  # fmt: skip
    else:
        moved = answer.get("moved") or []
        line = (f"merged {answer.get('from')} into {answer.get('incident_id')} (ticket "
                f"{answer.get('ticket_id')}): {len(moved)} open alert(s) moved; "
                f"{answer.get('from')}'s ticket resolved")  # fmt: skip
    _said(args, out, doc, line)
    return 0
