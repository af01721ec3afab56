"""`opslink incidents show ID`: one incident as the stack keeps it — its grouping key and
rule, its ticket, each alert (the opener first) with its alarm, service, whether it still
fires and why it joined, and how the incident resolved (or why it stays open)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from opslink_cli.operator import Connection, NotFound
from opslink_cli.render import emit, style_from

MEMBER_COLUMNS = ("alert", "role", "alarm", "service", "firing", "status", "why")


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
