"""The local emulator: the stack from template.yaml on moto, handlers in-process.

No AWS account and no Docker: moto emulates DynamoDB, SNS, SQS, Lambda, CloudWatch and
Step Functions (with real execution of the ASL); Lambda handlers run in this process
through the seam in lambda_runtime; scheduled functions fire on a local clock.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from opslink_cli.lambda_runtime import FunctionSpec, LocalLambdaRuntime
from opslink_cli.template import Resolver, load_template, parameter_values

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_ROOT = Path(__file__).resolve().parents[2]

# Local defaults: runbooks run as local subprocesses (in a sandbox, see below) and no
# Wait state lasts long. Any of these can be overridden with `parameters`.
LOCAL_PARAMETERS: dict[str, str] = {
    "JobPlatform": "local",
    "PollBaseSeconds": "1",
    "PollMaxSeconds": "4",
    "VerifyGraceSeconds": "0",
}


def check_parameters(parameters: dict[str, str], root: Path = DEFAULT_ROOT) -> None:
    """Raise TemplateError for an unknown parameter or a bad value, before anything starts."""
    parameter_values(load_template(root / "template.yaml"), {**LOCAL_PARAMETERS, **parameters})


@dataclass
class Schedule:
    function: str
    every_seconds: int
    next_at: float


@dataclass
class LocalStack:
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
    # host is fixed (opslink_cli.simulated_monitor). Off for tests that set alarm states.
    mirror_alarms: bool = False
    monitor: Any = None
    _mock: Any = None
    _monitor_ctx: Any = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> LocalStack:
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="opslink-stack-"))
            self._own_state_dir = True
        _fake_credentials(self.state_dir / "home", self.endpoint_url)
        _clear_parameter_caches()
        (self.state_dir / "jobs").mkdir(parents=True, exist_ok=True)
        seed_sandbox_host(self.state_dir / "host")
        if self.endpoint_url is None:
            from moto import mock_aws

            self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
            self._mock.start()
        log = self.log_path or self.root / ".opslink" / "local-lambda.log"
        self.runtime = LocalLambdaRuntime(log)
        self.runtime.install()
        _serialise_dynamodb_writes()
        _scale_waits(self.time_scale)
        self.deploy()
        if self.mirror_alarms:
            self._start_monitor()
        return self

    def _start_monitor(self) -> None:
        from opslink_cli.simulated_monitor import SimulatedMonitor, installed

        assert self.state_dir is not None and self.runtime is not None
        self.monitor = SimulatedMonitor(
            self.state_dir / "host",
            lambda service, region: boto3.client(
                service, region_name=region, endpoint_url=self.endpoint_url
            ),
        )
        self._monitor_ctx = installed(self.monitor)
        self._monitor_ctx.__enter__()
        self.runtime.before_invoke[self.names["IngestFunction"]] = self.monitor.mirror_event

    def stop(self) -> None:
        _clear_parameter_caches()
        if self._monitor_ctx is not None:
            self._monitor_ctx.__exit__(None, None, None)
            self._monitor_ctx = None
        if self.state_dir is not None:
            _kill_local_jobs(self.state_dir / "jobs")
            if getattr(self, "_own_state_dir", False):
                shutil.rmtree(self.state_dir, ignore_errors=True)
        if self.runtime:
            self.runtime.uninstall()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    # -- deployment from the template ---------------------------------------------------

    def deploy(self) -> None:
        template = load_template(self.root / "template.yaml")
        params = parameter_values(template, {**LOCAL_PARAMETERS, **self.parameters})
        resolver = Resolver(
            template,
            params,
            {
                "AWS::AccountId": ACCOUNT,
                "AWS::Region": REGION,
                "AWS::Partition": "aws",
                "AWS::StackName": self.stack_name,
            },
        )
        resources: dict[str, Any] = template["Resources"]
        self._assign_names(resources, resolver)
        role = self._role()
        for logical, res in resources.items():
            if res.get("Condition") and not resolver.condition(res["Condition"]):
                continue
            kind, props = res["Type"], res.get("Properties", {})
            if kind == "AWS::DynamoDB::Table":
                self._table(logical, resolver.resolve(props))
            elif kind == "AWS::SNS::Topic":
                self.client("sns").create_topic(Name=self.names[logical])
            elif kind == "AWS::SQS::Queue":
                self.client("sqs").create_queue(QueueName=self.names[logical])
        globals_fn = template.get("Globals", {}).get("Function", {})
        for logical, res in resources.items():
            if res["Type"] == "AWS::Serverless::Function":
                self._function(logical, res.get("Properties", {}), globals_fn, resolver, role)
        for logical, res in resources.items():
            if res["Type"] == "AWS::Serverless::StateMachine":
                self._state_machine(logical, res.get("Properties", {}), resolver, role)

    def _assign_names(self, resources: dict[str, Any], resolver: Resolver) -> None:
        for logical, res in resources.items():
            name = f"{self.stack_name}-{logical}"
            kind = res["Type"]
            self.names[logical] = name
            if kind == "AWS::DynamoDB::Table":
                arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
                resolver.refs[logical] = name
            elif kind == "AWS::SNS::Topic":
                arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
                resolver.refs[logical] = arn
                resolver.attrs[(logical, "TopicName")] = name
            elif kind == "AWS::SQS::Queue":
                arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
                resolver.refs[logical] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
            elif kind == "AWS::Serverless::Function":
                arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
                resolver.refs[logical] = name
            elif kind == "AWS::Serverless::StateMachine":
                arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
                resolver.refs[logical] = arn
                resolver.attrs[(logical, "Name")] = name
            else:
                arn = f"arn:aws:local:{REGION}:{ACCOUNT}:{logical}"
                resolver.refs[logical] = arn
            resolver.attrs[(logical, "Arn")] = arn
            self.arns[logical] = arn

    def _role(self) -> str:
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        try:
            return str(
                iam.create_role(
                    RoleName=f"{self.stack_name}-local", AssumeRolePolicyDocument=json.dumps(trust)
                )["Role"]["Arn"]
            )
        except iam.exceptions.EntityAlreadyExistsException:
            return str(iam.get_role(RoleName=f"{self.stack_name}-local")["Role"]["Arn"])

    def _table(self, logical: str, props: dict[str, Any]) -> None:
        ddb = self.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.names[logical],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=self.names[logical], TimeToLiveSpecification=ttl)

    def _function(
        self,
        logical: str,
        props: dict[str, Any],
        globals_fn: dict[str, Any],
        resolver: Resolver,
        role: str,
    ) -> None:
        assert self.runtime is not None
        env = {
            **resolver.resolve(globals_fn.get("Environment", {}).get("Variables", {})),
            **resolver.resolve(props.get("Environment", {}).get("Variables", {})),
        }
        env = {k: str(v) for k, v in env.items()}
        env = self._local_environment(logical, props, env)
        name = self.names[logical]
        runtime = props.get("Runtime", globals_fn.get("Runtime", "python3.12"))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("README.txt", "runs in-process on the local emulator")
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime,
            "Role": role,
            "Handler": props["Handler"],
            "Code": {"ZipFile": buf.getvalue()},
            "Timeout": int(props.get("Timeout", globals_fn.get("Timeout", 30))),
            "MemorySize": int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            "Environment": {"Variables": env},
        }
        dlq = props.get("DeadLetterQueue")
        if dlq:
            kwargs["DeadLetterConfig"] = {"TargetArn": resolver.resolve(dlq["TargetArn"])}
        self.client("lambda").create_function(**kwargs)
        self.runtime.register(
            FunctionSpec(
                name=name,
                code_dir=self.root / props["CodeUri"],
                handler=props["Handler"],
                environment=env,
                memory=kwargs["MemorySize"],
            )
        )
        for event in (props.get("Events") or {}).values():
            if event.get("Condition") and not resolver.condition(event["Condition"]):
                continue
            eprops = event.get("Properties", {})
            if event["Type"] == "SNS":
                self.client("sns").subscribe(
                    TopicArn=resolver.resolve(eprops["Topic"]),
                    Protocol="lambda",
                    Endpoint=self.arns[logical],
                )
            elif event["Type"] == "Schedule":
                seconds = _rate_seconds(str(resolver.resolve(eprops["Schedule"])))
                self.schedules.append(Schedule(name, seconds, self.clock + seconds))

    def _local_environment(
        self, logical: str, props: dict[str, Any], env: dict[str, str]
    ) -> dict[str, str]:
        """What Lambda would provide, mapped onto this machine: content layers under /opt
        become their ContentUri folders; local jobs and their sandbox live in state_dir."""
        assert self.state_dir is not None
        template = load_template(self.root / "template.yaml")
        for layer in props.get("Layers", []):
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            res = template["Resources"].get(ref or "", {})
            if res.get("Type") == "AWS::Serverless::LayerVersion" and "BuildMethod" not in res.get(
                "Metadata", {}
            ):
                folder = str(self.root / res["Properties"]["ContentUri"])
                env = {
                    k: (folder + v[4:] if v == "/opt" or v.startswith("/opt/") else v)
                    for k, v in env.items()
                }
        env["LOCAL_JOBS_DIR"] = str(self.state_dir / "jobs")
        env["LOCAL_TARGET_ROOT"] = str(self.state_dir / "host")
        env["LOCAL_JOB_PATH"] = str(self.state_dir / "host" / "opslink-sandbox" / "bin")
        # Sealed: runbooks never see the user's HOME, ~/.aws or AWS_* settings.
        env["LOCAL_SANDBOX_HOME"] = str(self.state_dir / "home")
        env["LOCAL_AWS_ENDPOINT_URL"] = self.endpoint_url or ""
        return env | self.env_overrides.get(logical, {})

    def _state_machine(
        self, logical: str, props: dict[str, Any], resolver: Resolver, role: str
    ) -> None:
        text = (self.root / props["DefinitionUri"]).read_text(encoding="utf-8")
        subs = {
            k: str(v) for k, v in resolver.resolve(props.get("DefinitionSubstitutions", {})).items()
        }
        for key, value in subs.items():
            text = text.replace("${" + key + "}", value)
        json.loads(text)  # a substitution that broke the JSON fails here, named by the caller
        self.client("stepfunctions").create_state_machine(
            name=self.names[logical], definition=text, roleArn=role
        )

    # -- operating the stack ------------------------------------------------------------

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
                self.client("lambda").invoke(
                    FunctionName=sched.function,
                    Payload=json.dumps(schedule_event(sched.function)).encode(),
                )
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

    def wait_for_executions(
        self, names: list[str] | None = None, timeout: float = 60.0, settle: bool = False
    ) -> dict[str, str]:
        """Wait until the named executions (default: all) leave RUNNING; name → status.
        With `settle`, an execution waiting for a human's approval counts as settled."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
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
            if not running or time.monotonic() > deadline:
                return statuses
            time.sleep(0.05)

    @contextmanager
    def environment(self) -> Iterator[dict[str, str]]:
        """Table names etc. for operator commands against this stack."""
        yield {
            "alerts_table": self.names["AlertsTable"],
            "tickets_table": self.names["TicketsTable"],
        }


def seed_sandbox_host(host: Path) -> None:
    """The simulated host local runbooks act on: systemd units for the service map's
    services, a few weeks of rotated logs and old data files, and stand-ins for host
    tools (systemctl) so no runbook touches the machine running the emulator."""
    from opslink.service_map import load_service_map

    units = host / "etc" / "systemd" / "system"
    units.mkdir(parents=True, exist_ok=True)
    for service in [*load_service_map().services, "postgresql"]:
        (units / f"{service}.service").write_text(f"[Unit]\nDescription={service} (simulated)\n")
    logs, data = host / "var" / "log", host / "var" / "lib" / "app" / "data"
    logs.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    old = time.time() - 40 * 86400
    for i in range(1, 6):
        for path in (logs / f"app.log.{i}.gz", data / f"export-{i}.csv"):
            path.write_bytes(b"x" * 4096)
            os.utime(path, (old, old))
    (logs / "app.log").write_text("live log\n")
    bin_dir = host / "opslink-sandbox" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in (Path(__file__).parent / "sandbox").iterdir():
        target = bin_dir / tool.name
        shutil.copyfile(tool, target)
        target.chmod(0o755)


def _kill_local_jobs(jobs: Path) -> None:
    """Stop local jobs still running when the stack goes away."""
    for pid_file in jobs.glob("*/script.pid"):
        if (pid_file.parent / "status.json").exists():
            continue
        with suppress(ProcessLookupError, ValueError, PermissionError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


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


def _rate_seconds(expr: str) -> int:
    if not expr.startswith("rate(") or not expr.endswith(")"):
        raise ValueError(f"local clock only fires rate() schedules, not {expr!r}")
    amount, unit = expr[5:-1].split()
    factor = {
        "minute": 60,
        "minutes": 60,
        "hour": 3600,
        "hours": 3600,
        "day": 86400,
        "days": 86400,
    }[unit]
    return int(amount) * factor


def _clear_parameter_caches() -> None:
    """Powertools caches parameters and secrets per process: a new stack starts clean."""
    from aws_lambda_powertools.utilities.parameters import clear_caches

    clear_caches()


def _fake_credentials(home: Path, endpoint_url: str | None) -> None:
    """The emulator (and the handlers it runs in-process) use dummy credentials and only
    the emulator's endpoint, whatever the user's profile, ~/.aws or AWS_* settings say."""
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL") or key in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ):
            del os.environ[key]
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    os.environ["AWS_CONFIG_FILE"] = str(home / ".aws" / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(home / ".aws" / "credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ[key] = value


def _scale_waits(scale: float) -> None:
    """Make ASL Wait states last seconds / scale, for time-scaled runs on the emulator."""
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    original = getattr(WaitFunction, "_opslink_original_wait", None) or WaitFunction._wait_interval
    WaitFunction._opslink_original_wait = original  # type: ignore[attr-defined]
    if scale == 1.0:
        WaitFunction._wait_interval = original  # type: ignore[method-assign]
        return

    def scaled(self: Any, env: Any, wait_seconds: int) -> None:
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds / scale)

    WaitFunction._wait_interval = scaled  # type: ignore[method-assign]


_write_lock = threading.RLock()
_patched = False


def _serialise_dynamodb_writes() -> None:
    """DynamoDB applies each conditional write atomically; moto's backend checks and
    writes in plain Python, so concurrent threads could both pass a condition. Serialise
    the write paths, as the real service behaves."""
    global _patched
    if _patched:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "get_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
    ):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _write_lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    _patched = True
