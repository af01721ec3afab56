"""Cold import time of each handler module vs a bare `import boto3`, same run.

Each sample is a fresh interpreter (`python -X importtime` is not used: it slows imports);
the figure is the median of N runs of the in-process import duration, and the ratio is
handler / boto3. Target: <= 1.6x.

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
}


def sample(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    paths = [str(ROOT / "layers" / "common"), *(str(ROOT / "functions" / f) for f in HANDLERS)]
    env = {
        **os.environ,
        **ENV,
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for module in ("boto3", *HANDLERS.values()):
        sample(
            module
        )  # warm the bytecode cache: Lambda ships .pyc-less code, but the OS cache is warm there too
    results: dict[str, list[float]] = {"boto3": []}
    results.update({name: [] for name in HANDLERS})
    for _ in range(n):  # interleaved, so drift hits every module alike
        results["boto3"].append(sample("boto3"))
        for name, module in HANDLERS.items():
            results[name].append(sample(module))
    base = statistics.median(results["boto3"])
    print(f"python {sys.version.split()[0]}, {n} fresh processes per module, medians")
    print(f"{'module':<12}{'median ms':>10}{'ratio':>8}")
    print(f"{'boto3':<12}{base * 1000:>10.1f}{1.0:>8.2f}")
    for name in HANDLERS:
        med = statistics.median(results[name])
        print(f"{name:<12}{med * 1000:>10.1f}{med / base:>8.2f}")


if __name__ == "__main__":
    main()
