"""Least-privilege review of OpsLink's IAM roles.

Reads the roles either from the CloudFormation the SAM translator makes of template.yaml
(`roles_from_template`, the tests) or from a deployed stack (`opslink doctor`), and
reports every statement a security reviewer would question: action wildcards, `Resource:
"*"` outside the allowlist below (each entry with its reason), managed policies outside
theirs, secrets matched by prefix, Run Command without the opt-in tag condition,
DescribeAlarms across regions, any DeleteItem, writes to the journal (the audit trail is
append-only), writes by the metrics function."""

from __future__ import annotations

import fnmatch
import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Actions IAM cannot scope to a resource: `Resource: "*"` is the only form it accepts.
STAR_RESOURCE_ALLOWED: dict[str, str] = {
    "tag:GetResources": "Resource Groups Tagging API: no resource-level permissions",
    "ssm:ListCommands": "Run Command: listing commands has no resource-level permissions",
    "ssm:GetCommandInvocation": "Run Command: invocations have no resource-level permissions",
    "ssm:CancelCommand": "Run Command: cancelling by command id has no resource-level permissions",
    "ec2:DescribeInstances": "EC2 Describe* actions have no resource-level permissions",
    "autoscaling:DescribeAutoScalingGroups": "Auto Scaling Describe* actions have no "
    "resource-level permissions",
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
    "xray:GetSamplingStatisticSummaries": "X-Ray has no resource-level permissions",
}

# AWS managed policies SAM attaches; their own statements are AWS's.
MANAGED_ALLOWED: dict[str, str] = {
    "AWSLambdaBasicExecutionRole": "SAM attaches it to every function role: logs to the "
    "function's own log group (logs:CreateLogStream/PutLogEvents); not narrowed further "
    "because SAM offers no per-function replacement without hand-written roles",
    "AWSXrayWriteOnlyAccess": "Tracing: Active (X-Ray has no resource-level permissions)",
}

WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:BatchWriteItem")  # fmt: skip
READ_ONLY_ROLES = ("MetricsFunctionRole",)


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Any] = field(default_factory=dict)
    sid: str = ""


@dataclass
class Role:
    name: str  # the logical id (IngestFunctionRole...)
    statements: list[Statement] = field(default_factory=list)
    managed: list[str] = field(default_factory=list)  # AWS managed policy ARNs

    def allows(self, action: str, resource: str) -> bool:
        """Whether the role's statements allow `action` on `resource` (conditions are
        taken as met; an explicit Deny wins)."""
        matching = [s for s in self.statements if _matches(s, action, resource)]
        return any(s.effect == "Allow" for s in matching) and not any(
            s.effect == "Deny" for s in matching
        )


@dataclass(frozen=True)
class Finding:
    role: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.role}: {self.rule}: {self.detail}"


def _list(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def _matches(s: Statement, action: str, resource: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s.actions) and any(
        fnmatch.fnmatchcase(resource, r) for r in s.resources
    )


def statements_of(document: Mapping[str, Any] | str) -> list[Statement]:
    doc = json.loads(document) if isinstance(document, str) else document
    raw = doc.get("Statement", [])
    out = []
    for s in raw if isinstance(raw, list) else [raw]:
        if "NotAction" in s or "NotResource" in s:
            out.append(Statement(s.get("Effect", ""), ("NotAction/NotResource",), ("*",)))
            continue
        out.append(
            Statement(
                effect=s.get("Effect", ""),
                actions=_list(s.get("Action", [])),
                resources=_list(s.get("Resource", [])),
                condition=s.get("Condition") or {},
                sid=s.get("Sid", ""),
            )
        )
    return out


def review(roles: Iterable[Role], journal_table_arn: str) -> list[Finding]:
    findings: list[Finding] = []
    for role in roles:

        def flag(rule: str, detail: str, name: str = role.name) -> None:
            findings.append(Finding(name, rule, detail))

        for arn in role.managed:
            if arn.rsplit("/", 1)[-1] not in MANAGED_ALLOWED:
                flag("managed policy not on the allowlist", arn)
        for s in role.statements:
            label = s.sid or ",".join(s.actions)
            if "NotAction/NotResource" in s.actions:
                flag("NotAction/NotResource", label)
                continue
            if s.effect != "Allow":
                continue
            for action in s.actions:
                if "*" in action or "?" in action:
                    flag("action wildcard", f"{action} ({label})")
            if "*" in s.resources:
                extra = [a for a in s.actions if a not in STAR_RESOURCE_ALLOWED]
                if extra:
                    flag('Resource "*" not allowlisted', f"{', '.join(extra)} ({label})")
            for action in s.actions:
                _action_rules(action, s, flag, journal_table_arn, role.name)
        journal_denied = any(
            s.effect == "Deny" and _matches(s, "dynamodb:UpdateItem", journal_table_arn)
            for s in role.statements
        )
        if role.allows("dynamodb:PutItem", journal_table_arn) and not journal_denied:
            flag("journal not protected", "no explicit Deny of UpdateItem/DeleteItem on it")
    return findings


def _action_rules(action: str, s: Statement, flag: Any, journal: str, role: str) -> None:
    lowered = action.lower()
    if lowered == "secretsmanager:getsecretvalue":
        for r in s.resources:
            if not r.endswith("-??????"):
                flag("secret matched by prefix", f"{r} (use <name>-??????)")
    if lowered == "ssm:sendcommand":
        instances = [r for r in s.resources if ":instance/" in r or r == "*"]
        tagged = any("resourcetag/" in k.lower() for op in s.condition.values() for k in op)
        if instances and not tagged:
            flag("Run Command on untagged instances", ", ".join(instances))
    if lowered == "cloudwatch:describealarms":
        for r in s.resources:
            if r == "*" or r.split(":")[3:4] == ["*"]:
                flag("DescribeAlarms in every region", r)
    if lowered == "dynamodb:deleteitem":
        flag("DeleteItem allowed", ", ".join(s.resources))
    if lowered in ("dynamodb:updateitem", "dynamodb:batchwriteitem") and any(
        fnmatch.fnmatchcase(journal, r) for r in s.resources
    ):
        flag("journal writable", f"{action} on {journal}")
    if role in READ_ONLY_ROLES and action in WRITE_ACTIONS:
        flag("write by a read-only function", f"{action} ({s.sid})")


def roles_from_template(cfn: Mapping[str, Any], resolver: Any) -> list[Role]:
    """The IAM roles of a transformed template; `resolver` resolves intrinsics (the
    emulator's Resolver, with the stack's names) and decides conditions."""
    resources = cfn["Resources"]
    roles = []
    for logical, res in resources.items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        props = res.get("Properties", {})
        role = Role(logical)
        for policy in resolver.resolve(props.get("Policies", [])):  # Fn::If decided
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                role.statements += statements_of(policy["PolicyDocument"])
        for arn in props.get("ManagedPolicyArns", []):
            ref = arn.get("Ref") if isinstance(arn, dict) else None
            if ref and resources.get(ref, {}).get("Type") == "AWS::IAM::ManagedPolicy":
                document = resolver.resolve(resources[ref]["Properties"]["PolicyDocument"])
                role.statements += statements_of(document)
            else:
                role.managed.append(str(resolver.resolve(arn)))
        roles.append(role)
    # Inline policies of their own (AWS::IAM::Policy), attached to roles by reference:
    # how a function gets a permission on a resource that depends on the function.
    by_name = {role.name: role for role in roles}
    for res in resources.values():
        if res["Type"] != "AWS::IAM::Policy":
            continue
        if "Condition" in res and not resolver.condition(res["Condition"]):
            continue
        props = res.get("Properties", {})
        for ref in props.get("Roles", []):
            name = ref.get("Ref") if isinstance(ref, dict) else None
            if name in by_name:
                by_name[name].statements += statements_of(resolver.resolve(props["PolicyDocument"]))
    return roles


def transformed_template(root: Path, sam_python: Path, parameters: Mapping[str, str]) -> Any:
    """template.yaml through the SAM translator (scripts/sam_transform.py, run with the
    aws-sam-cli environment's Python)."""
    out = subprocess.run(  # noqa: S603 (fixed argv)
        [
            str(sam_python),
            str(root / "scripts" / "sam_transform.py"),
            str(root / "template.yaml"),
            *(f"{k}={v}" for k, v in parameters.items()),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"SAM transform failed: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout)


def stack_resolver(
    cfn: Mapping[str, Any],
    parameters: Mapping[str, str],
    stack_name: str,
    region: str,
    account: str,
) -> Any:
    """A resolver naming resources as a stack does (`<stack>-<logical id>`)."""
    from opslink_cli.emulator.template import Resolver, name_resources, parameter_values

    pseudo: dict[str, Any] = {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name,
        "AWS::NoValue": None,
        "AWS::URLSuffix": "amazonaws.com",
    }
    resolver = Resolver(dict(cfn), parameter_values(dict(cfn), dict(parameters)), pseudo)
    name_resources(resolver, cfn["Resources"], stack_name, region, account)
    return resolver
