"""Typed state-machine payloads: what each remediation task reads from the execution's
state and what it returns into it (statemachine/remediation.asl.json reads the same
field names). Unknown fields are ignored so that an execution started by an older
version still completes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer

from opslink.errors import InvalidTaskInput
from opslink.remediation_input import RemediationInput


class _Payload(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")

    def out(self) -> dict[str, Any]:
        """The JSON the state machine keeps (None kept: Choice states test IsNull)."""
        return self.model_dump(mode="json")


class DiagnosticJob(_Payload):
    runbook: str
    platform: str
    job_id: str
    launched_at: datetime
    timeout_seconds: int = 60
    verdict: str = ""  # passed, failed (exit N), timed out (cancelled); "" while running
    output: str = ""  # scrubbed excerpt

    @field_serializer("launched_at")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()


class Diagnostics(_Payload):
    """Output of `diagnose` / `collect_diagnostics`: the evidence gathered before the fix."""

    jobs: list[DiagnosticJob] = []
    skipped: list[str] = []
    done: bool = False
    deadline_seconds: int = 0
    wait_seconds: int = 1


class SelectedRunbook(_Payload):
    name: str
    tier: str
    timeout_seconds: int = 0


class Selection(_Payload):
    """Output of `select`: the runbook to run, or None with the reason. Output of
    `diagnose` too: with the diagnostics it started, and — when there is nothing to wait
    for — the selection made in the same task (one state instead of three)."""

    runbook: SelectedRunbook | None = None
    approval: bool = False
    suppressed: bool = False
    shadow: SelectedRunbook | None = None
    reason: str = ""
    diagnostics: Diagnostics | None = None
    approval_timeout_seconds: int = 0  # RequestApproval's wait, when approval is needed


class LaunchedJob(_Payload):
    """A job that was started; also stored as the alert's job link."""

    platform: str
    job_id: str
    launched_at: datetime
    runbook: str
    timeout_seconds: int = 0
    idempotency_key: str = ""
    targets: dict[str, list[str]] = {}  # this batch's hosts: {"InstanceId": [...]}
    # The run's whole host plan: every host, where they came from, the canary and batches.
    hosts: list[str] = []
    host_source: str = ""
    batches: list[list[str]] = []
    batch: int = 0  # index of the batch this job runs
    parameters: str = ""  # each value with its source, in words (scrubbed)

    def touched(self) -> list[str]:
        """Hosts a job of this run was launched on so far (this batch included)."""
        if not self.batches:
            return list(self.targets.get("InstanceId", []))
        return [h for b in self.batches[: self.batch + 1] for h in b]

    @field_serializer("launched_at")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()


class PollPlan(_Payload):
    """The runbook's duration history on this platform (poll_schedule.Expected)."""

    low: float
    typical: float
    high: float
    runs: int


class PollState(_Payload):
    attempt: int = 0
    state: str = "queued"
    exit_code: int | None = None
    detail: str = ""
    elapsed_seconds: int = 0
    timed_out: bool = False
    wait_seconds: int = 1
    plan: PollPlan | None = None  # None: no history yet, the default backoff
    schedule: str = ""  # the schedule in words (the execution's timeline)
    woken_by: str = ""  # what ended the wait: the job's end event, the wait's own look; "" a poll
    settling: bool = False  # an announced end not confirmed yet: the wait is a short one
    verify_after_seconds: int = 0  # WaitBeforeVerify's length, once the job succeeded


class Launch(_Payload):
    """Output of `launch`: the job and the first wait."""

    job: LaunchedJob
    poll: PollState


class Escalation(_Payload):
    """Why the alert goes to a human (see policy.ESCALATIONS) and the detail to show."""

    kind: str = "failed"
    detail: str | None = None


class Attempt(_Payload):
    """One rung of the fallback ladder: a runbook that ran in this episode and how it ended."""

    runbook: str
    outcome: str  # not_fixed, failed, timeout
    platform: str = ""
    job_id: str = ""


class Ladder(_Payload):
    """Output of `next_attempt`: the next runbook to try, or why the ladder ends (`stop`:
    resolved or alarm_ok end the episode without a hand-over; otherwise humans take over)."""

    attempts: list[Attempt] = []
    next: bool = False
    selection: Selection | None = None
    stop: str = ""
    reason: str = ""


class Verification(_Payload):
    """Output of `verify`: the alarm's state after the job (UNKNOWN: not verifiable)."""

    alarm_state: str
    reason: str = ""
    resolution: dict[str, Any] | None = None  # OK after a job: the alert resolved (resolve)


class StateError(_Payload):
    """What a Catch puts at its ResultPath: the error's name and its cause."""

    Error: str
    Cause: str = ""


class TaskRequest(_Payload):
    action: str
    alert: RemediationInput
    kind: str = "note"
    text: str | None = None
    error: dict[str, Any] | None = None
    selection: Selection | None = None
    job: LaunchedJob | None = None
    poll: PollState | None = None
    escalation: Escalation | None = None
    ladder: Ladder | None = None
    diagnostics: Diagnostics | None = None
    token: str | None = None
    retry_count: int = 0  # $$.State.RetryCount: 0 on a task's first attempt
    execution: str | None = None  # $$.Execution.Id (RequestApproval: the chat message links it)

    def runbook_name(self) -> str | None:
        """The runbook this run is about: the launched job's, else the selected one."""
        if self.job is not None:
            return self.job.runbook
        if self.selection is not None and self.selection.runbook is not None:
            return self.selection.runbook.name
        return None


def parse_request(event: Any) -> TaskRequest:
    try:
        return TaskRequest.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidTaskInput(f"remediation task input: field {where!r}: {first['msg']}") from None


# The execution's state document (statemachine/remediation.asl.json): the input
# (RemediationInput, the alert) at the top, and what each state writes at its ResultPath.
# tests/unit/test_asl_contract.py holds every JSONPath of the ASL against these models.
EXECUTION_STATE: dict[str, Any] = {
    "ladder": Ladder,  # starts in the input (workflow/stepfunctions.INITIAL_STATE)
    "selection": Selection,
    "approval": dict,  # the human's decision (opslink executions approve)
    "launch": Launch,
    "verify": Verification,
    "escalation": Escalation,
    "escalated": dict,
    "error": StateError,
    "not_fixed": StateError,  # VerifyFix's AlarmStillFiring: the alarm state as its cause
    "diagnostics_error": StateError,
    "notify_error": StateError,
    "record_error": StateError,
    "handover_error": StateError,
}

# The model each remediation task returns (the dispatcher dumps it as the task's result).
TASK_RESULTS: dict[str, Any] = {
    "diagnose": Selection,
    "collect_diagnostics": Selection,  # progress; once done, with the selection made
    "select": Selection,
    "launch": Launch,
    "poll": Launch,
    "await_job": Launch,  # sent with the task token by whoever wakes the wait (completion.py)
    "request_approval": dict,  # the human's decision, sent with the token
    "verify": Verification,
    "resolve": dict,
    "escalate": dict,
    "next_attempt": Ladder,
}
