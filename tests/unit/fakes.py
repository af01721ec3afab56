"""Fakes of the remediation's outside world: a job platform, CloudWatch's alarm state and
the on-call directory, all in memory and driven by the test's clock."""

from __future__ import annotations

from typing import Any

from opslink.remediation_models import JobOutput, JobRef, JobRequest, JobState, JobStatus
from tests.unit.conftest import Clock


class FakePlatform:
    name = "fake"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.launched: list[JobRequest] = []
        self.cancelled: list[str] = []
        self.state = JobState.RUNNING
        self.exit_code: int | None = None
        self.stdout = "restarting checkout\nok"
        self.stderr = ""
        self.outputs: dict[str, str] = {}  # job id -> its stdout, when jobs differ

    def launch(self, request: JobRequest) -> JobRef:
        self.launched.append(request)
        self.outputs[f"job-{len(self.launched)}"] = self.stdout
        return JobRef(
            platform=self.name, job_id=f"job-{len(self.launched)}", launched_at=self.clock()
        )

    def status(self, ref: JobRef) -> JobStatus:
        return JobStatus(state=self.state, exit_code=self.exit_code, detail=f"{self.state}")

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        stdout = self.outputs.get(ref.job_id, self.stdout)
        return JobOutput(stdout=stdout[-limit:], stderr=self.stderr[-limit:])

    def cancel(self, ref: JobRef) -> None:
        self.cancelled.append(ref.job_id)


class FakeAlarms:
    def __init__(self, state: str | None = "OK") -> None:
        self.value = state

    def state(self, name: str, region: str) -> str | None:
        return self.value


class OnCall:
    def oncall(self, team: str | None) -> str | None:
        return "carol@example.com"


def opened_alert(deps: Any, name: str = "prod-checkout-api-cpu-high") -> dict[str, Any]:
    """Ingest one ALARM (on an instance) and return the remediation input it started."""
    from opslink.ingest import IngestPolicy, ingest_event
    from opslink_cli import samples

    event = samples.sns_event(
        samples.metric_alarm(name, samples.T0, dimensions={"InstanceId": "i-0123456789abcdef0"})
    )
    [result] = ingest_event(event, deps, IngestPolicy())
    return dict(deps.workflow.started[result.execution_name])


def remediate_deps(deps: Any, platform: FakePlatform, clock: Clock) -> Any:
    """The remediation tasks on the ingest test's store and tickets, the shipped catalog,
    the fake platform, an alarm back to OK and a fixed on-call."""
    from opslink.remediation import RemediateDeps
    from opslink.remediation.catalog import load_catalog
    from tests.conftest import ROOT

    return RemediateDeps(
        store=deps.store,
        tickets=deps.tickets,
        jobs=platform,
        catalog=load_catalog(str(ROOT / "runbooks")),
        alarms=FakeAlarms("OK"),
        directory=OnCall(),  # type: ignore[arg-type]
        clock=clock,
    )
