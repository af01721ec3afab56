"""Hosts of an Auto Scaling group or a service tag, read from AWS at launch time
(DescribeAutoScalingGroups, DescribeInstances): the explicit host list a runbook runs on.
A member account's hosts are read in that account and the alarm's region, through its
member role (adapters/member_accounts.py); the stack's own where the stack runs."""

from __future__ import annotations

from typing import Any

from opslink.adapters.aws import aws_errors, lazy_client
from opslink.adapters.member_accounts import MemberSessions
from opslink.errors import ConfigurationError, RetryableError

MAX_PAGES = 20  # 20 x 1000 instances: far past any max_targets, and bounded


class Ec2HostDirectory:
    def __init__(
        self,
        autoscaling: Any = None,
        ec2: Any = None,
        members: MemberSessions | None = None,
        home_account: str = "",
    ) -> None:
        self._autoscaling = autoscaling
        self._ec2 = ec2
        self.members = members
        self.home_account = members.home_account if members else home_account

    def _client(self, service: str, account: str, region: str) -> Any:
        if self.members is not None and self.members.is_member(account):
            return self.members.client(service, account, region)
        if account and self.home_account and account != self.home_account:
            raise ConfigurationError(
                f"hosts of account {account} are out of reach: MemberRoleName is not set"
            )
        if service == "autoscaling":
            if self._autoscaling is None:
                self._autoscaling = lazy_client("autoscaling")
            return self._autoscaling
        if self._ec2 is None:
            self._ec2 = lazy_client("ec2")
        return self._ec2

    def group_instances(self, group: str, account: str = "", region: str = "") -> list[str]:
        asg = self._client("autoscaling", account, region)
        with aws_errors(f"DescribeAutoScalingGroups {group}", RetryableError):
            out = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        return [
            i["InstanceId"]
            for g in out.get("AutoScalingGroups", [])
            if g.get("AutoScalingGroupName") == group
            for i in g.get("Instances", [])
            if i.get("LifecycleState") == "InService"
        ]

    def tagged_instances(
        self, key: str, value: str, account: str = "", region: str = ""
    ) -> list[str]:
        ec2 = self._client("ec2", account, region)
        found: list[str] = []
        kwargs: dict[str, Any] = {
            "Filters": [
                {"Name": f"tag:{key}", "Values": [value]},
                {"Name": "instance-state-name", "Values": ["running"]},
            ],
            "MaxResults": 1000,
        }
        for _ in range(MAX_PAGES):
            with aws_errors(f"DescribeInstances tag:{key}={value}", RetryableError):
                out = ec2.describe_instances(**kwargs)
            found += [
                i["InstanceId"] for r in out.get("Reservations", []) for i in r.get("Instances", [])
            ]
            if not out.get("NextToken"):
                break
            kwargs["NextToken"] = out["NextToken"]
        return found
