"""The other half of least privilege: every AWS call the functions really make, recorded
on the emulator through the demo's story, the ticket sweep, the KPI publication and a
signed webhook, is allowed by that function's role as the SAM translator deploys it.
The demo's member account alarm makes calls with the member role's credentials: those
are checked against the role forwarder.yaml creates there. A permission removed from
template.yaml or forwarder.yaml that the code still needs fails here; one the code does
not need fails the review in tests/unit/test_least_privilege.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from moto.iam.models import get_account_id_from

from opslink_cli import samples
from opslink_cli.demo import DEMO_PARAMETERS, MEMBER_ACCOUNT, scenario
from opslink_cli.emulator import LocalStack
from opslink_cli.emulator import runtime as lambda_runtime
from opslink_cli.emulator.deploy import ACCOUNT, REGION
from opslink_cli.emulator.stack import schedule_event
from opslink_cli.emulator.template import load_template
from opslink_cli.iam_review import Role, roles_from_template, stack_resolver, transformed_template
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
PARAMETERS = {"WebhookSecretName": "opslink/webhook", **DEMO_PARAMETERS}
_IAM_PREFIX = {"stepfunctions": "states", "resourcegroupstaggingapi": "tag"}
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
             "ConditionCheck": "ConditionCheckItem"}  # fmt: skip


def iam_requests(
    service: str, op: str, params: dict[str, Any], where: tuple[str, str] = (REGION, ACCOUNT)
) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one API call is authorised against. The
    emulator's stack is in us-east-1 while the sample alarms live in eu-west-1; a real
    deployment has a stack per region, so alarm ARNs are taken in the stack's region
    (reading another region's alarms is refused: see the unit review). A member account's
    call is authorised in that account and the region it was made in (`where`)."""
    at = f"{where[0]}:{where[1]}"
    prefix = _IAM_PREFIX.get(service, service)
    if service == "dynamodb":

        def table(name: str, index: str | None = None) -> str:
            return f"arn:aws:dynamodb:{at}:table/{name}" + (f"/index/{index}" if index else "")

        if op == "TransactWriteItems":
            return [
                (f"dynamodb:{_TRANSACT[kind]}", table(body["TableName"]))
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        if op == "BatchGetItem":
            return [("dynamodb:BatchGetItem", table(t)) for t in params["RequestItems"]]
        return [(f"dynamodb:{op}", table(params["TableName"], params.get("IndexName")))]
    resource = {
        ("sns", "Publish"): lambda: params["TopicArn"],
        ("stepfunctions", "StartExecution"): lambda: params["stateMachineArn"],
        ("stepfunctions", "DescribeExecution"): lambda: params["executionArn"],
        ("stepfunctions", "StopExecution"): lambda: params["executionArn"],
        # A task token names its execution's state machine: OpsLink's only one.
        ("stepfunctions", "SendTaskSuccess"): lambda: (
            f"arn:aws:states:{at}:stateMachine:opslink-RemediationStateMachine"
        ),
        ("stepfunctions", "SendTaskFailure"): lambda: (
            f"arn:aws:states:{at}:stateMachine:opslink-RemediationStateMachine"
        ),
        ("lambda", "Invoke"): lambda: f"arn:aws:lambda:{at}:function:{params['FunctionName']}",
        ("ssm", "GetParameter"): lambda: f"arn:aws:ssm:{at}:parameter{params['Name']}",
        ("secretsmanager", "GetSecretValue"): lambda: (
            f"arn:aws:secretsmanager:{at}:secret:{params['SecretId']}-AbCdEf"
        ),
        ("cloudwatch", "DescribeAlarms"): lambda: (
            f"arn:aws:cloudwatch:{at}:alarm:{(params.get('AlarmNames') or ['*'])[0]}"
        ),
        ("events", "DescribeRule"): lambda: f"arn:aws:events:{at}:rule/{params['Name']}",
        ("events", "ListTargetsByRule"): lambda: f"arn:aws:events:{at}:rule/{params['Rule']}",
        ("ssm", "ListCommands"): lambda: "*",
        ("cloudwatch", "ListTagsForResource"): lambda: params["ResourceARN"].replace(
            params["ResourceARN"].split(":")[3], REGION
        ),
        ("resourcegroupstaggingapi", "GetResources"): lambda: "*",
        ("autoscaling", "DescribeAutoScalingGroups"): lambda: "*",
        ("sts", "AssumeRole"): lambda: params["RoleArn"],
        ("ec2", "DescribeInstances"): lambda: "*",
    }.get((service, op))
    if resource is None:
        raise AssertionError(f"no IAM mapping for {service}.{op}: add it to this test")
    return [(f"{prefix}:{op}", resource())]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str, Any]]]:
    calls: list[tuple[str, str, str, Any]] = []
    original = botocore.client.BaseClient._make_api_call

    def record(self: Any, operation_name: str, api_params: Any) -> Any:
        function = lambda_runtime.current_function()
        if function:
            service = self.meta.service_model.service_name
            # whose credentials: a member account's role (moto knows the account of an
            # assumed role's key) is checked against forwarder.yaml's member role
            creds = self._request_signer._credentials
            account = get_account_id_from(creds.access_key) if creds else ACCOUNT
            if account != ACCOUNT:
                function = f"member:{account}:{self.meta.region_name}"
            calls.append((function, service, operation_name, dict(api_params)))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    yield calls


def _signed(body: dict[str, Any], secret: str) -> dict[str, Any]:
    raw, ts = json.dumps(body), str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{ts}.{raw}".encode(), hashlib.sha256).hexdigest()
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {"X-OpsLink-Timestamp": ts, "X-OpsLink-Signature": f"sha256={mac}"},
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": raw,
        "isBase64Encoded": False,
    }


def test_every_call_the_functions_make_is_allowed_by_their_role(
    tmp_path: Path, recorded: list[tuple[str, str, str, Any]]
) -> None:
    cfn = transformed_template(ROOT, ROOT / ".venv-sam" / "bin" / "python", PARAMETERS)
    resolver = stack_resolver(cfn, PARAMETERS, "opslink", REGION, ACCOUNT)
    roles: dict[str, Role] = {r.name: r for r in roles_from_template(cfn, resolver)}
    with LocalStack(
        mirror_alarms=True, log_path=tmp_path / "lambda.log", parameters=PARAMETERS
    ) as stack:
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="opslink/webhook", SecretString="hook-secret"
        )
        run = scenario(stack, lambda text: None)
        stack.wait_for_executions(timeout=120, settle=True)
        # Correlation: a burst of one alarm on two hosts is one incident; an operator
        # splits the second out (the track function creates its ticket, moves its links).
        for i in range(2):
            stack.publish_alarm(samples.metric_alarm(
                f"prod-search-disk-full-i-0abc{i:013x}", samples.T0 + timedelta(minutes=i),
                dimensions={"AutoScalingGroupName": "search-asg"}))  # fmt: skip
        member = next(a for a in stack.alert_store().list_alerts(limit=100)
                      if a.incident_role == "joined" and a.alarm_name.startswith("prod-search-disk"))  # fmt: skip
        split = {"incident": {"action": "split", "alert_id": member.alert_id, "by": "dana"}}
        answer, error = stack.invoke("TrackFunction", split)
        assert error is None and answer["ok"], answer
        for function, event in (
            ("TrackFunction", schedule_event("TrackFunction")),
            ("TrackFunction", _signed({"ticket_id": run.alerts[0].ticket_id}, "hook-secret")),
            ("MetricsFunction", {"day": "yesterday"}),
            ("MetricsFunction", {"action": "assess"}),
            ("IngestFunction", schedule_event("IngestFunction")),  # the reconciler
            # `opslink doctor --member-account`: the remediation role checks the member's
            (
                "RemediateFunction",
                {"action": "check_member", "account": MEMBER_ACCOUNT, "region": "us-west-2"},
            ),
        ):
            payload, error = stack.invoke(function, event)
            assert error is None, payload

    functions = {f.removeprefix("opslink-") for f, *_ in recorded}
    assert functions >= {"IngestFunction", "RemediateFunction", "TrackFunction", "MetricsFunction"}
    # the member account's calls, against the role forwarder.yaml creates there
    forwarder = load_template(ROOT / "forwarder.yaml")
    params = {"CentralRemediationRoleArn": f"arn:aws:iam::{ACCOUNT}:role/central",
              "ExternalId": DEMO_PARAMETERS["MemberExternalId"],
              "CentralEventBusArn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/opslink-alarms"}  # fmt: skip
    member = {r.name: r for r in roles_from_template(
        forwarder, stack_resolver(forwarder, params, "opslink-forwarder", "us-east-1",
                                  MEMBER_ACCOUNT))}["MemberRole"]  # fmt: skip
    assert any(f.startswith(f"member:{MEMBER_ACCOUNT}:") for f in functions)

    def allowed(function: str, action: str, resource: str) -> bool:
        if function.startswith("member:"):
            return member.allows(action, resource)
        return roles[f"{function.removeprefix('opslink-')}Role"].allows(action, resource)

    def where(function: str) -> tuple[str, str]:
        _, account, region = function.split(":") if function.startswith("member:") else ("", ACCOUNT, REGION)  # fmt: skip
        return region, account

    denied = sorted(
        {
            f"{function}: {action} on {resource}"
            for function, service, op, params in recorded
            for action, resource in iam_requests(service, op, params, where(function))
            if not allowed(function, action, resource)
        }
    )
    assert denied == []
    # and the review's allowlist is not a blanket: the run used Resource "*" only for the
    # tag snapshot, the read-only host resolution (Describe* has no resource scoping) and
    # following Run Command by id (no resource-level permissions)
    star = {a for _, s, op, p in recorded for a, r in iam_requests(s, op, p) if r == "*"}
    allowed = ("tag:GetResources", "ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups",
               "ssm:ListCommands")  # fmt: skip
    assert star and all(a in allowed for a in star), star
