"""Hostile alarm dimensions never reach a job platform: every adapter (SSM Run Command,
AWX, Rundeck, the generic job API, the local shell) refuses a target that is not one
concrete resource name, before it sends anything, and remediation refuses them where the
targets are resolved from the alarm (a human takes over)."""

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
from opslink.models import RemediationInput, Severity
from opslink.remediation.catalog import load_catalog
from opslink.remediation.selection import resolve_targets
from opslink.remediation_models import JobRequest
from opslink.targets import check_targets
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


def test_every_adapter_still_launches_a_concrete_target(platform: tuple[Any, Any]) -> None:
    """The same adapters accept one real instance id (the refusal above is specific)."""
    adapter, reached = platform
    adapter.launch(hostile_request("InstanceId", "i-0a1b2c3d4e5f60718"))
    assert reached() >= 1


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
        resolve_targets(runbook, alert)


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


def test_two_targets_for_one_alarm_are_refused_not_split() -> None:
    with pytest.raises(ParameterRejectedError, match="exactly one resource"):
        check_targets("rb", {"InstanceId": ("i-0a1b2c3d", "i-0e1f2a3b")})
