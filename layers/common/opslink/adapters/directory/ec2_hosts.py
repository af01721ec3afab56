"""Hosts of an Auto Scaling group or a service tag, read from AWS at launch time
(DescribeAutoScalingGroups, DescribeInstances): the explicit host list a runbook runs on."""

from __future__ import annotations

from typing import Any

from opslink.adapters.aws import aws_errors, lazy_client
from opslink.errors import RetryableError

MAX_PAGES = 20  # 20 x 1000 instances: far past any max_targets, and bounded


class Ec2HostDirectory:
    def __init__(self, autoscaling: Any = None, ec2: Any = None) -> None:
        self._autoscaling = autoscaling
        self._ec2 = ec2

    @property
    def autoscaling(self) -> Any:
        if self._autoscaling is None:
            self._autoscaling = lazy_client("autoscaling")
        return self._autoscaling

    @property
    def ec2(self) -> Any:
        if self._ec2 is None:
            self._ec2 = lazy_client("ec2")
        return self._ec2

    def group_instances(self, group: str) -> list[str]:
        with aws_errors(f"DescribeAutoScalingGroups {group}", RetryableError):
            out = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        return [
            i["InstanceId"]
            for g in out.get("AutoScalingGroups", [])
            if g.get("AutoScalingGroupName") == group
            for i in g.get("Instances", [])
            if i.get("LifecycleState") == "InService"
        ]

    def tagged_instances(self, key: str, value: str) -> list[str]:
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
                out = self.ec2.describe_instances(**kwargs)
            found += [
                i["InstanceId"] for r in out.get("Reservations", []) for i in r.get("Instances", [])
            ]
            if not out.get("NextToken"):
                break
            kwargs["NextToken"] = out["NextToken"]
        return found
