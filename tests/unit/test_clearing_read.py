"""An OK that resolves reads everything it decides from at once (the alert, the alarm's
flap history, its ticket's outbox count) and records its state change with the
resolution: four calls in all. The outbox count it trusts is kept exactly by the outbox
itself, so the order of comments and the flap damping hold as before."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from opslink.ingest import IngestPolicy, ingest_event
from opslink.models import AlertStatus, TicketStatus
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import counted_calls, opened_alert

NAME = "prod-checkout-api-cpu-high"


def _deliver(deps: Any, minutes: int, state: str) -> Any:
    old = "ALARM" if state == "OK" else "OK"
    event = samples.sns_event(samples.metric_alarm(
        NAME, samples.T0 + timedelta(minutes=minutes), state=state, old=old,
        dimensions={"InstanceId": "i-0123456789abcdef0"}))  # fmt: skip
    [result] = ingest_event(event, deps, IngestPolicy())
    return result


def _oks(deps: Any, alert_id: str) -> list[Any]:
    fp = deps.store.get(alert_id).fingerprint
    return [t for t, state in deps.flaps.transitions(fp) if state == "OK"]


def test_an_ok_that_resolves_makes_four_calls(deps: Any) -> None:
    alert_id = opened_alert(deps)["alert_id"]
    parts = (deps.store, deps.store.journal, deps.flaps, deps.outbox, deps.tickets)
    counters = [counted_calls(p) for p in parts]
    assert _deliver(deps, 20, "OK").outcome.value == "resolved"
    total = sum((c for c in counters), Counter())
    # lock; alert + chain head + flap history + outbox count; the ticket's state with its
    # note; the resolving transaction (with the OK in the flap history)
    assert total == Counter(get_item=1, batch_get_item=1, update_item=1, transact_write_items=1)
    alert = deps.store.get(alert_id)
    assert alert.status is AlertStatus.RESOLVED
    assert deps.tickets.get(alert.ticket_id).status is TicketStatus.RESOLVED
    assert _oks(deps, alert_id) == [samples.T0 + timedelta(minutes=20)]


def test_an_ok_delivered_twice_is_recorded_once(deps: Any) -> None:
    alert_id = opened_alert(deps)["alert_id"]
    assert _deliver(deps, 20, "OK").outcome.value == "resolved"
    assert _deliver(deps, 20, "OK").outcome.value == "ignored"
    assert len(_oks(deps, alert_id)) == 1


def test_an_ok_for_an_alert_resolved_meanwhile_is_still_recorded(deps: Any) -> None:
    """Someone resolved the alert between the OK's read and its resolution: the OK still
    happened, and flap damping counts it."""
    alert_id = opened_alert(deps)["alert_id"]
    inner = deps.store.resolve

    def resolved_first(alert: Any, *args: Any, **kwargs: Any) -> bool:
        if deps.store.get(alert.alert_id).status is AlertStatus.OPEN:  # a human, first
            inner(alert, {"by": "human", "how": "ticket closed"}, alert.triggered_at)
        return bool(inner(alert, *args, **kwargs))

    deps.store.resolve = resolved_first
    assert _deliver(deps, 20, "OK").outcome.value == "duplicate"
    assert _oks(deps, alert_id) == [samples.T0 + timedelta(minutes=20)]


def test_flapping_is_still_caught_with_the_oks_recorded_at_resolution(deps: Any) -> None:
    policy = IngestPolicy()
    minute = 0
    opened_alert(deps)
    for _ in range(policy.flap_transitions):
        minute += 1
        _deliver(deps, minute, "OK")
        minute += 1
        _deliver(deps, minute, "ALARM")
    open_alerts = list(deps.store.open_alerts())
    assert len(open_alerts) == 1 and open_alerts[0].flapping_since is not None
    minute += 1
    result = _deliver(deps, minute, "OK")  # a flapping alarm's OK leaves the ticket open
    assert result.outcome.value == "ignored" and "flapping" in result.reason
    assert deps.store.get(open_alerts[0].alert_id).status is AlertStatus.OPEN


def test_the_ok_note_still_waits_behind_comments_queued_for_the_ticket(deps: Any) -> None:
    alert_id = opened_alert(deps)["alert_id"]
    ticket_id = deps.store.get(alert_id).ticket_id
    deps.outbox.queue_comment(ticket_id, f"{alert_id}:earlier", "Earlier comment.",
                              samples.T0, alert_id)  # fmt: skip
    assert _deliver(deps, 20, "OK").outcome.value == "resolved"
    texts = deps.tickets.comment_texts(ticket_id)
    earlier = next(i for i, t in enumerate(texts) if t.startswith("Earlier comment."))
    ok = next(i for i, t in enumerate(texts) if "returned to OK" in t)
    assert earlier < ok
    assert not deps.outbox.has_queued(ticket_id)
    assert deps.tickets.get(ticket_id).status is TicketStatus.RESOLVED


def test_the_outbox_count_follows_what_waits(deps: Any, clock: Clock) -> None:
    outbox = deps.outbox
    assert not outbox.has_queued("T-1")
    outbox.queue_comment("T-1", "a", "first", clock(), "a1")
    outbox.queue_comment("T-1", "a", "first", clock(), "a1")  # the same key: kept once
    outbox.queue_comment("T-1", "b", "second", clock(), "a1")
    outbox.comment_delivered("T-1", "a")
    assert outbox.has_queued("T-1")  # "b" still waits
    outbox.comment_delivered("T-1", "a")  # delivered twice (two drainers): counted once
    assert outbox.has_queued("T-1")
    outbox.comment_delivered("T-1", "b")
    assert not outbox.has_queued("T-1")
    assert outbox.queued_comments("T-1") == []
    outbox.queue_comment("T-1", "c", "third", clock(), "a1")  # not hidden by a negative count
    assert outbox.has_queued("T-1")


def test_a_comment_queued_before_counting_leaves_the_count_alone(deps: Any, clock: Clock) -> None:
    """An outbox item written by an earlier version (no count): delivered, it is marked
    and the count of the ticket's counted comments stays right."""
    from opslink.adapters.store import keys
    from opslink.adapters.store.items import to_item

    outbox = deps.outbox
    legacy = keys.outbox("T-2", "old") | {"gsi1pk": keys.OUTBOX_INDEX, "gsi1sk": "x",
                                         "ticket_id": "T-2", "key": "old", "text": "old",
                                         "at": clock().isoformat()}  # fmt: skip
    outbox.client.put_item(TableName=outbox.table, Item=to_item(legacy))
    outbox.queue_comment("T-2", "new", "new", clock(), "a1")
    outbox.comment_delivered("T-2", "old")
    assert outbox.has_queued("T-2")  # "new" still waits
    assert [c["key"] for c in outbox.queued_comments("T-2")] == ["new"]
    outbox.comment_delivered("T-2", "new")
    assert not outbox.has_queued("T-2")
