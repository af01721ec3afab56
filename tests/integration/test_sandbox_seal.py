"""The emulator's runbooks are sealed for files: in a private view of the file system
(user namespaces, no root, no Docker) they cannot read the user's home or /root by
absolute path, while their own job directory, the catalog and the sandbox host stay
usable; and the host they inspect is the simulated one, not the machine running them."""

from __future__ import annotations

import io
import shutil
import socket
import time
from pathlib import Path

import pytest

from opslink.adapters.jobs.local_seal import seal_problem
from opslink.adapters.jobs.local_shell import LocalShellPlatform, Sandbox
from opslink.remediation_models import JobRef, JobRequest, JobState
from opslink_cli.emulator import sandbox_host
from opslink_cli.emulator.sandbox_host import file_seal, seed_sandbox_host
from tests.conftest import ROOT

HOST = "i-0a1b2c3d4e5f60718"

PROBE = """#!/usr/bin/env bash
. "$(dirname "$0")/lib.sh"
cat "$SECRET_FILE" 2>&1 | head -1
echo "root entries: $(ls -A /root | wc -l)"
echo "hostname: $(hostname)"
echo "processes: $(ls /proc | grep -c '^[0-9]')"
echo "lib: $(head -c 20 "$(dirname "$0")/lib.sh")"
echo written > ./mine && echo "job dir writable"
"""


def _run(platform: LocalShellPlatform, request: JobRequest) -> str:
    ref: JobRef = platform.launch(request)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = platform.status(ref)
        if status.state.finished:
            break
        time.sleep(0.05)
    out = platform.output(ref)
    assert status.state is JobState.SUCCEEDED, (status, out)
    return out.stdout + out.stderr


def test_a_sealed_runbook_cannot_read_the_users_files(tmp_path: Path) -> None:
    assert seal_problem() is None, f"this machine cannot seal runbooks: {seal_problem()}"
    home = tmp_path / "user-home"
    secret = home / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text("aws_secret_access_key = user-real-secret\n")
    # The project (jobs, catalog, sandbox) lives inside the hidden home, as it often does.
    project = home / "src" / "opslink"
    scripts = project / "runbooks" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy(ROOT / "runbooks" / "scripts" / "lib.sh", scripts / "lib.sh")
    (scripts / "probe.sh").write_text(PROBE)
    sandbox = Sandbox(home=str(project / ".opslink" / "home"), hide=(str(home), "/root"))
    platform = LocalShellPlatform(str(project / ".opslink" / "jobs"), sandbox=sandbox)
    out = _run(
        platform,
        JobRequest(
            runbook="probe",
            script_path=str(scripts / "probe.sh"),
            script=PROBE,
            environment={"SECRET_FILE": str(secret)},
            targets={"InstanceId": (HOST,)},
            timeout_seconds=30,
            idempotency_key="A-1:probe",
        ),
    )
    assert "user-real-secret" not in out and "No such file or directory" in out
    assert "root entries: 0" in out
    assert f"hostname: {HOST}" in out
    assert int(out.split("processes: ")[1].split()[0]) < 10  # its own processes only
    assert "lib: # Shared helpers" in out and "job dir writable" in out
    assert secret.read_text().startswith("aws_secret_access_key")  # untouched


def test_diagnostics_describe_the_simulated_host(tmp_path: Path) -> None:
    host = tmp_path / "host"
    seed_sandbox_host(host)
    bin_dir = host / "opslink-sandbox" / "bin"
    sandbox = Sandbox(home=str(tmp_path / "home"), hide=("/root",) if not seal_problem() else ())
    platform = LocalShellPlatform(
        str(tmp_path / "jobs"), target_root=str(host), path_prefix=str(bin_dir), sandbox=sandbox
    )
    script = ROOT / "runbooks" / "scripts" / "diagnostics.sh"
    out = _run(
        platform,
        JobRequest(
            runbook="diagnostics",
            script_path=str(script),
            script=script.read_text(),
            environment={},
            targets={"InstanceId": (HOST,)},
            timeout_seconds=30,
            idempotency_key="A-1:diagnostics",
        ),
    )
    assert f"host {HOST}, up 3 days" in out
    assert "0.42 0.35 0.30" in out and "/dev/nvme0n1p1" in out
    assert "checkout" in out  # the simulated host's services in the process list
    assert f"host {socket.gethostname()}," not in out
    assert "simulated host" in out


def test_a_machine_that_cannot_seal_says_so_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_host, "seal_problem", lambda: "user namespaces are disabled",
                        raising=False)  # fmt: skip
    import opslink.adapters.jobs.local_seal as seal_module

    monkeypatch.setattr(seal_module, "seal_problem", lambda: "user namespaces are disabled")
    log = io.StringIO()
    assert file_seal(log) == ""
    assert "WARNING: runbooks are not sealed for files (user namespaces are disabled)" in (
        log.getvalue()
    )
