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
from opslink.ports import AlarmStateReader
from opslink.remediation_input import RemediationInput

UNVERIFIED = "unverified origin"


def account_allowed(account_id: str, allowed: frozenset[str]) -> bool:
    return not allowed or account_id in allowed


def provenance_problem(
    alert: RemediationInput,
    alarms: AlarmStateReader | None,
    allowed: frozenset[str],
    home_account: str = "",
) -> str | None:
    """Why no job may run for this alert's alarm (None: it is proven real, firing, and of
    the account jobs run in). A member account's alarm is verified in its own account,
    but jobs run with the stack's own credentials: until they run in the member account,
    its alarm is handed over, never acted on in the wrong account."""
    why = origin_problem(
        alert.alarm_name, alert.alarm_arn, alert.account_id, alert.region, alarms, allowed,
        firing=True,
    )  # fmt: skip
    if why is None and home_account and alert.account_id and alert.account_id != home_account:
        return (
            f"alarm of account {alert.account_id} (verified there): runbooks run in this "
            f"stack's account {home_account} only; jobs in member accounts are not built yet"
        )
    return why


def origin_problem(
    name: str,
    arn: str,
    account_id: str,
    region: str,
    alarms: AlarmStateReader | None,
    allowed: frozenset[str],
    firing: bool = False,
) -> str | None:
    """Why an alarm is not proven to be a real alarm of an account OpsLink serves (and,
    with `firing`, in ALARM now); None when it is."""
    if not account_allowed(account_id, allowed):
        return (
            f"{UNVERIFIED}: account {account_id or '(none)'} is not one OpsLink serves "
            f"(AllowedAccountIds: {', '.join(sorted(allowed))})"
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
