"""What `opslink doctor --member-account` asks the remediation function: can it act in
that account and region the way a remediation would, with its own role?

Each check makes the one read a remediation makes (bounded to a single item) through the
member role, so a check passes exactly when the real path would: entering the account
(AssumeRole with the ExternalId), reading its alarms, resolving hosts, following Run
Command, and the forwarder's two rules sending to this stack's bus. Nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.aws import error_code
from opslink.errors import ConfigurationError, RetryableError
from opslink.ports import MemberAccess
from opslink.scrub import scrub_excerpt

# forwarder.yaml names its rules so that the member role may read exactly these.
FORWARDER_RULES = ("opslink-forward-alarms", "opslink-forward-run-command-ends")
_FIX_ROLE = "deploy forwarder.yaml in that account (its MemberRole) with this stack's ExternalId"


def _row(check: str, status: str, evidence: str, fix: str = "") -> dict[str, str]:
    return {"check": check, "status": status, "evidence": evidence, "fix": fix}


def check_member_account(
    members: MemberAccess | None, account: str, region: str, bus_arn: str = ""
) -> list[dict[str, str]]:
    where = f"account {account}, {region}"
    if members is None:
        return [_row(f"member role ({where})", "fail", "MemberRoleName is not set on this stack",
                     "set MemberRoleName and MemberExternalId, deploy forwarder.yaml there")]  # fmt: skip
    if not members.is_member(account):
        return [_row(f"member role ({where})", "fail", "this is the stack's own account",
                     "name a member account")]  # fmt: skip
    try:
        members.enter(account)
    except (ConfigurationError, RetryableError) as exc:
        return [_row(f"member role ({where})", "fail", str(exc), _FIX_ROLE)]
    rows = [_row(f"member role ({where})", "pass", f"assumed {members.role_arn(account)}")]

    def probe(check: str, service: str, call: Callable[[Any], str], fix: str) -> None:
        try:
            evidence = call(members.client(service, account, region))
        except (BotoCoreError, ClientError) as exc:
            code = error_code(exc) or type(exc).__name__
            said = exc.response["Error"].get("Message", "") if isinstance(exc, ClientError) else ""
            rows.append(_row(f"{check} ({where})", "fail", f"{code}: {scrub_excerpt(said or str(exc), 400)}",
                             fix))  # fmt: skip
        else:
            rows.append(_row(f"{check} ({where})", "pass", evidence))

    def alarms(cw: Any) -> str:
        found = cw.describe_alarms(MaxRecords=1).get("MetricAlarms", [])
        return "DescribeAlarms allowed" + (" (alarms found)" if found else " (no alarm yet)")

    def hosts(ec2: Any) -> str:
        ec2.describe_instances(MaxResults=5)
        return "DescribeInstances allowed"

    def groups(asg: Any) -> str:
        asg.describe_auto_scaling_groups(MaxRecords=1)
        return "DescribeAutoScalingGroups allowed"

    def commands(ssm: Any) -> str:
        ssm.list_commands(MaxResults=1)
        return "ListCommands allowed (Run Command is followed there)"

    probe("verify alarms", "cloudwatch", alarms, _FIX_ROLE)
    probe("resolve hosts", "ec2", hosts, _FIX_ROLE)
    probe("resolve groups", "autoscaling", groups, _FIX_ROLE)
    probe("follow Run Command", "ssm", commands, _FIX_ROLE)
    for rule in FORWARDER_RULES:
        probe(f"forwarder rule {rule}", "events", partial(_rule, name=rule, bus_arn=bus_arn),
              f"deploy forwarder.yaml in {region} of that account with this stack's bus")  # fmt: skip
    return rows


def _rule(events: Any, name: str, bus_arn: str) -> str:
    rule = events.describe_rule(Name=name)
    if rule.get("State") != "ENABLED":
        raise ClientError({"Error": {"Code": "RuleDisabled", "Message": f"{name} is "
                                     f"{rule.get('State')}"}}, "DescribeRule")  # fmt: skip
    targets = [t["Arn"] for t in events.list_targets_by_rule(Rule=name).get("Targets", [])]
    if bus_arn and bus_arn not in targets:
        raise ClientError({"Error": {"Code": "WrongTarget", "Message": f"{name} sends to "
                                     f"{', '.join(targets) or 'nothing'}, not {bus_arn}"}},
                          "ListTargetsByRule")  # fmt: skip
    return f"enabled, sends to {bus_arn or ', '.join(targets)}"
