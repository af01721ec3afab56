"""How the CLI reaches OpsLink: a running local stack (`opslink local serve`) or a
deployment. Table names come from the CloudFormation stack's outputs (`--stack-name`,
default opslink); a local stack has no CloudFormation, so its names follow the emulator's
`<stack>-<LogicalId>` convention. Both can be overridden. The errors every command
answers with (never a traceback) are here too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.faults import FaultRecords
from opslink.adapters.store.incident_keys import IncidentKeys
from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink_cli.cli_args import caller


class OperatorError(Exception):
    """A command that could not do its work: exit status 1."""


class NotFound(OperatorError):
    """Anything asked for by id that does not exist: exit status 1, one message shape."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found")


@dataclass
class Connection:
    alerts: DynamoAlertStore
    tickets: BuiltinTicketSystem
    sfn: Any
    state_machine_arn: str
    session: Any = None
    local: bool = True
    endpoint_url: str | None = None
    _identity: str | None = None
    stack_name: str = "opslink"
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def faults(self) -> FaultRecords:
        """The integration faults, on the alerts table (their own store object)."""
        return FaultRecords(self.alerts.table, self.alerts.client)

    @property
    def incidents(self) -> IncidentKeys:
        """Incidents and their grouping keys, on the alerts table."""
        return IncidentKeys(self.alerts.table, self.alerts.client)

    def function(self, logical: str) -> str:
        """A function of the stack by its logical id (the stack's output on AWS, where SAM
        names functions with a random suffix)."""
        return self.outputs.get(f"{logical}Name") or f"{self.stack_name}-{logical}"

    def invoke(self, logical: str, event: dict[str, Any]) -> Any:
        """Invoke one of the stack's functions; its error, in one line, as OperatorError."""
        lam = self.session.client("lambda", endpoint_url=self.endpoint_url)
        reply = lam.invoke(FunctionName=self.function(logical), Payload=json.dumps(event).encode())
        payload = json.loads(reply["Payload"].read() or b"null")
        if reply.get("FunctionError"):
            message = payload.get("errorMessage") if isinstance(payload, dict) else payload
            raise OperatorError(f"{logical}: {' '.join(str(message).split())[:400]}")
        return payload

    def identity(self) -> str:
        """Who is acting: the AWS principal on a deployment, the local user locally."""
        if self._identity is None:
            self._identity = caller()
            if not self.local and self.session is not None:
                # Best effort: without an AWS identity the local user is named.
                with contextlib.suppress(ClientError, BotoCoreError):
                    arn = self.session.client("sts").get_caller_identity()["Arn"]
                    self._identity = str(arn)
        return self._identity


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
    journal_table = (
        getattr(args, "journal_table", None)
        or outputs.get("JournalTableName")
        or f"{args.stack_name}-JournalTable"
    )
    state_machine = outputs.get("RemediationStateMachineArn") or (
        f"arn:aws:states:{session.region_name}:{LOCAL_ACCOUNT}:stateMachine:{args.stack_name}-RemediationStateMachine"
    )
    ddb = session.client("dynamodb", endpoint_url=args.endpoint_url)
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint_url)
    if local:
        from opslink_cli.kept_state import KeptExecutions

        _check_local_region(session, ddb, alerts_table, args.endpoint_url)
        sfn = KeptExecutions(sfn, ddb)  # a reopened demo state: its executions too
    return Connection(
        DynamoAlertStore(alerts_table, ddb, journal_table=journal_table),
        BuiltinTicketSystem(tickets_table, ddb),
        sfn,
        state_machine,
        session=session,
        local=local,
        endpoint_url=args.endpoint_url,
        stack_name=args.stack_name,
        outputs=outputs,
    )


def _check_local_region(session: boto3.Session, ddb: Any, table: str, endpoint: str) -> None:
    """A local stack lives in one region: name it when the table is not in the one asked."""
    from botocore.exceptions import BotoCoreError

    from opslink_cli.emulator.deploy import REGION

    try:
        ddb.describe_table(TableName=table)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            return  # reported by the command itself
    except BotoCoreError:
        return  # unreachable: the command says so
    region = session.region_name
    elsewhere = False
    if region != REGION:
        other = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 (the local emulator's dummy keys)
            region_name=REGION,
        ).client("dynamodb", endpoint_url=endpoint)
        try:
            other.describe_table(TableName=table)
            elsewhere = True
        except (ClientError, BotoCoreError):
            elsewhere = False
    hint = (
        f"the local stack is in {REGION}: pass --region {REGION} (AWS_REGION/AWS_DEFAULT_REGION "
        f"say {region})"
        if elsewhere
        else "start it with `opslink local serve` (the demo's kept state: `opslink local serve --state .opslink/demo-state`)"
    )
    raise OperatorError(f"no table {table} in {region} at {endpoint}; {hint}")


def _stack_outputs(session: boto3.Session, stack: str) -> dict[str, str]:
    try:
        out = session.client("cloudformation").describe_stacks(StackName=stack)
    except ClientError as exc:
        account = "unknown account"
        with contextlib.suppress(ClientError, BotoCoreError):
            account = "account " + str(session.client("sts").get_caller_identity()["Account"])
        raise OperatorError(
            f"no OpsLink stack {stack!r} in {account}, region {session.region_name} "
            f"({exc.response['Error']['Message']}); deployed elsewhere: --stack-name/--region/"
            "--profile; the local emulator: --endpoint-url http://127.0.0.1:5055"
        ) from None
    except BotoCoreError as exc:  # no credentials, no network
        raise OperatorError(
            f"cannot look up OpsLink stack {stack!r} in region {session.region_name}: {exc}; "
            "for the local emulator pass --endpoint-url http://127.0.0.1:5055"
        ) from None
    return {o["OutputKey"]: o["OutputValue"] for o in out["Stacks"][0].get("Outputs", [])}


LOCAL_ACCOUNT = "123456789012"
