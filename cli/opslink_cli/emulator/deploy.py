"""Deploy template.yaml onto the emulator: tables, topics, queues, functions (with their
environment, subscriptions and schedules) and the state machine, names `<stack>-<LogicalId>`.
The template is read once per stack (`LocalStack.template`)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from opslink_cli.emulator.runtime import FunctionSpec, LocalLambdaRuntime
from opslink_cli.emulator.template import (
    Resolver,
    load_template,
    name_resources,
    parameter_values,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_ROOT = Path(__file__).resolve().parents[3]

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
    payload: str | None = None  # the rule's Input (e.g. the track function's KPI fold)


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


class TemplateDeployer:
    """The deployment half of LocalStack (a mixin: the stack owns the state)."""

    root: Path
    stack_name: str
    parameters: dict[str, str]
    endpoint_url: str | None
    env_overrides: dict[str, dict[str, str]]
    state_dir: Path | None
    names: dict[str, str]
    arns: dict[str, str]
    schedules: list[Schedule]
    runtime: LocalLambdaRuntime | None
    template: dict[str, Any]
    clock: float
    sandbox_hide: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    def deploy(self) -> None:
        self.template = template = load_template(self.root / "template.yaml")
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
        self.names.update({logical: f"{self.stack_name}-{logical}" for logical in resources})
        self.arns.update(name_resources(resolver, resources, self.stack_name, REGION, ACCOUNT))

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
                timeout=float(kwargs.get("Timeout", 30)),
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
                expr = str(resolver.resolve(eprops["Schedule"]))
                if expr.startswith("cron("):
                    continue  # calendar schedules (daily figures, weekly review): invoke them
                seconds = _rate_seconds(expr)
                payload = eprops.get("Input")
                self.schedules.append(Schedule(name, seconds, self.clock + seconds,
                                               str(payload) if payload else None))  # fmt: skip

    def _local_environment(
        self, logical: str, props: dict[str, Any], env: dict[str, str]
    ) -> dict[str, str]:
        """What Lambda would provide, mapped onto this machine: content layers under /opt
        become their ContentUri folders; local jobs and their sandbox live in state_dir."""
        assert self.state_dir is not None
        template = self.template
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
        # Sealed for files too where the machine allows it (sandbox_host.file_seal).
        env["LOCAL_SANDBOX_HIDE"] = self.sandbox_hide
        env["LOCAL_AWS_ENDPOINT_URL"] = self.endpoint_url or ""
        # The emulator announces local jobs' ends (emulator.job_events) unless told not to.
        if env.get("JOB_PLATFORM") == "local":
            env["JOB_COMPLETION_EVENTS"] = (
                "off" if getattr(self, "job_end_events", "deliver") == "off" else "on"
            )
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
