"""`opslink automation` (the kill switch, maintenance windows, runbook modes: the SSM
control parameter, every change journaled with who and why) and `opslink faults` (the
integration faults that trip automation's breakers)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from opslink.journal import EventKind, LifecycleEvent
from opslink_cli.cli_args import DEFAULT_CATALOG, UsageError
from opslink_cli.connection import Connection, NotFound
from opslink_cli.operator import _said
from opslink_cli.render import emit, style_from


def _control(conn: Connection, name: str) -> Any:
    from opslink.automation_control import Control, parse_control

    ssm = conn.session.client("ssm", endpoint_url=conn.endpoint_url)
    try:
        raw = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return ssm, Control()
    return ssm, parse_control(raw, name)


def _save_control(
    ssm: Any, name: str, control: Any, conn: Connection, action: str, by: str, why: str = ""
) -> None:
    """Write the control parameter, then journal who changed what (the audit trail)."""
    ssm.put_parameter(Name=name, Value=control.model_dump_json(), Type="String", Overwrite=True)
    now = datetime.now(UTC)
    conn.alerts.journal.record_event(
        LifecycleEvent(
            alert_id="",
            kind=EventKind.OPERATOR_ACTION,
            at=now,
            by=by,
            why=why,
            key=f"{now.isoformat()}#{action}",
            counted=False,
            detail={"action": action, "parameter": name},
        )
    )


def automation_status(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    _, control = _control(conn, args.parameter)
    now = datetime.now(UTC)
    doc = control.model_dump(mode="json") | {
        "running": not control.paused,
        "active_windows": [
            w.model_dump(mode="json") for w in control.maintenance if w.start <= now < w.end
        ],
    }
    emit(doc, style_from(args, out), out)
    return 0


def automation_pause(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    ssm, control = _control(conn, args.parameter)
    by = args.by or conn.identity()
    at = datetime.now(UTC).isoformat(timespec="seconds")
    updated = control.model_copy(update={"paused": True, "reason": args.reason, "by": by, "at": at})
    _save_control(ssm, args.parameter, updated, conn, "automation_paused", by, args.reason)
    _said(
        args,
        out,
        {"action": "paused", "by": by, "at": at, "reason": args.reason},
        f"automation paused by {by}: {args.reason} (takes effect within 30 s)",
    )
    return 0


def automation_resume(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    ssm, control = _control(conn, args.parameter)
    by = args.by or conn.identity()
    at = datetime.now(UTC).isoformat(timespec="seconds")
    _save_control(
        ssm,
        args.parameter,
        control.model_copy(update={"paused": False, "reason": "", "by": by, "at": at}),
        conn,
        "automation_resumed",
        by,
    )
    _said(args, out, {"action": "resumed", "by": by, "at": at}, f"automation resumed by {by}")
    return 0


def automation_maintenance(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:

    from opslink.automation_control import MaintenanceWindow, with_window

    ssm, control = _control(conn, args.parameter)
    now = datetime.now(UTC).replace(microsecond=0)
    window = MaintenanceWindow(
        service=args.service,
        start=now,
        end=now + timedelta(hours=args.hours),
        reason=args.reason or f"set by {args.by or conn.identity()}",
    )
    _save_control(
        ssm,
        args.parameter,
        with_window(control, window),
        conn,
        f"maintenance_window:{args.service}",
        args.by or conn.identity(),
        window.reason,
    )
    _said(
        args,
        out,
        window.model_dump(mode="json"),
        f"no automation for {args.service} until {window.end.isoformat()}",
    )
    return 0


def _check_mode(name: str, mode: str, catalog_dir: Path) -> None:
    """The runbook exists and `mode` does not raise it above the catalog's risk (raising
    is a catalog change, reviewed and recorded; an operator may only lower autonomy)."""
    from opslink.errors import ConfigurationError
    from opslink.remediation.catalog import load_catalog
    from opslink.remediation_models import Risk

    try:
        catalog = {rb.name: rb for rb in load_catalog(str(catalog_dir))}
    except ConfigurationError as exc:
        raise UsageError(f"runbook catalog: {exc}") from None
    runbook = catalog.get(name)
    if runbook is None:
        raise UsageError(
            f"no runbook {name!r} in the catalog {catalog_dir}; runbooks: {', '.join(sorted(catalog))}"
        )
    if mode != "catalog" and Risk(mode).autonomy > runbook.spec.risk.autonomy:
        raise UsageError(
            f"runbook {name} is `risk: {runbook.spec.risk.value}` in the catalog: its autonomy "
            f"may be lowered ({', '.join(r.value for r in Risk if r.autonomy <= runbook.spec.risk.autonomy)}), "
            f"never raised to {mode} here; raising it is a catalog change "
            f"(runbooks/{name}.yaml), recorded in the audit trail when it goes live"
        )


def automation_mode(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    """Shadow, approval or auto for one runbook (`catalog` drops the override); the change
    is appended to the control's history with who, when and why."""
    import re

    from opslink.automation_control import ModeChange

    if not re.fullmatch(r"[a-z][a-z0-9_]*", args.runbook):
        raise UsageError(f"{args.runbook!r} is not a runbook name")
    _check_mode(args.runbook, args.mode, Path(getattr(args, "catalog", None) or DEFAULT_CATALOG))
    ssm, control = _control(conn, args.parameter)
    by = args.by or conn.identity()
    at = datetime.now(UTC).isoformat(timespec="seconds")
    modes = dict(control.runbook_modes)
    if args.mode == "catalog":
        modes.pop(args.runbook, None)
    else:
        modes[args.runbook] = args.mode
    change = ModeChange(runbook=args.runbook, mode=args.mode, by=by, at=at, reason=args.reason)
    history = [*control.mode_history, change][-200:]
    _save_control(
        ssm,
        args.parameter,
        control.model_copy(update={"runbook_modes": modes, "mode_history": history}),
        conn,
        f"runbook_mode:{args.runbook}={args.mode}",
        by,
        args.reason or "",
    )
    _said(
        args,
        out,
        change.model_dump(mode="json"),
        f"runbook {args.runbook}: {args.mode} (set by {by})",
    )
    return 0


FAULT_COLUMNS = (
    "fault_id",
    "state",
    "severity",
    "integration",
    "since",
    "lasted",
    "count",
    "error",
)


def _fault_row(fault: Any, now: datetime) -> dict[str, Any]:
    return {
        "fault_id": fault.fault_id,
        "state": fault.state,
        "severity": fault.assessment.severity,
        "integration": f"{fault.integration} ({fault.component})",
        "since": fault.first_at.isoformat(timespec="seconds"),
        "lasted": fault.duration(now),
        "count": fault.count,
        "error": fault.error,
    }


def faults_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    now = datetime.now(UTC)
    rows = [_fault_row(f, now) for f in conn.faults.faults(state=args.state, limit=args.limit)]
    emit(rows, style_from(args, out), out, FAULT_COLUMNS)
    return 0


def faults_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    found = next((f for f in conn.faults.faults(limit=1000) if f.fault_id == args.fault_id), None)
    if found is None:
        raise NotFound("fault", args.fault_id)
    doc = found.model_dump(mode="json") | {"lasted": found.duration(datetime.now(UTC))}
    emit(doc, style_from(args, out), out)
    return 0
