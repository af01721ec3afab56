"""The sandbox host runbooks act on in the emulator: a scratch filesystem with stand-in
tools (sandbox/), fake credentials and no inherited AWS settings."""

from __future__ import annotations

import os
import shutil
import signal
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from opslink_cli.emulator.deploy import REGION

HOST_TOOLS = ("hostname", "uptime", "free", "df", "ps", "dmesg")


def seed_sandbox_host(host: Path) -> None:
    """The simulated host local runbooks act on: systemd units for the service map's
    services, a few weeks of rotated logs and old data files, and stand-ins for host
    tools (systemctl) so no runbook touches the machine running the emulator."""
    from opslink.service_map import load_service_map

    units = host / "etc" / "systemd" / "system"
    units.mkdir(parents=True, exist_ok=True)
    for service in [*load_service_map().services, "postgresql"]:
        (units / f"{service}.service").write_text(f"[Unit]\nDescription={service} (simulated)\n")
    logs, data = host / "var" / "log", host / "var" / "lib" / "app" / "data"
    logs.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    old = time.time() - 40 * 86400
    for i in range(1, 6):
        for path in (logs / f"app.log.{i}.gz", data / f"export-{i}.csv"):
            path.write_bytes(b"x" * 4096)
            os.utime(path, (old, old))
    (logs / "app.log").write_text("live log\n")
    bin_dir = host / "opslink-sandbox" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in (Path(__file__).parent / "sandbox").iterdir():
        # hostinfo answers as each host-inspection tool it is installed as.
        for name in HOST_TOOLS if tool.name == "hostinfo" else (tool.name,):
            target = bin_dir / name
            shutil.copyfile(tool, target)
            target.chmod(0o755)
    proc = host / "proc"
    proc.mkdir(exist_ok=True)
    (proc / "loadavg").write_text("0.42 0.35 0.30 2/187 4242\n")


def kill_local_jobs(jobs: Path) -> None:
    """Stop local jobs still running when the stack goes away."""
    for pid_file in jobs.glob("*/script.pid"):
        if (pid_file.parent / "status.json").exists():
            continue
        with suppress(ProcessLookupError, ValueError, PermissionError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


def fake_credentials(home: Path, endpoint_url: str | None) -> None:
    """The emulator (and the handlers it runs in-process) use dummy credentials and only
    the emulator's endpoint, whatever the user's profile, ~/.aws or AWS_* settings say."""
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL") or key in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ):
            del os.environ[key]
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    os.environ["AWS_CONFIG_FILE"] = str(home / ".aws" / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(home / ".aws" / "credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ[key] = value


def hidden_directories() -> list[str]:
    """What a runbook on the emulator must not see: the user's home (as the account
    database and $HOME name it), /root and /home."""
    import pwd

    dirs = [os.environ.get("HOME", ""), "/root", "/home"]
    with suppress(KeyError):
        dirs.append(pwd.getpwuid(os.getuid()).pw_dir)
    return [d for d in dict.fromkeys(os.path.realpath(d) for d in dirs if d) if d != "/"]


def file_seal(log: Any = None) -> str:
    """LOCAL_SANDBOX_HIDE for the local platform: the directories to hide when this
    machine can seal runbooks; else "" and a warning, never silently."""
    import sys

    from opslink.adapters.jobs.local_seal import seal_problem

    problem = seal_problem()
    if problem is None:
        return ":".join(hidden_directories())
    text = (
        f"opslink emulator: WARNING: runbooks are not sealed for files ({problem}); they "
        "run with a scratch HOME and sandbox credentials, but could read files by "
        "absolute path. Enable unprivileged user namespaces (kernel.unprivileged_userns_clone=1) to seal them.\n"
    )
    sys.stderr.write(text)
    if log is not None:
        log.write(text)
    return ""
