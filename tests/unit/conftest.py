from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.reliability import ReliabilityRecords
from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.ingest import IngestDeps, IngestPolicy
from opslink.remediation_input import RemediationInput
from opslink.service_map import load_service_map


class RecordingWorkflow:
    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        self.stopped: dict[str, str] = {}

    def start_remediation(self, name: str, payload: RemediationInput) -> bool:
        if name in self.started:
            return False
        self.started[name] = payload.model_dump(mode="json")  # the execution's input
        return True

    def stop_remediation(self, name: str, cause: str) -> bool:
        if name not in self.started or name in self.stopped:
            return False
        self.stopped[name] = cause
        return True


class StaticTags:
    def __init__(self, tags: dict[str, dict[str, str]] | None = None) -> None:
        self.by_arn = tags or {}

    def tags(self, alarm_arn: str, fired_at: datetime | None = None) -> dict[str, str]:
        return self.by_arn.get(alarm_arn, {})


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 10, 1, tzinfo=UTC))


@pytest.fixture
def deps(ddb: Any, clock: Clock) -> IngestDeps:
    return build_deps(ddb, clock)


def build_deps(ddb: Any, clock: Clock) -> IngestDeps:
    """Ingest on the real store and builtin ticket system (moto), workflow and tags faked."""
    smap = load_service_map()
    from opslink.adapters.directory.service_map_directory import ServiceMapDirectory

    store = DynamoAlertStore("AlertsTable", ddb)
    return IngestDeps(
        store=store,
        outbox=store.outbox,
        rejections=Bookkeeping(store.table, store.client),
        tickets=BuiltinTicketSystem("TicketsTable", ddb, clock=clock),
        directory=ServiceMapDirectory(smap),
        tags=StaticTags(),
        workflow=RecordingWorkflow(),
        service_map=smap,
        flaps=ReliabilityRecords("AlertsTable", ddb),
        clock=clock,
    )


@pytest.fixture
def policy() -> IngestPolicy:
    return IngestPolicy()
