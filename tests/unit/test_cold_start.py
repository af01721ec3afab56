"""In a Lambda container a handler initialises with the garbage collector off and frozen
after (cold_start.py), and gives it back: a collector left off would let a warm
container's cyclic garbage grow without bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HANDLERS = ("ingest", "remediate", "track", "metrics")

PROBE = """
import gc, json, sys
try:
    __import__(sys.argv[1])
    error = None
except Exception as exc:
    error = type(exc).__name__
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "error": error}))
"""


def _init(function: str, **env: str) -> dict[str, object]:
    paths = [str(ROOT / "layers" / "common"), str(ROOT / "functions" / function)]
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(paths),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ALERTS_TABLE": "opslink-alerts",
        "TICKETS_TABLE": "opslink-tickets",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:opslink",
        "RUNBOOK_CATALOG_PATH": str(ROOT / "runbooks"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        **env,
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, f"opslink_{function}.handler"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", HANDLERS)
def test_a_lambda_container_freezes_what_initialising_built_and_collects_again(
    function: str,
) -> None:
    state = _init(function, AWS_LAMBDA_RUNTIME_API="127.0.0.1:9001")
    assert state["error"] is None
    assert state["enabled"] is True
    # modules, classes and schemas: never scanned again by a warm invocation's collections
    assert int(str(state["frozen"])) > 10_000


def test_outside_lambda_the_collector_is_left_alone() -> None:
    state = _init("ingest")
    assert state == {"enabled": True, "frozen": 0, "error": None}


def test_a_cold_start_that_fails_on_its_configuration_gives_the_collector_back() -> None:
    state = _init("ingest", ALERTS_TABLE="", AWS_LAMBDA_RUNTIME_API="127.0.0.1:9001")
    assert state["error"] == "ConfigurationError"
    assert state["enabled"] is True
    assert state["frozen"] == 0  # a failed initialisation is not frozen
