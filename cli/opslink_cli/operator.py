"""`opslink alerts`, `opslink tickets` and `opslink executions`, on the connection
connection.py makes (a local stack or a deployment)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from botocore.exceptions import ClientError

from opslink.models import Ticket, TicketStatus
from opslink_cli.cli_args import UsageError
from opslink_cli.connection import Connection, NotFound, OperatorError
from opslink_cli.render import emit, style_from, table

EXECUTION_COLUMNS = ("execution", "status", "started", "took", "outcome", "reason")
ALERT_COLUMNS = (
    "alert_id",
    "status",
    "priority",
    "service",
    "environment",
    "alert_type",
    "occurrences",
    "ticket_id",
    "alarm_name",
)
TICKET_COLUMNS = (
    "id",
    "status",
    "priority",
    "service",
    "assignee",
    "age",
    "due_at",
    "overdue",
    "title",
)


def alerts_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    alerts = conn.alerts.list_alerts(status=args.status, limit=args.limit)
    emit([a.model_dump(mode="json") for a in alerts], style_from(args, out), out, ALERT_COLUMNS)
    return 0


def alerts_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    alert = conn.alerts.get(args.alert_id)
    if alert is None:
        raise NotFound("alert", args.alert_id)
    doc: dict[str, Any] = alert.model_dump(mode="json")
    if alert.notes_archived:  # the oldest notes live off the alert's item: all, in order
        doc["notes"] = conn.alerts.archived_notes(args.alert_id) + doc["notes"]
    doc["links"] = [
        {k: v for k, v in link.items() if k not in ("pk",)}
        for link in conn.alerts.links(args.alert_id)
    ]
    emit(doc, style_from(args, out), out)
    return 0


def _age(delta_seconds: float) -> str:
    minutes = int(delta_seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 48 else f"{hours // 24}d{hours % 24:02d}h"


def _open(ticket: Ticket) -> bool:
    return ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def _overdue(ticket: Ticket, now: datetime) -> bool:
    return _open(ticket) and ticket.due_at is not None and ticket.due_at < now


def ticket_row(ticket: Ticket, now: datetime) -> dict[str, Any]:
    row = ticket.model_dump(mode="json", exclude={"description", "comments"})
    row["service"] = ticket.custom_fields.get("service", "")
    row["age"] = _age((now - ticket.created_at).total_seconds())
    row["overdue"] = "yes" if _overdue(ticket, now) else ""
    return row


def tickets_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    now = datetime.now(UTC)

    def wanted(t: Ticket) -> bool:
        return (
            (args.status is None or t.status.value == args.status)
            and (args.service is None or t.custom_fields.get("service") == args.service)
            and (args.priority is None or t.priority.value == args.priority)
            and (not args.overdue or _overdue(t, now))
        )

    filtered = any((args.status, args.service, args.priority, args.overdue))
    tickets = conn.tickets.list(limit=args.limit, where=wanted if filtered else None)
    emit([ticket_row(t, now) for t in tickets], style_from(args, out), out, TICKET_COLUMNS)
    return 0


def _ticket(conn: Connection, ticket_id: str) -> Ticket:
    ticket = conn.tickets.get(ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


def tickets_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    ticket = _ticket(conn, args.ticket_id)
    style = style_from(args, out)
    if style.output != "table" or style.query:
        emit(ticket.model_dump(mode="json"), style, out)
        return 0
    emit(ticket_row(ticket, datetime.now(UTC)), style, out)
    out.write("\n" + ticket.description + "\n")
    for c in ticket.comments:
        out.write(f"--- {c.get('at', '')} {c.get('author', '')}\n{c.get('text', '')}\n")
    return 0


def _said(args: argparse.Namespace, out: TextIO, doc: dict[str, Any], line: str) -> None:
    """A mutation's result: a sentence on a table terminal, the document otherwise."""
    style = style_from(args, out)
    if style.output == "table" and not style.query:
        out.write(line + "\n")
    else:
        emit(doc, style, out)


def tickets_comment(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    if not args.text.strip():
        raise UsageError("an empty comment is not added; give the comment text")
    _ticket(conn, args.ticket_id)
    author = args.author or conn.identity()
    conn.tickets.comment(args.ticket_id, args.text, author=author)
    _said(
        args,
        out,
        {"ticket_id": args.ticket_id, "action": "commented", "author": author},
        f"commented on {args.ticket_id} as {author}",
    )
    return 0


def tickets_close(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    if args.note is not None and not args.note.strip():
        raise UsageError("--note is empty; leave it out or give the closing comment")
    before = _ticket(conn, args.ticket_id)
    if before.status is TicketStatus.CLOSED:
        at = before.closed_at.isoformat(timespec="seconds") if before.closed_at else "?"
        _said(
            args,
            out,
            {
                "ticket_id": before.id,
                "action": "unchanged",
                "status": before.status.value,
                "closed_at": at,
                "closed_by": before.closed_by,
            },
            f"{before.id} is already closed (at {at} by {before.closed_by or 'unknown'}); nothing changed",
        )
        return 0
    by = args.by or conn.identity()
    ticket = conn.tickets.set_status(args.ticket_id, TicketStatus.CLOSED, note=args.note, by=by)
    at = ticket.closed_at.isoformat(timespec="seconds") if ticket.closed_at else ""
    _said(
        args,
        out,
        {
            "ticket_id": ticket.id,
            "action": "closed",
            "status": ticket.status.value,
            "closed_at": at,
            "closed_by": ticket.closed_by,
        },
        f"closed {ticket.id} at {at} by {ticket.closed_by}; its alert is resolved at the next "
        "track sweep or webhook",
    )
    return 0


def executions_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    from opslink_cli.executions import list_executions

    emit(
        list_executions(conn.sfn, conn.state_machine_arn, args.limit),
        style_from(args, out),
        out,
        EXECUTION_COLUMNS,
    )
    return 0


def executions_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    from opslink_cli.executions import show_execution

    try:
        doc = show_execution(conn.sfn, conn.state_machine_arn, args.name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            raise NotFound("execution", args.name) from None
        raise
    style = style_from(args, out)
    if style.output != "table" or style.query:
        emit(doc, style, out)
        return 0
    emit({k: v for k, v in doc.items() if k != "timeline"}, style, out)
    out.write("\n")
    width = None if not style.truncate else 110
    table(
        doc["timeline"], ("at", "state", "took", "facts"), out, max_width=width, colour=style.colour
    )
    return 0


def _decide(conn: Connection, args: argparse.Namespace, approve: bool) -> Any:
    from opslink.adapters.workflow.task_callbacks import StepFunctionsCallbacks
    from opslink.approvals import NotWaiting, decide
    from opslink.errors import RetryableError
    from opslink.identity import alert_of_execution

    if conn.alerts.get(alert_of_execution(args.name)) is None:
        raise NotFound("execution", args.name)
    by = args.by or conn.identity()
    try:
        done = decide(conn.alerts, conn.alerts.journal, StepFunctionsCallbacks(conn.sfn), args.name,
                      approve, by, getattr(args, "reason", "") or "", datetime.now(UTC))  # fmt: skip
    except NotWaiting as exc:
        raise OperatorError(str(exc)) from None
    except RetryableError as exc:
        raise OperatorError(f"Step Functions did not answer ({exc}); try again") from None
    if not done.first:
        raise OperatorError(f"{args.name} was already decided: {done.earlier}")
    return done


def executions_approve(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    done = _decide(conn, args, approve=True)
    waiting = {"waiting_for": done.waiting_for, "approvers": list(done.approvers)}
    _said(
        args,
        out,
        {"execution": args.name, "action": "approved", "by": done.by}
        | (waiting if done.waiting_for else {}),
        f"{args.name}: {done.said()}"
        if done.waiting_for
        else f"approved {args.name}: the runbook runs now",
    )
    return 0


def executions_reject(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    done = _decide(conn, args, approve=False)
    _said(
        args,
        out,
        {"execution": args.name, "action": "rejected", "by": done.by, "reason": args.reason},
        f"rejected {args.name}: the alert stays with humans",
    )
    return 0
