"""`opslink alerts ack|assign|snooze`: an on-call engineer's hand on an open alert,
done by the stack's track function (it holds the ticket system's credentials, so the
ticket follows in whatever system it lives in)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from opslink_cli.cli_args import UsageError
from opslink_cli.connection import Connection, NotFound, OperatorError
from opslink_cli.operator import _said


def alerts_act(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    action = args.alerts_command
    request: dict[str, Any] = {"action": action, "alert_id": args.alert_id,
                               "by": args.by or conn.identity(), "reason": args.reason}  # fmt: skip
    if action == "assign":
        request["assignee"] = args.assignee
    if action == "snooze":
        hours = getattr(args, "hours", None)
        if hours is not None and not 0 < hours <= 168:
            raise UsageError("--hours takes a number of hours above 0, at most 168 (7 days)")
        until = args.until or datetime.now(UTC) + timedelta(hours=hours or 0)
        request["until"] = until.isoformat()
    answer = conn.invoke("TrackFunction", {"operator": request})
    if not isinstance(answer, dict) or not answer.get("ok"):
        error = answer.get("error") if isinstance(answer, dict) else answer
        if isinstance(answer, dict) and answer.get("code") == "not_found":
            raise NotFound("alert", args.alert_id)
        raise OperatorError(f"{action} {args.alert_id}: {error}")
    doc = {k: v for k, v in answer.items() if k != "ok"}
    if not answer.get("changed", True):
        line = (f"{args.alert_id} was already acknowledged by {answer.get('acknowledged_by')} at "
                f"{answer.get('acknowledged_at')}; nothing changed")  # fmt: skip
    elif action == "ack":
        line = f"acknowledged {args.alert_id}; ticket {answer.get('ticket_id')} is in progress"
    elif action == "assign":
        line = f"assigned {args.alert_id} (ticket {answer.get('ticket_id')}) to {answer.get('assignee')}"
    else:
        line = (
            f"snoozed {args.alert_id} until {answer.get('snoozed_until')}: no reminders until then"
        )
    _said(args, out, doc, line)
    return 0
