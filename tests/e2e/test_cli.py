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
    assert proc.returncode == 3, proc.stderr  # two records were rejected
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["source"], r["outcome"]) for r in rows] == [
        ("sns-metric-alarm.json#0", "created"),
        ("sns-refire.json#0", "duplicate"),
        ("sns-metric-alarm.json#0", "duplicate"),
        ("bad-batch-one-malformed.json#0", "created"),
        ("bad-batch-one-malformed.json#1", "rejected"),
        ("bad-batch-one-malformed.json#2", "created"),
        # The emulator plays CloudWatch: the runbook fixed the simulated host, so the
        # alert was already resolved by automation when the OK arrived.
        ("sns-ok.json#0", "ignored"),
        ("bad-other-event-source.json#0", "rejected"),
    ]
    for row in rows:
        assert set(row) >= {
            "source",
            "outcome",
            "alert_id",
            "ticket_id",
            "execution_status",
            "remediation",
            "remediation_reason",
            "reason",
        }
    created = rows[0]
    assert created["execution_status"] == "SUCCEEDED" and created["ticket_id"].startswith("OPS-")
    assert created["remediation"] == "Remediated"
    assert "fixed it: alarm back to OK" in created["remediation_reason"]
    assert "[1/6] " in proc.stderr and "[6/6] " in proc.stderr  # progress on stderr
    assert "no open alert" in rows[6]["reason"]
    assert "late delivery" in rows[1]["reason"]  # the fire is older than the fix
    assert "aws:sqs" in rows[7]["reason"]


def test_local_run_table_and_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    empty = tmp_path / "empty.json"
    empty.write_text("", encoding="utf-8")
    folder = tmp_path / "folder.json"
    folder.mkdir()
    files = [broken, empty, folder, EVENTS / "alarm-action-invoke.json"]
    proc = run("local", "run", *map(str, files), "--quiet", "--no-truncate")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr == ""  # --quiet
    for path in (broken, empty, folder):
        assert f"cannot read event file {path}" in proc.stdout
    assert "the file is empty" in proc.stdout and "a directory" in proc.stdout
    assert "created" in proc.stdout and "None" not in proc.stdout


def test_local_run_all_accepted_exits_zero() -> None:
    files = ["sns-metric-math-alarm.json", "sns-console-test-notification.json"]
    proc = run("local", "run", *(str(EVENTS / f) for f in files), "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["outcome"] for r in rows] == ["created", "ignored"]
    # payments-db: the read-only checks run as diagnostics (evidence, never the fix); its
    # one remediation, restart_db, waits for a human's approval.
    assert rows[0]["remediation"] == "AwaitingApproval"


def test_missing_file_is_a_clear_error() -> None:
    proc = run("local", "run", "/nonexistent/event.json")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "opslink: error: no such event file: /nonexistent/event.json"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("local", "run", "x.json", "--param", "Nope=1"), 2, "unknown parameter(s): Nope"),
        (("local", "run", "x.json", "--param", "JobPlatform=bogus"), 2, "'bogus' is not one of"),
        (("local", "run", "x.json", "--param", "PollBaseSeconds=abc"), 2, "is not a number"),
        (("local", "run", "x.json", "--param", "novalue"), 2, "takes NAME=VALUE"),
        (("local", "serve", "--port", "70000"), 2, "out of range"),
        (("alerts", "list", "--endpoint-url", "127.0.0.1:5055"), 2, "is not an endpoint URL"),
        (("alerts", "list", "--limit", "0"), 2, "must be 1 or more"),
        # dates past what a period's arithmetic can hold: a usage error, not an internal one
        (("report", "--days", "100000000"), 2, "must be 3650 (ten years) or fewer"),
        (("audit", "--days", "99999"), 2, "must be 3650 (ten years) or fewer"),
        (("report", "--from", "0001-01-01", "--to", "0001-01-02"), 2, "is outside 2000-01-01"),
        (("tickets", "list", "--output", "xml"), 2, "invalid choice"),
        (("alerts", "list", "--endpoint-url", "http://127.0.0.1:9", "--query", "[?"), 2, "--query"),
        (("frobnicate",), 2, "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_a_documented_status(
    args: tuple[str, ...], code: int, says: str, tmp_path: Path
) -> None:
    (tmp_path / "x.json").write_text("{}")
    proc = run(*args, cwd=tmp_path) if "x.json" in args else run(*args)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("opslink: error:") and says in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_port_in_use_is_a_clear_error() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run("local", "serve", "--port", str(port))
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in proc.stderr


def test_version_and_closed_pipe() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("opslink ")
    # A reader that went away before the first line (`opslink … | head` at its worst).
    head = subprocess.Popen(
        [*OPSLINK, "local", "run", str(EVENTS / "sns-console-test-notification.json"), "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert head.stdout is not None and head.stderr is not None
    head.stdout.close()
    head.wait(timeout=120)
    stderr = head.stderr.read()
    assert head.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_unreachable_endpoint_is_a_clear_error() -> None:
    proc = run("alerts", "list", "--endpoint-url", "http://127.0.0.1:9", "--output", "json")
    assert proc.returncode == 1
    assert proc.stderr.startswith("opslink: error:") and "Traceback" not in proc.stderr


def test_local_serve_with_operator_commands(tmp_path: Path) -> None:
    """`opslink local serve` on 127.0.0.1, fed by `opslink local publish` and read as the
    AWS CLI would read a deployment: a fixable alarm really goes back to OK."""
    import os
    import socket
    import time

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
    env_run = lambda *a: subprocess.run(  # noqa: E731 (AWS_ENDPOINT_URL instead of the option)
        [*OPSLINK, *a],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AWS_ENDPOINT_URL": url, "NO_COLOR": "1"},
    )
    try:
        assert serve.stdout is not None
        deadline = time.monotonic() + 60
        while "Ctrl-C stops it" not in (line := serve.stdout.readline()):
            assert line or time.monotonic() < deadline, serve.stderr.read() if serve.stderr else ""
        published = run(
            "local", "publish", str(EVENTS / "sns-metric-alarm.json"), "--endpoint-url", url
        )
        assert published.returncode == 0 and "published" in published.stdout, published.stderr
        # Global options before the command, as with the AWS CLI.
        alerts = json.loads(run("--endpoint-url", url, "--output", "json", "alerts", "list").stdout)
        assert [a["alarm_name"] for a in alerts] == ["prod-checkout-api-cpu-high"]
        show = run("tickets", "show", alerts[0]["ticket_id"], "--endpoint-url", url)
        assert show.returncode == 0 and "## Suggested steps" in show.stdout
        deadline = time.monotonic() + 60
        while True:
            rows = json.loads(env_run("executions", "list", "--output", "json").stdout)
            if (rows and rows[0]["status"] != "RUNNING") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert rows[0]["status"] == "SUCCEEDED"
        assert rows[0]["outcome"] == "Remediated", rows[0]  # VerifyFix saw the alarm back to OK
        text = env_run("alerts", "list", "--output", "text", "--query", "[].status")
        assert text.stdout.split() == ["resolved"]
        yaml_out = env_run("alerts", "show", alerts[0]["alert_id"], "--output", "yaml")
        assert "resolution:" in yaml_out.stdout and "by: automation" in yaml_out.stdout
        table = env_run("tickets", "list", "--no-truncate")
        assert "None" not in table.stdout and "\033[" not in table.stdout
        assert "AGE" in table.stdout and "OVERDUE" in table.stdout
        # The job's output, read from its platform by the remediate function.
        output = env_run("jobs", "output", rows[0]["execution"], "--output", "json")
        assert output.returncode == 0, output.stderr
        job = json.loads(output.stdout)
        assert job["platform"] == "local" and job["stdout"], job
        # The catalog with each runbook's record on this stack.
        listed = json.loads(env_run("runbooks", "list", "--output", "json").stdout)
        ran = {r["name"]: r for r in listed}[job["runbook"]]
        assert ran["runs"] >= 1 and ran["verified_rate"] == "100 %", ran
        shown = env_run("runbooks", "show", "restart_service", "--output", "json")
        assert json.loads(shown.stdout)["script"].endswith("restart_service.sh")
        assert env_run("runbooks", "show", "nope").returncode == 1
        # What selection believes for this alert's context, and why the leader leads.
        believed = env_run("runbooks", "stats", "--alert-type", alerts[0]["alert_type"],
                           "--service", alerts[0]["service"], "--output", "json")  # fmt: skip
        assert believed.returncode == 0, believed.stderr
        stats = json.loads(believed.stdout)
        row = {r["runbook"]: r for r in stats["candidates"]}[job["runbook"]]
        assert row["fixes"] >= 1 and row["break"] == "-", row
        assert " leads (" in stats["why"]
        assert env_run("jobs", "output", "remediate-A-nope").returncode == 1
        again = env_run("runbooks", "run", "restart_service", "--alert", alerts[0]["alert_id"])
        assert again.returncode == 1 and "nothing to fix" in again.stderr, again.stderr
        # The alert's incident (correlation on: an incident of one), listed, resolved.
        incidents = json.loads(env_run("incidents", "list", "--output", "json").stdout)
        assert [(i["alerts"], i["status"], i["ticket"]) for i in incidents] == [
            (1, "resolved", alerts[0]["ticket_id"])]  # fmt: skip
        sweep = env_run("local", "sweep")
        assert sweep.returncode == 0 and '"reminded"' in sweep.stdout, sweep.stderr
        missing = env_run("alerts", "show", "A-nope")
        assert missing.returncode == 1 and "alert 'A-nope' not found" in missing.stderr
        missing = env_run("tickets", "close", "OPS-NOPE")
        assert missing.returncode == 1 and "ticket 'OPS-NOPE' not found" in missing.stderr
        missing = env_run("audit", "--alert", "A-nope")
        assert missing.returncode == 1 and "alert 'A-nope' not found" in missing.stderr
        # Global options between a command group and its subcommand, as the AWS CLI takes them.
        grouped = run("alerts", "--endpoint-url", url, "--output", "json", "list")
        assert (
            grouped.returncode == 0
            and json.loads(grouped.stdout)[0]["alert_id"] == alerts[0]["alert_id"]
        )
        # The shell's region is not the local stack's: the error says which one to use.
        elsewhere = subprocess.run([*OPSLINK, "alerts", "list", "--endpoint-url", url],
                                   cwd=ROOT, capture_output=True, text=True, timeout=120,
                                   env={**os.environ, "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"})  # fmt: skip
        assert elsewhere.returncode == 1 and "pass --region us-east-1" in elsewhere.stderr
    finally:
        serve.terminate()
        serve.wait(timeout=20)


def test_tickets_close_and_comment_record_who_once(tmp_path: Path) -> None:
    """Against a served stack: close names the closer, a second close changes nothing,
    an empty comment is refused, --output json on mutations, filters on tickets list."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [*OPSLINK, "local", "serve", "--port", str(port), "--param", "JobPlatform=http"],
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
        run("local", "publish", str(EVENTS / "sns-metric-math-alarm.json"), "--endpoint-url", url)
        [ticket] = json.loads(
            run("tickets", "list", "--endpoint-url", url, "--output", "json").stdout
        )
        tid = ticket["id"]
        empty = run("tickets", "comment", tid, "   ", "--endpoint-url", url)
        assert empty.returncode == 2 and "empty comment" in empty.stderr
        said = run("tickets", "comment", tid, "looking", "--endpoint-url", url, "--output", "json")
        assert json.loads(said.stdout)["action"] == "commented"
        closed = run(
            "tickets",
            "close",
            tid,
            "--by",
            "erin",
            "--note",
            "pool resized",
            "--endpoint-url",
            url,
            "--output",
            "json",
        )
        first = json.loads(closed.stdout)
        assert first["action"] == "closed" and first["closed_by"] == "erin"
        again = run("tickets", "close", tid, "--by", "finn", "--endpoint-url", url)
        assert (
            again.returncode == 0 and "already closed" in again.stdout and "by erin" in again.stdout
        )
        shown = json.loads(
            run("tickets", "show", tid, "--endpoint-url", url, "--output", "json").stdout
        )
        assert shown["closed_by"] == "erin"
        assert shown["closed_at"][:19] == first["closed_at"][:19]  # not rewritten
        assert [c["author"] for c in shown["comments"]][-1] == "erin"
        run("local", "sweep", "--endpoint-url", url)
        alert = json.loads(
            run(
                "alerts", "show", ticket["alert_id"], "--endpoint-url", url, "--output", "json"
            ).stdout
        )
        assert alert["status"] == "resolved" and alert["resolution"]["who"] == "erin"
        none = run("tickets", "list", "--status", "open", "--endpoint-url", url, "--output", "json")
        assert json.loads(none.stdout) == []
        some = run(
            "tickets", "list", "--service", "payments-db", "--endpoint-url", url, "--output", "json"
        )
        assert [t["id"] for t in json.loads(some.stdout)] == [tid]
    finally:
        serve.terminate()
        serve.wait(timeout=20)


def test_local_run_reports_an_approval_wait() -> None:
    proc = run("local", "run", str(EVENTS / "sns-approval-orders-db.json"), "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    [row] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert (row["execution_status"], row["remediation"]) == ("RUNNING", "AwaitingApproval")
    assert row["remediation_reason"] == "waiting for a human's approval"


def test_handler_log_holds_one_run_only(tmp_path: Path) -> None:
    from opslink_cli.emulator import LocalStack

    log = tmp_path / "local-lambda.log"
    log.write_text("a line from an earlier run\n")
    with LocalStack(log_path=log) as stack:
        stack.invoke("IngestFunction", {"hello": "world"})
    text = log.read_text()
    assert "earlier run" not in text and "opslink-IngestFunction" in text
