"""Read an alarm's current state from CloudWatch (DescribeAlarms), in the alarm's region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.aws import error_code, lazy_client
from opslink.adapters.member_accounts import MemberSessions
from opslink.errors import ConfigurationError, RetryableError

# Retrying cannot help these: the role may read alarms of the stack's region only.
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


class CloudWatchAlarmState:
    def __init__(
        self, clients: dict[str, Any] | None = None, members: MemberSessions | None = None
    ) -> None:
        self._clients: dict[str, Any] = clients or {}
        self._members = members  # other accounts' alarms: read through their member role

    def _client(self, region: str, account: str = "") -> Any:
        if self._members is not None and self._members.is_member(account):
            return self._members.client("cloudwatch", account, region)
        if region not in self._clients:
            self._clients[region] = lazy_client("cloudwatch", region)
        return self._clients[region]

    def state(self, alarm_name: str, region: str, account: str = "") -> str | None:
        """OK, ALARM or INSUFFICIENT_DATA; None when the alarm does not exist."""
        found = self.describe(alarm_name, region, account)
        return found[1] if found else None

    def describe(self, alarm_name: str, region: str, account: str = "") -> tuple[str, str] | None:
        """(ARN, state) of the alarm; None when it does not exist in its account/region
        (MemberAccountDenied, a ConfigurationError, when that account cannot be entered)."""
        client = self._client(region, account)
        try:
            out = client.describe_alarms(
                AlarmNames=[alarm_name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
        except (BotoCoreError, ClientError) as exc:
            if error_code(exc) in _DENIED:
                raise ConfigurationError(
                    f"not allowed to read alarm {alarm_name} in {region}: OpsLink's role reads "
                    "the alarms of its own region (deploy a stack per region)"
                ) from exc
            raise RetryableError(f"CloudWatch DescribeAlarms {alarm_name}: {exc}") from exc
        alarms = out.get("MetricAlarms", []) + out.get("CompositeAlarms", [])
        if not alarms:
            return None
        return str(alarms[0].get("AlarmArn", "")), str(alarms[0]["StateValue"])
