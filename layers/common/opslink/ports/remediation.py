"""Remediation: job platforms, its store, automation control, alarm state, cancelling jobs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from opslink.automation_control import Control
    from opslink.journal import LifecycleEvent
    from opslink.learning import Record
    from opslink.remediation.payloads import LaunchedJob
    from opslink.remediation_models import (
        JobOutput,
        JobRef,
        JobRequest,
        JobStatus,
        JobWaiter,
    )

from opslink.models import Alert
from opslink.ports.records import BudgetClaim, CircuitState, JsonObject
from opslink.ports.store import AlertStore


class JobPlatform(Protocol):
    name: str

    def launch(self, request: JobRequest) -> JobRef:
        """Start the runbook on its targets; idempotent per request.idempotency_key."""

    def status(self, ref: JobRef) -> JobStatus: ...

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        """stdout/stderr, the last `limit` characters of each."""

    def cancel(self, ref: JobRef) -> None: ...


@runtime_checkable
class FindsLaunches(Protocol):
    """A job platform without idempotent launches that can say which job a request
    started: a launch whose answer was lost (a timeout after the platform took it) is
    found on its retry instead of run twice."""

    def find(self, request: JobRequest) -> JobRef | None: ...


class JobWaitRegistry(Protocol):
    """Which execution waits for which job (its task token), so a completion event that
    names only the job wakes the right one, once."""

    def wait_for_job(
        self,
        platform: str,
        job_id: str,
        alert_id: str,
        token: str,
        request: JsonObject,
        now: datetime,
    ) -> None: ...

    def job_waiter(self, platform: str, job_id: str) -> JobWaiter | None: ...

    def claim_job_waiter(self, platform: str, job_id: str, token: str, by: str) -> bool:
        """True for exactly one caller per registered token."""


class TaskCallbacks(Protocol):
    """Step Functions' callback API: end a task that waits for its token."""

    def succeed(self, token: str, output: JsonObject) -> bool:
        """False when the token is no longer waited on (timed out, execution stopped)."""

    def fail(self, token: str, error: str, cause: str) -> bool: ...


class AutomationBudgets(Protocol):
    """The runaway brake: automated runs per service and per resource per hour."""

    def claim_automation_budget(
        self,
        service: str,
        at: datetime,
        cap: int,
        resource: str | None = None,
        resource_cap: int = 0,
    ) -> BudgetClaim:
        """Claimed (true), or which cap refused it (false)."""

    def automation_budget_used(
        self, service: str, at: datetime, resource: str | None = None
    ) -> list[int]:
        """This hour's runs for the service and (if given) the resource: read only."""

    def refund_automation_budget(
        self, service: str, at: datetime, resource: str | None = None
    ) -> None: ...


class Circuits(Protocol):
    """One circuit breaker per job platform (remediation/circuit.py)."""

    def circuit(self, platform: str) -> CircuitState: ...

    def circuit_claim_probe(self, platform: str, now: datetime, until: datetime) -> bool: ...

    def circuit_claim_trial(self, platform: str, now: datetime, until: datetime) -> bool: ...

    def circuit_failure(self, platform: str, now: datetime, threshold: int) -> bool: ...

    def circuit_success(self, platform: str) -> CircuitState | None: ...


class JobDurations(Protocol):
    """Each runbook's successful runs, as the job platform timed them."""

    def record_job_duration(
        self, platform: str, runbook: str, seconds: float, job_id: str, at: datetime
    ) -> None: ...

    def job_durations(self, platform: str, runbook: str, limit: int = 20) -> list[float]: ...


class RemediationStore(AlertStore, Protocol):
    def link_job(
        self,
        alert_id: str,
        job: LaunchedJob,
        event: LifecycleEvent | None = None,
        first_launch: bool = False,
    ) -> None: ...

    def launched_jobs(self, alert_id: str) -> list[LaunchedJob]:
        """The alert's launches, as stored (each batch and ladder attempt its own)."""

    def link_followup_ticket(
        self, alert_id: str, provider: str, ticket_id: str, kind: str
    ) -> None: ...

    def runbook_stats(
        self, runbooks: list[str], alert_type: str, service: str, environment: str
    ) -> dict[str, tuple[int, int]]: ...

    def runbook_records(self, runbooks: list[str], alert_type: str) -> list[Record]:
        """Every context's verified outcomes of these runbooks for this alert type."""

    def record_runbook_outcome(
        self,
        runbook: str,
        alert_type: str,
        service: str,
        environment: str,
        fixed: bool,
        at: datetime,
        event: LifecycleEvent | None = None,
    ) -> None: ...

    def set_approval_token(
        self, alert_id: str, token: str, needed: int = 1, runbook: str = ""
    ) -> None: ...

    def clear_approval_token(self, alert_id: str) -> None: ...


class AutomationControl(Protocol):
    def current(self, fresh: bool = False) -> Control:
        """The kill switch, windows and modes (cached briefly; `fresh`: read now)."""

    def save(self, control: Control) -> None:
        """Write it (a chat command's maintenance window)."""


class HostDirectory(Protocol):
    """Where the hosts of a group or a service are, read at launch time."""

    def group_instances(self, group: str, account: str = "", region: str = "") -> list[str]:
        """Instance ids of an Auto Scaling group's InService instances (in the alarm's
        account and region; "" = the stack's own)."""

    def tagged_instances(
        self, key: str, value: str, account: str = "", region: str = ""
    ) -> list[str]:
        """Instance ids of the running instances tagged key=value."""


class AlarmStateReader(Protocol):
    def state(self, alarm_name: str, region: str, account: str = "") -> str | None: ...

    def describe(self, alarm_name: str, region: str, account: str = "") -> tuple[str, str] | None:
        """(ARN, state) of the alarm as CloudWatch has it in its own account (a member
        account's through its member role); None when it does not exist."""


class MemberAccess(Protocol):
    """Member accounts of the organization, entered through their member role."""

    home_account: str

    def is_member(self, account: str) -> bool: ...

    def role_arn(self, account: str) -> str: ...

    def enter(self, account: str) -> None:
        """Assume the account's role now (a ConfigurationError when it refuses)."""

    def client(self, service: str, account: str, region: str) -> Any:
        """An AWS client in that account and region."""


class JobCanceller(Protocol):
    def cancel_jobs(self, alert: Alert, reason: str) -> list[str]:
        """Cancel the alert's launched jobs on their platform; returns their ids."""
