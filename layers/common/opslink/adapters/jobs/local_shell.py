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
from datetime import UTC, datetime
from pathlib import Path

import opslink
from opslink.errors import JobPlatformRejected
from opslink.models import JobOutput, JobRef, JobRequest, JobState, JobStatus

# What a script inherits from this process: nothing else leaks into a runbook.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")


def _tail(path: Path, limit: int) -> tuple[str, bool]:
    if not path.is_file():
        return "", False
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size > limit:
            fh.seek(size - limit)
        data = fh.read()
    return data.decode("utf-8", errors="replace"), size > limit


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

    def __init__(self, jobs_dir: str, target_root: str = "", path_prefix: str = "") -> None:
        self.jobs_dir = Path(jobs_dir)
        self.target_root = target_root
        self.path_prefix = path_prefix

    def _dir(self, job_id: str) -> Path:
        if not job_id.isalnum():
            raise JobPlatformRejected(f"local: malformed job id {job_id[:40]!r}")
        return self.jobs_dir / job_id

    def launch(self, request: JobRequest) -> JobRef:
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
        launched = datetime.now(UTC)
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        env |= request.environment | {"OPSLINK_RUN_ID": job_id, "OPSLINK_RUNBOOK": request.runbook}
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
        (job_dir / "cancel").write_text(datetime.now(UTC).isoformat())
        pid_file = job_dir / "script.pid"
        if pid_file.is_file():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.killpg(int(pid_file.read_text()), signal.SIGTERM)
