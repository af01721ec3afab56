"""`opslink local run EVENT.json ...`: the scripting interface of the local emulator.

One fresh local stack; each file is one Lambda event, invoked on the ingest function
exactly as given (as the Lambda service delivers it); the executions it started run to
completion (or to an approval wait) before the next file. One JSON object per record and
line (with --json): source, file, index, outcome, alert_id, ticket_id, execution_name,
execution_status, remediation (Remediated, HandedToHumans, LeftToHumans,
AwaitingApproval …), remediation_reason, reason (never cut). Outcomes: created,
duplicate, resolved, ignored, rejected.

Exit status: 0 when every record got an accepted outcome; 3 when any record was rejected
or any file could not be read (each named in its row); 2 for a file that does not exist
or a bad --param; 1 when the emulator itself failed. Progress goes to stderr, per file
with a count, unless --quiet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from opslink import json_input
from opslink_cli.emulator import LocalStack, check_parameters
from opslink_cli.render import table

FIELDS = (
    "source",
    "file",
    "index",
    "outcome",
    "alert_id",
    "ticket_id",
    "execution_name",
    "execution_status",
    "remediation",
    "remediation_reason",
    "reason",
)
ACCEPTED = ("created", "duplicate", "resolved", "ignored")


def _line(file: str, index: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIELDS)
    row.update(source=f"{file}#{index}", file=file, index=index)
    row.update(values)
    return row


def _results(payload: Any, error: str | None) -> list[dict[str, Any]] | str:
    """The per-record results of an ingest invocation, or why there are none."""
    if error is None and isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return list(payload["results"])
    if error == "IngestIncomplete" and isinstance(payload, dict):
        try:
            return list(json.loads(payload.get("errorMessage", ""))["results"])
        except (ValueError, KeyError, TypeError):
            pass
    message = payload.get("errorMessage", "") if isinstance(payload, dict) else str(payload)
    return f"ingest function failed: {error}: {str(message)[:500]}"


def _read(path: Path) -> Any:
    if path.is_dir():
        raise ValueError("a directory, not an event file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ValueError("the file is empty")
    return json_input.loads(text)


def _remediation(stack: LocalStack, execution: str | None) -> tuple[str | None, str | None]:
    if not execution:
        return None, None
    from opslink_cli.executions import summary

    sfn = stack.client("stepfunctions")
    try:
        described = sfn.describe_execution(executionArn=stack.execution_arn(execution))
    except sfn.exceptions.ExecutionDoesNotExist:
        return None, None
    doc = summary(sfn, {**described, "name": execution})
    return doc["outcome"], doc["reason"] or None


def run_files(
    stack: LocalStack,
    files: list[Path],
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, path in enumerate(files, 1):
        name = path.name
        before = len(rows)
        try:
            event = _read(path)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            rows.append(
                _line(name, 0, outcome="rejected", reason=f"cannot read event file {path}: {exc}")
            )
            if progress:
                progress(f"[{number}/{len(files)}] {path}: cannot read ({exc})")
            continue
        payload, error = stack.invoke("IngestFunction", event)
        results = _results(payload, error)
        if isinstance(results, str):
            rows.append(_line(name, 0, outcome="rejected", reason=results))
            continue
        names = [
            r["execution_name"]
            for r in results
            if r.get("outcome") == "created" and r.get("execution_name")
        ]
        statuses = stack.wait_for_executions(names, settle=True) if names else {}
        for r in results:
            execution = r.get("execution_name")
            status = statuses.get(execution) if execution in statuses else None
            if status is None and execution:
                status = stack.wait_for_executions([execution], settle=True).get(execution)
            remediation, why = _remediation(stack, execution)
            rows.append(
                _line(
                    name,
                    int(r.get("index", 0)),
                    outcome=r.get("outcome"),
                    alert_id=r.get("alert_id"),
                    ticket_id=r.get("ticket_id"),
                    execution_name=execution,
                    execution_status=status,
                    remediation=remediation,
                    remediation_reason=why,
                    reason=r.get("reason"),
                )
            )
        if progress:
            outcomes = [str(row["outcome"]) for row in rows[before:]]
            progress(
                f"[{number}/{len(files)}] {path}: {len(outcomes)} record(s): {', '.join(outcomes)}"
            )
    return rows


def run_command(args: Any, out: TextIO) -> int:
    """`opslink local run`: see the module docstring for the contract."""
    import sys

    from opslink_cli.cli_args import EXIT_OK, EXIT_REJECTED, UsageError, parse_params

    missing = [str(p) for p in args.events if not p.exists()]
    if missing:
        raise UsageError(f"no such event file: {', '.join(missing)}")
    params = parse_params(args.param)
    check_parameters(params)

    def say(text: str) -> None:
        if not args.quiet:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    say(f"opslink local run: starting a local stack for {len(args.events)} file(s)")
    with LocalStack(parameters=params, mirror_alarms=True) as stack:
        rows = run_files(stack, args.events, say)
    print_rows(rows, args.json, out, truncate=not args.no_truncate)
    rejected = [r for r in rows if r["outcome"] not in ACCEPTED]
    if rejected:
        say(f"opslink local run: {len(rejected)} of {len(rows)} record(s) rejected")
    return EXIT_REJECTED if rejected else EXIT_OK


def print_rows(
    rows: list[dict[str, Any]], as_json: bool, out: TextIO, truncate: bool = True
) -> None:
    if as_json:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    table(
        rows,
        ("source", "outcome", "alert_id", "ticket_id", "remediation", "reason"),
        out,
        max_width=60 if truncate else None,
    )
