"""The local shell job platform with real subprocesses, SSM Run Command on moto, and the
shipped runbook scripts run for real against a scratch host directory."""

from __future__ import annotations

import http.server
import json
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from opslink.adapters.jobs.local_shell import LocalShellPlatform
from opslink.adapters.jobs.ssm import SsmRunCommandPlatform, build_commands
from opslink.errors import JobPlatformError, JobPlatformRejected, ParameterRejectedError
from opslink.remediation_models import JobRef, JobRequest, JobState
from opslink_cli.emulator import seed_sandbox_host
from tests.conftest import ROOT

SCRIPTS = ROOT / "runbooks" / "scripts"


def request(
    script: Path, env: dict[str, str] | None = None, timeout: int = 30, key: str = "A-1:rb"
) -> JobRequest:
    return JobRequest(
        runbook=script.stem,
        script_path=str(script),
        script=script.read_text(),
        environment=env or {},
        targets={"InstanceId": ("i-0a1b2c3d4e5f60718",)},
        timeout_seconds=timeout,
        idempotency_key=key,
    )


def wait_finished(platform: LocalShellPlatform, ref: JobRef, seconds: float = 20) -> JobState:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = platform.status(ref).state
        if state.finished:
            return state
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_local_job_gets_parameters_as_environment_only(tmp_path: Path) -> None:
    script = tmp_path / "echo.sh"
    script.write_text(
        '#!/bin/bash\nprintf "%s|" "$SERVICE" "$OPSLINK_RUNBOOK"\necho "$HOME" >/dev/null\n'
    )
    platform = LocalShellPlatform(str(tmp_path / "jobs"))
    hostile = "web; touch /tmp/opslink-pwned $(id)"
    ref = platform.launch(request(script, {"SERVICE": hostile}))
    assert wait_finished(platform, ref) is JobState.SUCCEEDED
    assert platform.output(ref).stdout == f"{hostile}|echo|"
    took = platform.status(ref).duration_seconds  # the runner's own start and end
    assert took is not None and 0 <= took < 30
    assert not Path("/tmp/opslink-pwned").exists()


def test_local_job_failure_keeps_stderr_and_exit_code(tmp_path: Path) -> None:
    script = tmp_path / "fail.sh"
    script.write_text("#!/bin/bash\necho partial\necho 'disk full' >&2\nexit 4\n")
    platform = LocalShellPlatform(str(tmp_path / "jobs"))
    ref = platform.launch(request(script))
    assert wait_finished(platform, ref) is JobState.FAILED
    status = platform.status(ref)
    assert status.exit_code == 4
    out = platform.output(ref)
    assert out.stdout == "partial\n" and out.stderr == "disk full\n"


def test_local_launch_is_idempotent(tmp_path: Path) -> None:
    script = tmp_path / "count.sh"
    script.write_text(f"#!/bin/bash\necho run >> {tmp_path}/runs\n")
    platform = LocalShellPlatform(str(tmp_path / "jobs"))
    first = platform.launch(request(script))
    again = platform.launch(request(script))
    assert first == again
    wait_finished(platform, first)
    assert (tmp_path / "runs").read_text() == "run\n"


def test_local_cancel_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = tmp_path / "hang.sh"
    script.write_text(f"#!/bin/bash\nsleep 300 &\necho $! > {tmp_path}/child.pid\nwait\n")
    platform = LocalShellPlatform(str(tmp_path / "jobs"))
    ref = platform.launch(request(script))
    deadline = time.monotonic() + 10
    pid_file = tmp_path / "child.pid"  # the shell creates it, then writes the pid: wait for both
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    platform.cancel(ref)
    assert wait_finished(platform, ref) is JobState.CANCELLED
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper (containers may lack one)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_local_unknown_or_malformed_job_is_rejected(tmp_path: Path) -> None:
    platform = LocalShellPlatform(str(tmp_path / "jobs"))
    with pytest.raises(JobPlatformRejected, match="no job"):
        platform.status(JobRef(platform="local", job_id="abc123", launched_at=datetime.now(UTC)))
    with pytest.raises(JobPlatformRejected, match="malformed job id"):
        platform.status(JobRef(platform="local", job_id="../../etc", launched_at=datetime.now(UTC)))


# -- SSM Run Command ---------------------------------------------------------------------


def test_ssm_commands_export_parameters_without_evaluating_them(tmp_path: Path) -> None:
    """Run what SSM's AWS-RunShellScript would run, here, with a hostile value."""
    script = tmp_path / "show.sh"
    script.write_text(
        '#!/bin/bash\n. "$(dirname "$0")/lib.sh"\nlog "service=[$SERVICE] run=[$OPSLINK_RUN_ID]"\n'
    )
    (tmp_path / "lib.sh").write_text('log() { printf "%s\\n" "$*"; }\n')
    marker = tmp_path / "pwned"
    hostile = f'x\'; touch {marker}; echo "$(touch {marker})" `touch {marker}`\nOTHER=1'
    commands = build_commands(request(script, {"SERVICE": hostile}))
    out = subprocess.run(
        ["/bin/bash", "-c", "\n".join(commands)], capture_output=True, text=True, check=True
    )
    assert out.stdout == f"service=[{hostile}] run=[A-1:rb]\n"
    assert not marker.exists()


def _one_instance() -> str:
    """An instance of moto's EC2 (inside a mock_aws)."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    return str(
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    )


def test_ssm_run_command_lifecycle_on_moto() -> None:
    with mock_aws():
        instance = _one_instance()
        platform = SsmRunCommandPlatform(client=boto3.client("ssm", region_name="us-east-1"))
        script = SCRIPTS / "diagnostics.sh"
        req = request(script).model_copy(update={"targets": {"InstanceId": (instance,)}})
        ref = platform.launch(req)
        sent = platform.client.list_commands(CommandId=ref.job_id)["Commands"][0]
        assert sent["DocumentName"] == "AWS-RunShellScript" and sent["InstanceIds"] == [instance]
        assert sent["Parameters"]["executionTimeout"] == ["30"]
        status = platform.status(ref)
        assert status.state is JobState.SUCCEEDED  # moto reports Success at once
        # SSM's own ExecutionStartDateTime/EndDateTime (moto: 5 minutes apart).
        assert status.duration_seconds == 300.0
        assert platform.output(ref).stdout.startswith(f"[{instance}]")


def test_ssm_cancel_sends_cancel_command() -> None:
    from botocore.stub import Stubber

    client = boto3.client("ssm", region_name="us-east-1")
    platform = SsmRunCommandPlatform(client=client)
    with Stubber(client) as stub:  # moto does not implement CancelCommand
        stub.add_response(
            "cancel_command", {}, {"CommandId": "3a1f4c2e-8b7d-4e6a-9c0f-1b2d3e4f5a6b"}
        )
        platform.cancel(
            JobRef(
                platform="ssm",
                job_id="3a1f4c2e-8b7d-4e6a-9c0f-1b2d3e4f5a6b",
                launched_at=datetime.now(UTC),
            )
        )
        stub.assert_no_pending_responses()
        stub.add_client_error("list_commands", "InvalidCommandId", "no such command")
        with pytest.raises(JobPlatformRejected, match="InvalidCommandId"):
            platform.status(
                JobRef(
                    platform="ssm",
                    job_id="00000000-0000-4000-8000-000000000000",
                    launched_at=datetime.now(UTC),
                )
            )


def test_ssm_runs_on_the_explicit_hosts_never_a_tag_target() -> None:
    from opslink.adapters.jobs.ssm import targets_for

    script = SCRIPTS / "diagnostics.sh"
    hosts = ("i-0a1b2c3d4e5f60718", "i-0a1b2c3d4e5f60719")
    two = request(script).model_copy(update={"targets": {"InstanceId": hosts}})
    assert targets_for(two) == {
        "InstanceIds": list(hosts),
        "MaxConcurrency": "2",
        "MaxErrors": "0",
    }
    asg = request(script).model_copy(update={"targets": {"AutoScalingGroupName": ("web-asg",)}})
    with pytest.raises(ParameterRejectedError, match="not an explicit host list"):
        targets_for(asg)
    with pytest.raises(ParameterRejectedError, match="not an explicit host list"):
        targets_for(request(script).model_copy(update={"targets": {}}))


# -- the shipped scripts, for real, on a scratch host -------------------------------------


def run_script(
    name: str, host: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    shims = host / "opslink-sandbox" / "bin"
    full = {
        "PATH": f"{shims}:/usr/bin:/bin",
        "OPSLINK_TARGET_ROOT": str(host),
        "OPSLINK_RUN_ID": "t1",
        **(env or {}),
    }
    return subprocess.run(
        ["/bin/bash", str(SCRIPTS / f"{name}.sh")],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def host(tmp_path: Path) -> Path:
    seed_sandbox_host(tmp_path)
    return tmp_path


def test_cleanup_logs_removes_only_old_rotated_logs_and_is_idempotent(host: Path) -> None:
    first = run_script("cleanup_logs", host, {"LOG_DIR": "/var/log", "MAX_AGE_DAYS": "7"})
    assert first.returncode == 0, first.stderr
    assert "removed 5 rotated log files" in first.stdout
    assert (host / "var/log/app.log").exists() and not list((host / "var/log").glob("*.gz"))
    second = run_script("cleanup_logs", host, {"LOG_DIR": "/var/log", "MAX_AGE_DAYS": "7"})
    assert second.returncode == 0 and "removed 0 rotated log files" in second.stdout


def test_archive_data_moves_old_files_once(host: Path) -> None:
    env = {"DATA_DIR": "/var/lib/app/data", "ARCHIVE_DIR": "/var/archive", "MAX_AGE_DAYS": "30"}
    first = run_script("archive_data", host, env)
    assert first.returncode == 0, first.stderr
    assert "archived 5 files" in first.stdout
    assert len(list((host / "var/archive").glob("*.tar.gz"))) == 1
    assert not list((host / "var/lib/app/data").iterdir())
    second = run_script("archive_data", host, env)
    assert second.returncode == 0 and "nothing older" in second.stdout


def test_restart_service_with_unknown_and_known_units(host: Path) -> None:
    ok = run_script("restart_service", host, {"SERVICE": "checkout", "WAIT_SECONDS": "2"})
    assert ok.returncode == 0, ok.stderr
    assert "checkout is active" in ok.stdout
    missing = run_script("restart_service", host, {"SERVICE": "nosuchunit", "WAIT_SECONDS": "2"})
    assert missing.returncode == 1 and "unknown service: nosuchunit" in missing.stderr
    assert "restart checkout" in (host / "var/log/opslink-sandbox.log").read_text()


def test_required_parameter_missing_fails_clearly(host: Path) -> None:
    out = run_script("health_check", host)
    assert out.returncode == 1 and "parameter HEALTH_URL is required" in out.stderr


def test_every_script_is_valid_bash() -> None:
    for script in SCRIPTS.glob("*.sh"):
        assert (
            subprocess.run(["/bin/bash", "-n", str(script)], capture_output=True).returncode == 0
        ), script


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_ssm_output_beyond_the_inline_limit_comes_from_s3(style: str) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="ops-output")
        key = "opslink/cleanup_logs/cmd-1/i-06b9f8adbef4ea026/awsrunShellScript/0.awsrunShellScript/stdout"
        lines = "".join(f"removed /var/log/app/{n:05}.log\n" for n in range(1_000))
        s3.put_object(Bucket="ops-output", Key=key, Body=(lines + "TAIL\n").encode())
        url = (
            f"https://s3.us-east-1.amazonaws.com/ops-output/{key}"
            if style == "path"
            else f"https://ops-output.s3.us-east-1.amazonaws.com/{key}"
        )
        platform = SsmRunCommandPlatform(
            client=boto3.client("ssm", region_name="us-east-1"), s3=s3, output_bucket="ops-output"
        )
        text = platform._from_s3(url, 1000)
        # the last 1,000 bytes, from a line's start (a line cut in two is left out)
        assert text is not None and 960 < len(text) <= 1000 and text.endswith("TAIL\n")
        assert text.startswith("removed /var/log/app/")


def test_ssm_a_command_whose_answer_was_lost_is_found_not_sent_twice() -> None:
    """SendCommand takes no idempotency token: the retried launch finds the command by
    the run id its Comment carries, on the batch's first host."""
    with mock_aws():
        instance = _one_instance()
        platform = SsmRunCommandPlatform(client=boto3.client("ssm", region_name="us-east-1"))
        req = request(SCRIPTS / "diagnostics.sh").model_copy(
            update={"targets": {"InstanceId": (instance,)}}
        )
        assert platform.find(req) is None
        ref = platform.launch(req)
        platform.launch(req.model_copy(update={"idempotency_key": "A-2:diagnostics"}))
        found = platform.find(req)
        assert found is not None and found.job_id == ref.job_id
        assert platform.find(req.model_copy(update={"idempotency_key": "A-3:x"})) is None


class _AnswerLost(socketserver.StreamRequestHandler):
    """An SSM endpoint that reads each request whole and closes the connection without
    answering: the service may have acted, its answer never arrives."""

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "x-amz-target":
                target = value.strip()
        self.rfile.read(length)
        self.server.calls.append(target)  # type: ignore[attr-defined]


@pytest.fixture
def answer_lost(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _AnswerLost)
    server.daemon_threads = True
    server.calls = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    try:
        yield server.calls  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_ssm_sends_a_command_once_when_its_answer_is_lost(answer_lost: list[str]) -> None:
    """botocore retries a connection closed before the answer — for SendCommand that is a
    second command. It is sent once; the launch fails retryable, and the state machine's
    retry looks the command up (`find`) before sending anything."""
    platform = SsmRunCommandPlatform()
    with pytest.raises(JobPlatformError):
        platform.launch(request(SCRIPTS / "diagnostics.sh"))
    assert answer_lost == ["AmazonSSM.SendCommand"]
    with pytest.raises(JobPlatformError):  # a read is still retried as configured
        platform.find(request(SCRIPTS / "diagnostics.sh"))
    assert answer_lost[1:] == ["AmazonSSM.ListCommands"] * 3


class _CommandPages(http.server.BaseHTTPRequestHandler):
    """SSM's ListCommands, newest first, 50 a page (`NextToken`): the server's `commands`."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.headers["X-Amz-Target"] == "AmazonSSM.ListCommands"
        assert body["Filters"][0]["key"] == "InvokedAfter" and body["InstanceId"]
        start = int(body.get("NextToken") or 0)
        commands: list[dict[str, Any]] = self.server.commands  # type: ignore[attr-defined]
        page: dict[str, Any] = {"Commands": commands[start : start + 50]}
        if start + 50 < len(commands):
            page["NextToken"] = str(start + 50)
        self.server.pages += 1  # type: ignore[attr-defined]
        data = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_ssm_finds_a_lost_command_behind_a_busy_hosts_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host with more commands in the hour than one page (other tools, other alerts):
    the lookup reads on, page after page, and stops at commands older than its hour."""
    from opslink.adapters.jobs.ssm import _comment

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CommandPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"http://127.0.0.1:{server.server_address[1]}")
    for name, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing")):  # fmt: skip
        monkeypatch.setenv(name, value)
    req = request(SCRIPTS / "diagnostics.sh")
    now = time.time()
    others = [{"CommandId": f"other-{n}", "Comment": "patching", "RequestedDateTime": now - n}
              for n in range(120)]  # fmt: skip
    mine = {"CommandId": "mine", "Comment": _comment(req), "RequestedDateTime": now - 200}
    try:
        server.commands, server.pages = [*others, mine], 0  # type: ignore[attr-defined]
        found = SsmRunCommandPlatform().find(req)
        assert found is not None and found.job_id == "mine"
        assert server.pages == 3  # type: ignore[attr-defined]
        old = [c | {"RequestedDateTime": now - 7200} for c in others]  # (a filter ignored)
        server.commands, server.pages = [*old, mine], 0  # type: ignore[attr-defined]
        assert SsmRunCommandPlatform().find(req) is None
        assert server.pages == 1  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
