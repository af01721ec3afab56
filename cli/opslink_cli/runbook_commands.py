"""`opslink runbooks list|show` (the catalog as OpsLink reads it, with each runbook's
record) and `opslink jobs output NAME` (a remediation's job output, read from its job
platform by the remediate function — the same scrubbed text the ticket gets)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any, TextIO

from opslink_cli import connection
from opslink_cli.connection import NotFound, OperatorError
from opslink_cli.render import emit, style_from

RUNBOOK_COLUMNS = (
    "name",
    "risk",
    "kind",
    "alert_types",
    "environments",
    "timeout",
    "max_targets",
    "runs",
    "verified_rate",
)


def record_connection(args: argparse.Namespace) -> Any:
    """The stack whose journal holds the runbooks' record, when one is at hand (the local
    emulator's endpoint, or AWS credentials); None: the catalog alone, no network."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    if not args.endpoint_url and boto3.Session(profile_name=args.profile).get_credentials() is None:
        return None
    try:
        conn = connection.connect(args)
        conn.alerts.journal.kpi_counters(datetime.now(UTC))  # reachable, and the table exists
    except (OperatorError, BotoCoreError, ClientError):
        return None
    return conn


def _catalog(args: argparse.Namespace) -> list[Any]:
    from opslink.errors import ConfigurationError
    from opslink.remediation.catalog import load_catalog

    try:
        return list(load_catalog(str(args.catalog)))
    except ConfigurationError as exc:
        raise OperatorError(f"runbook catalog {args.catalog}: {exc}") from None


def _record(conn: Any) -> dict[str, dict[str, int]]:
    """Each runbook's runs and verified fixes over the last 30 days (journal counters)."""
    from datetime import timedelta

    from opslink.kpis import by_prefix
    from opslink.quality import window_rows

    if conn is None:
        return {}
    today = datetime.now(UTC)
    days = conn.alerts.journal.kpi_rows([today - timedelta(days=i) for i in range(30)])
    return by_prefix(window_rows(days), "runbook#")


def _row(rb: Any, record: dict[str, dict[str, int]]) -> dict[str, Any]:
    spec = rb.spec
    c = record.get(spec.name, {})
    jobs, verified = int(c.get("jobs", 0)), int(c.get("verified", 0))
    return {
        "name": spec.name,
        "risk": spec.risk.value,
        "kind": spec.kind.value,
        "alert_types": ", ".join(spec.tags),
        "environments": ", ".join(spec.environments),
        "timeout": f"{spec.timeout_seconds}s",
        "max_targets": spec.max_targets,
        "runs": int(c.get("runs", 0)),
        "verified_rate": f"{100 * verified / jobs:.0f} %" if jobs else "-",
    }


def runbooks_list(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    record = _record(conn)
    rows = [_row(rb, record) for rb in sorted(_catalog(args), key=lambda r: r.name)]
    emit(rows, style_from(args, out), out, RUNBOOK_COLUMNS)
    return 0


def runbooks_show(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    found = next((rb for rb in _catalog(args) if rb.name == args.name), None)
    if found is None:
        raise NotFound("runbook", args.name)
    doc = _row(found, _record(conn)) | {
        "description": found.spec.description,
        "parameters": {
            k: p.model_dump(mode="json", exclude_none=True)
            for k, p in found.spec.parameters.items()
        },
        "targets": found.spec.targets.model_dump(mode="json"),
        "max_targets_reason": found.spec.max_targets_reason,
        "script": str(found.script_path),
    }
    emit(doc, style_from(args, out), out)
    return 0


def _last_job(history: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The last launched job of an execution and the alert payload it ran for."""
    job: dict[str, Any] = {}
    alert: dict[str, Any] = {}
    for event in history:
        for key in ("taskStateExitedEventDetails", "stateExitedEventDetails"):
            details = event.get(key)
            if not details or not details.get("output"):
                continue
            try:
                doc = json.loads(details["output"])
            except ValueError:
                continue
            if isinstance(doc, dict) and (doc.get("launch") or {}).get("job"):
                job = doc["launch"]["job"]
                alert = {k: v for k, v in doc.items() if k in _ALERT_FIELDS}
    return job, alert


_ALERT_FIELDS = ("alert_id", "ticket_id", "alarm_name", "alarm_arn", "account_id", "region",
                 "team", "service", "environment", "alert_type", "severity", "dimensions",
                 "notification", "triggered_at")  # fmt: skip


def jobs_output(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    from opslink_cli.executions import execution_arn

    arn = execution_arn(conn.state_machine_arn, args.name)
    try:
        history = conn.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    except Exception as exc:  # ClientError from the SDK or the kept state
        if "ExecutionDoesNotExist" in str(exc) or "InvalidArn" in str(exc):
            raise NotFound("execution", args.name) from None
        raise
    job, alert = _last_job(history)
    if not job:
        raise OperatorError(f"execution {args.name} launched no job (nothing ran: see "
                            f"`opslink executions show {args.name}`)")  # fmt: skip
    payload = conn.invoke("RemediateFunction", {"action": "job_output", "alert": alert, "job": job})
    doc = {"execution": args.name, "runbook": job.get("runbook"), "job_id": job.get("job_id"),
           "platform": job.get("platform"), **(payload or {})}  # fmt: skip
    style = style_from(args, out)
    if style.output != "table" or style.query:
        emit(doc, style, out)
        return 0
    out.write(f"{doc['runbook']} on {doc['platform']} (job {doc['job_id']})\n")
    out.write("--- stdout ---\n" + str(doc.get("stdout") or "") + "\n")
    out.write("--- stderr ---\n" + str(doc.get("stderr") or "") + "\n")
    if doc.get("truncated"):
        out.write("(truncated: the job platform holds the whole output)\n")
    return 0


def _running_for(conn: Any, alert_id: str) -> str | None:
    """A remediation of this alert still running (automated or on demand), if any."""
    from opslink.identity import alert_of_execution

    pages = conn.sfn.get_paginator("list_executions").paginate(
        stateMachineArn=conn.state_machine_arn, statusFilter="RUNNING"
    )
    for page in pages:
        for e in page.get("executions", []):
            if alert_of_execution(e["name"]) == alert_id:
                return str(e["name"])
    return None


def _manual_input(alert: Any, name: str, by: str, run_id: str, reason: str) -> dict[str, Any]:
    from opslink.remediation_input import ManualRun, RemediationInput

    asked = f"Runbook {name} run on demand by {by} for alert {alert.alert_id}"
    notification = {
        "subject": f"[{alert.priority.value}] {alert.service}: runbook {name} run by {by}"[:100],
        "message": "\n".join(
            [
                asked + (f": {reason}" if reason else ""),
                f"Alarm: {alert.alarm_name}",
                f"Ticket: {alert.ticket_id or 'none'}",
            ]
        ),
        "attributes": {
            "service": alert.service,
            "team": alert.team or "unassigned",
            "priority": alert.priority.value,
        },
    }
    from opslink.adapters.workflow.stepfunctions import INITIAL_STATE

    payload = RemediationInput.from_alert(alert, alert.ticket_id, notification)
    payload.manual = ManualRun(runbook=name, by=by, run_id=run_id, reason=reason)
    return INITIAL_STATE | payload.model_dump(mode="json")


def runbooks_run(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    """Run one runbook for an open alert now: the same selection checks, exact targets,
    approval, budget and audit as an automated run (the remediation state machine runs
    it); `--dry-run` prints what would run where and changes nothing."""
    import secrets

    from opslink.identity import execution_name
    from opslink.models import AlertStatus

    alert = conn.alerts.get(args.alert)
    if alert is None:
        raise NotFound("alert", args.alert)
    if alert.status is not AlertStatus.OPEN:
        by = alert.resolution.get("by", "someone")
        at = alert.resolved_at.isoformat(timespec="seconds") if alert.resolved_at else "?"
        raise OperatorError(
            f"alert {alert.alert_id} was resolved at {at} by {by}: nothing to "
            "fix (a new alarm opens a new alert)"
        )
    by = args.by or conn.identity()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)
    payload = _manual_input(alert, args.name, by, run_id, args.reason or "")
    plan = conn.invoke("RemediateFunction", {"action": "plan", "alert": payload})
    style = style_from(args, out)
    if args.dry_run:
        _print_plan(plan, alert.alert_id, style, out)
        return 0 if plan.get("runnable") else 1
    if not plan.get("runnable"):
        raise OperatorError(
            f"runbook {args.name} not run for {alert.alert_id}: {plan.get('refused')}"
        )
    running = _running_for(conn, alert.alert_id)
    if running:
        raise OperatorError(
            f"a remediation of {alert.alert_id} is still running ({running}): "
            f"wait for it (`opslink executions show {running}`)"
        )
    name = execution_name(alert.alert_id, run_id)
    conn.sfn.start_execution(
        stateMachineArn=conn.state_machine_arn, name=name, input=json.dumps(payload)
    )
    doc = {
        "execution": name,
        "runbook": args.name,
        "alert_id": alert.alert_id,
        "by": by,
        "mode": plan.get("mode"),
        "hosts": plan.get("hosts"),
    }
    if style.output != "table" or style.query:
        emit(doc, style, out)
        return 0
    _print_plan(plan, alert.alert_id, style, out)
    out.write(f"started {name}: follow it with `opslink executions show {name}`\n")
    if plan.get("mode") == "approval":
        out.write(f"it waits for a human's approval: `opslink executions approve {name}`\n")
    return 0


def _print_plan(plan: dict[str, Any], alert_id: str, style: Any, out: TextIO) -> None:
    if style.output != "table" or style.query:
        emit(plan, style, out)
        return
    if not plan.get("runnable"):
        out.write(
            f"runbook {plan['runbook']} would not run for {alert_id}: {plan.get('refused')}\n"
        )
        if not plan.get("hosts"):
            return
    mode = {"auto": "runs at once", "approval": "waits for a human's approval"}.get(
        str(plan.get("mode")), str(plan.get("mode"))
    )
    out.write(
        f"runbook {plan['runbook']} for {alert_id} ({plan.get('tier')} match; {mode}) "
        f"on {plan.get('platform') or '?'}, timeout {plan.get('timeout_seconds')}s\n"
    )
    hosts = plan.get("hosts") or []
    out.write(
        f"hosts ({len(hosts)} of at most {plan.get('max_targets')}): {plan.get('host_source')}\n"
    )
    for i, batch in enumerate(plan.get("batches") or []):
        label = "canary" if i == 0 and len(plan["batches"]) > 1 else f"batch {i + 1}"
        out.write(f"  {label}: {', '.join(batch)}\n")
    for p in plan.get("parameters") or []:
        out.write(f"  {p['name']}={p['value']}  (from {p['source']})\n")
    b = plan.get("budget") or {}
    if b:
        out.write(
            f"budget this hour: {b['service_runs_this_hour']}/{b['service_cap']} runs for "
            f"{b['service']}, {b['resource_runs_this_hour']}/{b['resource_cap']} on "
            f"{b['resource']}; job platform circuit {plan.get('circuit') or 'closed'}\n"
        )
