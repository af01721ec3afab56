"""The `opslink` command as a user runs it: a real subprocess, no traceback ever."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EVENTS, ROOT

pytestmark = pytest.mark.e2e
OPSLINK = [sys.executable, "-m", "opslink_cli.main"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPSLINK, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_local_run_contract() -> None:
    files = [
        "sns-metric-alarm.json",
        "sns-refire.json",
        "sns-metric-alarm.json",
        "bad-batch-one-malformed.json",
        "sns-ok.json",
        "bad-other-event-source.json",
    ]
    proc = run("local", "run", *(str(EVENTS / f) for f in files), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["source"], r["outcome"]) for r in rows] == [
        ("sns-metric-alarm.json#0", "created"),
        ("sns-refire.json#0", "duplicate"),
        ("sns-metric-alarm.json#0", "duplicate"),
        ("bad-batch-one-malformed.json#0", "created"),
        ("bad-batch-one-malformed.json#1", "rejected"),
        ("bad-batch-one-malformed.json#2", "created"),
        ("sns-ok.json#0", "resolved"),
        ("bad-other-event-source.json#0", "rejected"),
    ]
    for row in rows:
        assert set(row) >= {
            "source",
            "outcome",
            "alert_id",
            "ticket_id",
            "execution_status",
            "reason",
        }
    created = rows[0]
    assert created["execution_status"] == "SUCCEEDED" and created["ticket_id"].startswith("OPS-")
    assert rows[6]["alert_id"] == created["alert_id"]  # the OK resolved the first file's alert
    assert "occurrence 2" in rows[1]["reason"]
    assert "aws:sqs" in rows[7]["reason"]


def test_local_run_table_and_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    proc = run("local", "run", str(broken), str(EVENTS / "alarm-action-invoke.json"))
    assert proc.returncode == 0, proc.stderr
    assert "cannot read event file" in proc.stdout and "created" in proc.stdout


def test_missing_file_is_a_clear_error() -> None:
    proc = run("local", "run", "/nonexistent/event.json")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "opslink: error: no such event file: /nonexistent/event.json"


def test_unreachable_endpoint_is_a_clear_error() -> None:
    proc = run("alerts", "list", "--endpoint-url", "http://127.0.0.1:9", "--output", "json")
    assert proc.returncode == 1
    assert proc.stderr.startswith("opslink: error:") and "Traceback" not in proc.stderr
