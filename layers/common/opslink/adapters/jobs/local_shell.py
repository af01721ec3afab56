"""Local shell job platform: runs a catalog script as a subprocess on this machine.

The default on the local emulator. Each job lives in a directory under `jobs_dir`, so
launch, status, output and cancel work across separate Lambda invocations: a detached
runner (`local_runner`) starts the script in its own process group with the runbook's
timeout, captures stdout/stderr to files and writes the final status atomically. Cancel
kills the whole process group. Parameters reach the script as environment variables.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import opslink
from opslink.adapters.jobs.fields import duration, tail
from opslink.clock import utcnow
from opslink.errors import JobPlatformRejected
from opslink.remediation_models import JobOutput, JobRef, JobRequest, JobState, JobStatus
from opslink.targets import check_hosts

# What a script inherits from this process: nothing else leaks into a runbook.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Nothing listens on the discard port: an AWS call that escapes the stand-ins fails here.
_NOWHERE = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Sandbox:
    """How the emulator seals a script: it never sees the user's HOME, AWS settings or
    credentials; the AWS SDKs and CLI it may call point at 127.0.0.1 with dummy keys."""

    home: str
    aws_endpoint_url: str = ""
    region: str = "us-east-1"
    # Directories the runbook must not see (the user's home...): with them, each job runs
    # in a private view of the file system (local_seal); empty, unsealed.
    hide: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        home = Path(self.home)
        (home / ".aws").mkdir(parents=True, exist_ok=True)
        return {
            "HOME": str(home),
            "PATH": _SYSTEM_PATH,
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.aws_endpoint_url or _NOWHERE,
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "NO_PROXY": "*",
        }


def _tail(path: Path, limit: int) -> tuple[str, bool]:
    if not path.is_file():
        return "", False
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size > limit:  # one character more: whether the cut falls at a line's start
            fh.seek(size - limit - 1)
        data = fh.read()
    text = data.decode("utf-8", errors="replace")
    return (tail(text, len(text) - 1) if size > limit else text), size > limit


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalShellPlatform:
    name = "local"

    def __init__(
        self,
        jobs_dir: str,
        target_root: str = "",
        path_prefix: str = "",
        sandbox: Sandbox | None = None,
    ) -> None:
        self.jobs_dir = Path(jobs_dir)
        self.target_root = target_root
        self.path_prefix = path_prefix
        self.sandbox = sandbox

    def _base_environment(self) -> dict[str, str]:
        if self.sandbox is not None:
            return self.sandbox.environment()
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        env.setdefault("PATH", _SYSTEM_PATH)
        return env

    def _dir(self, job_id: str) -> Path:
        if not job_id.isalnum():
            raise JobPlatformRejected(f"local: malformed job id {job_id[:40]!r}")
        return self.jobs_dir / job_id

    def launch(self, request: JobRequest) -> JobRef:
        hosts = check_hosts(request.runbook, request.targets)
        job_id = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:20]
        job_dir = self._dir(job_id)
        try:
            job_dir.mkdir(parents=True, exist_ok=False)
        except FileExistsError:  # launched before: same job
            meta = json.loads((job_dir / "job.json").read_text())
            return JobRef(
                platform=self.name,
                job_id=job_id,
                launched_at=datetime.fromisoformat(meta["launched_at"]),
            )
        launched = utcnow()
        env = self._base_environment()
        env |= request.environment | {
            "OPSLINK_RUN_ID": job_id,
            "OPSLINK_RUNBOOK": request.runbook,
            "OPSLINK_HOSTS": ",".join(hosts),  # the simulated hosts this batch stands for
        }
        if self.sandbox is not None:  # the seal wins over anything a runbook declares
            env |= {k: v for k, v in self.sandbox.environment().items() if k != "PATH"}
        if self.target_root:
            env["OPSLINK_TARGET_ROOT"] = self.target_root
        if self.path_prefix:
            env["PATH"] = f"{self.path_prefix}:{env['PATH']}"
        meta = {
            "runbook": request.runbook,
            "script": request.script_path,
            "env": env,
            "timeout": request.timeout_seconds,
            "launched_at": launched.isoformat(),
            "targets": {k: list(v) for k, v in request.targets.items()},
        }
        if self.sandbox is not None and self.sandbox.hide:
            meta["seal"] = {
                "hide": list(self.sandbox.hide),
                # What the job needs, bound back if it lies in a hidden directory.
                "keep": [
                    str(job_dir),
                    str(Path(request.script_path).parent),
                    self.sandbox.home,
                    *([self.target_root] if self.target_root else []),
                    *(p for p in self.path_prefix.split(":") if p),
                ],
                "hostname": hosts[0],
            }
        (job_dir / "job.json").write_text(json.dumps(meta))
        runner_env = {
            "PATH": env["PATH"],
            "PYTHONPATH": str(Path(opslink.__file__).resolve().parents[1]),
        }
        proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            [sys.executable, "-m", "opslink.adapters.jobs.local_runner", str(job_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(job_dir / "runner.log").open("w"),
            start_new_session=True,
            close_fds=True,
            env=runner_env,
        )
        (job_dir / "runner.pid").write_text(str(proc.pid))
        return JobRef(platform=self.name, job_id=job_id, launched_at=launched)

    def status(self, ref: JobRef) -> JobStatus:
        job_dir = self._dir(ref.job_id)
        if not (job_dir / "job.json").is_file():
            raise JobPlatformRejected(f"local: no job {ref.job_id}")
        status_file = job_dir / "status.json"
        if status_file.is_file():
            doc = json.loads(status_file.read_text())
            return JobStatus(
                state=JobState(doc["state"]),
                exit_code=doc.get("exit_code"),
                detail=doc.get("detail", ""),
                duration_seconds=duration(doc.get("started_at"), doc.get("finished_at")),
            )
        pid_file = job_dir / "runner.pid"
        if pid_file.is_file() and not _alive(int(pid_file.read_text() or 0)):
            # The runner may have finished between the two reads.
            if status_file.is_file():
                return self.status(ref)
            log, _ = _tail(job_dir / "runner.log", 2000)
            return JobStatus(
                state=JobState.FAILED, detail=f"local runner died: {log.strip()[-500:]}"
            )
        started = (job_dir / "script.pid").is_file()
        return JobStatus(state=JobState.RUNNING if started else JobState.QUEUED)

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        job_dir = self._dir(ref.job_id)
        out, cut_out = _tail(job_dir / "stdout", limit)
        err, cut_err = _tail(job_dir / "stderr", limit)
        return JobOutput(stdout=out, stderr=err, truncated=cut_out or cut_err)

    def cancel(self, ref: JobRef) -> None:
        job_dir = self._dir(ref.job_id)
        (job_dir / "cancel").write_text(utcnow().isoformat())
        pid_file = job_dir / "script.pid"
        if pid_file.is_file():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.killpg(int(pid_file.read_text()), signal.SIGTERM)
