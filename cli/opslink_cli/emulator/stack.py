"""The local emulator: the stack from template.yaml on moto, handlers in-process.

No AWS account and no Docker: moto emulates DynamoDB, SNS, SQS, Lambda, CloudWatch and
Step Functions (with real execution of the ASL); Lambda handlers run in this process
through the seam in emulator.runtime; scheduled functions fire on a local clock.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from opslink_cli.emulator.accounts import account_client, forget
from opslink_cli.emulator.deploy import ACCOUNT, DEFAULT_ROOT, REGION, Schedule, TemplateDeployer
from opslink_cli.emulator.moto_patches import (
    clear_parameter_caches,
    query_reads_its_partition,
    scale_waits,
    serialise_dynamodb_writes,
    stop_wakes_task_token_waits,
)
from opslink_cli.emulator.runtime import LocalLambdaRuntime
from opslink_cli.emulator.sandbox_host import (
    fake_credentials,
    file_seal,
    kill_local_jobs,
    seed_sandbox_host,
)


@dataclass
class LocalStack(TemplateDeployer):
    root: Path = DEFAULT_ROOT
    stack_name: str = "opslink"
    parameters: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    endpoint_url: str | None = None  # set when served by a moto server
    env_overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> env
    # Wait states last seconds / time_scale (moto's Wait really sleeps); 1 = real time.
    time_scale: float = 1.0
    state_dir: Path | None = None  # local jobs and the sandbox "host" filesystem
    names: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    clock: float = 0.0
    runtime: LocalLambdaRuntime | None = None
    # Play CloudWatch: alarms reaching ingest exist there and recover when the simulated
    # host is fixed (emulator.monitor). Off for tests that set alarm states.
    mirror_alarms: bool = False
    monitor: Any = None
    fleet: Any = None  # plays EC2/Auto Scaling for the hosts alarms name (emulator.fleet)
    # Local jobs' ends announced to the remediate function (emulator.job_events), as
    # EventBridge does for Run Command: deliver | duplicate | drop (lost events: the safety
    # poll at the runbook's timeout finds the job) | off (no events: poll on the schedule).
    job_end_events: str = "deliver"
    job_watcher: Any = None
    sandbox_hide: str = ""  # set at start: what sealed runbooks do not see (file_seal)
    template: dict[str, Any] = field(default_factory=dict)  # read once, in deploy()
    _mock: Any = None
    _monitor_ctx: Any = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> LocalStack:
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="opslink-stack-"))
            self._own_state_dir = True
        fake_credentials(self.state_dir / "home", self.endpoint_url)
        clear_parameter_caches()
        forget()  # member accounts' credentials of an earlier moto
        (self.state_dir / "jobs").mkdir(parents=True, exist_ok=True)
        seed_sandbox_host(self.state_dir / "host")
        self.sandbox_hide = file_seal()
        if self.endpoint_url is None:
            from moto import mock_aws

            self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
            self._mock.start()
        log = self.log_path or self.root / ".opslink" / "local-lambda.log"
        self.runtime = LocalLambdaRuntime(log)
        self.runtime.install()
        serialise_dynamodb_writes()
        query_reads_its_partition()
        stop_wakes_task_token_waits()
        scale_waits(self.time_scale)
        self.deploy()
        self._start_job_watcher()
        self._start_fleet()
        if self.mirror_alarms:
            self._start_monitor()
        return self

    def _start_job_watcher(self) -> None:
        from opslink_cli.emulator.job_events import JobEndWatcher

        assert self.state_dir is not None
        if self.job_end_events == "off" or "RemediateFunction" not in self.names:
            return
        function = self.names["RemediateFunction"]
        client = self.client("lambda")

        def deliver(event: dict[str, Any]) -> None:
            client.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(event))

        self.job_watcher = JobEndWatcher(
            self.state_dir / "jobs",
            deliver,
            drop=self.job_end_events == "drop",
            duplicate=self.job_end_events == "duplicate",
        ).start()

    def _start_fleet(self) -> None:
        """The hosts an alarm names exist in the emulated EC2/Auto Scaling (fleet.py)."""
        from opslink_cli.emulator.fleet import EmulatedFleet

        assert self.runtime is not None
        self.fleet = EmulatedFleet(
            lambda service, region, account: account_client(
                service, region, account, self.endpoint_url
            ),
            REGION,
        )
        self._add_ingest_hook(self.fleet.ensure_for_event)

    def _add_ingest_hook(self, hook: Callable[[Any], None]) -> None:
        assert self.runtime is not None
        name = self.names["IngestFunction"]
        before = self.runtime.before_invoke.get(name)

        def both(event: Any) -> None:
            if before is not None:
                before(event)
            hook(event)

        self.runtime.before_invoke[name] = both

    def _start_monitor(self) -> None:
        from opslink_cli.emulator.monitor import SimulatedMonitor, installed

        assert self.state_dir is not None and self.runtime is not None
        self.monitor = SimulatedMonitor(
            self.state_dir / "host",
            lambda service, region, account: account_client(
                service, region, account, self.endpoint_url
            ),
        )
        self._monitor_ctx = installed(self.monitor)
        self._monitor_ctx.__enter__()
        self._add_ingest_hook(self.monitor.mirror_event)

    def stop(self) -> None:
        if self.job_watcher is not None:
            self.job_watcher.stop()
            self.job_watcher = None
        self._stop_running_executions()
        clear_parameter_caches()
        if self._monitor_ctx is not None:
            self._monitor_ctx.__exit__(None, None, None)
            self._monitor_ctx = None
        if self.state_dir is not None:
            kill_local_jobs(self.state_dir / "jobs")
            if getattr(self, "_own_state_dir", False):
                shutil.rmtree(self.state_dir, ignore_errors=True)
        if self.runtime:
            self.runtime.uninstall()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def _stop_running_executions(self) -> None:
        """No execution outlives its stack: one still waiting (an approval, a long Wait)
        would otherwise wake up later and act on the next stack's tables."""
        if self._mock is None or "RemediationStateMachine" not in self.arns:
            return
        sfn = self.client("stepfunctions")
        with contextlib.suppress(Exception):  # best effort on the way out
            running = sfn.list_executions(
                stateMachineArn=self.arns["RemediationStateMachine"], statusFilter="RUNNING"
            )["executions"]
            for execution in running:
                with contextlib.suppress(Exception):
                    sfn.stop_execution(
                        executionArn=execution["executionArn"], cause="stack stopped"
                    )

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def invoke(
        self, logical: str, event: Any
    ) -> tuple[dict[str, Any] | list[Any] | None, str | None]:
        """Invoke a function as the Lambda service would; returns (payload, error type)."""
        out = self.client("lambda").invoke(
            FunctionName=self.names[logical], Payload=json.dumps(event).encode()
        )
        payload = json.loads(out["Payload"].read() or b"null")
        error = out.get("FunctionError")
        return payload, (
            payload.get("errorType", error) if error and isinstance(payload, dict) else error
        )

    def publish_alarm(self, message: dict[str, Any] | str, subject: str = "ALARM") -> str:
        body = message if isinstance(message, str) else json.dumps(message)
        out = self.client("sns").publish(
            TopicArn=self.arns["AlarmTopic"], Message=body, Subject=subject[:100]
        )
        return str(out["MessageId"])

    def advance(self, seconds: float) -> list[str]:
        """Move the local clock and fire the scheduled functions that came due."""
        self.clock += seconds
        fired = []
        for sched in self.schedules:
            while sched.next_at <= self.clock:
                sched.next_at += sched.every_seconds
                payload = sched.payload or json.dumps(schedule_event(sched.function))
                self.client("lambda").invoke(FunctionName=sched.function, Payload=payload.encode())
                fired.append(sched.function)
        return fired

    def executions(self) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        out = sfn.list_executions(stateMachineArn=self.arns["RemediationStateMachine"])
        return list(out.get("executions", []))

    def execution_arn(self, name: str) -> str:
        return (
            self.arns["RemediationStateMachine"].replace(":stateMachine:", ":execution:")
            + f":{name}"
        )

    def waiting_for_approval(self, name: str) -> bool:
        """The execution is parked on its approval task token (a human decides)."""
        sfn = self.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=self.execution_arn(name), maxResults=1000)[
            "events"
        ]
        for event in reversed(events):  # moto ignores reverseOrder
            if "stateEnteredEventDetails" in event:
                return bool(event["stateEnteredEventDetails"]["name"] == "RequestApproval")
        return False

    def progress(self, names: list[str]) -> int:
        """How far the executions got: their history events together (grows while they run)."""
        sfn = self.client("stepfunctions")
        total = 0
        for name in names:
            try:
                total += len(sfn.get_execution_history(executionArn=self.execution_arn(name),
                                                       maxResults=1000)["events"])  # fmt: skip
            except sfn.exceptions.ExecutionDoesNotExist:
                continue
        return total

    def wait_for_executions(
        self,
        names: list[str] | None = None,
        timeout: float = 60.0,
        settle: bool = False,
        stall: bool = False,
    ) -> dict[str, str]:
        """Wait until the named executions (default: all) leave RUNNING; name → status.
        With `settle`, an execution waiting for a human's approval counts as settled. With
        `stall`, `timeout` counts from the executions' last progress, not from the start:
        a slow machine gets the time it needs, a stuck execution still ends the wait."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        seen, checked = -1, 0.0
        while True:
            statuses: dict[str, str] = {}
            if names is None:
                statuses = {e["name"]: e["status"] for e in self.executions()}
            else:
                for name in names:
                    try:
                        statuses[name] = sfn.describe_execution(
                            executionArn=self.execution_arn(name)
                        )["status"]
                    except sfn.exceptions.ExecutionDoesNotExist:
                        statuses[name] = "NOT_STARTED"
            running = [n for n, s in statuses.items() if s == "RUNNING"]
            if settle:
                running = [n for n in running if not self.waiting_for_approval(n)]
            now = time.monotonic()
            if stall and running and now - checked >= 1.0:  # still moving: wait on
                checked, moved = now, self.progress(running)
                if moved != seen:
                    seen, deadline = moved, now + timeout
            if not running or now > deadline:
                return statuses
            time.sleep(0.05)

    @contextmanager
    def environment(self) -> Iterator[dict[str, str]]:
        """Table names etc. for operator commands against this stack."""
        yield {
            "alerts_table": self.names["AlertsTable"],
            "tickets_table": self.names["TicketsTable"],
            "journal_table": self.names["JournalTable"],
        }

    def alert_store(self) -> Any:
        """The stack's alert store (alerts table and its journal table)."""
        from opslink.adapters.store.dynamodb import DynamoAlertStore

        return DynamoAlertStore(
            self.names["AlertsTable"],
            self.client("dynamodb"),
            journal_table=self.names["JournalTable"],
        )


def put_cloudwatch_alarm(
    name: str, region: str, state: str = "ALARM", tags: dict[str, str] | None = None
) -> Any:
    """An alarm in the emulated CloudWatch, in `state`: what remediation verifies against
    and ingest reads tags from. Returns the CloudWatch client of that region."""
    cw = boto3.client("cloudwatch", region_name=region)
    cw.put_metric_alarm(
        AlarmName=name,
        MetricName="emulated",
        Namespace="OpsLink/Emulator",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by the local emulator")
    return cw


def schedule_event(function: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "local-schedule",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{function}"],
        "detail": {},
    }
