"""Exact blast radius: before any launch, a runbook's targets become an explicit,
bounded list of instance ids, and the run is split into a one-host canary and batches.

- alarm dimension `InstanceId`: that instance;
- `AutoScalingGroupName`: the group's InService instances, read now;
- the service tag: the running instances tagged with the service.
An empty set, a set larger than the runbook's `max_targets`, or a source the runbook
does not declare refuses the run (ParameterRejectedError: a human takes over). Nothing
is ever trimmed to fit and nothing is left for a job platform to expand: every adapter
receives {"InstanceId": hosts} and refuses anything else (opslink/targets.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from opslink.errors import ParameterRejectedError
from opslink.models import RemediationInput
from opslink.ports import HostDirectory
from opslink.remediation.catalog import Runbook
from opslink.targets import check_hosts, check_targets


@dataclass(frozen=True)
class HostPlan:
    hosts: tuple[str, ...]
    source: str  # in words, for the timeline and the ticket
    batches: tuple[tuple[str, ...], ...]

    def targets(self, batch: int = 0) -> dict[str, tuple[str, ...]]:
        return {"InstanceId": self.batches[batch]}


def plan_batches(hosts: tuple[str, ...], batch_size: int) -> tuple[tuple[str, ...], ...]:
    """The first host alone (the canary), then the rest in batches of `batch_size`
    (0: a third of the rest, rounded up)."""
    if len(hosts) <= 1:
        return (hosts,)
    rest = hosts[1:]
    size = batch_size or max(1, math.ceil(len(rest) / 3))
    return ((hosts[0],), *(rest[i : i + size] for i in range(0, len(rest), size)))


def resolve_hosts(
    runbook: Runbook, alert: RemediationInput, directory: HostDirectory | None
) -> HostPlan:
    spec = runbook.spec
    hosts: tuple[str, ...] = ()
    source = ""
    for key in spec.targets.dimensions:
        value = alert.dimensions.get(key)
        if not value:
            continue
        check_targets(runbook.name, {key: (value,)})  # one concrete name, never a pattern
        if key == "InstanceId":
            hosts, source = (value,), f"alarm dimension InstanceId={value}"
        elif key == "AutoScalingGroupName":
            hosts = _read(runbook, directory, "group_instances", value)
            source = f"InService instances of Auto Scaling group {value}"
        else:
            raise ParameterRejectedError(
                runbook.name, f"target {key}", value, "", reason="is not a host dimension"
            )
        break
    else:
        tag = spec.targets.service_tag
        if not tag:
            raise ParameterRejectedError(
                runbook.name,
                "targets",
                ",".join(spec.targets.dimensions),
                "",
                reason="none of these dimensions is on the alarm and no service tag is declared",
            )
        check_targets(runbook.name, {f"tag:{tag}": (alert.service,)})
        hosts = _read(runbook, directory, "tagged_instances", tag, alert.service)
        source = f"running instances tagged {tag}={alert.service}"
    if not hosts:
        raise ParameterRejectedError(
            runbook.name, "targets", source, "", reason="resolves to no host"
        )
    if spec.targets.pick == "one":
        hosts, source = hosts[:1], f"first of the {source} (the runbook runs on one host)"
    if len(hosts) > spec.max_targets:
        raise ParameterRejectedError(
            runbook.name,
            "targets",
            source,
            "",
            reason=(
                f"resolves to {len(hosts)} hosts, more than the runbook's max_targets "
                f"{spec.max_targets}"
            ),
        )
    hosts = check_hosts(runbook.name, {"InstanceId": hosts})
    return HostPlan(hosts=hosts, source=source, batches=plan_batches(hosts, spec.batch_size))


def _read(
    runbook: Runbook, directory: HostDirectory | None, how: str, *args: str
) -> tuple[str, ...]:
    if directory is None:
        raise ParameterRejectedError(
            runbook.name, "targets", "/".join(args), "", reason="needs a host directory (none)"
        )
    found = getattr(directory, how)(*args)
    return tuple(sorted(dict.fromkeys(found)))  # deterministic: the canary is stable on retry
