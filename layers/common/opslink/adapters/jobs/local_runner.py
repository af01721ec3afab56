"""Detached runner for one local shell job: `python -m opslink.adapters.jobs.local_runner DIR`.

Starts the script in its own process group, enforces the timeout, honours a cancel
marker, and writes status.json atomically when the job ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

GRACE_SECONDS = 5.0
SAFETY_MARGIN_SECONDS = 60.0


def _finish(job_dir: Path, state: str, exit_code: int | None, detail: str) -> None:
    started = job_dir / "started_at"
    doc = {
        "state": state,
        "exit_code": exit_code,
        "detail": detail,
        "started_at": started.read_text() if started.is_file() else None,
        "finished_at": datetime.now(UTC).isoformat(),
    }
    tmp = job_dir / "status.json.tmp"
    tmp.write_text(json.dumps(doc))
    tmp.replace(job_dir / "status.json")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _command(job_dir: Path, meta: dict[str, object]) -> tuple[list[str], dict[str, str]]:
    """bash and the script; sealed (local_seal) when the emulator asked for it."""
    env = dict(meta["env"])  # type: ignore[call-overload]
    if meta.get("seal"):
        from opslink.adapters.jobs.local_seal import unshare_argv

        # The seal step is Python: it needs OpsLink's path, the script never sees it.
        return unshare_argv(str(job_dir), str(meta["script"])), env | {
            "PYTHONPATH": os.environ.get("PYTHONPATH", "")
        }
    return ["/bin/bash", str(meta["script"])], env


def run(job_dir: Path) -> int:
    meta = json.loads((job_dir / "job.json").read_text())
    argv, env = _command(job_dir, meta)
    with (job_dir / "stdout").open("wb") as out, (job_dir / "stderr").open("wb") as err:
        proc = subprocess.Popen(  # noqa: S603 (fixed argv: bash and the catalog script)
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=str(job_dir),
            start_new_session=True,
        )
        (job_dir / "started_at").write_text(datetime.now(UTC).isoformat())
        (job_dir / "script.pid").write_text(str(proc.pid))
        # OpsLink cancels at the runbook's timeout; this is the safety net if it cannot.
        deadline = time.monotonic() + float(meta["timeout"]) + SAFETY_MARGIN_SECONDS
        while True:
            try:
                code = proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            if (job_dir / "cancel").exists():
                _stop(proc)
                _finish(job_dir, "cancelled", proc.returncode, "cancelled on request")
                return 0
            if time.monotonic() > deadline:
                _stop(proc)
                _finish(
                    job_dir,
                    "timed_out",
                    proc.returncode,
                    f"killed {SAFETY_MARGIN_SECONDS:.0f}s after its {meta['timeout']}s timeout",
                )
                return 0
    if (job_dir / "cancel").exists():
        _finish(job_dir, "cancelled", code, "cancelled on request")
    elif code == 0:
        _finish(job_dir, "succeeded", 0, "")
    else:
        _finish(job_dir, "failed", code, f"exit code {code}")
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
