"""What `opslink doctor` checks: a stack's settings, roles, storage and alarms, read from
AWS (read-only calls) or from template.yaml as the local stack deploys it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opslink.errors import ConfigurationError
from opslink_cli.doctor_members import invoke_check
from opslink_cli.doctor_probes import probe_chat, probe_jobs, probe_tickets
from opslink_cli.iam_review import (
    Role,
    roles_from_template,
    stack_resolver,
    statements_of,
    transformed_template,
)

SECRET_VARIABLES = (
    "TICKET_CREDENTIALS_SECRET",
    "JOB_API_TOKEN_SECRET",
    "RUNDECK_TOKEN_SECRET",
    "AWX_TOKEN_SECRET",
    "WEBHOOK_SECRET_NAME",
    "SLACK_BOT_TOKEN_SECRET",
    "SLACK_SIGNING_SECRET_NAME",
    "TEAMS_APP_PASSWORD_SECRET",
)
URL_VARIABLES = (
    "TICKET_BASE_URL", "JOB_API_URL", "RUNDECK_URL", "AWX_URL", "SLACK_API_URL",
    "TEAMS_SERVICE_URL", "TEAMS_LOGIN_URL", "TEAMS_OPENID_URL",
)  # fmt: skip
FUNCTIONS = ("IngestFunction", "RemediateFunction", "TrackFunction", "MetricsFunction")


@dataclass
class FunctionView:
    env: dict[str, str]
    timeout: int
    dlq: str = ""


@dataclass
class TableView:
    exists: bool
    sse: str = ""  # KMS, AES256 or "" (AWS owned key)
    point_in_time_recovery: bool = False


@dataclass
class Deployment:
    functions: dict[str, FunctionView]
    roles: list[Role]
    journal_table_arn: str
    tables: dict[str, TableView]
    topic_keys: dict[str, str]
    queue_keys: dict[str, str]
    alarms: set[str]
    webhook_url: str = ""
    ingest_retries: int | None = None
    secret_status: Callable[[str], tuple[bool, str]] = lambda name: (False, "")
    probe_tickets: Callable[[], str] = lambda: "not probed"
    probe_jobs: Callable[[], str] = lambda: "not probed"
    probe_chat: Callable[[], str] = lambda: "not probed"
    probe_member: Callable[[str, str], list[dict[str, str]]] | None = None  # doctor_members
    notes: list[str] = field(default_factory=list)
    kpi_fold_scheduled: bool = True  # the track function's hourly KPI fold (docs/KPIS.md)
    # Where the fold has reached (None: it has not run yet); not read from a template.
    kpi_fold_through: Callable[[], datetime | None] | None = None

    def table(self, logical: str) -> TableView:
        return self.tables.get(logical, TableView(False))


def repo_root() -> Path:
    from opslink_cli.emulator.deploy import DEFAULT_ROOT

    return Path(DEFAULT_ROOT)


# -- the local stack: template.yaml through the SAM translator ---------------------------


def from_template(root: Path) -> Deployment:
    from opslink_cli.emulator.deploy import ACCOUNT, LOCAL_PARAMETERS, REGION

    sam_python = root / ".venv-sam" / "bin" / "python"
    if not sam_python.exists():
        raise ConfigurationError(
            "doctor --local reviews template.yaml with aws-sam-cli's translator: run `make install`"
        )
    try:
        cfn = transformed_template(root, sam_python, LOCAL_PARAMETERS)
    except RuntimeError as exc:
        raise ConfigurationError(str(exc)) from None
    resolver = stack_resolver(cfn, LOCAL_PARAMETERS, "opslink", REGION, ACCOUNT)
    resources: dict[str, Any] = {
        k: v
        for k, v in cfn["Resources"].items()
        if not v.get("Condition") or resolver.condition(v["Condition"])
    }

    def of(kind: str) -> dict[str, Any]:
        return {k: resolver.resolve(v.get("Properties", {})) for k, v in resources.items()
                if v["Type"] == kind}  # fmt: skip

    functions = {
        name: FunctionView(
            env={k: str(v) for k, v in p.get("Environment", {}).get("Variables", {}).items()},
            timeout=int(p.get("Timeout", 3)),
            dlq=str(p.get("DeadLetterConfig", {}).get("TargetArn", "")),
        )
        for name, p in of("AWS::Lambda::Function").items()
    }
    tables = {
        name: TableView(
            True,
            str(p.get("SSESpecification", {}).get("SSEType", ""))
            if p.get("SSESpecification", {}).get("SSEEnabled")
            else "",
            bool(p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")),
        )
        for name, p in of("AWS::DynamoDB::Table").items()
    }
    invoke = of("AWS::Lambda::EventInvokeConfig")
    ingest = [p for p in invoke.values() if "IngestFunction" in str(p.get("FunctionName"))]
    return Deployment(
        functions=functions,
        roles=roles_from_template(cfn, resolver),
        journal_table_arn=str(resolver.attrs[("JournalTable", "Arn")]),
        tables=tables,
        topic_keys={n: str(p.get("KmsMasterKeyId", "")) for n, p in of("AWS::SNS::Topic").items()},
        queue_keys={n: str(p.get("KmsMasterKeyId", "")) for n, p in of("AWS::SQS::Queue").items()},
        alarms=set(of("AWS::CloudWatch::Alarm")),
        webhook_url="https://(function URL)" if "TrackWebhookUrl" in resources else "",
        ingest_retries=int(ingest[0]["MaximumRetryAttempts"]) if ingest else None,
        probe_tickets=lambda: "builtin ticket system: the stack's TicketsTable",
        probe_jobs=lambda: "local job platform: sandboxed subprocesses on this machine",
        probe_chat=lambda: "no chat platform configured",
        kpi_fold_scheduled=any(
            "fold_kpis" in str(target.get("Input", ""))
            for rule in of("AWS::Events::Rule").values()
            for target in rule.get("Targets", [])
        ),
    )


# -- a deployed stack: read-only AWS calls -----------------------------------------------


def from_stack(args: argparse.Namespace, session: Any = None, resources: Any = None) -> Deployment:
    """`resources` (logical id -> (type, physical id)) defaults to the stack's own list."""
    import boto3

    session = session or boto3.Session(profile_name=args.profile, region_name=args.region)
    if session.region_name is None:
        raise ConfigurationError("no region: pass --region or configure one for the profile")
    client = _clients(session, args.endpoint_url)
    cfn = client("cloudformation")
    if resources is None:
        resources = {
            r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"])
            for page in cfn.get_paginator("list_stack_resources").paginate(
                StackName=args.stack_name
            )
            for r in page["StackResourceSummaries"]
        }
        stack = cfn.describe_stacks(StackName=args.stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    else:
        outputs = {}

    def physical(kind: str) -> dict[str, str]:
        return {k: v[1] for k, v in resources.items() if v[0] == kind}

    lam, ddb, iam = client("lambda"), client("dynamodb"), client("iam")
    functions = {}
    for name, fn in physical("AWS::Lambda::Function").items():
        conf = lam.get_function_configuration(FunctionName=fn)
        functions[name] = FunctionView(
            env=dict(conf.get("Environment", {}).get("Variables", {})),
            timeout=int(conf.get("Timeout", 3)),
            dlq=str(conf.get("DeadLetterConfig", {}).get("TargetArn", "")),
        )
    tables, journal_arn = {}, ""
    for name, table in physical("AWS::DynamoDB::Table").items():
        desc = ddb.describe_table(TableName=table)["Table"]
        backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {})
        sse = desc.get("SSEDescription", {})
        tables[name] = TableView(
            True,
            str(sse.get("SSEType", "")) if sse.get("Status") == "ENABLED" else "",
            pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
        )
        if name == "JournalTable":
            journal_arn = str(desc["TableArn"])
    sns, sqs = client("sns"), client("sqs")
    topics = {
        n: sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("KmsMasterKeyId", "")
        for n, arn in physical("AWS::SNS::Topic").items()
    }
    queues = {
        n: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])
        .get("Attributes", {})
        .get("KmsMasterKeyId", "")
        for n, url in physical("AWS::SQS::Queue").items()
    }
    alarm_names = physical("AWS::CloudWatch::Alarm")
    found = client("cloudwatch").describe_alarms(AlarmNames=list(alarm_names.values())[:100])
    present = {a["AlarmName"] for a in found.get("MetricAlarms", [])}
    retries = None
    if "IngestFunction" in resources:
        try:
            conf = lam.get_function_event_invoke_config(FunctionName=resources["IngestFunction"][1])
            retries = int(conf.get("MaximumRetryAttempts", 2))
        except lam.exceptions.ResourceNotFoundException:
            retries = 2  # Lambda's default for asynchronous invocations
    return Deployment(
        functions=functions,
        roles=[_role(iam, name, role) for name, role in physical("AWS::IAM::Role").items()],
        journal_table_arn=journal_arn,
        tables=tables,
        topic_keys=topics,
        queue_keys=queues,
        alarms={n for n, a in alarm_names.items() if a in present},
        webhook_url=outputs.get("TicketWebhookUrl", ""),
        ingest_retries=retries,
        secret_status=lambda name: _secret_status(client("secretsmanager"), name),
        probe_tickets=lambda: probe_tickets(functions.get("TrackFunction")),
        probe_jobs=lambda: probe_jobs(functions.get("RemediateFunction"), client),
        probe_chat=lambda: probe_chat(functions.get("RemediateFunction")),
        probe_member=invoke_check(lam, resources.get("RemediateFunction", ("", ""))[1]),
        kpi_fold_scheduled="TrackFunctionKpiFold" in resources,  # SAM's rule for the event
        kpi_fold_through=lambda: _fold_through(ddb, physical("AWS::DynamoDB::Table")),
    )


def _fold_through(ddb: Any, tables: dict[str, str]) -> datetime | None:
    """The time the KPI fold has counted up to (its checkpoint in the alerts table)."""
    if "AlertsTable" not in tables:
        return None
    item = ddb.get_item(TableName=tables["AlertsTable"], ConsistentRead=True,
                        Key={"pk": {"S": "CHECKPOINT"}, "sk": {"S": "kpi-fold"}}).get("Item")  # fmt: skip
    through = (item or {}).get("through", {}).get("S")
    return datetime.fromisoformat(through.split("#")[0]) if through else None


def _clients(session: Any, endpoint_url: str | None) -> Callable[[str], Any]:
    return lambda service: session.client(service, endpoint_url=endpoint_url)


def _role(iam: Any, logical: str, name: str) -> Role:
    role = Role(logical)
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        role.statements += statements_of(doc)
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        if ":iam::aws:policy/" in arn:
            role.managed.append(arn)
            continue
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        role.statements += statements_of(doc["Document"])
    return role


def _secret_status(sm: Any, name: str) -> tuple[bool, str]:
    """(readable, rotation) — the value is read to prove access, never kept or shown."""
    try:
        desc = sm.describe_secret(SecretId=name)
        sm.get_secret_value(SecretId=name)
    except Exception:
        return False, ""
    if not desc.get("RotationEnabled"):
        return True, ""
    days = desc.get("RotationRules", {}).get("AutomaticallyAfterDays")
    return True, f"rotation every {days} days" if days else "rotation on"
