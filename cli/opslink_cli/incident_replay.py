"""`opslink incidents replay [--days N] [--rules FILE] [--service-map FILE]`: what alert
correlation would make of the stack's recent alerts — each incident with its members and
why each joined — so rules can be tuned before grouping changes any ticket. Reads the
journal (alerts opened and resolved in the window) and each alert; changes nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from opslink_cli.connection import OperatorError
from opslink_cli.render import emit, style_from

INCIDENT_COLUMNS = ("incident", "opened", "alerts", "rule", "alarms", "resolved", "follows")
DECISION_COLUMNS = ("alert", "incident", "joined", "rule", "why")


def incidents_replay(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    from opslink.correlation import Dependencies, safe_grouping, signal_of
    from opslink.correlation_rules import read_rules
    from opslink.errors import ConfigurationError
    from opslink.incident_book import IncidentBook
    from opslink.service_map import load_service_map

    try:
        rules = read_rules(args.rules)
        deps = Dependencies(load_service_map(args.service_map).depends_on())
    except ConfigurationError as exc:
        raise OperatorError(str(exc)) from None
    today = datetime.now(UTC)
    days = [today - timedelta(days=i) for i in range(args.days)][::-1]
    events = conn.alerts.journal.events(days, kinds=["alert_opened", "alert_resolved"])
    resolved = {
        str(e["alert_id"]): datetime.fromisoformat(str(e["at"]))
        for e in events
        if e.get("kind") == "alert_resolved"
    }
    opened = _unique(str(e["alert_id"]) for e in events if e.get("kind") == "alert_opened")
    alerts = [a for a in (conn.alerts.get(i) for i in opened) if a is not None]
    names = {a.alert_id: a.alarm_name for a in alerts}
    timeline: list[tuple[datetime, int, str, Any]] = [
        (a.triggered_at, 1, a.alert_id, signal_of(a)) for a in alerts
    ] + [(at, 0, i, None) for i, at in resolved.items() if i in names]
    book = IncidentBook()
    for at, is_alarm, alert_id, signal in sorted(timeline, key=lambda t: t[:3]):
        if is_alarm:
            book.place(signal, safe_grouping(signal, rules, deps))
        else:
            book.resolve(alert_id, at)
    incidents = [_incident_row(inc, names) for inc in book.incidents.values()]
    decisions = [
        {"alert": d.alert_id, "incident": d.incident_id, "joined": d.joined, "rule": d.rule,
         "why": d.why}
        for d in book.decisions
    ]  # fmt: skip
    summary = (
        f"{len(alerts)} alert(s) in the last {args.days} day(s) would be {len(incidents)} "
        f"incident(s)" + (f" ({len(alerts) / len(incidents):.1f} alerts each)" if incidents else "")
        + ". Replayed with "
        + (args.rules or "the shipped rules (built-ins only)")
        + "; nothing was changed."
    )  # fmt: skip
    style = style_from(args, out)
    if style.output in ("json", "yaml") or style.query:
        emit({"incidents": incidents, "decisions": decisions, "summary": summary}, style, out)
    else:
        if args.decisions:
            emit(decisions, style, out, DECISION_COLUMNS, max_width=90)
        else:
            emit(incidents, style, out, INCIDENT_COLUMNS)
        out.write(summary + "\n")
    return 0


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in ids if i))


def _incident_row(inc: Any, names: dict[str, str]) -> dict[str, Any]:
    members = list(inc.firing)
    alarms = _unique(names.get(m, m) for m in members)
    return {
        "incident": inc.incident_id,
        "opened": inc.opened_at.isoformat(timespec="seconds"),
        "alerts": len(members),
        "rule": inc.rule,
        "alarms": ", ".join(alarms[:3]) + (f" (+{len(alarms) - 3})" if len(alarms) > 3 else ""),
        "resolved": inc.resolved_at.isoformat(timespec="seconds") if inc.resolved_at else "-",
        "follows": inc.follows or "-",
        "members": members,
    }
