"""Shared fixtures. Tests never reach beyond 127.0.0.1: AWS is moto, in-process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# Handlers import from their CodeUri directory, as on Lambda.
for fn in ("ingest", "remediate", "track", "metrics"):
    sys.path.insert(0, str(ROOT / "functions" / fn))

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # tests read state, not EMF on stdout


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture
def event() -> Any:
    return load_event


def create_tables() -> Any:
    """Inside mock_aws: the template's AlertsTable, TicketsTable and JournalTable."""
    from opslink_cli.emulator.template import load_template

    client = boto3.client("dynamodb", region_name="us-east-1")
    resources = load_template(ROOT / "template.yaml")["Resources"]
    for logical in ("AlertsTable", "TicketsTable", "JournalTable"):
        props = resources[logical]["Properties"]
        client.create_table(
            TableName=logical,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
    return client


@pytest.fixture
def ddb() -> Iterator[Any]:
    """moto DynamoDB with the template's AlertsTable, TicketsTable and JournalTable."""
    with mock_aws():
        yield create_tables()


def _redmine_env() -> dict[str, str] | None:
    """REDMINE_URL/REDMINE_API_KEY/REDMINE_FIELD_ID from the environment, else from the
    file scripts/redmine-local.sh writes."""
    values = {
        k: os.environ[k]
        for k in ("REDMINE_URL", "REDMINE_API_KEY", "REDMINE_FIELD_ID")
        if k in os.environ
    }
    state = Path(os.environ.get("REDMINE_STATE", "/tmp/opslink-redmine")) / "env"
    if len(values) < 3 and state.is_file():
        for line in state.read_text().splitlines():
            key, _, value = line.partition("=")
            values.setdefault(key, value)
    if len(values) < 3:
        return None
    try:
        import requests

        requests.get(values["REDMINE_URL"], timeout=3)
    except Exception:
        return None
    return {
        "url": values["REDMINE_URL"],
        "api_key": values["REDMINE_API_KEY"],
        "field_id": values["REDMINE_FIELD_ID"],
    }


REDMINE = _redmine_env()


def pytest_report_header(config: pytest.Config) -> str:
    if REDMINE:
        return f"redmine tier: {REDMINE['url']}"
    return "redmine tier: NOT RUN - no Redmine on 127.0.0.1 (scripts/redmine-local.sh install && start; CI runs it)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if REDMINE:
        return
    if os.environ.get("OPSLINK_REQUIRE_REDMINE") == "1":
        raise pytest.UsageError(
            "OPSLINK_REQUIRE_REDMINE=1 but no Redmine answers (see scripts/redmine-local.sh)"
        )
    selected = [i for i in items if "redmine" not in i.keywords]
    deselected = [i for i in items if "redmine" in i.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def redmine() -> dict[str, str]:
    assert REDMINE is not None
    return REDMINE
