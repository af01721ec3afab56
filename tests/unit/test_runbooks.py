"""Runbook catalog loading, matching, filtering, ranking, parameters and polling schedule."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from opslink.errors import ConfigurationError, ParameterRejectedError
from opslink.models import Severity
from opslink.remediation.blast_radius import resolve_hosts
from opslink.remediation.catalog import load_catalog, parse_runbook
from opslink.remediation.parameters import resolve_parameters
from opslink.remediation.policy import next_wait, polls_needed
from opslink.remediation.selection import Stats, eligible, rank, seeded_rng
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import RunbookKind
from opslink.service_map import load_service_map
from tests.conftest import ROOT

CATALOG = load_catalog(str(ROOT / "runbooks"))


def alert(**kw: object) -> RemediationInput:
    base: dict[str, object] = {
        "alert_id": "A-1",
        "ticket_id": "OPS-1",
        "service": "checkout",
        "environment": "production",
        "alert_type": "cpu_usage",
        "severity": Severity.HIGH,
        "notification": {},
        "dimensions": {"InstanceId": "i-0123456789abcdef0"},
    }
    base.update(kw)
    return RemediationInput.model_validate(base)


def test_shipped_catalog_covers_every_alert_type() -> None:
    names = {rb.name for rb in CATALOG}
    assert {
        "restart_service",
        "scale_up",
        "clear_cache",
        "cleanup_logs",
        "archive_data",
        "dns_refresh",
        "check_firewall",
        "check_connection_pool",
        "restart_db",
        "health_check",
        "diagnostics",
    } <= names
    for alert_type in (
        "cpu_usage",
        "memory_usage",
        "disk_usage",
        "network_latency",
        "database_connection",
        "health_check",
    ):
        tiers = {tier for _, tier in eligible(CATALOG, alert_type, "checkout", "production")}
        assert "alert_type" in tiers, alert_type


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: xx\n", "field 'description'"),
        (
            "name: Bad Name\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 10\nscript: s.sh\n",
            "field 'name'",
        ),
        (
            "name: ok\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 1\nscript: s.sh\n",
            "field 'timeout_seconds'",
        ),
        (
            "name: ok\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 10\nscript: missing.sh\n",
            "script: missing.sh not found",
        ),
        (
            "name: ok\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 10\nscript: ../etc/passwd\n",
            "outside the catalog",
        ),
        (
            "name: ok\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 10\nscript: s.sh\nparameters:\n  P: {pattern: '^[a-z]+$', default: 'ABC'}\n",
            "parameters.P.default",
        ),
        (
            "name: ok\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 10\nscript: s.sh\nparameters:\n  P: {pattern: '(['}\n",
            "parameters.P.pattern",
        ),
        (
            "name: ok\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 10\nscript: s.sh\nparameters:\n  bad-name: {pattern: 'x', default: x}\n",
            "environment variables",
        ),
        ("name: [", "not valid YAML"),
    ],
)
def test_malformed_entries_fail_with_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "s.sh").write_text("true\n")
    with pytest.raises(ConfigurationError) as err:
        parse_runbook(text, "runbooks/x.yaml", tmp_path)
    assert "runbooks/x.yaml" in str(err.value) and message in str(err.value)


def test_duplicate_names_fail(tmp_path: Path) -> None:
    (tmp_path / "s.sh").write_text("true\n")
    entry = "name: same\ndescription: d\ntags: [generic]\nenvironments: [any]\ntimeout_seconds: 10\nscript: s.sh\n"
    (tmp_path / "a.yaml").write_text(entry)
    (tmp_path / "b.yaml").write_text(entry)
    with pytest.raises(ConfigurationError, match="already used"):
        load_catalog(str(tmp_path))


def test_tiers_and_environment_filter() -> None:
    matches = dict(
        (rb.name, tier) for rb, tier in eligible(CATALOG, "cpu_usage", "checkout", "production")
    )
    assert matches == {"restart_service": "alert_type", "scale_up": "alert_type"}
    staging_only = {rb.name for rb, _ in eligible(CATALOG, "cpu_usage", "checkout", "development")}
    assert "scale_up" not in staging_only  # scale_up is for production and staging only
    # Diagnostics are matched on their own, never among the candidates for the fix.
    evidence = dict(
        (rb.name, tier)
        for rb, tier in eligible(
            CATALOG, "cpu_usage", "checkout", "development", kind=RunbookKind.DIAGNOSTIC
        )
    )
    assert evidence == {"diagnostics": "generic"}  # environments: [any]
    kinds = {rb.name: rb.spec.kind for rb in CATALOG}
    assert {n for n, k in kinds.items() if k is RunbookKind.DIAGNOSTIC} == {
        "diagnostics",
        "health_check",
        "check_connection_pool",
        "check_firewall",
    }


def test_ranking_prefers_specific_matches_without_evidence() -> None:
    generic = [(rb, "generic") for rb in CATALOG if rb.name == "cleanup_logs"]
    matches = eligible(CATALOG, "cpu_usage", "checkout", "production") + generic
    wins = {"generic": 0, "alert_type": 0}
    for i in range(400):
        best = rank(matches, {}, random.Random(i))[0]
        wins[best.tier] += 1
    assert wins["alert_type"] == 400  # the most specific tier wins: generic never runs here


def test_generic_runbook_never_beats_a_specific_one_even_with_better_evidence() -> None:
    matches = eligible(CATALOG, "database_connection", "payments-db", "production")
    stats = {"diagnostics": Stats(51, 1), "check_connection_pool": Stats(1, 11)}
    picks = {rank(matches, stats, random.Random(i))[0].runbook.name for i in range(200)}
    assert "diagnostics" not in picks


def test_evidence_outweighs_the_prior() -> None:
    matches = eligible(CATALOG, "cpu_usage", "checkout", "production")
    stats = {"restart_service": Stats(1, 9), "scale_up": Stats(10, 2), "diagnostics": Stats(1, 6)}
    picks = [rank(matches, stats, random.Random(i))[0].runbook.name for i in range(300)]
    assert picks.count("scale_up") > 0.9 * 300


def test_new_runbook_still_gets_tried() -> None:
    matches = eligible(CATALOG, "cpu_usage", "checkout", "production")
    stats = {"restart_service": Stats(7, 5)}  # decent, but scale_up has never run
    picks = [rank(matches, stats, random.Random(i))[0].runbook.name for i in range(500)]
    assert 0.05 * 500 < picks.count("scale_up") < 0.7 * 500


def test_selection_is_reproducible_per_alert() -> None:
    matches = eligible(CATALOG, "disk_usage", "logs", "production")
    first = [c.runbook.name for c in rank(matches, {}, seeded_rng("A-42"))]
    assert first == [c.runbook.name for c in rank(matches, {}, seeded_rng("A-42"))]


SMAP = load_service_map()


def test_parameters_from_alert_defaults_and_patterns() -> None:
    restart = next(rb for rb in CATALOG if rb.name == "restart_service")
    assert resolve_parameters(restart, alert(), SMAP) == {
        "SERVICE": "checkout",
        "WAIT_SECONDS": "30",
    }
    with pytest.raises(ParameterRejectedError) as err:
        resolve_parameters(restart, alert(service="web; rm -rf /"), SMAP)
    assert "SERVICE='web; rm -rf /'" in str(err.value) and "not run" in str(err.value)
    scale = next(rb for rb in CATALOG if rb.name == "scale_up")
    with pytest.raises(ParameterRejectedError, match="ASG_NAME"):
        resolve_parameters(scale, alert(), SMAP)  # no AutoScalingGroupName dimension
    checkout_asg = alert(dimensions={"AutoScalingGroupName": "checkout-web-asg"})
    assert resolve_parameters(scale, checkout_asg, SMAP)["ASG_NAME"] == "checkout-web-asg"
    with pytest.raises(ParameterRejectedError, match="not a AutoScalingGroupName of service"):
        resolve_parameters(scale, alert(dimensions={"AutoScalingGroupName": "billing-asg"}), SMAP)


class Fleet:
    def __init__(self, groups: dict[str, list[str]], tagged: dict[str, list[str]]) -> None:
        self.groups, self.tagged = groups, tagged

    def group_instances(self, group: str, account: str = "", region: str = "") -> list[str]:
        return self.groups.get(group, [])

    def tagged_instances(
        self, key: str, value: str, account: str = "", region: str = ""
    ) -> list[str]:
        return self.tagged.get(f"{key}={value}", [])


def test_hosts_from_the_instance_dimension_then_the_group_then_the_service_tag() -> None:
    restart = next(rb for rb in CATALOG if rb.name == "restart_service")
    fleet = Fleet({"web": ["i-0000000000000000b", "i-0000000000000000a"]},
                  {"Service=checkout": ["i-0000000000000000c"]})  # fmt: skip
    assert resolve_hosts(restart, alert(), fleet).hosts == ("i-0123456789abcdef0",)
    by_group = resolve_hosts(restart, alert(dimensions={"AutoScalingGroupName": "web"}), fleet)
    assert by_group.hosts == ("i-0000000000000000a", "i-0000000000000000b")
    assert by_group.batches == (("i-0000000000000000a",), ("i-0000000000000000b",))
    assert "Auto Scaling group web" in by_group.source
    by_tag = resolve_hosts(restart, alert(dimensions={}), fleet)
    assert by_tag.hosts == ("i-0000000000000000c",) and "Service=checkout" in by_tag.source


def test_poll_schedule_is_geometric_capped_and_respects_timeout() -> None:
    assert [next_wait(a, 15, 600, 10_000) for a in range(7)] == [15, 30, 60, 120, 240, 480, 600]
    assert next_wait(5, 15, 600, 42.2) == 43  # never waits past the runbook's timeout
    assert next_wait(0, 15, 600, -5) == 15  # past the timeout: the Choice cancels first
    assert polls_needed(10, 15, 600) == 1
    assert polls_needed(30 * 60, 15, 900) == 7
    # Logarithmic growth: 180x longer jobs need only a few more polls.
    assert polls_needed(30 * 60, 15, 900) - polls_needed(10, 15, 900) <= 6
