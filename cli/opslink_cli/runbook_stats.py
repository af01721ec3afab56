"""`opslink runbooks stats --alert-type T --service S --environment E`: for one context,
what selection believes of each candidate runbook and why the top one leads — its
current record, the prior it started from (and where that came from), any detected
break and when, and the history before it. The same arithmetic selection runs
(learning.py), on the stack's record."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from opslink_cli.connection import OperatorError
from opslink_cli.render import emit, style_from

STATS_COLUMNS = (
    "runbook",
    "tier",
    "expected",
    "fixes",
    "misses",
    "prior",
    "break",
    "history",
)


def _day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()


def _row(name: str, tier: str, b: Any) -> dict[str, Any]:
    return {
        "runbook": name,
        "tier": tier,
        "expected": round(b.mean, 3),
        "fixes": round(b.fixes, 1),
        "misses": round(b.misses, 1),
        "prior": f"{b.prior.fixes:.2g}:{b.prior.misses:.2g} ({b.prior.source})",
        "break": (
            f"since {_day(b.break_day)} ({100 * b.break_probability:.0f} % probable)"
            if b.broke and b.break_day is not None
            else "-"
        ),
        "history": round(float(b.history_fixes + b.history_misses), 1),
        "why": b,
    }


def leader_text(rows: list[dict[str, Any]]) -> str:
    """Why the first row leads the others (rows sorted as selection ranks them)."""
    from opslink.learning import describe

    top = rows[0]
    text = f"{top['runbook']} leads ({top['tier']} match): {describe(top['why'], _day)}."
    rivals = [r for r in rows[1:] if r["tier"] == top["tier"]]
    if rivals:
        text += " Next: " + "; ".join(
            f"{r['runbook']} {r['expected']:.2f}" + (" (broke)" if r["break"] != "-" else "")
            for r in rivals[:3]
        )
        text += (
            ". Selection draws from each posterior (Thompson sampling), so a runbook that "
            "trails still runs now and then while its record is thin."
        )
    if any(r["tier"] != top["tier"] for r in rows[1:]):
        text += " Less specific matches run only when no more specific one is left."
    return text


def runbooks_stats(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    from opslink.errors import ConfigurationError
    from opslink.remediation.catalog import load_catalog
    from opslink.remediation.select import candidate_beliefs
    from opslink.remediation.selection import TIERS, eligible

    if conn is None:
        raise OperatorError(
            "runbooks stats reads the record on a stack: pass --endpoint-url for the local "
            "emulator (opslink local serve), or AWS credentials and --stack"
        )
    try:
        catalog = list(load_catalog(str(args.catalog)))
    except ConfigurationError as exc:
        raise OperatorError(f"runbook catalog {args.catalog}: {exc}") from None
    matches = eligible(catalog, args.alert_type, args.service, args.environment)
    if not matches:
        raise OperatorError(
            f"no runbook in {args.catalog} matches alert type {args.alert_type} for "
            f"service {args.service} in {args.environment}"
        )
    records = conn.alerts.runbook_records([rb.name for rb, _ in matches], args.alert_type)
    got = candidate_beliefs(matches, records, args.alert_type, args.service, args.environment)
    rows = sorted(
        (_row(rb.name, tier, got[rb.name]) for rb, tier in matches),
        key=lambda r: (TIERS.index(r["tier"]), -r["expected"], r["runbook"]),
    )
    why = leader_text(rows)
    for r in rows:
        r.pop("why")
    style = style_from(args, out)
    if style.output in ("json", "yaml") or style.query:
        emit({"candidates": rows, "why": why}, style, out)
    else:
        emit(rows, style, out, STATS_COLUMNS)
        out.write(why + "\n")
    return 0
