"""Fakes of the remediation's outside world: a job platform, CloudWatch's alarm state and
the on-call directory, all in memory and driven by the test's clock."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from hypothesis import strategies as st

from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.adapters.store.durations import JobDurationRecords
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
        self.ran_for: float | None = None  # the run time the platform reports at the end
        self.settling = False  # announced ended, not confirmed yet (AWX counting its hosts)

    def launch(self, request: JobRequest) -> JobRef:
        self.launched.append(request)
        self.outputs[f"job-{len(self.launched)}"] = self.stdout
        return JobRef(
            platform=self.name, job_id=f"job-{len(self.launched)}", launched_at=self.clock()
        )

    def status(self, ref: JobRef) -> JobStatus:
        took = self.ran_for if self.state is JobState.SUCCEEDED else None
        return JobStatus(
            state=self.state,
            exit_code=self.exit_code,
            detail=f"{self.state}",
            duration_seconds=took,
            settling=self.settling,
        )

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        stdout = self.outputs.get(ref.job_id, self.stdout)
        return JobOutput(stdout=stdout[-limit:], stderr=self.stderr[-limit:])

    def cancel(self, ref: JobRef) -> None:
        self.cancelled.append(ref.job_id)


class LostLaunchAnswers(FakePlatform):
    """A platform without idempotent launches that can find a request's job: the launch
    of a request whose key ends with one of `lose` runs, and its caller hears a timeout
    (once per suffix)."""

    def __init__(self, clock: Clock, lose: set[str]) -> None:
        super().__init__(clock)
        self.lose = set(lose)

    def launch(self, request: JobRequest) -> JobRef:
        from opslink.errors import JobPlatformError

        ref = super().launch(request)
        lost = next((k for k in self.lose if request.idempotency_key.endswith(k)), None)
        if lost is not None:
            self.lose.discard(lost)
            raise JobPlatformError("fake: POST /run unreachable: ReadTimeout")
        return ref

    def find(self, request: JobRequest) -> JobRef | None:
        for n, sent in enumerate(self.launched, 1):
            if sent.idempotency_key == request.idempotency_key:
                return JobRef(platform=self.name, job_id=f"job-{n}", launched_at=self.clock())
        return None


class FakeAlarms:
    """CloudWatch's alarms: `at_start` is what the provenance check reads when a
    remediation starts (the alarm exists and fires, by default), `value` what
    verification reads after the job (back to OK, by default)."""

    def __init__(self, state: str | None = "OK", at_start: str | None = "ALARM") -> None:
        self.value = state
        self.at_start = at_start
        self.described: list[str] = []

    def state(self, name: str, region: str, account: str = "") -> str | None:
        return self.value

    def describe(self, name: str, region: str, account: str = "") -> tuple[str, str] | None:
        self.described.append(name)
        if self.at_start is None:
            return None
        return f"arn:aws:cloudwatch:{region}:123456789012:alarm:{name}", self.at_start


class FakeFleet:
    """EC2 / Auto Scaling in memory: each group and service has the hosts a test gives
    it (a group of unknown name has none)."""

    def __init__(
        self, groups: dict[str, list[str]] | None = None, tagged: dict[str, list[str]] | None = None
    ) -> None:
        self.groups = groups or {}
        self.tagged = tagged or {}
        self.reads: list[tuple[str, ...]] = []
        self.where: list[tuple[str, str]] = []  # (account, region) of each read

    def group_instances(self, group: str, account: str = "", region: str = "") -> list[str]:
        self.reads.append(("group", group))
        self.where.append((account, region))
        return list(self.groups.get(group, []))

    def tagged_instances(
        self, key: str, value: str, account: str = "", region: str = ""
    ) -> list[str]:
        self.reads.append(("tag", key, value))
        self.where.append((account, region))
        return list(self.tagged.get(value, []))


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


def remediation_on(deps: Any, **extra: Any) -> Any:
    """The remediation tasks on the ingest test's store (moto) and tickets, its parts
    composed as wiring.py composes them; `extra`: the other RemediateDeps fields."""
    from opslink.remediation import RemediateDeps

    store = deps.store
    return RemediateDeps(
        store=store,
        tickets=deps.tickets,
        circuits=deps.flaps,  # the same records: flap history, circuits, budgets
        budgets=deps.flaps,
        journal=store.journal,
        outbox=store.outbox,
        chat_threads=Bookkeeping(store.table, store.client),
        durations=JobDurationRecords(store.table, store.client),
        **extra,
    )


def tracking_on(deps: Any, **extra: Any) -> Any:
    """The track function's services on the ingest test's store (moto) and tickets, its
    parts composed as wiring.py composes them; `extra`: the other TrackDeps fields."""
    from opslink.track_service import TrackDeps

    store = deps.store
    return TrackDeps(
        store=store,
        tickets=deps.tickets,
        journal=store.journal,
        outbox=store.outbox,
        bookkeeping=Bookkeeping(store.table, store.client),
        **extra,
    )


def remediate_deps(deps: Any, platform: FakePlatform, clock: Clock) -> Any:
    """The remediation tasks on the ingest test's store and tickets, the shipped catalog,
    the fake platform, an alarm back to OK and a fixed on-call."""
    from opslink.remediation.catalog import load_catalog
    from opslink.service_map import load_service_map
    from tests.conftest import ROOT

    return remediation_on(
        deps,
        jobs=platform,
        catalog=load_catalog(str(ROOT / "runbooks")),
        alarms=FakeAlarms("OK"),
        directory=OnCall(),  # type: ignore[arg-type]
        hosts=FakeFleet(),
        service_map=load_service_map(),
        clock=clock,
    )


class Callbacks:
    """Step Functions' SendTaskSuccess/Failure: a token is answered once, then gone."""

    def __init__(self) -> None:
        self.succeeded: list[tuple[str, dict[str, Any]]] = []
        self.failed: list[tuple[str, str]] = []
        self.ended: set[str] = set()  # tokens whose wait ended (answered, timed out)
        self._lock = threading.Lock()

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return self._answer(token, self.succeeded, (token, output))

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._answer(token, self.failed, (token, error))

    def _answer(self, token: str, into: list[Any], entry: tuple[str, Any]) -> bool:
        with self._lock:
            if token in self.ended:
                return False
            self.ended.add(token)
            into.append(entry)
            return True


# Any JSON a sender could put in a field (the chat property tests: wrong types anywhere).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=9), inner),
    max_leaves=12,
)


def counted_calls(adapter: Any) -> Counter[str]:
    """The AWS calls `adapter` (a store part, the builtin ticket system) makes from here
    on, by operation: its `_call` is wrapped."""
    calls: Counter[str] = Counter()
    inner = adapter._call

    def counting(op: str, **kwargs: Any) -> Any:
        calls[op] += 1
        return inner(op, **kwargs)

    adapter._call = counting
    return calls
