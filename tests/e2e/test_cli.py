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


def test_local_serve_with_operator_commands() -> None:
    """`opslink local serve` on 127.0.0.1, used as the AWS CLI would use a deployment."""
    import socket
    import time

    import boto3

    from opslink_cli import samples

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [*OPSLINK, "local", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        deadline = time.monotonic() + 60
        while "Ctrl-C stops it" not in (line := serve.stdout.readline()):
            assert line or time.monotonic() < deadline, serve.stderr.read() if serve.stderr else ""
        sns = boto3.client(
            "sns",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        sns.publish(
            TopicArn="arn:aws:sns:us-east-1:123456789012:opslink-AlarmTopic",
            Message=json.dumps(samples.metric_alarm("prod-search-cpu-high", samples.T0)),
        )
        alerts = json.loads(run("alerts", "list", "--endpoint-url", url, "--output", "json").stdout)
        assert [a["alarm_name"] for a in alerts] == ["prod-search-cpu-high"]
        show = run("tickets", "show", alerts[0]["ticket_id"], "--endpoint-url", url)
        assert show.returncode == 0 and "## Suggested steps" in show.stdout
        deadline = time.monotonic() + 30
        while True:
            rows = json.loads(
                run("executions", "list", "--endpoint-url", url, "--output", "json").stdout
            )
            if (rows and rows[0]["status"] != "RUNNING") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert rows[0]["status"] == "SUCCEEDED" and rows[0]["outcome"] in (
            "HandedToHumans",
            "Remediated",
        )
    finally:
        serve.terminate()
        serve.wait(timeout=20)
