"""Enrichment order: alarm tags, then the service map, then naming conventions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opslink.enrichment import enrich
from opslink.errors import ConfigurationError
from opslink.models import Alarm, AlarmKind, AlarmSource, AlarmState, MetricRef, Severity
from opslink.service_map import load_service_map, parse_service_map

SMAP = load_service_map()


def alarm(
    name: str, metric: str | None = "CPUUtilization", dims: dict[str, str] | None = None
) -> Alarm:
    return Alarm(
        name=name,
        arn=f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}",
        account_id="123456789012",
        region="eu-west-1",
        state=AlarmState.ALARM,
        state_changed_at=datetime(2026, 11, 27, 10, tzinfo=UTC),
        kind=AlarmKind.METRIC,
        source=AlarmSource.SNS,
        metrics=(MetricRef(namespace="AWS/EC2", name=metric, dimensions=dims or {}),)
        if metric
        else (),
    )


def test_tags_win_over_map_and_name() -> None:
    enr = enrich(
        alarm("prod-checkout-api-cpu-high"),
        {
            "Service": "search",
            "Team": "night-shift",
            "Environment": "stg",
            "Severity": "critical",
            "alert_type": "Memory Usage",
        },
        SMAP,
    )
    assert (enr.service, enr.team, enr.environment, enr.severity, enr.alert_type) == (
        "search",
        "night-shift",
        "staging",
        Severity.CRITICAL,
        "memory_usage",
    )
    assert enr.sources == {
        "service": "tag",
        "team": "tag",
        "environment": "tag",
        "alert_type": "tag",
        "severity": "tag",
    }


def test_service_map_by_alias_gives_team_owner_and_criticality() -> None:
    enr = enrich(alarm("prod-checkout-api-cpu-high"), {}, SMAP)
    assert enr.service == "checkout"
    assert enr.team == "payments" and enr.owner == "alice@example.com"
    assert enr.critical_service is True
    assert enr.sources["service"] == "service_map"


def test_service_map_by_dimension_pattern() -> None:
    enr = enrich(
        alarm("db-conn-alarm-17", "DatabaseConnections", {"DBInstanceIdentifier": "payments-db-2"}),
        {},
        SMAP,
    )
    assert enr.service == "payments-db"
    assert enr.alert_type == "database_connection"
    assert enr.service_kind == "database"


def test_naming_convention_for_unknown_service() -> None:
    enr = enrich(alarm("dev-inventory-memory-warning", metric=None), {}, SMAP)
    assert enr.service == "inventory"
    assert enr.environment == "development"
    assert enr.alert_type == "memory_usage"
    assert enr.severity is Severity.MEDIUM
    assert enr.sources["service"] == "naming"


def test_metric_name_decides_alert_type_before_name_words() -> None:
    enr = enrich(alarm("prod-search-disk-something", "CPUUtilization"), {}, SMAP)
    assert enr.alert_type == "cpu_usage"


def test_cpu_high_in_a_name_is_not_a_severity() -> None:
    assert enrich(alarm("prod-search-cpu-high"), {}, SMAP).severity is SMAP.defaults.severity


def test_explicit_severity_words_in_names() -> None:
    assert enrich(alarm("prod-search-cpu-critical"), {}, SMAP).severity is Severity.CRITICAL
    assert enrich(alarm("P2-prod-search-cpu"), {}, SMAP).severity is Severity.HIGH


def test_environment_defaults_from_service_map() -> None:
    assert enrich(alarm("checkout-cpu"), {}, SMAP).environment == "production"


def test_unparseable_name_falls_back_to_unknown_service() -> None:
    enr = enrich(alarm("!!!", metric=None), {}, SMAP)
    assert enr.service == "unknown" and enr.alert_type == "generic"


def test_malformed_service_map_names_file_and_field() -> None:
    with pytest.raises(ConfigurationError) as err:
        parse_service_map("services:\n  web:\n    tem: x\n", "my-map.yaml")
    assert "my-map.yaml" in str(err.value) and "services.web.tem" in str(err.value)
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        parse_service_map("services: [", "bad.yaml")
