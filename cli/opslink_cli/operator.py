"""`opslink alerts` and `opslink tickets`: against a running local stack or a deployment.

Table names come from the CloudFormation stack's outputs (`--stack-name`, default
opslink); a local stack served by `opslink local serve` has no CloudFormation, so its
names follow the emulator's `<stack>-<LogicalId>` convention. Both can be overridden.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.models import TicketStatus
from opslink_cli.render import emit


class OperatorError(Exception):
    pass


@dataclass
class Connection:
    alerts: DynamoAlertStore
    tickets: BuiltinTicketSystem
    sfn: Any
    state_machine_arn: str


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (as the AWS CLI)")
    group.add_argument(
        "--endpoint-url", help="e.g. http://127.0.0.1:5055 for `opslink local serve`"
    )
    group.add_argument("--profile", help="AWS named profile")
    group.add_argument("--region", help="AWS region (default: profile's or us-east-1 locally)")
    group.add_argument("--output", choices=("table", "json"), default="table")
    group.add_argument(
        "--stack-name", default="opslink", help="the deployed stack (default: opslink)"
    )
    group.add_argument("--alerts-table", help="override the alerts table name")
    group.add_argument("--tickets-table", help="override the tickets table name")


def connect(args: argparse.Namespace) -> Connection:
    local = bool(args.endpoint_url)
    session = boto3.Session(
        profile_name=args.profile,
        region_name=args.region or ("us-east-1" if local else None),
        **(
            {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
            if local and not args.profile
            else {}
        ),
    )
    if session.region_name is None:
        raise OperatorError("no region: pass --region or configure one for the profile")
    alerts_table, tickets_table = args.alerts_table, args.tickets_table
    outputs = (
        {}
        if local or (alerts_table and tickets_table)
        else _stack_outputs(session, args.stack_name)
    )
    alerts_table = (
        alerts_table or outputs.get("AlertsTableName") or f"{args.stack_name}-AlertsTable"
    )
    tickets_table = (
        tickets_table or outputs.get("TicketsTableName") or f"{args.stack_name}-TicketsTable"
    )
    state_machine = outputs.get("RemediationStateMachineArn") or (
        f"arn:aws:states:{session.region_name}:{LOCAL_ACCOUNT}:stateMachine:{args.stack_name}-RemediationStateMachine"
    )
    ddb = session.client("dynamodb", endpoint_url=args.endpoint_url)
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint_url)
    return Connection(
        DynamoAlertStore(alerts_table, ddb),
        BuiltinTicketSystem(tickets_table, ddb),
        sfn,
        state_machine,
    )


def _stack_outputs(session: boto3.Session, stack: str) -> dict[str, str]:
    try:
        out = session.client("cloudformation").describe_stacks(StackName=stack)
    except ClientError as exc:
        raise OperatorError(
            f"stack {stack!r}: {exc.response['Error']['Message']} (use --stack-name or --alerts-table)"
        ) from None
    return {o["OutputKey"]: o["OutputValue"] for o in out["Stacks"][0].get("Outputs", [])}


LOCAL_ACCOUNT = "123456789012"
EXECUTION_COLUMNS = ("execution", "status", "started", "took", "outcome")
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
TICKET_COLUMNS = ("id", "status", "priority", "ticket_type", "assignee", "due_at", "title")


def alerts_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    alerts = conn.alerts.list_alerts(status=args.status, limit=args.limit)
    emit([a.model_dump(mode="json") for a in alerts], args.output, out, ALERT_COLUMNS)
    return 0


def alerts_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    alert = conn.alerts.get(args.alert_id)
    if alert is None:
        raise OperatorError(f"no alert {args.alert_id}")
    doc: dict[str, Any] = alert.model_dump(mode="json")
    doc["links"] = [
        {k: v for k, v in link.items() if k not in ("pk",)}
        for link in conn.alerts.links(args.alert_id)
    ]
    emit(doc, args.output, out)
    return 0


def tickets_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    tickets = conn.tickets.list(limit=args.limit)
    emit([t.model_dump(mode="json") for t in tickets], args.output, out, TICKET_COLUMNS)
    return 0


def _ticket(conn: Connection, ticket_id: str) -> Any:
    ticket = conn.tickets.get(ticket_id)
    if ticket is None:
        raise OperatorError(f"no ticket {ticket_id}")
    return ticket


def tickets_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    ticket = _ticket(conn, args.ticket_id)
    if args.output == "json":
        emit(ticket.model_dump(mode="json"), "json", out)
        return 0
    fields = ticket.model_dump(mode="json", exclude={"description", "comments"})
    emit(fields, "table", out)
    out.write("\n" + ticket.description + "\n")
    for c in ticket.comments:
        out.write(f"--- {c.get('at')} {c.get('author')}\n{c.get('text')}\n")
    return 0


def tickets_comment(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    _ticket(conn, args.ticket_id)
    conn.tickets.comment(args.ticket_id, args.text, author=args.author)
    out.write(f"commented on {args.ticket_id}\n")
    return 0


def tickets_close(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    _ticket(conn, args.ticket_id)
    ticket = conn.tickets.set_status(args.ticket_id, TicketStatus.CLOSED, note=args.note)
    out.write(
        f"closed {ticket.id} at {datetime.now(UTC).isoformat(timespec='seconds')}; "
        "the track sweep resolves its alert\n"
    )
    return 0


def executions_list(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    from opslink_cli.executions import list_executions

    emit(
        list_executions(conn.sfn, conn.state_machine_arn, args.limit),
        args.output,
        out,
        EXECUTION_COLUMNS,
    )
    return 0


def executions_show(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    from opslink_cli.executions import show_execution
    from opslink_cli.render import table

    doc = show_execution(conn.sfn, conn.state_machine_arn, args.name)
    if args.output == "json":
        emit(doc, "json", out)
        return 0
    emit({k: v for k, v in doc.items() if k != "timeline"}, "table", out)
    out.write("\n")
    table(doc["timeline"], ("at", "state", "took", "facts"), out, max_width=110)
    return 0


def _approval(conn: Connection, name: str) -> tuple[str, str]:
    alert_id = name.rsplit(":", 1)[-1].removeprefix("remediate-")
    token = conn.alerts.approval_token(alert_id)
    if token is None:
        raise OperatorError(f"execution {name} is not waiting for an approval")
    return alert_id, token


def executions_approve(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    alert_id, token = _approval(conn, args.name)
    decided = {"approved_by": args.by, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        conn.sfn.send_task_success(taskToken=token, output=json.dumps(decided))
    except ClientError as exc:
        raise OperatorError(
            f"approval not accepted: {exc.response['Error']['Message']} (already decided or timed out?)"
        ) from None
    conn.alerts.add_note(
        alert_id, f"Runbook approved by {args.by}.", datetime.now(UTC), kind="approved"
    )
    out.write(f"approved {args.name}: the runbook runs now\n")
    return 0


def executions_reject(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    alert_id, token = _approval(conn, args.name)
    cause = f"Runbook rejected by {args.by}: {args.reason}"
    conn.alerts.add_note(alert_id, cause, datetime.now(UTC), kind="rejected")
    try:
        conn.sfn.send_task_failure(taskToken=token, error="ApprovalRejected", cause=cause)
    except ClientError as exc:
        raise OperatorError(
            f"rejection not accepted: {exc.response['Error']['Message']} (already decided or timed out?)"
        ) from None
    out.write(f"rejected {args.name}: the alert stays with humans\n")
    return 0
