"""Exact blast radius: before any launch, a runbook's targets become an explicit,
bounded list of instance ids, and the run is split into a one-host canary and batches.

- alarm dimension `InstanceId`: that instance;
- `AutoScalingGroupName`: the group's InService instances, read now;
- the service tag: the running instances tagged with the service.
An incident's root adds its members' instances (the same alarm on other hosts: one run
for a burst; with_incident_hosts). An empty set, a set larger than the runbook's
`max_targets`, or a source the runbook does not declare refuses the run (ParameterRejectedError: a human takes over). Nothing
is ever trimmed to fit and nothing is left for a job platform to expand: every adapter
receives {"InstanceId": hosts} and refuses anything else (opslink/targets.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from opslink.errors import ConfigurationError, ParameterRejectedError
from opslink.ports import AlertStore, HostDirectory, IncidentStore
from opslink.remediation.catalog import Runbook
from opslink.remediation_input import RemediationInput
from opslink.targets import check_hosts, check_targets

# An incident's firing members read for their hosts (max_targets bounds the run itself).
MAX_MEMBERS_READ = 100


@dataclass(frozen=True)
class HostPlan:
    hosts: tuple[str, ...]
    source: str  # in words, for the timeline and the ticket
    batches: tuple[tuple[str, ...], ...]

    def targets(self, batch: int = 0) -> dict[str, tuple[str, ...]]:
        return {"InstanceId": self.batches[batch]}


# SSM Run Command takes at most 50 instance ids per command (a longer list is refused:
# the run would never start); every platform's batches keep to it, one plan for all.
BATCH_MAX = 50


def plan_batches(hosts: tuple[str, ...], batch_size: int) -> tuple[tuple[str, ...], ...]:
    """The first host alone (the canary), then the rest in batches of `batch_size`
    (0: a third of the rest, rounded up), never more than BATCH_MAX hosts each."""
    if len(hosts) <= 1:
        return (hosts,)
    rest = hosts[1:]
    size = min(batch_size or max(1, math.ceil(len(rest) / 3)), BATCH_MAX)
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
            hosts = _read(runbook, alert, directory, "group_instances", value)
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
        hosts = _read(runbook, alert, directory, "tagged_instances", tag, alert.service)
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
    runbook: Runbook,
    alert: RemediationInput,
    directory: HostDirectory | None,
    how: str,
    *args: str,
) -> tuple[str, ...]:
    if directory is None:
        raise ParameterRejectedError(
            runbook.name, "targets", "/".join(args), "", reason="needs a host directory (none)"
        )
    try:
        found = getattr(directory, how)(*args, account=alert.account_id, region=alert.region)
    except ConfigurationError as exc:  # the member account's role is missing or refuses
        raise ParameterRejectedError(
            runbook.name, "targets", "/".join(args), "", reason=f"cannot be read: {exc}"
        ) from exc
    return tuple(sorted(dict.fromkeys(found)))  # deterministic: the canary is stable on retry


def with_incident_hosts(
    plan: HostPlan,
    runbook: Runbook,
    alert: RemediationInput,
    incidents: IncidentStore | None,
    store: AlertStore,
) -> HostPlan:
    """The root's run also covers its incident's other firing alarms of the same kind
    (service, alert type, environment) on other instances — a burst fixed in one run —
    when the plan came from the alarm's InstanceId and the runbook may run on several.
    Each added host is checked like every target; when they would exceed max_targets
    none is added (the root's own host still runs) and the plan says so."""
    spec = runbook.spec
    if spec.targets.pick == "one" or not plan.source.startswith("alarm dimension InstanceId"):
        return plan
    if incidents is None or not alert.incident_id:
        return plan
    state = incidents.incident(alert.incident_id)
    if state is None or state.root != alert.alert_id or len(state.firing) < 2:
        return plan
    members = [m for m in (store.get(i) for i in state.firing[:MAX_MEMBERS_READ]) if m]
    extra: list[str] = []
    for m in members:
        iid = m.dimensions.get("InstanceId")
        same = (m.service, m.alert_type, m.environment) == (
            alert.service, alert.alert_type, alert.environment)  # fmt: skip
        if m.alert_id == alert.alert_id or not same or not iid or iid in plan.hosts:
            continue
        try:
            check_targets(runbook.name, {"InstanceId": (iid,)})
        except ParameterRejectedError:
            continue  # an unusable dimension never joins a run
        extra.append(iid)
    extra = list(dict.fromkeys(extra))
    if not extra:
        return plan
    if len(plan.hosts) + len(extra) > spec.max_targets:
        return HostPlan(plan.hosts, f"{plan.source}; the incident's {len(extra)} other host(s) "
                        f"not added (more than max_targets {spec.max_targets})",
                        plan.batches)  # fmt: skip
    hosts = check_hosts(runbook.name, {"InstanceId": (*plan.hosts, *extra)})
    source = f"{plan.source} and {len(extra)} more of incident {alert.incident_id}'s alarms"
    return HostPlan(hosts=hosts, source=source, batches=plan_batches(hosts, spec.batch_size))
