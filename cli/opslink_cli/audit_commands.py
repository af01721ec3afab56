"""`opslink audit`: the lifecycle journal (who did what, when, why), and with `--verify`
each alert's hash chain checked from its first event to its head."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from opslink_cli.connection import Connection, NotFound
from opslink_cli.render import emit, style_from

AUDIT_COLUMNS = ("at", "kind", "alert_id", "by", "runbook", "why")


def audit(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    """Who did what, when, why, on which alert: the lifecycle journal, oldest first."""

    today = datetime.now(UTC)
    since = datetime.combine(args.since, datetime.min.time(), UTC) if args.since else None
    start = since or today - timedelta(days=args.days - 1)
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)][-400:]
    kinds = args.action or None
    events = conn.alerts.journal.events(days, alert_id=args.alert, kinds=kinds)
    if args.alert and not events and conn.alerts.get(args.alert) is None:
        raise NotFound("alert", args.alert)
    if since is not None:
        events = [e for e in events if str(e.get("at", "")) >= since.isoformat()]
    if getattr(args, "verify", False):
        return _verify_chains(
            conn, args, sorted({str(e.get("alert_id") or "") for e in events}), out
        )
    rows = [
        {
            "at": e.get("at"),
            "kind": e.get("kind"),
            "alert_id": e.get("alert_id") or "-",
            "by": e.get("by"),
            "runbook": e.get("runbook") or "",
            "why": e.get("why") or json.loads(e.get("detail") or "{}").get("action", ""),
            "detail": json.loads(e.get("detail") or "{}"),
        }
        for e in events
    ]
    _catalog_changes(rows)
    emit(rows, style_from(args, out), out, AUDIT_COLUMNS)
    return 0


VERIFY_COLUMNS = ("alert_id", "position", "what", "detail")


def _verify_chains(
    conn: Connection, args: argparse.Namespace, chains: list[str], out: TextIO
) -> int:
    """Each chain in scope checked whole (its records outside the window included):
    exit 1 on any changed, removed or inserted record."""
    from opslink.journal_chain import unchained, verify

    if args.alert and args.alert not in chains:
        chains.append(args.alert)
    problems, records, old = [], 0, 0
    for chain in chains:
        found = conn.alerts.journal.chain_records(chain)
        records += len(found)
        old += unchained(found)
        problems += verify(chain, found, conn.alerts.journal.chain_head(chain))
    rows = [
        {"alert_id": p.chain or "(operator actions)", "position": p.position, "what": p.what,
         "detail": p.detail}
        for p in problems
    ]  # fmt: skip
    emit(rows, style_from(args, out), out, VERIFY_COLUMNS)
    summary = (
        f"{len(chains)} chains, {records} records checked: "
        + (f"{len(problems)} problems" if problems else "intact")
        + (f"; {old} records predate the chain (not verifiable)" if old else "")
    )
    print(summary, file=sys.stderr)
    return 1 if problems else 0


def _catalog_changes(rows: list[dict[str, Any]]) -> None:
    """A catalog that went live says which runbooks changed since the one before it."""
    previous: dict[str, str] | None = None
    for row in rows:
        if row["kind"] != "catalog_loaded":
            continue
        now = dict(row["detail"])
        if previous is not None:
            parts = [
                f"{label}: {', '.join(sorted(names))}"
                for label, names in (
                    ("added", now.keys() - previous.keys()),
                    ("removed", previous.keys() - now.keys()),
                    ("changed", {n for n in now.keys() & previous.keys() if now[n] != previous[n]}),
                )
                if names
            ]
            row["why"] = f"{row['why']} ({'; '.join(parts) or 'no runbook changed'})"
        previous = now
