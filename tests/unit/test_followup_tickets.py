"""An OK resolves the alert's hand-over tickets too, however they were linked: before the
OK (counted on the alert), while the OK is on its way (the count moved under it), or on
an alert stored before hand-overs were counted (its links looked up). An alert with none
is resolved without looking its tickets up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opslink.errors import StoreError
from opslink.ingest import IngestPolicy, ingest_event
from opslink.models import AlertStatus, Priority, TicketDraft, TicketStatus, TicketType
from opslink_cli import samples
from tests.unit.fakes import counted_calls, opened_alert

NAME = "prod-checkout-api-cpu-high"


def _ok(deps: Any) -> Any:
    event = samples.sns_event(samples.metric_alarm(
        NAME, samples.T0 + timedelta(minutes=20), state="OK", old="ALARM",
        dimensions={"InstanceId": "i-0123456789abcdef0"}))  # fmt: skip
    [result] = ingest_event(event, deps, IngestPolicy())
    return result


def _handover(deps: Any, alert_id: str) -> str:
    draft = TicketDraft(alert_id=f"{alert_id}:manual", key=f"{alert_id}:manual",
                        title="[FAILED_AUTO] checkout", description="hand-over",
                        ticket_type=TicketType.INCIDENT, priority=Priority.HIGH,
                        due_at=datetime.now(UTC))  # fmt: skip
    ticket = deps.tickets.create(draft)
    deps.store.link_followup_ticket(alert_id, deps.tickets.name, ticket.id, "manual")
    return str(ticket.id)


def test_an_alert_without_handover_is_resolved_without_looking_its_tickets_up(deps: Any) -> None:
    alert_id = opened_alert(deps)["alert_id"]
    assert deps.store.get(alert_id).followups == 0
    calls = counted_calls(deps.store)
    assert _ok(deps).outcome.value == "resolved"
    assert deps.store.get(alert_id).status is AlertStatus.RESOLVED
    assert calls["query"] == 0  # the alert's links (its other tickets) are not looked up


def test_a_handover_linked_before_the_ok_is_resolved_with_it(deps: Any) -> None:
    alert_id = opened_alert(deps)["alert_id"]
    handover = _handover(deps, alert_id)
    assert deps.store.get(alert_id).followups == 1
    assert _ok(deps).outcome.value == "resolved"
    assert deps.tickets.get(handover).status is TicketStatus.RESOLVED


def test_a_handover_linked_while_the_ok_is_on_its_way_is_resolved_with_it(deps: Any) -> None:
    """The OK read the alert with no hand-over; one is linked before its resolution lands:
    the resolution's condition fails, it is made again and the tickets are looked up."""
    alert_id = opened_alert(deps)["alert_id"]
    inner_resolve = deps.store.resolve
    linked: list[str] = []

    def resolve_after_a_link(*args: Any, **kwargs: Any) -> bool:
        if not linked:
            linked.append(_handover(deps, alert_id))
        return bool(inner_resolve(*args, **kwargs))

    deps.store.resolve = resolve_after_a_link
    assert _ok(deps).outcome.value == "resolved"
    assert deps.tickets.get(linked[0]).status is TicketStatus.RESOLVED
    assert deps.store.get(alert_id).status is AlertStatus.RESOLVED


def test_an_alert_stored_before_handovers_were_counted_has_its_tickets_looked_up(
    deps: Any,
) -> None:
    alert_id = opened_alert(deps)["alert_id"]
    handover = _handover(deps, alert_id)
    deps.store.client.update_item(TableName=deps.store.table,
                                  Key={"pk": {"S": f"ALERT#{alert_id}"}, "sk": {"S": "ALERT"}},
                                  UpdateExpression="REMOVE followups")  # fmt: skip
    assert deps.store.get(alert_id).followups is None
    calls = counted_calls(deps.store)
    assert _ok(deps).outcome.value == "resolved"
    assert calls["query"] == 1  # its links, looked up
    assert deps.tickets.get(handover).status is TicketStatus.RESOLVED


def test_a_handover_for_an_alert_that_is_gone_is_refused_by_name(deps: Any) -> None:
    with pytest.raises(StoreError, match="alert A-missing not found: builtin ticket OPS-1"):
        deps.store.link_followup_ticket("A-missing", "builtin", "OPS-1", "manual")
    assert deps.store.links("A-missing") == []  # nothing half-written


@pytest.mark.parametrize("with_handover", [False, True])
def test_a_human_closing_the_alerts_ticket_resolves_its_handover_too(
    deps: Any, clock: Any, with_handover: bool
) -> None:
    """The alert's own ticket closed by a human: a hand-over counted on the alert is
    resolved with it (looked up); with none, nothing is looked up."""
    from opslink.ticket_closure import apply_ticket
    from tests.unit.fakes import tracking_on

    alert = deps.store.get(opened_alert(deps)["alert_id"])
    handover = _handover(deps, alert.alert_id) if with_handover else None
    deps.tickets.set_status(alert.ticket_id, TicketStatus.CLOSED, note="fixed by hand")
    looked_up: list[str] = []
    inner_links = deps.store.links
    deps.store.links = lambda alert_id: looked_up.append(alert_id) or inner_links(alert_id)
    applied = apply_ticket(tracking_on(deps, clock=clock), deps.tickets.get(alert.ticket_id),
                           "sweep")  # fmt: skip
    assert applied.outcome == "resolved"
    assert deps.store.get(alert.alert_id).status is AlertStatus.RESOLVED
    if handover:
        assert deps.tickets.get(handover).status is TicketStatus.RESOLVED
    assert looked_up == ([alert.alert_id] if with_handover else [])


@pytest.mark.parametrize("with_handover", [False, True])
def test_an_alert_stable_after_flapping_resolves_its_handover_too(
    deps: Any, clock: Any, with_handover: bool
) -> None:
    """The reconciler resolving a flapping alert whose alarm stayed OK: a hand-over counted
    on it is resolved with it (looked up); with none, nothing is looked up."""
    from opslink import reconciler

    alert_id = opened_alert(deps)["alert_id"]
    handover = _handover(deps, alert_id) if with_handover else None
    deps.store.claim_slot(alert_id, "flapping_since", None, samples.T0)
    assert _ok(deps).outcome.value == "ignored"  # flapping: the OK is only noted
    clock.now = samples.T0 + timedelta(hours=2)  # OK for longer than the flap window
    looked_up: list[str] = []
    inner_links = deps.store.links
    deps.store.links = lambda alert_id: looked_up.append(alert_id) or inner_links(alert_id)
    assert reconciler.reconcile(deps, IngestPolicy())["stable"] == [alert_id]
    assert deps.store.get(alert_id).status is AlertStatus.RESOLVED
    if handover:
        assert deps.tickets.get(handover).status is TicketStatus.RESOLVED
    assert looked_up == ([alert_id] if with_handover else [])
