"""`opslink local run EVENT.json ...`: the scripting interface of the local emulator.

One fresh local stack; each file is one Lambda event, invoked on the ingest function
exactly as given (as the Lambda service delivers it); the executions it started run to
completion before the next file. One JSON object per record and line (with --json):
source, file, index, outcome, alert_id, ticket_id, execution_name, execution_status,
reason. Outcomes: created, duplicate, resolved, ignored, rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from opslink_cli.local_stack import LocalStack
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
    "reason",
)


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


def run_files(stack: LocalStack, files: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in files:
        name = path.name
        try:
            event = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            rows.append(_line(name, 0, outcome="rejected", reason=f"cannot read event file: {exc}"))
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
        statuses = stack.wait_for_executions(names) if names else {}
        for r in results:
            execution = r.get("execution_name")
            status = statuses.get(execution) if execution in statuses else None
            if status is None and execution:
                status = stack.wait_for_executions([execution]).get(execution)
            rows.append(
                _line(
                    name,
                    int(r.get("index", 0)),
                    outcome=r.get("outcome"),
                    alert_id=r.get("alert_id"),
                    ticket_id=r.get("ticket_id"),
                    execution_name=execution,
                    execution_status=status,
                    reason=r.get("reason"),
                )
            )
    return rows


def print_rows(rows: list[dict[str, Any]], as_json: bool, out: TextIO) -> None:
    if as_json:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    table(
        rows,
        ("source", "outcome", "alert_id", "ticket_id", "execution_status", "reason"),
        out,
        max_width=60,
    )
