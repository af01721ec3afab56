"""Alert correlation (opslink/correlation.py, correlation_rules.py): rules validated at
load with the file, rule and field named; the grouping failures other tools' users report,
each as a regression test; and properties over any stream of alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslink.correlation import Dependencies, Signal, alarm_family, grouping, safe_grouping
from opslink.correlation_rules import CorrelationRules, load_rules, parse_rules
from opslink.errors import ConfigurationError
from opslink.incident_book import IncidentBook

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NO_DEPS = Dependencies({})


def sig(alert: str, minute: float, name: str = "prod-web-cpu-high", **kw: Any) -> Signal:
    base: dict[str, Any] = {
        "alert_type": "cpu_usage",
        "service": "web",
        "environment": "production",
    }
    return Signal(alert_id=alert, at=T0 + timedelta(minutes=minute), alarm_name=name, **(base | kw))


def run(
    stream: list[tuple[str, Signal | str, float]],
    rules: CorrelationRules | None = None,
    deps: Dependencies = NO_DEPS,
) -> IncidentBook:
    """("alarm", signal, _) places an alert; ("ok", alert_id, minute) resolves it."""
    book, rules = IncidentBook(), rules or CorrelationRules()
    for what, item, minute in stream:
        if what == "alarm":
            assert isinstance(item, Signal)
            book.place(item, grouping(item, rules, deps))
        else:
            book.resolve(str(item), T0 + timedelta(minutes=minute))
    return book


# --- rules at load --------------------------------------------------------------------


def test_the_shipped_rules_load_with_every_builtin_on() -> None:
    rules = load_rules()
    assert rules.rules == [] and rules.builtins.burst and rules.builtins.dependencies
    assert (rules.defaults.window, rules.defaults.max_lifetime) == (600, 1800)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [{name: deploys, window: ten minutes}]", "rule 'deploys' field 'window'"),
        ("rules: [{name: a}, {window: 5m}]", "rule #2 field 'name'"),
        ("rules: [{name: a, group_by: [colour]}]", "unknown key field 'colour'"),
        ("rules: [{name: a, window: 1h, max_lifetime: 10m}]", "shorter than window"),
        ("rules: [{name: a}, {name: a}]", "rule name 'a' is used twice"),
        ("rules: [{name: a, create_on: [OK]}]", "rule 'a' field 'create_on.0'"),
        ("rules: [{name: a, resolve_on: sometimes}]", "rule 'a' field 'resolve_on'"),
        ("groups: []", "field 'groups'"),
        ("rules: [{name: a, match: {colour: red}}]", "rule 'a' field 'match.colour'"),
        ("rules: [", "not valid YAML"),
    ],
)
def test_a_bad_rule_is_refused_with_file_rule_and_field(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        parse_rules(text, "ops/correlation.yaml")
    assert "correlation rules ops/correlation.yaml" in str(err.value)
    assert expected in str(err.value)


def test_durations_read_as_an_operator_writes_them() -> None:
    rules = parse_rules("rules: [{name: a, window: 90s, max_lifetime: 1h}]", "x")
    assert (rules.rules[0].window, rules.rules[0].max_lifetime) == (90, 3600)


def test_the_alarm_family_drops_the_resource() -> None:
    assert alarm_family("prod-web-cpu-high-i-0abc12345def67890") == "prod-web-cpu-high-*"
    assert alarm_family("prod-web-cpu-high-i-0fff00001111aaaa2") == "prod-web-cpu-high-*"
    assert alarm_family("db-7-replica-lag") == "db-*replica-lag"
    assert alarm_family("checkout-latency") == "checkout-latency"


# --- the failures other tools' users report, as regression tests ------------------------


def test_a_resolved_incident_never_takes_a_new_member() -> None:
    book = run([("alarm", sig("A", 0), 0), ("ok", "A", 2), ("alarm", sig("B", 3), 3)])
    first, second = book.decisions
    assert second.incident_id != first.incident_id and not second.joined
    assert book.incidents[second.incident_id].follows == first.incident_id
    assert "resolved: a new incident refers to" in second.why


def test_non_firing_alerts_open_no_incident() -> None:
    book = run([("alarm", sig("A", 0, state="INSUFFICIENT_DATA"), 0),
                ("alarm", sig("B", 1), 1), ("alarm", sig("C", 2), 2)])  # fmt: skip
    a, b, c = book.decisions
    assert "opens no incident" in a.why and a.incident_id != b.incident_id
    assert c.incident_id == b.incident_id and c.joined  # the key's incident is B's


def test_one_member_resolving_never_closes_the_incident_under_resolve_on_all() -> None:
    book = run([("alarm", sig("A", 0), 0), ("alarm", sig("B", 1), 1), ("ok", "A", 2)])
    [incident] = book.incidents.values()
    assert incident.resolved_at is None and incident.firing == {"A": False, "B": True}
    book.resolve("B", T0 + timedelta(minutes=3))
    assert incident.resolved_at == T0 + timedelta(minutes=3)


def test_the_same_alarm_family_across_a_group_is_one_incident() -> None:
    burst = [
        ("alarm", sig(f"A{i}", i * 0.1, name=f"prod-web-cpu-high-i-0abc{i:013x}",
                      dimensions={"AutoScalingGroupName": "web-asg"}), 0.0)
        for i in range(40)
    ]  # fmt: skip
    other_group = sig("X", 1, name="prod-web-cpu-high-i-0def0000000000001",
                      dimensions={"AutoScalingGroupName": "batch-asg"})  # fmt: skip
    book = run([*burst, ("alarm", other_group, 1)])
    assert len({d.incident_id for d in book.decisions[:40]}) == 1
    assert book.decisions[-1].incident_id != book.decisions[0].incident_id


def test_grouping_can_be_switched_off_for_one_route() -> None:
    rules = parse_rules("rules: [{name: canaries-alone, match: {alarm_name: 'canary-*'}, "
                        "group: false}]", "x")  # fmt: skip
    book = run([("alarm", sig("A", 0, name="canary-login"), 0),
                ("alarm", sig("B", 1, name="canary-login"), 1),
                ("alarm", sig("C", 2), 2), ("alarm", sig("D", 3), 3)], rules)  # fmt: skip
    a, b, c, d = book.decisions
    assert a.incident_id != b.incident_id and "grouping off" in b.why
    assert c.incident_id == d.incident_id  # everything else still groups


def test_the_window_extends_with_members_up_to_the_maximum_lifetime() -> None:
    book = run([("alarm", sig(f"A{m}", m), m) for m in (0, 8, 16, 24, 32)])
    ids = [d.incident_id for d in book.decisions]
    assert ids[:4] == [ids[0]] * 4  # each within 10 min of the last: extended
    assert ids[4] != ids[0] and "past its window" in book.decisions[4].why  # 32 min > 30


def test_a_rule_groups_by_its_key_and_opens_on_its_states() -> None:
    rules = parse_rules(
        "rules: [{name: deploys, group_by: [service, 'tag:deployment_id'], window: 5m, "
        "create_on: [ALARM, INSUFFICIENT_DATA]}]", "x")  # fmt: skip
    book = run([("alarm", sig("A", 0, tags={"deployment_id": "d-1"}), 0),
                ("alarm", sig("B", 1, state="INSUFFICIENT_DATA", tags={"deployment_id": "d-1"},
                              alert_type="disk_usage"), 1),
                ("alarm", sig("C", 2, tags={"deployment_id": "d-2"}), 2)], rules)  # fmt: skip
    a, b, c = book.decisions
    assert b.incident_id == a.incident_id and a.rule == "deploys"
    assert c.incident_id != a.incident_id
    assert a.key == "rule:deploys:service=web|tag:deployment_id=d-1"


def test_a_composite_and_its_children_are_one_incident_whichever_fires_first() -> None:
    composite = {"children": ("prod-db-conn", "prod-api-5xx"), "alert_type": "composite",
                 "service": "checkout"}  # fmt: skip
    children_first = run([
        ("alarm", sig("C1", 0, name="prod-db-conn", service="db", alert_type="db"), 0),
        ("alarm", sig("P", 1, name="prod-checkout-health", **composite), 1),
        ("alarm", sig("C2", 2, name="prod-api-5xx", service="api", alert_type="errors"), 2),
    ])  # fmt: skip
    assert len({d.incident_id for d in children_first.decisions}) == 1
    assert "composite over prod-db-conn" in children_first.decisions[1].why
    composite_first = run([
        ("alarm", sig("P", 0, name="prod-checkout-health", **composite), 0),
        ("alarm", sig("C2", 1, name="prod-api-5xx", service="api", alert_type="errors"), 1),
    ])  # fmt: skip
    assert len({d.incident_id for d in composite_first.decisions}) == 1
    assert "part of a composite alarm" in composite_first.decisions[1].why


def test_dependent_services_are_one_incident_rooted_at_the_deepest_dependency() -> None:
    deps = Dependencies({"checkout": ["payments"], "payments": ["payments-db"]})
    book = run([
        ("alarm", sig("A", 0, name="prod-checkout-latency", service="checkout",
                      alert_type="latency"), 0),
        ("alarm", sig("B", 1, name="prod-payments-db-conn", service="payments-db",
                      alert_type="db"), 1),
        ("alarm", sig("C", 2, name="prod-payments-5xx", service="payments", alert_type="errors"), 2),
        ("alarm", sig("D", 3, name="prod-search-latency", service="search",
                      alert_type="latency"), 3),
    ], deps=deps)  # fmt: skip
    a, b, c, d = book.decisions
    assert a.incident_id == b.incident_id == c.incident_id != d.incident_id
    assert book.incidents[a.incident_id].root(deps) == "B"  # payments-db: nothing below it


@pytest.mark.parametrize(
    ("resolve_on", "closed_by"),
    [("first", ["A"]), ("last", ["B"]), ("all", ["B"]), ("never", [])],
)
def test_resolve_on_says_when_the_incident_ends(resolve_on: str, closed_by: list[str]) -> None:
    """A then B join; A resolves, then B: which resolution closes the incident."""
    rules = parse_rules(f"defaults: {{resolve_on: {resolve_on}}}", "x")
    book = run([("alarm", sig("A", 0), 0), ("alarm", sig("B", 1), 1)], rules)
    [incident] = book.incidents.values()
    closing = [
        alert
        for i, alert in enumerate(("A", "B"))
        if book.resolve(alert, T0 + timedelta(minutes=5 + i)) is not None
    ]
    assert closing == closed_by
    assert (incident.resolved_at is None) == (resolve_on == "never")


# --- properties over any stream -------------------------------------------------------

_event = st.tuples(
    st.sampled_from(["alarm", "ok"]),
    st.integers(0, 7),  # which alarm
    st.integers(0, 5),  # service
    st.floats(0, 8, allow_nan=False),  # minutes since the previous event
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_event, min_size=1, max_size=60), st.sampled_from(["all", "first", "last", "never"])
)
def test_no_stream_joins_a_resolved_incident_or_closes_one_early(
    events: list[tuple[str, int, int, float]], resolve_on: str
) -> None:
    rules = parse_rules(f"defaults: {{resolve_on: {resolve_on}}}", "x")
    deps = Dependencies({"s0": ["s1"], "s2": ["s1"]})
    book, minute, firing = IncidentBook(), 0.0, {}  # alarm -> its open alert
    for n, (what, alarm, service, gap) in enumerate(events):
        minute += gap
        at = T0 + timedelta(minutes=minute)
        if what == "alarm" and alarm not in firing:
            s = sig(f"a{n}", minute, name=f"alarm-{alarm}", service=f"s{service}")
            before = {i: inc.resolved_at for i, inc in book.incidents.items()}
            decision = book.place(s, grouping(s, rules, deps))
            if decision.joined:  # never into an incident resolved before this alert
                assert before[decision.incident_id] is None
            firing[alarm] = s.alert_id
        elif what == "ok" and alarm in firing:
            alert = firing.pop(alarm)
            incident = book.incidents[book.of_alert[alert]]
            still = [a for a, on in incident.firing.items() if on and a != alert]
            closed = book.resolve(alert, at)
            if resolve_on == "all" and still:
                assert closed is None  # a child never closes its parent early
            if resolve_on == "never":
                assert closed is None


def test_the_service_map_names_an_unknown_dependency() -> None:
    from opslink.service_map import parse_service_map

    smap = parse_service_map("services: {web: {depends_on: [db]}, db: {}}", "map.yaml")
    assert Dependencies(smap.depends_on()).component("web") == "db"
    with pytest.raises(ConfigurationError, match="service 'web' depends_on 'cache'"):
        parse_service_map("services: {web: {depends_on: [cache]}}", "map.yaml")


def test_a_failing_evaluation_never_costs_the_alert() -> None:
    """A dependency graph it cannot walk (a cycle past any depth) fails grouping for that
    alert: the alert gets an incident of its own and the reason says why."""

    class Broken(Dependencies):
        def component(self, service: str) -> str | None:
            raise RecursionError("maximum recursion depth exceeded")

    s = sig("A", 0)
    g = safe_grouping(s, CorrelationRules(), Broken({}))
    assert g.key is None and g.rule == "error" and "RecursionError" in g.why
    decision = IncidentBook().place(s, g)
    assert not decision.joined and "grouping failed" in decision.why


def test_a_burst_past_the_member_cap_fills_one_incident_then_opens_the_next(
    monkeypatch: Any,
) -> None:
    """IncidentBook decides as the store does: a full incident takes no member."""
    monkeypatch.setattr("opslink.correlation.INCIDENT_MEMBERS_MAX", 2)
    book = run([("alarm", sig(f"a{n}", n * 0.1, name=f"prod-web-cpu-high-i-{n:08x}"), 0)
                for n in range(5)])  # fmt: skip
    sizes = sorted(len(i.firing) for i in book.incidents.values())
    assert sizes == [1, 2, 2]
    last = book.decisions[-1]
    assert not last.joined and "full (2 alerts): a new incident refers to it" in last.why
    assert book.incidents[last.incident_id].follows is not None
