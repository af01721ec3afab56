"""Provenance before any automation: a job runs only for an alarm that is provably real.

- its account and region are ones OpsLink serves (AllowedAccountIds, AlarmRegions; the
  stack's own account and any region by default);
- the alarm exists in CloudWatch where it says it lives: DescribeAlarms in its region
  finds it, with the ARN the message named (so another account's alarm of the same
  name, or an alarm that never existed, does not pass);
- it is in ALARM now, when remediation starts (nothing to fix otherwise);
- its hosts are within the stack's reach: its own account and region, or a member
  account through its member role (Reach).
A message that fails any of this keeps its ticket (told why) and gets no job: not a
diagnostic, not a fix. A dead-lettered message redriven later passes the same gate."""

from __future__ import annotations

from dataclasses import dataclass

from opslink.errors import ConfigurationError
from opslink.ports import AlarmStateReader
from opslink.remediation_input import RemediationInput

UNVERIFIED = "unverified origin"


@dataclass(frozen=True)
class Reach:
    """Where this stack's jobs may run: its own account (where the stack runs, as today),
    and member accounts in their alarm's region through their member role when the job
    platform acts in AWS (SSM Run Command) or emulates it (local)."""

    home_account: str = ""  # empty: not checked (tests without a stack)
    regions: frozenset[str] = frozenset()  # AlarmRegions; empty: any
    members: str = ""  # why member accounts' jobs cannot run ("" : they can)


def account_allowed(account_id: str, allowed: frozenset[str]) -> bool:
    return not allowed or account_id in allowed


def region_allowed(region: str, regions: frozenset[str]) -> bool:
    return not regions or not region or region in regions


def provenance_problem(
    alert: RemediationInput,
    alarms: AlarmStateReader | None,
    allowed: frozenset[str],
    reach: Reach | None = None,
) -> str | None:
    """Why no job may run for this alert's alarm (None: it is proven real, firing, and of
    an account and region jobs can run in)."""
    reach = reach or Reach()
    why = origin_problem(
        alert.alarm_name, alert.alarm_arn, alert.account_id, alert.region, alarms, allowed,
        firing=True, regions=reach.regions,
    )  # fmt: skip
    return why or reach_problem(alert.account_id, reach)


def reach_problem(account: str, reach: Reach) -> str | None:
    """Why a verified alarm's hosts are out of this stack's reach (None: in reach)."""
    if not reach.home_account or not account or account == reach.home_account:
        return None
    if reach.members:
        return f"alarm of account {account} (verified there): {reach.members}"
    return None


def origin_problem(
    name: str,
    arn: str,
    account_id: str,
    region: str,
    alarms: AlarmStateReader | None,
    allowed: frozenset[str],
    firing: bool = False,
    regions: frozenset[str] = frozenset(),
) -> str | None:
    """Why an alarm is not proven to be a real alarm of an account and region OpsLink
    serves (and, with `firing`, in ALARM now); None when it is."""
    if not account_allowed(account_id, allowed):
        return (
            f"{UNVERIFIED}: account {account_id or '(none)'} is not one OpsLink serves "
            f"(AllowedAccountIds: {', '.join(sorted(allowed))})"
        )
    if not region_allowed(region, regions):
        return (
            f"{UNVERIFIED}: region {region} is not one OpsLink serves "
            f"(AlarmRegions: {', '.join(sorted(regions))})"
        )
    if alarms is None or not name:
        return f"{UNVERIFIED}: the alarm cannot be looked up in CloudWatch"
    try:
        found = alarms.describe(name, region, account_id)
    except ConfigurationError as exc:
        return f"{UNVERIFIED}: {exc}"
    if found is None:
        return (
            f"{UNVERIFIED}: alarm {name} does not exist in CloudWatch "
            f"({account_id or 'this account'}, {region or 'this region'})"
        )
    real_arn, state = found
    if arn and real_arn and real_arn != arn:
        return (
            f"{UNVERIFIED}: CloudWatch's alarm {name} is {real_arn}, not {arn} as the message said"
        )
    if firing and state != "ALARM":
        return f"alarm {name} is {state} in CloudWatch now, not ALARM: nothing to fix"
    return None
