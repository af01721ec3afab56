"""The emulator playing EC2 and Auto Scaling for alarms that reach the local stack.

On AWS an alarm watches hosts that exist: its Auto Scaling group has InService
instances, its service's instances carry the service tag. On the emulator an alarm may
arrive from nowhere, so before ingest runs the hosts it names are made to exist in the
emulated AWS (moto): an Auto Scaling group named by the alarm gets GROUP_SIZE
instances, a service with no host dimension gets one running instance tagged
Service=<service>. Remediation then resolves its explicit host list from them exactly
as on AWS (DescribeAutoScalingGroups, DescribeInstances)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from opslink_cli.emulator.deploy import ACCOUNT

GROUP_SIZE = 3
IMAGE_ID = "ami-0e0e0e0e0e0e0e0e0"  # moto accepts any image id
TEMPLATE = "opslink-emulated-host"


class EmulatedFleet:
    """Hosts of the stack's own account live in the stack's region: where the remediate
    function resolves them and where its job platform runs (one stack per region). A
    member account's hosts live in that account and the alarm's region (accounts.py)."""

    def __init__(
        self, client: Callable[[str, str, str], Any], region: str, service_tag: str = "Service"
    ) -> None:
        self._client = client
        self.region = region
        self.service_tag = service_tag
        self._seen: set[tuple[str, str, str, str]] = set()
        self._lock = threading.Lock()

    def ensure_for_event(self, event: Any) -> None:
        from opslink_cli.emulator.monitor import alarms_in

        for alarm in alarms_in(event):
            self.ensure(alarm)

    def ensure(self, alarm: Any) -> None:
        from opslink.enrichment import enrich
        from opslink.service_map import load_service_map

        if alarm.dimensions.get("InstanceId"):
            return  # the alarm names its host
        service = enrich(alarm, {}, load_service_map()).service
        group = alarm.dimensions.get("AutoScalingGroupName")
        account = alarm.account_id if alarm.account_id != ACCOUNT else ""
        region = alarm.region if account and alarm.region else self.region
        key = (account, region, group or "", service)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        if group:
            self.add_group(region, group, service, account=account)
        else:
            self.add_tagged(region, service, account=account)

    def add_group(
        self, region: str, group: str, service: str, size: int = GROUP_SIZE, account: str = ""
    ) -> list[str]:
        asg = self._client("autoscaling", region, account)
        found = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        if not found.get("AutoScalingGroups"):
            self._template(region, account)
            asg.create_auto_scaling_group(
                AutoScalingGroupName=group,
                LaunchTemplate={"LaunchTemplateName": TEMPLATE},
                MinSize=size,
                MaxSize=size * 2,
                DesiredCapacity=size,
                AvailabilityZones=[f"{region}a"],
                Tags=[{"Key": self.service_tag, "Value": service, "PropagateAtLaunch": True}],
            )
            found = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        return [i["InstanceId"] for g in found["AutoScalingGroups"] for i in g["Instances"]]

    def add_tagged(self, region: str, service: str, account: str = "") -> list[str]:
        ec2 = self._client("ec2", region, account)
        running = ec2.describe_instances(
            Filters=[
                {"Name": f"tag:{self.service_tag}", "Values": [service]},
                {"Name": "instance-state-name", "Values": ["running"]},
            ]
        )
        ids = [i["InstanceId"] for r in running["Reservations"] for i in r["Instances"]]
        if ids:
            return ids
        out = ec2.run_instances(
            ImageId=IMAGE_ID,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": self.service_tag, "Value": service}]}
            ],
        )
        return [i["InstanceId"] for i in out["Instances"]]

    def _template(self, region: str, account: str = "") -> None:
        ec2 = self._client("ec2", region, account)
        with contextlib.suppress(Exception):  # exists already
            ec2.create_launch_template(
                LaunchTemplateName=TEMPLATE,
                LaunchTemplateData={"ImageId": IMAGE_ID, "InstanceType": "t3.micro"},
            )
