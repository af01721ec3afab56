"""Runbook specs and job models: what a runbook declares and what a job platform is
asked, answers and returns. Pydantic, frozen; no I/O."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class Risk(StrEnum):
    """A runbook's autonomy: the ladder a new runbook climbs."""

    SHADOW = "shadow"  # selected and recorded as what would run; nothing runs
    APPROVAL = "approval"  # never runs unattended: handed over to a human
    AUTO = "auto"  # runs without a human

    @property
    def autonomy(self) -> int:
        return {Risk.SHADOW: 0, Risk.APPROVAL: 1, Risk.AUTO: 2}[self]

    def at_most(self, ceiling: Risk) -> Risk:
        """This mode, never above `ceiling` (the catalog's risk)."""
        return self if self.autonomy <= ceiling.autonomy else ceiling


class RunbookKind(StrEnum):
    """What a runbook is for. A diagnostic gathers evidence (read-only by contract, bounded
    time): it runs before remediation, its output goes to the ticket, and it is never
    chosen or counted as the fix. Only remediations are ranked and tried."""

    REMEDIATION = "remediation"
    DIAGNOSTIC = "diagnostic"


class ParameterSpec(_Frozen):
    """A typed runbook parameter. Its value reaches the script only as an environment
    variable, after matching `pattern` in full."""

    type: str = Field(default="string", pattern="^(string|integer|boolean)$")
    source: str | None = Field(default=None, alias="from")
    default: str | int | bool | None = None
    pattern: str
    required: bool = True
    description: str = ""
    # Where the value may come from beyond its pattern (the alarm's author must not
    # choose what a runbook acts on): `service_map` = a service of the service map that
    # lists this runbook; `values` = one of `values`; `any` = the pattern alone (for
    # values that name nothing, such as a count); `service_dimension` = a dimension value
    # that the service map's `dimensions` pattern of the alert's service matches.
    allowed: str = Field(default="any", pattern="^(any|service_map|service_dimension|values)$")
    values: tuple[str, ...] = ()


class TargetSpec(_Frozen):
    """How a runbook's hosts are chosen: alarm dimensions first, then the service tag."""

    dimensions: tuple[str, ...] = ("InstanceId", "AutoScalingGroupName")
    service_tag: str | None = "Service"
    # `one`: the runbook acts on the control plane (an AWS API), not on the host, so it
    # runs on one host of the resolved set (the first by id), never on each.
    pick: str = Field(default="all", pattern="^(all|one)$")


class RunbookSpec(_Frozen):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    description: str
    tags: tuple[str, ...]
    environments: tuple[str, ...]
    platforms: tuple[str, ...] = ("linux",)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    timeout_seconds: int = Field(ge=5, le=86_400)
    risk: Risk = Risk.AUTO
    kind: RunbookKind = RunbookKind.REMEDIATION
    targets: TargetSpec = Field(default_factory=TargetSpec)
    # The most hosts one run may touch; above it the run is refused, never trimmed.
    # Larger than 1 only with `max_targets_reason` (the catalog says why).
    max_targets: int = Field(default=1, ge=1, le=100)
    max_targets_reason: str = ""
    # Hosts per batch after the one-host canary (0: a third of the rest, at least 1).
    batch_size: int = Field(default=0, ge=0, le=100)
    # Step-up: distinct people who must approve before it runs (risk: approval only); one
    # rejection is enough to stop it.
    min_approvers: int = Field(default=1, ge=1, le=3)
    script: str


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


class JobRequest(_Frozen):
    """What a job platform is asked to run. `targets` is always {"InstanceId": hosts}: an
    explicit, bounded host list resolved before launch (opslink/remediation/blast_radius.py)."""

    runbook: str
    script_path: str
    script: str
    environment: dict[str, str]
    targets: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    timeout_seconds: int
    idempotency_key: str
    # Where the hosts are: the alarm's account and region ("" = the stack's own). A
    # platform that cannot act there refuses the request (JobPlatformRejected).
    account: str = ""
    region: str = ""


class JobRef(_Frozen):
    platform: str
    job_id: str
    launched_at: datetime
    account: str = ""  # where the job runs, as its request said: followed and cancelled there
    region: str = ""
    # The hosts the launch named: a platform that reports where a job ran (Rundeck's
    # nodes) is held to them — a job that ran elsewhere or skipped one did not succeed.
    hosts: tuple[str, ...] = ()


class JobStatus(_Frozen):
    state: JobState
    exit_code: int | None = None
    detail: str = ""
    # How long the job ran, from the platform's own start and end times (None: it does
    # not say); what the poll schedule learns from, never estimated from poll times.
    duration_seconds: float | None = None
    # The job's end is announced but cannot be confirmed yet (AWX still counting the hosts
    # it reached, the platform not answering the look an event asked for): looked at again
    # after a short wait, not at the end of the runbook's time.
    settling: bool = False


class JobOutput(_Frozen):
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False


class JobWaiter(_Frozen):
    """An execution waiting for a job to end (remediation/completion.py)."""

    alert_id: str
    token: str
    request: dict[str, object]  # the poll task's input: what the waking poll needs
    claimed: bool = False
