from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink_cli import connection
from opslink_cli.emulator import LocalStack


class Stack:
    """A fresh local stack with handy views on its state."""

    def __init__(self, local: LocalStack) -> None:
        self.local = local
        ddb = local.client("dynamodb")
        self.alerts = local.alert_store()
        self.tickets = BuiltinTicketSystem(local.names["TicketsTable"], ddb)
        self.sfn = local.client("stepfunctions")

    def ingest(self, event: Any) -> list[dict[str, Any]]:
        payload, error = self.local.invoke("IngestFunction", event)
        assert error is None, payload
        assert isinstance(payload, dict)
        return list(payload["results"])

    def history(self, execution_name: str) -> list[dict[str, Any]]:
        arn = self.local.execution_arn(execution_name)
        return list(self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])

    def states_entered(self, execution_name: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_name)
            if "stateEnteredEventDetails" in e
        ]


@pytest.fixture
def stack(tmp_path: Any) -> Iterator[Stack]:
    """A stack whose runbook catalog is empty: ingest's own behaviour, no remediation."""
    empty = tmp_path / "catalog"
    empty.mkdir()
    overrides = {"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(empty)}}
    with LocalStack(log_path=tmp_path / "lambda.log", env_overrides=overrides) as local:
        yield Stack(local)


def job_groups(state_dir: Path | str | None, runbook_part: str) -> list[int]:
    """Process-group ids of the local jobs whose runbook name contains `runbook_part`
    (the runner records each job's group leader; a sealed script sees itself as PID 1 of
    its own namespace, so its own pid says nothing from outside)."""
    jobs = Path(state_dir or "") / "jobs"
    return [
        int((d / "script.pid").read_text())
        for d in jobs.iterdir()
        if runbook_part in json.loads((d / "job.json").read_text())["runbook"]
        and (d / "script.pid").exists()
    ]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def operator_connection(local: LocalStack, stack: Stack) -> Any:
    """What `opslink` connects to, on this emulator."""
    import boto3

    return connection.Connection(
        stack.alerts,
        stack.tickets,
        stack.sfn,
        local.arns["RemediationStateMachine"],
        session=boto3.Session(region_name="us-east-1"),
    )
