"""`opslink doctor --member-account ID`: whether the deployed stack can act in a member
account of the organization. The remediation function itself is asked (action
`check_member`): the member role trusts only that function's role, so only it can prove
the path a remediation takes — entering the account, reading its alarms and hosts,
following Run Command, and the forwarder's rules sending to this stack's bus."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Rows = list[dict[str, str]]


def invoke_check(lam: Any, function: str) -> Callable[[str, str], Rows] | None:
    """A probe that asks the remediation function `function` about (account, region);
    None without one."""
    if not function:
        return None

    def probe(account: str, region: str) -> Rows:
        event = {"action": "check_member", "account": account, "region": region}
        out = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        payload = json.loads(out["Payload"].read() or b"{}")
        if out.get("FunctionError"):
            why = payload.get("errorMessage", "failed") if isinstance(payload, dict) else payload
            return [{"check": f"member account {account} ({region})", "status": "fail",
                     "evidence": f"the remediation function answered: {str(why)[:300]}",
                     "fix": "redeploy template.yaml (an older function lacks check_member)"}]  # fmt: skip
        return list(payload.get("checks", []))

    return probe


def member_rows(
    probe: Callable[[str, str], Rows] | None, accounts: list[str], regions: list[str]
) -> Rows:
    if not accounts:
        return []
    if probe is None:
        return [{"check": "member accounts", "status": "warn",
                 "evidence": "checked against a deployed stack only (its remediation role "
                             "is the one member roles trust)",
                 "fix": "run without --local"}]  # fmt: skip
    rows: Rows = []
    for account in accounts:
        for region in regions:
            rows += probe(account, region)
    return rows


def member_regions(args: Any) -> list[str]:
    """--member-region, else the region the stack is checked in."""
    if args.member_region:
        return list(args.member_region)
    if args.region:
        return [args.region]
    import boto3

    return [boto3.Session(profile_name=args.profile).region_name or "us-east-1"]
