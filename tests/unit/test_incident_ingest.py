"""Alert correlation on the ingest path (moto, the builtin ticket system): alerts of one
cause share one incident and its ticket; a member clearing never closes the incident's
ticket while others fire; a resolved incident takes no member; closing the ticket
resolves every member; grouping off keeps each alert on its own ticket."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslink.adapters.store.incident_keys import IncidentKeys
from opslink.correlation_rules import parse_rules
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.ingest.grouping import Correlator, load_correlator
from opslink.models import AlertStatus, Outcome, TicketStatus
from opslink.ticket_closure import apply_ticket
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import tracking_on

T0 = samples.T0
ASG = {"AutoScalingGroupName": "search-asg"}


def cpu(instance: int, at_min: float = 0, state: str = "ALARM") -> dict[str, Any]:
    """The same CPU alarm on one instance of the group (the alarm family of a burst)."""
    return samples.sns_event(
        samples.metric_alarm(
            f"prod-search-cpu-high-i-0abc{instance:013x}",
            T0 + timedelta(minutes=at_min),
            state=state,
            old="OK" if state == "ALARM" else "ALARM",
            dimensions=ASG | {"InstanceId": f"i-0abc{instance:013x}"},
        )
    )


@pytest.fixture
def grouped(deps: IngestDeps, ddb: Any) -> IngestDeps:
    deps.incidents = IncidentKeys("AlertsTable", ddb)
    deps.correlator = load_correlator(None, deps.service_map.depends_on())
    return deps


def one(event: Any, deps: IngestDeps, policy: IngestPolicy) -> Any:
    [result] = ingest_event(event, deps, policy)
    return result


def comments(deps: IngestDeps, ticket_id: str) -> list[str]:
    ticket = deps.tickets.get(ticket_id)
    assert ticket is not None
    return [c.get("body", c.get("text", "")) for c in ticket.comments]


def test_a_burst_across_one_group_is_one_incident_one_ticket_one_remediation(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    results = []
    for n in range(5):
        results.append(one(cpu(n, at_min=n * 0.5), grouped, policy))
        clock.advance(seconds=30)
    assert {r.outcome for r in results} == {Outcome.CREATED}
    assert len({r.ticket_id for r in results}) == 1  # one ticket
    assert [r.execution_name is not None for r in results] == [True] + [False] * 4
    opener = grouped.store.get(results[0].alert_id)
    assert opener is not None and opener.incident_role == "opened"
    assert opener.incident_why and "builtin:burst" in opener.incident_why
    for r in results[1:]:
        member = grouped.store.get(r.alert_id)
        assert member is not None and member.incident_role == "joined"
        assert member.incident_id == opener.incident_id and member.ticket_id == r.ticket_id
        assert "joined incident" in r.reason
    ticket = grouped.tickets.get(results[0].ticket_id)
    assert ticket is not None and f"This ticket is incident {opener.incident_id}'s" in (
        ticket.description
    )
    joined = [c for c in comments(grouped, results[0].ticket_id) if "joins incident" in c]
    assert len(joined) == 4 and "alarm family" in joined[0]
    # A redelivery of a member is a duplicate: finished without an execution of its own.
    again = one(cpu(3, at_min=1.5), grouped, policy)
    assert again.outcome is Outcome.DUPLICATE and again.ticket_id == results[0].ticket_id


def test_a_member_clearing_comments_and_the_last_one_resolves_the_ticket_once(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    first, second, third = (one(cpu(n, at_min=n), grouped, policy) for n in range(3))
    ticket_id = first.ticket_id
    clock.advance(minutes=5)
    ok = one(cpu(0, at_min=4, state="OK"), grouped, policy)  # the opener clears first
    assert ok.outcome is Outcome.RESOLVED
    ticket = grouped.tickets.get(ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    assert any("stays open: 2 of its 3 alarm(s) still firing" in c
               for c in comments(grouped, ticket_id))  # fmt: skip
    one(cpu(2, at_min=5, state="OK"), grouped, policy)
    assert grouped.tickets.get(ticket_id).status is TicketStatus.OPEN  # type: ignore[union-attr]
    one(cpu(1, at_min=6, state="OK"), grouped, policy)
    ticket = grouped.tickets.get(ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.RESOLVED
    assert sum("all 3 alarm(s) of incident" in c for c in comments(grouped, ticket_id)) == 1
    for r in (first, second, third):
        alert = grouped.store.get(r.alert_id)
        assert alert is not None and alert.status is AlertStatus.RESOLVED
    # A resolved incident takes no member: the next burst opens a new incident.
    later = one(cpu(7, at_min=7), grouped, policy)
    stored = grouped.store.get(later.alert_id)
    assert stored is not None and stored.incident_role == "opened"
    assert later.ticket_id != ticket_id and "resolved: a new incident refers to" in (
        stored.incident_why or ""
    )


def test_the_last_clearings_answer_lost_after_its_one_write_is_finished_by_the_retry(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """The one write that takes the last member out and resolves the incident commits,
    and its answer is lost (a read timeout): the OK is retried and finishes — the ticket
    resolved with the incident's note once, the alert resolved, nothing written twice."""
    from botocore.exceptions import ReadTimeoutError

    first, second = (one(cpu(n, at_min=n), grouped, policy) for n in range(2))
    ticket_id = first.ticket_id
    clock.advance(minutes=5)
    one(cpu(1, at_min=4, state="OK"), grouped, policy)  # a member clears: it stays open
    spotted: list[bool] = []
    lost: list[str] = []

    def spot(params: Any, **_: Any) -> None:  # the request as sent
        spotted.append(b"DELETE firing_ids :a SET resolved_at" in bytes(params.get("body", b"")))

    def lose(model: Any, **_: Any) -> None:  # after DynamoDB did the work
        if spotted.pop() and not lost:
            lost.append(model.name)
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    client = grouped.store.client  # type: ignore[attr-defined]
    client.meta.events.register("before-call.dynamodb", spot)
    client.meta.events.register("after-call.dynamodb", lose)
    [failed] = ingest_event(cpu(0, at_min=5, state="OK"), grouped, policy)
    assert lost and failed.retryable, failed
    state = grouped.incidents.incident(grouped.store.get(first.alert_id).incident_id or "")  # type: ignore[union-attr]
    assert state is not None and state.resolved_at is not None  # the write was done
    again = one(cpu(0, at_min=5, state="OK"), grouped, policy)
    assert again.outcome is Outcome.RESOLVED
    ticket = grouped.tickets.get(ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.RESOLVED
    assert sum("all 2 alarm(s) of incident" in c for c in comments(grouped, ticket_id)) == 1
    for r in (first, second):
        alert = grouped.store.get(r.alert_id)
        assert alert is not None and alert.status is AlertStatus.RESOLVED


def test_closing_the_incident_ticket_resolves_every_member_and_the_incident(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock, ddb: Any
) -> None:
    results = [one(cpu(n, at_min=n), grouped, policy) for n in range(3)]
    ticket_id = results[0].ticket_id
    grouped.tickets.set_status(ticket_id, TicketStatus.CLOSED, note="fixed by hand")
    ticket = grouped.tickets.get(ticket_id)
    assert ticket is not None
    track = tracking_on(grouped, clock=clock, incidents=grouped.incidents)  # fmt: skip
    applied = apply_ticket(track, ticket, "sweep")
    assert applied.outcome == "resolved" and "3 alerts of incident" in applied.reason
    for r in results:
        alert = grouped.store.get(r.alert_id)
        assert alert is not None and alert.status is AlertStatus.RESOLVED
    assert grouped.incidents is not None
    state = grouped.incidents.incident(results[0].alert_id.replace("A-", "INC-"))
    assert state is not None and state.resolved_at is not None
    after = one(cpu(9, at_min=4), grouped, policy)  # within the window: a new incident
    assert after.ticket_id != ticket_id and after.execution_name is not None


def test_grouping_off_for_a_route_keeps_each_alert_on_its_own_ticket(
    grouped: IngestDeps, policy: IngestPolicy
) -> None:
    rules = parse_rules(
        "version: 1\nrules:\n  - name: cpu-alone\n    match: {alarm_name: 'prod-search-cpu-*'}"
        "\n    group: false\n",
        "test.yaml",
    )
    assert grouped.correlator is not None
    grouped.correlator = replace(grouped.correlator, rules=rules)
    results = [one(cpu(n, at_min=n), grouped, policy) for n in range(3)]
    assert len({r.ticket_id for r in results}) == 3
    alert = grouped.store.get(results[1].alert_id)
    assert alert is not None and alert.incident_id is None
    assert alert.incident_why == "cpu-alone: rule cpu-alone: grouping off"


def test_a_rule_that_fails_to_evaluate_never_costs_the_alert(
    grouped: IngestDeps, policy: IngestPolicy
) -> None:
    class Broken(Correlator):
        pass

    assert grouped.correlator is not None
    broken = grouped.correlator.rules.model_copy(update={"rules": [object()]})
    grouped.correlator = Broken(broken, grouped.correlator.dependencies)
    r = one(cpu(1), grouped, policy)
    assert r.outcome is Outcome.CREATED and r.ticket_id and r.execution_name
    alert = grouped.store.get(r.alert_id)
    assert alert is not None and alert.incident_id is None
    assert alert.incident_why and alert.incident_why.startswith("error: grouping failed")


def test_services_that_depend_on_each_other_share_one_incident(
    grouped: IngestDeps, policy: IngestPolicy
) -> None:
    def alarm(name: str, at_min: float) -> dict[str, Any]:
        return samples.sns_event(samples.metric_alarm(name, T0 + timedelta(minutes=at_min)))

    db = one(alarm("prod-payments-db-cpu-high", 0), grouped, policy)
    web = one(alarm("prod-checkout-latency-high", 2), grouped, policy)
    assert web.ticket_id == db.ticket_id and web.execution_name is None
    alone = one(alarm("prod-cdn-edge-latency-high", 3), grouped, policy)
    assert alone.ticket_id != db.ticket_id


def test_a_deeper_dependency_joining_later_becomes_the_root_and_is_remediated(
    grouped: IngestDeps, policy: IngestPolicy
) -> None:
    def alarm(name: str, at_min: float) -> dict[str, Any]:
        return samples.sns_event(samples.metric_alarm(name, T0 + timedelta(minutes=at_min)))

    web = one(alarm("prod-checkout-latency-high", 0), grouped, policy)
    db = one(alarm("prod-payments-db-cpu-high", 1), grouped, policy)
    assert db.ticket_id == web.ticket_id and web.execution_name and db.execution_name
    assert "the incident's root" in db.reason
    assert grouped.incidents is not None
    state = grouped.incidents.incident(web.alert_id.replace("A-", "INC-"))
    assert state is not None and state.root == db.alert_id
    assert any("payments-db is the deepest dependency so far" in c
               for c in comments(grouped, web.ticket_id))  # fmt: skip
    again = one(alarm("prod-payments-db-cpu-high", 1), grouped, policy)  # redelivered
    assert again.outcome is Outcome.DUPLICATE and again.execution_name == db.execution_name
    peer = one(alarm("prod-payments-db-latency-high", 2), grouped, policy)  # not deeper
    assert peer.ticket_id == web.ticket_id and peer.execution_name is None


def test_a_member_before_its_incident_ticket_exists_is_retried_without_fallback(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opslink.errors import TicketSystemError
    from opslink.ingest import grouping

    monkeypatch.setattr(grouping, "TICKET_WAIT_READS", 1)
    real_create = grouped.tickets.create
    notices: list[str] = []

    class Notifier:
        def notify(self, subject: str, text: str, attributes: dict[str, str]) -> None:
            notices.append(subject)

    grouped.notifier = Notifier()  # type: ignore[assignment]

    def failing(draft: Any) -> Any:
        raise TicketSystemError("ticket system away")

    monkeypatch.setattr(grouped.tickets, "create", failing)
    opener = one(cpu(0), grouped, policy)
    assert opener.retryable
    member = one(cpu(1, at_min=1), grouped, policy)
    assert member.retryable and "failed to open its ticket" in member.reason
    assert len(notices) == 1  # the opener's fallback notice only
    clock.advance(minutes=3)
    # still down: the member's retry tries the opener's ticket, fails, is retried again
    assert one(cpu(1, at_min=1), grouped, policy).retryable
    assert len(notices) == 1  # the operators were told once
    monkeypatch.setattr(grouped.tickets, "create", real_create)
    clock.advance(seconds=1)  # past the lease the last attempt gave back
    done = one(cpu(0), grouped, policy)
    assert done.outcome is Outcome.CREATED and done.execution_name
    linked = one(cpu(1, at_min=1), grouped, policy)
    assert linked.outcome is Outcome.CREATED and linked.ticket_id == done.ticket_id


def test_alerts_of_one_burst_delivered_at_once_share_one_ticket(
    grouped: IngestDeps, policy: IngestPolicy
) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()
    results: list[Any] = []

    def deliver(n: int) -> None:
        for _ in range(6):  # a retried delivery, as Lambda retries it
            r = one(cpu(n, at_min=n * 0.1), grouped, policy)
            if not r.retryable:
                results.append(r)
                return

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    assert len({r.ticket_id for r in results}) == 1
    assert sum(r.execution_name is not None for r in results) == 1


def test_a_burst_delivered_at_once_is_placed_without_a_retry(
    grouped: IngestDeps, policy: IngestPolicy
) -> None:
    """Members joining one incident at once refused each other (a version on the key):
    a burst of 40 gave up on a third of its alarms ("concurrent changes, giving up"),
    each left to a Lambda retry minutes later. Joins now hold on what the incident still
    takes, so every delivery of the burst is placed the first time."""
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()
    results: list[Any] = []
    start = threading.Barrier(24)

    def deliver(n: int) -> None:
        start.wait()
        results.append(one(cpu(n, at_min=n * 0.01), grouped, policy))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.reason for r in results if r.retryable] == []
    assert len({r.ticket_id for r in results}) == 1
    assert sum(r.execution_name is not None for r in results) == 1


def _launched(grouped: IngestDeps, clock: Clock, execution: str | None) -> tuple[Any, Any, Any]:
    """The execution's payload, remediate's deps on the same store, and its job launched."""
    from opslink.remediation import run_task
    from tests.unit.fakes import FakePlatform, remediate_deps

    payload = grouped.workflow.started[execution]  # type: ignore[attr-defined]
    rdeps = remediate_deps(grouped, FakePlatform(clock), clock)
    rdeps.incidents = grouped.incidents
    selection = {"runbook": {"name": "restart_service", "tier": "alert_type",
                             "timeout_seconds": 300}, "approval": False, "reason": "test"}  # fmt: skip
    job = run_task({"action": "launch", "alert": payload, "selection": selection},
                   rdeps)["job"]  # fmt: skip
    return payload, rdeps, job


def test_the_openers_verified_fix_keeps_the_ticket_open_while_a_member_fires(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """Remediation runs once, for the incident's opener; its verified fix resolves its own
    alert and says on the shared ticket what still fires; the last member's OK resolves it."""
    from opslink.remediation import run_task

    first = one(cpu(0), grouped, policy)
    second = one(cpu(1, at_min=1), grouped, policy)
    assert second.execution_name is None
    payload, rdeps, job = _launched(grouped, clock, first.execution_name)
    out = run_task({"action": "resolve", "alert": payload, "job": job}, rdeps)
    assert out["alert_was_open"]
    assert grouped.store.get(first.alert_id).status is AlertStatus.RESOLVED  # type: ignore[union-attr]
    ticket = grouped.tickets.get(first.ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    assert any("1 of its 2 alarm(s) still firing" in c for c in comments(grouped, ticket.id))
    one(cpu(1, at_min=5, state="OK"), grouped, policy)
    assert grouped.tickets.get(first.ticket_id).status is TicketStatus.RESOLVED  # type: ignore[union-attr]


def test_a_verified_fix_that_resolves_its_incident_writes_the_incident_once(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """The fix reads the incident with its alert: the member leaving the firing set and
    the incident's resolution are one write, and the shared ticket is resolved once."""
    from opslink.remediation import run_task

    first = one(cpu(0), grouped, policy)
    payload, rdeps, job = _launched(grouped, clock, first.execution_name)
    on_incident: list[str] = []
    client = grouped.store.client  # type: ignore[attr-defined]

    def seen(model: Any, params: Any, **_: Any) -> None:
        if "INCIDENT#" in str(params.get("Key", "")):
            on_incident.append(model.name)

    client.meta.events.register("before-parameter-build.dynamodb", seen)
    out = run_task({"action": "resolve", "alert": payload, "job": job}, rdeps)
    assert out["alert_was_open"]
    assert on_incident == ["UpdateItem"]  # out of the firing set and resolved, together
    alert = grouped.store.get(first.alert_id)
    assert alert is not None and alert.status is AlertStatus.RESOLVED
    state = grouped.incidents.incident(alert.incident_id or "")  # type: ignore[union-attr]
    assert state is not None and state.firing == () and state.resolved_at is not None
    assert "all 1 alarm(s)" in state.resolution
    ticket = grouped.tickets.get(first.ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.RESOLVED


@pytest.mark.parametrize("composite_first", [False, True])
def test_a_composite_alarm_and_its_children_are_one_incident(
    grouped: IngestDeps, policy: IngestPolicy, composite_first: bool
) -> None:
    """A composite joins the incident of a child that fired first; a child firing after
    its composite joins the composite's. (The children's own keys differ: without the
    link each would be an incident of its own.)"""

    def child(name: str, at_min: float) -> dict[str, Any]:
        return samples.sns_event(samples.metric_alarm(
            name, T0 + timedelta(minutes=at_min), metric="5XXError",
            dimensions={"DistributionId": "E2ABC"}))  # fmt: skip

    composite = samples.sns_event(samples.composite_alarm("prod-cdn-edge-degraded",
                                                          T0 + timedelta(minutes=1)))  # fmt: skip
    if composite_first:
        top = one(composite, grouped, policy)
        kid = one(child("prod-cdn-edge-latency", 2), grouped, policy)
        assert "is part of composite alarm prod-cdn-edge-degraded" in kid.reason
    else:
        kid = one(child("prod-cdn-edge-5xx", 0), grouped, policy)
        top = one(composite, grouped, policy)
        assert "composite over prod-cdn-edge-5xx" in top.reason
    assert top.ticket_id == kid.ticket_id
    other = one(child("prod-search-latency-high", 3), grouped, policy)  # not a child
    assert other.ticket_id != top.ticket_id


def test_a_composite_held_back_by_its_actions_suppressor_joins_the_suppressors_incident(
    grouped: IngestDeps, policy: IngestPolicy
) -> None:
    """CloudWatch held the composite's actions because its ActionsSuppressor (the known
    cause) is in ALARM: the composite joins the suppressor's incident."""
    cause = one(samples.sns_event(samples.metric_alarm(
        "prod-network-core-down", T0, metric="PacketLoss",
        dimensions={"Router": "core-1"})), grouped, policy)  # fmt: skip
    event = samples.eventbridge_event("prod-cdn-edge-degraded", T0 + timedelta(minutes=2))
    detail = event["detail"]
    detail["configuration"] = {
        "alarmRule": "ALARM(prod-cdn-edge-5xx) OR ALARM(prod-cdn-edge-latency)",
        "actionsSuppressor": samples.alarm_arn("prod-network-core-down"),
        "actionsSuppressorWaitPeriod": 120, "actionsSuppressorExtensionPeriod": 180,
    }  # fmt: skip
    detail["state"]["actionsSuppressedBy"] = "Alarm"
    held = one(event, grouped, policy)
    assert held.ticket_id == cause.ticket_id and held.execution_name is None
    assert "suppressed by prod-network-core-down (in ALARM)" in held.reason
    # Not held back (WaitPeriod: the suppressor is not in ALARM): its own incident.
    detail["state"]["actionsSuppressedBy"] = "WaitPeriod"
    event["resources"] = [samples.alarm_arn("prod-cdn-edge-other")]
    detail["alarmName"] = "prod-cdn-edge-other"
    detail["configuration"]["alarmRule"] = "ALARM(prod-cdn-origin-5xx)"
    alone = one(event, grouped, policy)
    assert alone.ticket_id != cause.ticket_id


def test_an_incident_ticket_is_reminded_once_not_once_per_alarm(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    from opslink.track_service import remind

    results = [one(cpu(n, at_min=n), grouped, policy) for n in range(4)]
    clock.advance(hours=3)
    track = tracking_on(grouped, clock=clock, incidents=grouped.incidents)  # fmt: skip
    assert remind(track) == [results[0].ticket_id]
    assert sum("Reminder for" in c for c in comments(grouped, results[0].ticket_id)) == 1


def test_an_incident_s_members_missing_data_share_one_comment_per_period(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """Members passing through INSUFFICIENT_DATA take the incident's comment slot (the
    one their re-fires take): each pass noted on its alert, one said on the ticket."""
    results = [one(cpu(n, at_min=n * 0.1), grouped, policy) for n in range(6)]
    clock.advance(minutes=5)
    for n in range(1, 6):
        r = one(cpu(n, at_min=3 + n * 0.1, state="INSUFFICIENT_DATA"), grouped, policy)
        assert r.outcome is Outcome.IGNORED and r.alert_id == results[n].alert_id
    said = [c for c in comments(grouped, str(results[0].ticket_id)) if "INSUFFICIENT_DATA" in c]
    assert len(said) == 1
    for r in results[1:]:
        member = grouped.store.get(r.alert_id)
        assert member is not None and member.notes[-1]["kind"] == "insufficient_data"
    clock.advance(hours=1, minutes=1)  # the next period: one more
    one(cpu(1, at_min=70, state="INSUFFICIENT_DATA"), grouped, policy)
    one(cpu(2, at_min=70.1, state="INSUFFICIENT_DATA"), grouped, policy)
    said = [c for c in comments(grouped, str(results[0].ticket_id)) if "INSUFFICIENT_DATA" in c]
    assert len(said) == 2


def test_a_big_burst_tells_its_ticket_of_the_first_joins_then_at_each_doubling(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """41 instance alarms of one group: one incident, one ticket, every alarm on it; the
    ticket hears of the first 10 joins one by one, then at 20 and 40 alarms."""
    results = []
    for n in range(41):
        results.append(one(cpu(n, at_min=n * 0.05), grouped, policy))
        clock.advance(seconds=3)
    assert {r.outcome for r in results} == {Outcome.CREATED}
    assert len({r.ticket_id for r in results}) == 1
    joined = [c for c in comments(grouped, results[0].ticket_id) if "joins incident" in c]
    assert [re.search(r"(\d+) alarm\(s\) in this incident", c).group(1) for c in joined] == [  # type: ignore[union-attr]
        *map(str, range(2, 11)),
        "20",
        "40",
    ]
    assert "at 40 and so on" in joined[-2] and "opslink incidents show" in joined[-1]
    opener = grouped.store.get(results[0].alert_id)
    assert opener is not None and opener.incident_id is not None
    incident = grouped.incidents.incident(opener.incident_id)  # type: ignore[union-attr]
    assert incident is not None and len(incident.members) == 41

    # The group recovers: every alarm returns to OK; the ticket hears of clearings at 40
    # and 20 still firing, then of the last 10 one by one, and is resolved once.
    clock.advance(minutes=5)
    for n in range(41):
        assert one(cpu(n, at_min=5 + n * 0.05, state="OK"), grouped, policy).outcome is (
            Outcome.RESOLVED
        )
    said = comments(grouped, results[0].ticket_id)
    still = [int(m.group(1)) for c in said if (m := re.search(r"(\d+) of its 41 alarm", c))]
    assert still == [40, 20, *range(10, 0, -1)]
    assert sum("all 41 alarm(s) of incident" in c for c in said) == 1
    ticket = grouped.tickets.get(results[0].ticket_id)
    assert ticket is not None and ticket.status is TicketStatus.RESOLVED


def test_an_incident_s_flapping_members_comment_once_per_period_not_once_each(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """Every member's re-fires are counted on its own alert; the shared ticket hears of
    one member's per comment period (and the opener's own, as before)."""
    members = 6
    results = [one(cpu(n, at_min=n * 0.1), grouped, policy) for n in range(members)]
    ticket_id = results[0].ticket_id
    assert len({r.ticket_id for r in results}) == 1
    for hour in range(2):  # every member re-fires every 10 minutes for two hours
        for step in range(6):
            clock.advance(minutes=10)
            at = 1 + hour * 60 + step * 10
            for n in range(1, members):
                assert (
                    one(cpu(n, at_min=at + n * 0.01), grouped, policy).outcome is Outcome.DUPLICATE
                )
    said = [c for c in comments(grouped, str(ticket_id)) if "fired again" in c]
    assert 1 <= len(said) <= 2  # one per period for the members (two periods)
    for r in results[1:]:
        member = grouped.store.get(r.alert_id)
        assert member is not None and member.occurrences == 1 + 12  # each counted


def test_the_roots_run_covers_the_bursts_other_hosts_within_max_targets(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock
) -> None:
    """One run for the burst: the root's host is the canary, the members' hosts (same
    service, type, environment; each checked like any target) the batches; past the
    runbook's max_targets none is added and the plan says so."""
    from opslink.remediation import run_task
    from tests.unit.fakes import FakePlatform, remediate_deps

    def on(instance: str, at_min: float) -> dict[str, Any]:
        return samples.sns_event(samples.metric_alarm(
            f"prod-search-cpu-high-{instance}", T0 + timedelta(minutes=at_min),
            dimensions={"InstanceId": instance}))  # fmt: skip

    hosts = [f"i-0abc{n:013x}" for n in range(6)]
    first = one(on(hosts[0], 0), grouped, policy)
    for n, host in enumerate(hosts[1:3], start=1):
        one(on(host, n), grouped, policy)
    platform = FakePlatform(clock)
    rdeps = remediate_deps(grouped, platform, clock)
    rdeps.incidents = grouped.incidents
    payload = grouped.workflow.started[first.execution_name]  # type: ignore[attr-defined]
    selection = {"runbook": {"name": "restart_service", "tier": "alert_type",
                             "timeout_seconds": 300}, "approval": False, "reason": "test"}  # fmt: skip
    job = run_task({"action": "launch", "alert": payload, "selection": selection}, rdeps)["job"]
    assert sorted(job["hosts"]) == hosts[:3] and job["batches"][0] == [hosts[0]]  # canary
    assert "and 2 more of incident" in job["host_source"]
    assert platform.launched[0].targets == {"InstanceId": (hosts[0],)}
    # Three more: six hosts, past restart_service's max_targets (4): only the root's runs.
    from opslink.remediation.blast_radius import resolve_hosts, with_incident_hosts
    from opslink.remediation_input import RemediationInput

    for n, host in enumerate(hosts[3:], start=3):
        one(on(host, n), grouped, policy)
    a, rb = RemediationInput.model_validate(payload), rdeps.runbook("restart_service")
    plan = with_incident_hosts(resolve_hosts(rb, a, rdeps.hosts), rb, a, grouped.incidents,
                               grouped.store)  # fmt: skip
    assert plan.hosts == (hosts[0],) and "not added (more than max_targets 4)" in plan.source


def test_the_reconciler_finishes_an_opener_and_its_waiting_member_onto_one_ticket(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both deliveries ran out of retries while the ticket system was away: the
    reconciler finishes them from the decision kept on their locks — one ticket, the
    member on it, one execution."""
    from opslink import reconciler
    from opslink.errors import TicketSystemError
    from opslink.ingest import grouping

    monkeypatch.setattr(grouping, "TICKET_WAIT_READS", 1)
    real_create = grouped.tickets.create

    def failing(draft: Any) -> Any:
        raise TicketSystemError("ticket system away")

    monkeypatch.setattr(grouped.tickets, "create", failing)
    opener, member = one(cpu(0), grouped, policy), one(cpu(1, at_min=1), grouped, policy)
    assert opener.retryable and member.retryable
    monkeypatch.setattr(grouped.tickets, "create", real_create)
    clock.advance(minutes=5)
    done = reconciler.reconcile(grouped, policy)
    assert sorted(done["finished"]) == sorted([opener.alert_id, member.alert_id])
    first, second = grouped.store.get(opener.alert_id), grouped.store.get(member.alert_id)
    assert first is not None and second is not None
    assert first.ticket_id == second.ticket_id and first.execution_name
    assert second.incident_role == "joined" and second.execution_name is None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["ALARM", "OK"]), st.integers(0, 4), st.integers(1, 9)),
        min_size=1,
        max_size=10,
    )
)
def test_any_sequence_keeps_one_open_ticket_per_incident_and_resolves_it_once(
    steps: list[tuple[str, int, int]],
) -> None:
    """Any interleaving of ALARMs and OKs of one burst family: every alert is on exactly
    one ticket; a ticket is resolved only when no alert on it is still open (resolve_on:
    all); an open alert's ticket is never resolved; the final OKs leave nothing open."""
    from moto import mock_aws

    from tests.conftest import create_tables
    from tests.unit.conftest import build_deps

    with mock_aws():
        ddb = create_tables()
        clock = Clock(T0)
        deps = build_deps(ddb, clock)
        deps.incidents = IncidentKeys("AlertsTable", ddb)
        deps.correlator = load_correlator(None, deps.service_map.depends_on())
        policy = IngestPolicy(flap_transitions=1000)  # flapping is another rule's concern
        minute = 0.0
        for state, host, gap in steps:
            minute += gap
            clock.now = T0 + timedelta(minutes=minute, seconds=5)
            [r] = ingest_event(cpu(host, at_min=minute, state=state), deps, policy)
            assert not r.retryable, r.reason
        for host in range(5):  # everything clears
            minute += 1
            clock.now = T0 + timedelta(minutes=minute, seconds=5)
            ingest_event(cpu(host, at_min=minute, state="OK"), deps, policy)
        alerts = list(deps.store.list_alerts(limit=500))
        for alert in alerts:
            assert alert.ticket_id and alert.status is AlertStatus.RESOLVED
            ticket = deps.tickets.get(alert.ticket_id)
            assert ticket is not None and ticket.status is TicketStatus.RESOLVED
            # A re-fire within the reopen window reopens the ticket for a new incident: one
            # resolution note per incident, never two for one.
            notes = re.findall(r"Incident (INC-\w+) resolved:", " ".join(
                c.get("text", "") for c in ticket.comments))  # fmt: skip
            assert len(notes) == len(set(notes)), notes


def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A member's waits for its incident's ticket, recorded instead of slept."""
    from opslink.ingest import grouping

    slept: list[float] = []
    mine, real = threading.current_thread(), grouping.time.sleep

    def sleep(seconds: float) -> None:  # time.sleep is the process's: only this thread's
        if threading.current_thread() is mine:
            slept.append(seconds)
        else:
            real(seconds)

    monkeypatch.setattr(grouping.time, "sleep", sleep)
    return slept


def test_a_member_does_not_wait_for_an_opener_whose_delivery_failed(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ticket system fails the opener's delivery: a member arriving then is retried
    at once (its delivery says why), not after seconds of waiting for a ticket nobody is
    making; once the opener's retry made it, the member's retry joins it."""
    from opslink.errors import TicketSystemError

    slept = _no_sleep(monkeypatch)
    real_create = grouped.tickets.create

    def failing(draft: Any) -> Any:
        raise TicketSystemError("ticket system away")

    monkeypatch.setattr(grouped.tickets, "create", failing)
    opener = one(cpu(0), grouped, policy)
    member = one(cpu(1, at_min=0.5), grouped, policy)
    assert opener.retryable and member.retryable
    assert slept == [] and "failed to open its ticket" in member.reason
    monkeypatch.setattr(grouped.tickets, "create", real_create)
    clock.advance(minutes=1)
    assert one(cpu(0), grouped, policy).outcome is Outcome.CREATED  # the opener's retry
    joined = one(cpu(1, at_min=0.5), grouped, policy)
    assert (
        joined.outcome is Outcome.CREATED
        and joined.ticket_id == grouped.store.get(opener.alert_id).ticket_id
    )  # type: ignore[union-attr]


def test_one_reconciler_pass_finishes_an_incident_whose_members_fired_before_its_opener(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries arrive out of order while the ticket system is away: the opener's alarm
    is the newest, so the reconciler lists its members first. It does not wait on them
    (a wait per member would spend its time budget before it reached the opener): one
    pass gives the opener its ticket and then joins every member to it."""
    from opslink import reconciler
    from opslink.errors import TicketSystemError

    slept = _no_sleep(monkeypatch)
    real_create = grouped.tickets.create

    def failing(draft: Any) -> Any:
        raise TicketSystemError("ticket system away")

    monkeypatch.setattr(grouped.tickets, "create", failing)
    opener = one(cpu(0, at_min=4), grouped, policy)  # arrives first, fired last
    members = [one(cpu(n, at_min=n), grouped, policy) for n in (1, 2, 3)]
    assert all(r.retryable for r in [opener, *members])
    monkeypatch.setattr(grouped.tickets, "create", real_create)
    clock.advance(minutes=5)
    done = reconciler.reconcile(grouped, policy)
    ids = [opener.alert_id, *(m.alert_id for m in members)]
    assert sorted(done["finished"]) == sorted(ids) and done["failed"] == []
    assert slept == []
    alerts = [grouped.store.get(i) for i in ids]
    assert len({a.ticket_id for a in alerts if a}) == 1 and all(a and a.ticket_id for a in alerts)
    assert [a.incident_role for a in alerts if a] == ["opened", "joined", "joined", "joined"]
    assert len(grouped.tickets.list()) == 1  # type: ignore[attr-defined]


def test_a_member_s_retry_opens_the_incident_ticket_its_failed_opener_left(
    grouped: IngestDeps, policy: IngestPolicy, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The opener's delivery failed (its retries may have run out); the ticket system is
    back: the first member retry makes the incident's ticket — the opener's, with its
    remediation — and joins it, instead of every member waiting for the reconciler."""
    from opslink.errors import TicketSystemError

    _no_sleep(monkeypatch)
    real_create = grouped.tickets.create

    def failing(draft: Any) -> Any:
        raise TicketSystemError("ticket system away")

    monkeypatch.setattr(grouped.tickets, "create", failing)
    opener = one(cpu(0), grouped, policy)
    assert opener.retryable and one(cpu(1, at_min=0.5), grouped, policy).retryable
    monkeypatch.setattr(grouped.tickets, "create", real_create)
    clock.advance(minutes=1)
    member = one(cpu(1, at_min=0.5), grouped, policy)
    assert member.outcome is Outcome.CREATED and member.execution_name is None
    first = grouped.store.get(opener.alert_id)
    assert first is not None and first.ticket_id == member.ticket_id and first.execution_name
    assert first.incident_role == "opened"
    assert len(grouped.tickets.list()) == 1  # type: ignore[attr-defined]
    assert len(grouped.workflow.started) == 1  # type: ignore[attr-defined]
    # The opener's own retry, later, is a duplicate of the work done: nothing twice.
    again = one(cpu(0), grouped, policy)
    assert again.outcome is Outcome.DUPLICATE and again.ticket_id == member.ticket_id
