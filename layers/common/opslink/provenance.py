"""Provenance before any automation: a job runs only for an alarm that is provably real.

- its account is one OpsLink serves (AllowedAccountIds; the stack's own by default);
- the alarm exists in CloudWatch where it says it lives: DescribeAlarms in its region
  finds it, with the ARN the message named (so another account's alarm of the same
  name, or an alarm that never existed, does not pass);
- it is in ALARM now, when remediation starts (nothing to fix otherwise).
A message that fails any of this keeps its ticket (told why) and gets no job: not a
diagnostic, not a fix. A dead-lettered message redriven later passes the same gate."""

from __future__ import annotations

from opslink.errors import ConfigurationError
from opslink.models import RemediationInput
from opslink.ports import AlarmStateReader

UNVERIFIED = "unverified origin"


def account_allowed(account_id: str, allowed: frozenset[str]) -> bool:
    return not allowed or account_id in allowed


def provenance_problem(
    alert: RemediationInput, alarms: AlarmStateReader | None, allowed: frozenset[str]
) -> str | None:
    """Why this alert's alarm is not proven real and firing (None: it is)."""
    if not account_allowed(alert.account_id, allowed):
        return (
            f"{UNVERIFIED}: account {alert.account_id or '(none)'} is not one OpsLink serves "
            f"(AllowedAccountIds: {', '.join(sorted(allowed))})"
        )
    if alarms is None or not alert.alarm_name:
        return f"{UNVERIFIED}: the alarm cannot be looked up in CloudWatch"
    try:
        found = alarms.describe(alert.alarm_name, alert.region)
    except ConfigurationError as exc:
        return f"{UNVERIFIED}: {exc}"
    if found is None:
        return (
            f"{UNVERIFIED}: alarm {alert.alarm_name} does not exist in CloudWatch "
            f"({alert.account_id or 'this account'}, {alert.region or 'this region'})"
        )
    arn, state = found
    if alert.alarm_arn and arn and arn != alert.alarm_arn:
        return (
            f"{UNVERIFIED}: CloudWatch's alarm {alert.alarm_name} is {arn}, "
            f"not {alert.alarm_arn} as the message said"
        )
    if state != "ALARM":
        return f"alarm {alert.alarm_name} is {state} in CloudWatch now, not ALARM: nothing to fix"
    return None
