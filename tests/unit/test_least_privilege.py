"""Least privilege, proven from the template: template.yaml through the SAM translator
`sam deploy` uses (aws-sam-cli's own environment, `make install`), every role reviewed
(opslink_cli/iam_review.py): no action wildcard, `Resource: "*"` only for the allowlisted
actions (each with its reason), secrets as `name-??????`, Run Command only on opted-in
instances, no DeleteItem, the journal append-only, the metrics function read-only."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from opslink_cli.emulator.template import load_template
from opslink_cli.iam_review import (
    STAR_RESOURCE_ALLOWED,
    Role,
    review,
    roles_from_template,
    stack_resolver,
    transformed_template,
)
from tests.conftest import ROOT

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
ACCOUNT, REGION = "123456789012", "us-east-1"
JOURNAL = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/opslink-JournalTable"
# Every optional integration on, so every conditional statement is reviewed.
PARAMETERS = {
    "TicketCredentialsSecret": "opslink/tickets",
    "JobPlatformTokenSecret": "opslink/jobs",
    "WebhookSecretName": "opslink/webhook",
    "SsmOutputBucket": "ops-output",
    "SubscribeToAlarmEvents": "true",
}


@pytest.fixture(scope="module")
def cfn() -> Any:
    assert SAM_PYTHON.exists(), "aws-sam-cli's environment is missing: run `make install`"
    return transformed_template(ROOT, SAM_PYTHON, PARAMETERS)


def roles(cfn: Any) -> dict[str, Role]:
    resolver = stack_resolver(cfn, PARAMETERS, "opslink", REGION, ACCOUNT)
    return {r.name: r for r in roles_from_template(cfn, resolver)}


def test_the_deployed_roles_pass_the_review(cfn: Any) -> None:
    found = roles(cfn)
    assert set(found) == {
        "IngestFunctionRole",
        "RemediateFunctionRole",
        "TrackFunctionRole",
        "MetricsFunctionRole",
        "RemediationStateMachineRole",
    }
    assert [str(f) for f in review(found.values(), JOURNAL)] == []


def test_each_function_gets_what_it_uses_and_no_more(cfn: Any) -> None:
    r = roles(cfn)
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/opslink-AlertsTable"
    ingest, metrics, remediate = (
        r["IngestFunctionRole"],
        r["MetricsFunctionRole"],
        r["RemediateFunctionRole"],
    )
    assert ingest.allows("dynamodb:UpdateItem", table)
    assert not ingest.allows("dynamodb:DeleteItem", table)
    assert ingest.allows("dynamodb:PutItem", JOURNAL)
    for role in r.values():  # the audit trail is append-only for everyone
        assert not role.allows("dynamodb:UpdateItem", JOURNAL), role.name
        assert not role.allows("dynamodb:DeleteItem", JOURNAL), role.name
    assert metrics.allows("dynamodb:Query", table)
    assert not metrics.allows("dynamodb:PutItem", table)
    assert not metrics.allows("dynamodb:UpdateItem", table)
    here = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:prod-api-cpu"
    assert remediate.allows("cloudwatch:DescribeAlarms", here)
    assert not remediate.allows("cloudwatch:DescribeAlarms", here.replace(REGION, "eu-west-1"))
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:opslink/tickets"
    assert ingest.allows("secretsmanager:GetSecretValue", f"{secret}-AbC123")
    assert not ingest.allows("secretsmanager:GetSecretValue", f"{secret}-admin-AbC123")
    assert not ingest.allows("ssm:SendCommand", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-1")


def test_run_command_needs_the_opt_in_tag_named_by_the_parameter(cfn: Any) -> None:
    params = PARAMETERS | {
        "ManagedInstanceTagKey": "team:runbooks",
        "ManagedInstanceTagValue": "on",
    }
    resolver = stack_resolver(cfn, params, "opslink", REGION, ACCOUNT)
    [remediate] = [r for r in roles_from_template(cfn, resolver) if r.name.startswith("Remediate")]
    [on_instances] = [
        s for s in remediate.statements if any(":instance/" in x for x in s.resources)
    ]
    assert on_instances.actions == ("ssm:SendCommand",)
    assert dict(on_instances.condition) == {"StringEquals": {"ssm:resourceTag/team:runbooks": "on"}}
    documents = [
        x for s in remediate.statements if "ssm:SendCommand" in s.actions for x in s.resources
    ]
    assert f"arn:aws:ssm:{REGION}::document/AWS-RunShellScript" in documents
    assert not any(d.endswith("document/*") for d in documents)


def _with_statement(cfn: Any, role: str, statement: dict[str, Any]) -> Any:
    changed = copy.deepcopy(cfn)
    props = changed["Resources"][role]["Properties"]
    props["Policies"].append({"PolicyName": "Added", "PolicyDocument": {"Statement": [statement]}})
    return changed


@pytest.mark.parametrize(
    ("role", "statement", "rule"),
    [
        ("IngestFunctionRole", {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "x"},
         "action wildcard"),
        ("TrackFunctionRole", {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
         'Resource "*" not allowlisted'),
        ("IngestFunctionRole",
         {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
          "Resource": "arn:aws:secretsmanager:us-east-1:1:secret:opslink/tickets*"},
         "secret matched by prefix"),
        ("RemediateFunctionRole",
         {"Effect": "Allow", "Action": "ssm:SendCommand",
          "Resource": "arn:aws:ec2:us-east-1:1:instance/*"},
         "Run Command on untagged instances"),
        ("RemediateFunctionRole",
         {"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
          "Resource": "arn:aws:cloudwatch:*:1:alarm:*"},
         "DescribeAlarms in every region"),
        ("IngestFunctionRole",
         {"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": "arn:x"},
         "DeleteItem allowed"),
        ("MetricsFunctionRole",
         {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn:x"},
         "write by a read-only function"),
        ("TrackFunctionRole",
         {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": JOURNAL},
         "journal writable"),
        ("TrackFunctionRole",
         {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
         "NotAction/NotResource"),
    ],
)  # fmt: skip
def test_the_review_catches_each_kind_of_broadening(
    cfn: Any, role: str, statement: dict[str, Any], rule: str
) -> None:
    findings = review(roles(_with_statement(cfn, role, statement)).values(), JOURNAL)
    assert [f.rule for f in findings] == [rule], findings


def test_sam_policy_templates_that_would_broaden_a_role_are_caught(cfn: Any) -> None:
    """DynamoDBCrudPolicy (what the functions had) brings DeleteItem back."""
    changed = copy.deepcopy(cfn)
    table = {"Fn::GetAtt": ["AlertsTable", "Arn"]}
    crud = ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan"]
    changed["Resources"]["IngestFunctionRole"]["Properties"]["Policies"].append(
        {"PolicyName": "Crud", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": crud, "Resource": [table]}]}}
    )  # fmt: skip
    assert {f.rule for f in review(roles(changed).values(), JOURNAL)} == {"DeleteItem allowed"}


def test_every_allowlisted_star_resource_has_a_reason() -> None:
    assert all(len(reason) > 20 for reason in STAR_RESOURCE_ALLOWED.values())


def test_no_secret_value_in_any_function_environment() -> None:
    """checkov's CKV_AWS_173 is skipped on that ground: the environment holds names only."""
    template = load_template(ROOT / "template.yaml")
    env = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            env |= res["Properties"].get("Environment", {}).get("Variables", {})
    for name, value in env.items():
        text = json.dumps(value)
        assert not any(w in name for w in ("PASSWORD", "TOKEN", "API_KEY")) or name.endswith(
            "_SECRET"
        ), name
        assert "SecretString" not in text and "resolve:secretsmanager" not in text, name
