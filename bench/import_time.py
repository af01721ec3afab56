"""Cold start of each handler: import time vs a bare `import boto3`, same run; and, for
ingest, import + first invocation together (what a cold Lambda really pays).

Each sample is a fresh interpreter (`python -X importtime` is not used: it slows imports);
the figure is the median of N runs of the in-process duration, and the ratio is
handler / boto3. Target: every handler <= 1.5x. LAMBDA_TASK_ROOT is set as in Lambda (the
X-Ray SDK behind Powertools Tracer then uses its local sampler, as it does there). The
development tree is measured byte-compiled, as the layer ships; bench/layer_cold_start.py
measures the layers as built.

The first-invocation sample runs the ingest handler on one new SNS alarm against moto in
the same process (mock started before the clock starts, so modules moto itself imports,
boto3 among them, are outside the figure): import + handler(event) with the alarm read,
the alert stored, a builtin ticket created and the remediation execution started.

    .venv/bin/python bench/import_time.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = {
    "ingest": "opslink_ingest.handler",
    "remediate": "opslink_remediate.handler",
    "track": "opslink_track.handler",
    "metrics": "opslink_metrics.handler",
}
ENV = {
    "ALERTS_TABLE": "opslink-AlertsTable",
    "TICKETS_TABLE": "opslink-TicketsTable",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:opslink-RemediationStateMachine",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "PYDANTIC_DISABLE_PLUGINS": "1",  # as template.yaml's Globals set it
    "RUNBOOK_CATALOG_PATH": str(ROOT / "runbooks"),  # the remediate function loads it at import
    "LAMBDA_TASK_ROOT": str(ROOT),  # as in Lambda: the X-Ray recorder's local sampler
    "AWS_LAMBDA_FUNCTION_NAME": "opslink-bench",  # as in Lambda: Powertools Tracer is on
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",  # as in Lambda: initialised without collection
}

FIRST_INVOKE = """
import json, os, sys, time
import boto3
from moto import mock_aws
mock = mock_aws(); mock.start()
ddb = boto3.client("dynamodb")
keys = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")]
gsi = [{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
       {"AttributeName": "gsi1sk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}]
for table, extra in ((os.environ["ALERTS_TABLE"], []), (os.environ["TICKETS_TABLE"], [
        {"IndexName": "gsi2", "KeySchema": [{"AttributeName": "alert_id", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "ALL"}}])):
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=keys + ([{"AttributeName": "alert_id", "AttributeType": "S"}] if extra else []),
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=gsi + extra)
sfn = boto3.client("stepfunctions")
arn = sfn.create_state_machine(name="m", roleArn="arn:aws:iam::123456789012:role/r",
    definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
os.environ["STATE_MACHINE_ARN"] = arn
event = json.loads(sys.argv[1])
t = time.perf_counter()
import opslink_ingest.handler as h
imported = time.perf_counter()
class Ctx:
    function_name = "opslink-ingest"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:opslink-ingest"
out = h.lambda_handler(event, Ctx())
done = time.perf_counter()
assert out["results"][0]["outcome"] == "created", out
print(imported - t, done - imported)
"""


def first_invoke_sample(event: str) -> tuple[float, float]:
    paths = [str(ROOT / "layers" / "common"), str(ROOT / "functions" / "ingest")]
    env = {
        **os.environ,
        **ENV,
        "PYTHONPATH": os.pathsep.join(paths),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "OpsLink",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", FIRST_INVOKE, event],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    imported, invoked = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
    return imported, invoked


def _event() -> str:
    import json
    from datetime import UTC, datetime

    sys.path.insert(0, str(ROOT / "cli"))
    from opslink_cli import samples

    alarm = samples.metric_alarm("prod-web-cpu-high", datetime.now(UTC), metric="CPUUtilization")
    return json.dumps(samples.sns_event(alarm))


UNTRACED = "ingest, tracing off"


def sample(module: str, extra: dict[str, str] | None = None) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    paths = [str(ROOT / "layers" / "common"), *(str(ROOT / "functions" / f) for f in HANDLERS)]
    env = {
        **os.environ,
        **ENV,
        **(extra or {}),
        "PYTHONPATH": os.pathsep.join(paths),
    }
    # bytecode written and used, as the layer ships it compiled (bench/layer_cold_start.py);
    # any value of PYTHONDONTWRITEBYTECODE, "0" included, would stop the warm-up writing it
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for module in ("boto3", *HANDLERS.values()):
        sample(module)  # warm the bytecode cache (the layer ships compiled) and the OS file cache
    results: dict[str, list[float]] = {"boto3": []}
    results.update({name: [] for name in HANDLERS})
    results[UNTRACED] = []
    for _ in range(n):  # interleaved, so drift hits every module alike
        results["boto3"].append(sample("boto3"))
        for name, module in HANDLERS.items():
            results[name].append(sample(module))
        results[UNTRACED].append(sample(HANDLERS["ingest"], {"POWERTOOLS_TRACE_DISABLED": "1"}))
    base = statistics.median(results["boto3"])
    print(f"python {sys.version.split()[0]}, {n} fresh processes per module, medians")
    print(f"{'module':<22}{'median ms':>10}{'ratio':>8}")
    print(f"{'boto3':<22}{base * 1000:>10.1f}{1.0:>8.2f}")
    for name in [*HANDLERS, UNTRACED]:
        med = statistics.median(results[name])
        print(f"{name:<22}{med * 1000:>10.1f}{med / base:>8.2f}")
    event = _event()
    firsts = [first_invoke_sample(event) for _ in range(n)]
    imp = statistics.median(a for a, _ in firsts)
    inv = statistics.median(b for _, b in firsts)
    total = statistics.median(a + b for a, b in firsts)
    print(f"\ningest cold start on moto, {n} fresh processes, medians")
    print(f"{'import ms':>10}{'1st invoke ms':>15}{'import+invoke ms':>18}")
    print(f"{imp * 1000:>10.1f}{inv * 1000:>15.1f}{total * 1000:>18.1f}")


if __name__ == "__main__":
    main()
