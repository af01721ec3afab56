"""`opslink executions list|show`: remediation executions as a readable timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opslink import json_input
from opslink.identity import alert_of_execution

# What each state's output says that an operator wants to see.
_FACTS = {
    "SelectRunbook": lambda o: (o.get("selection") or {}).get("reason", ""),
    "LaunchJob": lambda o: (
        "{runbook} as {platform} job {job_id}".format(
            **(
                (o.get("launch") or {}).get("job")
                or {"runbook": "?", "platform": "?", "job_id": "?"}
            )
        )
        + _batch((o.get("launch") or {}).get("job") or {})
        + (
            f"; parameters {p}"
            if (p := ((o.get("launch") or {}).get("job") or {}).get("parameters"))
            else ""
        )
        + (
            f"; {'' if s.startswith('woken') else 'polls '}{s}"
            if (s := ((o.get("launch") or {}).get("poll") or {}).get("schedule"))
            else ""
        )
    ),
    "AwaitJob": lambda o: _progress(
        o,
        "job {state} after {elapsed_seconds}s, woken by {woken_by}",
        woken_by=_poll_of(o).get("woken_by") or "its wait's end",
    ),
    "PollJob": lambda o: _progress(
        o, "job {state} after {elapsed_seconds}s (poll {attempt}); next wait {wait_seconds}s"
    ),
    "VerifyFix": lambda o: (
        f"alarm is {(o.get('verify') or {}).get('alarm_state', '?')}"
        + (
            "; learning: {} recorded a verified fix".format(
                ((o.get("launch") or {}).get("job") or {}).get("runbook", "?")
            )
            if (o.get("verify") or {}).get("resolution")
            else ""
        )
    ),
    # Either selects the runbook once no diagnostic is left to wait for: say why.
    "Diagnose": lambda o: _diagnosed(o),
    "CollectDiagnostics": lambda o: _diagnosed(o),
    "NextAttempt": lambda o: _ladder(o.get("ladder") or {}),
    "ResolveAlert": lambda o: (
        "learning: {} recorded a verified fix".format(  # kept, older executions
            ((o.get("launch") or {}).get("job") or {}).get("runbook", "?")
        )
    ),
    "Escalate": lambda o: _handover(o.get("escalated") or {}),
    "EscalateWithoutJob": lambda o: _handover(o.get("escalated") or {}),
}


def _diagnosed(o: dict[str, Any]) -> str:
    selection = o.get("selection") or {}
    text = _diagnostics(selection.get("diagnostics") or o.get("diagnostics") or {})
    return text + (f"; {selection['reason']}" if selection.get("reason") else "")


def _poll_of(o: dict[str, Any]) -> dict[str, Any]:
    return (o.get("launch") or {}).get("poll") or {}


def _progress(o: dict[str, Any], words: str, **extra: str) -> str:
    """Where a job stands after a poll or a wake-up, and on which hosts."""
    facts = {"state": "?", "elapsed_seconds": "?", "attempt": "?", "wait_seconds": "?"}
    text = words.format(**(facts | _poll_of(o) | extra))
    return text + _batch((o.get("launch") or {}).get("job") or {}, launched=True)


def _batch(job: dict[str, Any], launched: bool = False) -> str:
    """Which hosts this job runs on, and where it stands in a canary-then-batches run."""
    batches = job.get("batches") or []
    hosts = ",".join((job.get("targets") or {}).get("InstanceId") or [])
    if len(batches) <= 1:
        return f" on {hosts}" if hosts and not launched else ""
    n = int(job.get("batch", 0))
    what = "canary" if n == 0 else f"batch {n + 1} of {len(batches)}"
    if launched and n == 0:
        return ""  # still the canary: LaunchJob said so
    return f"; {what} on {hosts}" if launched else f" ({what}) on {hosts}"


def _diagnostics(d: dict[str, Any]) -> str:
    if not d.get("done"):
        return f"{len(d.get('jobs') or [])} diagnostic(s) running"
    verdicts = [f"{j.get('runbook')}: {j.get('verdict')}" for j in d.get("jobs") or []]
    return "; ".join(verdicts + list(d.get("skipped") or [])) or "no diagnostic matches"


def _ladder(ladder: dict[str, Any]) -> str:
    attempts = ladder.get("attempts") or []
    last = attempts[-1] if attempts else {}
    learned = (
        f"learning: {last.get('runbook')} recorded a miss ({last.get('outcome')}); " if last else ""
    )
    if ladder.get("next"):
        nxt = ((ladder.get("selection") or {}).get("runbook") or {}).get("name", "?")
        return f"{learned}next attempt: {nxt}"
    return f"{learned}ladder ends: {ladder.get('stop') or ladder.get('reason', '')}"


def _handover(esc: dict[str, Any]) -> str:
    if esc.get("handed_over") is False:
        return f"no hand-over: {esc.get('reason', '')} ({esc.get('kind', '')})"
    ticket = esc.get("ticket_id") or esc.get("manual_ticket_id") or "?"
    return f"handed over on ticket {ticket}: {esc.get('reason') or esc.get('kind', '')}"


def _parse(text: str | None) -> dict[str, Any]:
    try:
        doc = json_input.loads(text or "{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per state entered: offset, duration, facts from its output."""
    if not history:
        return []
    start: datetime = history[0]["timestamp"]
    rows: list[dict[str, Any]] = []
    open_rows: dict[str, dict[str, Any]] = {}
    for event in history:
        if "stateEnteredEventDetails" in event:
            name = event["stateEnteredEventDetails"]["name"]
            row = {
                "state": name,
                "at": f"+{(event['timestamp'] - start).total_seconds():.1f}s",
                "took": "",
                "facts": "",
                "_t": event["timestamp"],
            }
            rows.append(row)
            open_rows[name] = row
        elif "stateExitedEventDetails" in event:
            details = event["stateExitedEventDetails"]
            exited = open_rows.pop(details["name"], None)
            if exited is None:
                continue
            row = exited
            row["took"] = f"{(event['timestamp'] - row['_t']).total_seconds():.1f}s"
            fact = _FACTS.get(details["name"])
            if fact:
                try:
                    row["facts"] = fact(_parse(details.get("output")))
                except (KeyError, TypeError, ValueError):
                    row["facts"] = ""
        elif event["type"].endswith("Failed") or event["type"] == "ExecutionFailed":
            for key, value in event.items():
                if key.endswith("EventDetails") and isinstance(value, dict) and value.get("error"):
                    rows.append(
                        {
                            "state": event["type"],
                            "at": f"+{(event['timestamp'] - start).total_seconds():.1f}s",
                            "took": "",
                            "facts": f"{value.get('error')}: {str(value.get('cause', ''))[:160]}",
                        }
                    )
    for row in rows:
        row.pop("_t", None)
    return rows


# Where an execution ended, by name: the terminal state, except that a fix ends the
# execution in VerifyFix itself (its task answers success on its token; no Succeed state).
FIXED_IN = "VerifyFix"
REMEDIATED = "Remediated"


def outcome(history: list[dict[str, Any]]) -> str:
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    if not entered:
        return "-"
    if entered[-1] == FIXED_IN and any(e.get("type") == "ExecutionSucceeded" for e in history):
        return REMEDIATED
    return entered[-1]


_WAITING = {"RequestApproval": "AwaitingApproval"}


def _final_output(history: list[dict[str, Any]]) -> dict[str, Any]:
    for event in reversed(history):
        details = event.get("executionSucceededEventDetails") or event.get(
            "stateExitedEventDetails"
        )
        if details and "output" in details:
            return _parse(details.get("output"))
    return {}


def why(outcome_state: str, status: str, output: dict[str, Any]) -> str:
    """Why the execution ended where it did, in the words an operator expects."""
    from opslink.remediation.policy import ESCALATIONS

    if status == "RUNNING":
        return "waiting for a human's approval" if outcome_state == "RequestApproval" else ""
    if status in ("ABORTED", "TIMED_OUT", "FAILED"):
        return f"execution {status.lower()}"
    selection = output.get("selection") or {}
    if outcome_state == REMEDIATED:
        runbook = ((output.get("launch") or {}).get("job") or {}).get("runbook", "?")
        return f"runbook {runbook} fixed it: alarm back to OK"
    escalation = output.get("escalation") or {}
    if escalation.get("kind"):
        text = ESCALATIONS.get(str(escalation["kind"]), str(escalation["kind"]))
        if escalation.get("kind") == "not_fixed":
            text += f" ({escalation.get('detail', 'ALARM')})"
        return text
    error = output.get("error") or {}
    if error.get("Error") == "ApprovalRejected":
        return "approval rejected"
    if selection and selection.get("suppressed"):
        return str(selection.get("reason", "automation suppressed"))
    if selection and selection.get("runbook") is None:
        return "no matching runbook"
    if error:
        return f"remediation step failed: {error.get('Error', '?')}"
    return ""


def summary(sfn: Any, execution: dict[str, Any]) -> dict[str, Any]:
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)[
        "events"
    ]
    stop = execution.get("stopDate")
    took = f"{(stop - execution['startDate']).total_seconds():.1f}s" if stop else "running"
    last = outcome(history)
    return {
        "execution": execution["name"],
        "status": execution["status"],
        "started": execution["startDate"].isoformat(timespec="seconds"),
        "took": took,
        "outcome": _WAITING.get(last, last) if execution["status"] == "RUNNING" else last,
        "reason": why(last, execution["status"], _final_output(history)),
        "alert_id": alert_of_execution(execution["name"]),
    }


def list_executions(sfn: Any, state_machine_arn: str, limit: int) -> list[dict[str, Any]]:
    out = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=min(limit, 1000))
    return [summary(sfn, e) for e in out.get("executions", [])[:limit]]


def execution_arn(state_machine_arn: str, name: str) -> str:
    """An execution's ARN from its name (an ARN is taken as it is)."""
    if name.startswith("arn:"):
        return name
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def show_execution(sfn: Any, state_machine_arn: str, name: str) -> dict[str, Any]:
    arn = execution_arn(state_machine_arn, name)
    execution = sfn.describe_execution(executionArn=arn)
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    doc = summary(sfn, {**execution, "name": execution["name"]})
    doc["timeline"] = timeline(history)
    doc["transitions"] = sum(1 for e in history if "stateEnteredEventDetails" in e)
    return doc
