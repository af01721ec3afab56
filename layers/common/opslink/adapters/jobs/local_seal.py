"""The local emulator's file seal for runbooks: `python -m opslink.adapters.jobs.local_seal
JOB_DIR SCRIPT`, run by the local runner inside `unshare --user --map-root-user --mount
--pid --fork --uts --mount-proc` (Linux user namespaces; no root, no Docker).

In that private view of the machine, before the runbook starts:
- the user's files are gone: every directory to hide (the user's home, /root, /home)
  is covered by an empty tmpfs, and only the paths the job needs (its own directory, the
  catalog's scripts, the sandbox host and home) are bound back into place;
- the host is the simulated one: the hostname is the target's instance id, `ps` sees the
  runbook's own processes only (a new PID namespace with its own /proc).
Nothing is written outside the namespace's own mounts; when the runbook ends, the view
goes with it. Where user namespaces are not available, the emulator says so at start-up
(`seal_problem`) and runbooks run unsealed, with their scratch HOME only."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket  # imported before the seal: the interpreter's own files may be hidden by it
import subprocess
import sys
import tempfile
from pathlib import Path

UNSHARE = (
    "--user",
    "--map-root-user",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--uts",
    "--mount-proc",
)


def unshare_argv(job_dir: str, script: str) -> list[str]:
    """The runner's command for a sealed job."""
    tool = shutil.which("unshare") or "/usr/bin/unshare"
    return [tool, *UNSHARE, "--", sys.executable, "-m", __name__, job_dir, script]


@functools.lru_cache(maxsize=1)
def seal_problem() -> str | None:
    """Why runbooks cannot be sealed on this machine (None: they can)."""
    if sys.platform != "linux":
        return f"user namespaces are Linux only (this is {sys.platform})"
    tool = shutil.which("unshare")
    if tool is None:
        return "the unshare tool (util-linux) is not installed"
    try:
        probe = subprocess.run(  # noqa: S603 (fixed argv)
            [tool, *UNSHARE, "--", "/bin/sh", "-c", "mount -t tmpfs none /tmp && hostname x"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if probe.returncode:
        return f"unshare refused a private namespace: {probe.stderr.strip()[:200]}"
    return None


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)  # noqa: S603,S607


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def seal(hide: list[str], keep: list[str], hostname: str) -> None:
    """Inside the namespace: hide `hide`, bind `keep` back, set the hostname."""
    _mount("--make-rprivate", "/")
    hide = [h for h in dict.fromkeys(os.path.realpath(h) for h in hide) if os.path.isdir(h)]
    keep = [k for k in dict.fromkeys(os.path.realpath(k) for k in keep) if os.path.exists(k)]
    stage = tempfile.mkdtemp(prefix="opslink-seal-")
    _mount("-t", "tmpfs", "-o", "mode=0700,size=1m", "none", stage)
    saved: list[tuple[str, str]] = []
    for n, path in enumerate(k for k in keep if any(_under(k, h) for h in hide)):
        spot = os.path.join(stage, str(n))
        os.mkdir(spot) if os.path.isdir(path) else Path(spot).touch()
        _mount("--bind", path, spot)
        saved.append((spot, path))
    for directory in sorted(hide, key=len):
        if any(_under(directory, h) and directory != h for h in hide):
            continue  # inside another hidden directory: covered already
        _mount("-t", "tmpfs", "-o", "mode=0755,size=16m", "none", directory)
    for spot, path in saved:
        if os.path.isdir(spot):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).touch()
        _mount("--bind", spot, path)
    if hostname:
        socket.sethostname(hostname)


def main(job_dir: str, script: str) -> None:
    meta = json.loads((Path(job_dir) / "job.json").read_text())
    plan = meta["seal"]
    seal(plan["hide"], plan["keep"], plan.get("hostname", ""))
    os.chdir(job_dir)
    os.execve("/bin/bash", ["/bin/bash", script], meta["env"])  # noqa: S606


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
