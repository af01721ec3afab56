"""Cold-start configuration errors and the remediation tasks' own rules."""

from __future__ import annotations

from typing import Any

import pytest

from opslink.config import IngestSettings
from opslink.errors import ConfigurationError, InvalidTaskInput
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.remediation import run_task
from opslink_cli import samples
from tests.unit.fakes import FakeAlarms, remediation_on


def test_missing_configuration_is_named() -> None:
    with pytest.raises(ConfigurationError) as err:
        IngestSettings.from_environ({"ALERTS_TABLE": "alerts"})
    text = str(err.value)
    assert "TICKETS_TABLE" in text and "STATE_MACHINE_ARN" in text


def test_bad_policy_value_is_named() -> None:
    env = {
        "ALERTS_TABLE": "alerts",
        "TICKETS_TABLE": "tickets",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        "OK_POLICY": "explode",
    }
    with pytest.raises(ConfigurationError, match="OK_POLICY"):
        IngestSettings.from_environ(env)


def _opened(deps: IngestDeps) -> Any:
    [r] = ingest_event(
        samples.sns_event(samples.metric_alarm("prod-search-cpu-high", samples.T0)),
        deps,
        IngestPolicy(),
    )
    return deps.workflow.started[r.execution_name]  # type: ignore[attr-defined]


def test_record_failure_notes_alert_and_ticket(deps: IngestDeps) -> None:
    payload = _opened(deps)
    rdeps = remediation_on(deps)
    error = {
        "Error": "StoreError",
        "Cause": '{"errorMessage": "DynamoDB throttled", "errorType": "StoreError"}',
    }
    run_task({"action": "record_failure", "alert": payload, "error": error}, rdeps)
    alert = deps.store.get(payload["alert_id"])
    assert alert and alert.notes[-1]["kind"] == "remediation_failed"
    assert "StoreError: DynamoDB throttled" in alert.notes[-1]["text"]
    ticket = deps.tickets.get(payload["ticket_id"])
    assert ticket and "needs a human" in ticket.comments[-1]["text"]


def test_select_without_catalog_leaves_alert_to_humans(deps: IngestDeps) -> None:
    payload = _opened(deps)
    out = run_task(
        {"action": "select", "alert": payload},
        remediation_on(deps),
    )
    assert out["runbook"] is None and "left to humans" in out["reason"]


@pytest.mark.parametrize(
    ("event", "message"),
    [({"action": "launch_rockets", "alert": None}, "field 'alert'"), ({}, "field 'action'")],
)
def test_bad_task_input_is_specific(deps: IngestDeps, event: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTaskInput, match=message):
        run_task(
            event,
            remediation_on(deps),
        )


def test_json_settings_are_parsed_and_bad_json_is_named() -> None:
    from opslink.config import RemediateSettings

    base = {"ALERTS_TABLE": "alerts", "TICKETS_TABLE": "tickets"}
    ok = RemediateSettings.from_environ(
        base | {"RUNDECK_JOBS": '{"restart_service": "uuid-1"}', "TICKET_OPTIONS": ""}
    )
    assert ok.rundeck_jobs == {"restart_service": "uuid-1"} and ok.ticket_options == {}
    with pytest.raises(ConfigurationError, match="TICKET_OPTIONS: Value error, not a JSON object"):
        RemediateSettings.from_environ(base | {"TICKET_OPTIONS": "{alert_field_id: 3}"})


def test_select_honours_tiers_and_never_picks_a_diagnostic(deps: Any) -> None:
    """database_connection: check_connection_pool is a diagnostic (evidence, never the
    fix), so the remediation is restart_db, which needs approval; never the generic
    diagnostics; orders-db has restart_db as its exact match."""
    from opslink.remediation.catalog import load_catalog
    from tests.conftest import ROOT

    catalog = load_catalog(str(ROOT / "runbooks"))
    rdeps = remediation_on(deps, catalog=catalog, alarms=FakeAlarms())
    base = {
        "alert_id": "A-1",
        "ticket_id": None,
        "alarm_name": "prod-payments-db-connections",
        "alert_type": "database_connection",
        "environment": "production",
        "severity": "high",
        "notification": {},
    }
    for i in range(20):
        alert = {**base, "alert_id": f"A-{i}", "service": "payments-db"}
        chosen = run_task({"action": "select", "alert": alert}, rdeps)
        assert chosen["runbook"]["name"] == "restart_db" and chosen["approval"]
        assert chosen["runbook"]["tier"] == "alert_type"
    chosen = run_task({"action": "select", "alert": {**base, "service": "orders-db"}}, rdeps)
    assert chosen["runbook"]["name"] == "restart_db" and chosen["approval"]
    assert chosen["runbook"]["tier"] == "exact"
