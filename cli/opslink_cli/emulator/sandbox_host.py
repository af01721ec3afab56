"""The sandbox host runbooks act on in the emulator: a scratch filesystem with stand-in
tools (sandbox/), fake credentials and no inherited AWS settings."""

from __future__ import annotations

import os
import shutil
import signal
import time
from contextlib import suppress
from pathlib import Path

from opslink_cli.emulator.deploy import REGION


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
        target = bin_dir / tool.name
        shutil.copyfile(tool, target)
        target.chmod(0o755)


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
