"""Hostile alarm dimensions never reach a job platform, and no platform is ever left to
pick hosts: every adapter (SSM Run Command, AWX, Rundeck, the generic job API, the local
shell) refuses anything but an explicit list of concrete instance ids (a group or a tag
target included) before it sends anything, passes that exact list (SSM InstanceIds, AWX
`limit`, Rundeck `filter: name:`), and remediation refuses hostile dimensions where the
hosts are resolved from the alarm (a human takes over)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opslink.adapters.jobs.awx import AwxPlatform
from opslink.adapters.jobs.http_api import HttpJobApiPlatform
from opslink.adapters.jobs.local_shell import LocalShellPlatform
from opslink.adapters.jobs.rundeck import RundeckPlatform
from opslink.adapters.jobs.ssm import SsmRunCommandPlatform
from opslink.errors import ParameterRejectedError
from opslink.models import Severity
from opslink.remediation.blast_radius import resolve_hosts
from opslink.remediation.catalog import load_catalog
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import JobRequest
from opslink.targets import check_hosts, check_targets
from tests.conftest import ROOT
from tests.integration.contract_servers import AwxApi, GenericJobApi, RundeckApi, serve
from tests.integration.test_http_job_platforms import RUNDECK_JOB, fast

HOSTILE = {
    "wildcard": "*",
    "ansible all": "all",
    "regex": "web-.*",
    "list": "i-0a1b2c3d,i-0e1f2a3b",
    "shell chain": "; rm -rf /",
    "command substitution": "$(touch /tmp/opslink-pwned)",
    "backticks": "`id`",
    "newline": "i-0a1b2c3d\nrm -rf /",
    "300 KB": "i-" + "0" * 300_000,
    "Cyrillic look-alike": "\u0456-0a1b2c3d",  # U+0456, not the Latin letter
    "trailing space": "i-0a1b2c3d ",
    "rundeck filter": "name: .*",
    "glob": "i-0a1b2c3?",
}
CASES = [pytest.param(value, id=label) for label, value in HOSTILE.items()]


def hostile_request(key: str, value: str) -> JobRequest:
    return JobRequest(
        runbook="restart_service",
        script_path=str(ROOT / "runbooks" / "scripts" / "restart_service.sh"),
        script="#!/bin/bash\necho ran\n",
        environment={"SERVICE": "checkout"},
        targets={key: (value,)},
        timeout_seconds=60,
        idempotency_key=f"A-1:restart_service:{hash(value)}",
    )


class RecordingSsm:
    """An SSM client that records what reaches it (and accepts every command)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def send_command(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Command": {"CommandId": f"c-{len(self.calls)}"}}


@pytest.fixture(params=["ssm", "awx", "rundeck", "http", "local"])
def platform(request: Any, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """(adapter, a callable telling how many requests reached the platform)."""
    kind = request.param
    if kind == "ssm":
        client = RecordingSsm()
        yield SsmRunCommandPlatform(client=client), lambda: len(client.calls)
    elif kind == "local":
        jobs = tmp_path / "jobs"
        yield (
            LocalShellPlatform(str(jobs)),
            lambda: len(list(jobs.iterdir())) if jobs.exists() else 0,
        )
    else:
        app: Any = {"awx": AwxApi, "rundeck": RundeckApi, "http": GenericJobApi}[kind]()
        with serve(app) as url:
            if kind == "awx":
                bearer = {"Authorization": "Bearer secret-token"}
                p: Any = AwxPlatform(
                    url, "secret-token", {"restart_service": 7}, fast("AWX", url, bearer)
                )
            elif kind == "rundeck":
                token = {"X-Rundeck-Auth-Token": "secret-token"}
                p = RundeckPlatform(
                    url,
                    "secret-token",
                    {"restart_service": RUNDECK_JOB},
                    fast("Rundeck", url, token),
                )
            else:
                bearer = {"Authorization": "Bearer secret-token"}
                p = HttpJobApiPlatform(url, "secret-token", fast("job API", url, bearer))
            yield p, lambda: len(app.requests)


@pytest.mark.parametrize("value", CASES)
@pytest.mark.parametrize("key", ["InstanceId", "AutoScalingGroupName", "tag:service"])
def test_every_adapter_refuses_hostile_targets_before_sending_anything(
    platform: tuple[Any, Any], key: str, value: str
) -> None:
    adapter, reached = platform
    with pytest.raises(ParameterRejectedError, match="not run"):
        adapter.launch(hostile_request(key, value))
    assert reached() == 0
    assert not Path("/tmp/opslink-pwned").exists()


@pytest.mark.parametrize(
    "targets",
    [
        {"AutoScalingGroupName": ("checkout-asg",)},
        {"tag:Service": ("checkout",)},
        {},
        {"InstanceId": ()},
        {"InstanceId": ("i-0a1b2c3d4e5f60718",), "AutoScalingGroupName": ("checkout-asg",)},
        {"InstanceId": ("i-0a1b2c3d4e5f60718", "i-0a1b2c3d4e5f60718")},
    ],
    ids=["group", "service tag", "none", "empty list", "host and group", "a host twice"],
)
def test_every_adapter_refuses_an_implicit_or_empty_host_set(
    platform: tuple[Any, Any], targets: dict[str, tuple[str, ...]]
) -> None:
    """A group or a tag is for OpsLink to resolve, never for the platform to expand into
    its whole inventory: even a concrete group name is refused by the adapter."""
    adapter, reached = platform
    request = hostile_request("InstanceId", "i-0a1b2c3d4e5f60718").model_copy(
        update={"targets": targets}
    )
    with pytest.raises(ParameterRejectedError, match="not run"):
        adapter.launch(request)
    assert reached() == 0


HOSTS = ("i-0a1b2c3d4e5f60718", "i-0a1b2c3d4e5f60719", "i-0a1b2c3d4e5f60720")


def test_every_adapter_passes_the_exact_host_list(platform: tuple[Any, Any]) -> None:
    """The same adapters accept explicit instance ids and hand the platform exactly them."""
    adapter, reached = platform
    request = hostile_request("InstanceId", HOSTS[0]).model_copy(
        update={"targets": {"InstanceId": HOSTS}}
    )
    adapter.launch(request)
    assert reached() >= 1


def test_awx_limit_and_rundeck_filter_name_exactly_the_hosts() -> None:
    request = hostile_request("InstanceId", HOSTS[0]).model_copy(
        update={"targets": {"InstanceId": HOSTS}}
    )
    awx = AwxApi()
    with serve(awx) as url:
        bearer = {"Authorization": "Bearer secret-token"}
        AwxPlatform(url, "secret-token", {"restart_service": 7}, fast("AWX", url, bearer)).launch(
            request
        )
    [launch] = [r for r in awx.requests if r.method == "POST" and r.path.endswith("/launch/")]
    assert launch.body["limit"] == ",".join(HOSTS)
    rundeck = RundeckApi()
    with serve(rundeck) as url:
        token = {"X-Rundeck-Auth-Token": "secret-token"}
        RundeckPlatform(
            url, "secret-token", {"restart_service": RUNDECK_JOB}, fast("Rundeck", url, token)
        ).launch(request)
    [run] = [r for r in rundeck.requests if r.path.endswith("/run")]
    assert run.body["filter"] == "name: " + ",".join(HOSTS)
    ssm = RecordingSsm()
    SsmRunCommandPlatform(client=ssm).launch(request)
    assert ssm.calls[0]["InstanceIds"] == list(HOSTS) and "Targets" not in ssm.calls[0]
    assert ssm.calls[0]["MaxErrors"] == "0"


@pytest.mark.parametrize("value", CASES)
def test_remediation_refuses_hostile_alarm_dimensions(value: str) -> None:
    """Where targets are resolved from the alarm: the run stops before any platform."""
    [runbook] = [r for r in load_catalog(str(ROOT / "runbooks")) if r.name == "restart_service"]
    alert = RemediationInput(
        alert_id="A-1",
        ticket_id="T-1",
        alarm_name=f"prod-checkout-api-cpu-high{value[:200]}",
        service="checkout",
        environment="prod",
        alert_type="cpu_high",
        severity=Severity.HIGH,
        dimensions={"InstanceId": value},
        notification={},
    )
    with pytest.raises(ParameterRejectedError):
        resolve_hosts(runbook, alert, None)


@pytest.mark.parametrize(
    "targets",
    [
        {"InstanceId": ("i-0a1b2c3d",)},
        {"InstanceId": ("i-0a1b2c3d4e5f60718",)},
        {"InstanceId": ("mi-0a1b2c3d4e5f60718",)},
        {"AutoScalingGroupName": ("prod-checkout-asg_v2.1",)},
        {"tag:opslink:service": ("checkout",)},
    ],
)
def test_concrete_targets_pass(targets: dict[str, tuple[str, ...]]) -> None:
    assert check_targets("rb", targets) == targets


def test_host_lists_are_bounded_and_concrete() -> None:
    assert check_hosts("rb", {"InstanceId": HOSTS}) == HOSTS
    with pytest.raises(ParameterRejectedError, match="1 to 100 hosts"):
        check_hosts("rb", {"InstanceId": tuple(f"i-{n:017x}" for n in range(101))})


def test_a_hundred_hosts_run_in_batches_run_command_takes() -> None:
    """SendCommand takes at most 50 instance ids: a runbook allowed 100 hosts with a
    batch_size of 100 planned a batch of 99 that SSM would refuse (the run never went
    past its canary). Batches keep to 50 on every platform; the SSM adapter refuses a
    longer list by name before calling."""
    from opslink.errors import JobPlatformRejected
    from opslink.remediation.blast_radius import plan_batches

    hosts = tuple(f"i-{n:017x}" for n in range(100))
    batches = plan_batches(hosts, 100)
    assert batches[0] == hosts[:1] and max(len(b) for b in batches) == 50
    assert tuple(h for b in batches for h in b) == hosts  # each host once, in order
    request = hostile_request("InstanceId", hosts[0]).model_copy(
        update={"targets": {"InstanceId": hosts[:51]}}
    )
    ssm = RecordingSsm()
    with pytest.raises(JobPlatformRejected, match="at most 50"):
        SsmRunCommandPlatform(client=ssm).launch(request)
    assert ssm.calls == []


def test_two_targets_for_one_alarm_are_refused_not_split() -> None:
    with pytest.raises(ParameterRejectedError, match="exactly one resource"):
        check_targets("rb", {"InstanceId": ("i-0a1b2c3d", "i-0e1f2a3b")})
