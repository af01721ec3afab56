"""The emulator's sandbox is sealed: a runbook run by `opslink demo`, `local run` or
`local serve` never sees the user's HOME, ~/.aws or AWS_* settings, never runs the AWS
CLI installed on the machine, and every AWS endpoint it is given is on 127.0.0.1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opslink_cli import samples
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

PROBE = """#!/usr/bin/env bash
set -u
. "$(dirname "$0")/lib.sh"
env | sort > "$OPSLINK_TARGET_ROOT/probe.env"
cat "$HOME/.aws/credentials" > "$OPSLINK_TARGET_ROOT/probe.creds" 2>/dev/null || true
aws sts get-caller-identity > "$OPSLINK_TARGET_ROOT/probe.sts" 2>&1
aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$ASG_NAME" \\
  --query 'AutoScalingGroups[0].[DesiredCapacity,MaxSize]' --output text > "$OPSLINK_TARGET_ROOT/probe.asg"
aws ec2 terminate-instances --instance-ids i-0c46a8ed1db42c70f > "$OPSLINK_TARGET_ROOT/probe.ec2" 2>&1
echo "ec2 exit $?" >> "$OPSLINK_TARGET_ROOT/probe.ec2"
"""


@pytest.fixture
def user_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with a real-looking AWS set-up: a profile in ~/.aws, keys in the
    environment, and an `aws` on PATH that records that it was called."""
    home = tmp_path / "user-home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[profile prod]\nregion = eu-west-1\n")
    (home / ".aws" / "credentials").write_text(
        "[prod]\naws_access_key_id = AKIAUSERREALKEY00001\naws_secret_access_key = user-secret\n"
    )
    bin_dir = tmp_path / "user-bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/real-aws-called\n')
    (bin_dir / "aws").chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://autoscaling.eu-west-1.amazonaws.com")
    return tmp_path


def test_runbook_on_the_emulator_cannot_reach_the_users_aws(user_machine: Path) -> None:
    catalog = user_machine / "catalog"
    (catalog / "scripts").mkdir(parents=True)
    (catalog / "scripts" / "probe.sh").write_text(PROBE)
    (catalog / "scripts" / "lib.sh").write_text(
        (Path(__file__).parents[2] / "runbooks" / "scripts" / "lib.sh").read_text()
    )
    (catalog / "probe.yaml").write_text(
        "name: probe\ndescription: prints what a runbook sees\ntags: [cpu_usage]\n"
        "environments: [any]\ntimeout_seconds: 30\nscript: scripts/probe.sh\n"
        "targets: {pick: one}\n"
        "parameters:\n  ASG_NAME: {from: dimension.AutoScalingGroupName, pattern: '^[a-z-]{1,40}$'}\n"
    )
    overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(catalog)}}
    with LocalStack(log_path=user_machine / "lambda.log", env_overrides=overrides) as local:
        stack = Stack(local)
        put_cloudwatch_alarm("prod-checkout-api-cpu-high", samples.REGION)
        local.publish_alarm(
            samples.metric_alarm(
                "prod-checkout-api-cpu-high",
                samples.T0,
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            )
        )
        local.wait_for_executions(timeout=60)
        host = local.state_dir / "host"  # type: ignore[operator]
        env = dict(
            line.split("=", 1)
            for line in (host / "probe.env").read_text().splitlines()
            if "=" in line
        )
        sts = (host / "probe.sts").read_text()
        asg = (host / "probe.asg").read_text()
        ec2 = (host / "probe.ec2").read_text()
        creds = (host / "probe.creds").read_text() if (host / "probe.creds").exists() else ""
        assert stack.alerts.list_alerts()

    assert not (user_machine / "real-aws-called").exists(), "the machine's aws CLI ran"
    assert env["HOME"] != str(user_machine / "user-home")
    assert not env["HOME"].startswith(str(user_machine / "user-home"))
    assert "AWS_PROFILE" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1")
    assert str(user_machine) not in env["AWS_CONFIG_FILE"]
    assert str(user_machine / "user-bin") not in env["PATH"]
    assert "AKIAUSERREALKEY00001" not in json.dumps(env) + creds
    assert json.loads(sts)["Arn"].endswith("user/opslink-sandbox")
    assert asg.split() == ["2", "10"]
    assert "not simulated; nothing was sent to AWS" in ec2 and "ec2 exit 252" in ec2
    # The user's files are untouched.
    assert (
        "AKIAUSERREALKEY00001" in (user_machine / "user-home" / ".aws" / "credentials").read_text()
    )
