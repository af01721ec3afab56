"""The incident open under each grouping key, on the OpsLink table (moto): one read and
one conditional write per alert; alerts of one incident delivered at once never open two
incidents; a resolved incident takes no member."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from opslink.adapters.store.incident_keys import IncidentKeys
from opslink.correlation import Dependencies, Signal, grouping
from opslink.correlation_rules import CorrelationRules

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULES, DEPS = CorrelationRules(), Dependencies({})


def sig(alert: str, minute: float, state: str = "ALARM") -> Signal:
    return Signal(alert_id=alert, at=T0 + timedelta(minutes=minute), state=state,
                  alarm_name="prod-web-cpu-high", alert_type="cpu_usage", service="web",
                  environment="production")  # fmt: skip


def place(index: IncidentKeys, alert: str, minute: float, state: str = "ALARM") -> Any:
    s = sig(alert, minute, state)
    return index.place(s, grouping(s, RULES, DEPS), f"INC-{alert}")


def test_joins_while_the_window_lasts_then_opens_a_new_incident_that_refers_back(
    ddb: Any,
) -> None:
    index = IncidentKeys("AlertsTable", ddb)
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    a = place(index, "A", 0)
    assert not a.joined and a.incident_id == "INC-A"
    assert calls == ["BatchGetItem", "TransactWriteItems"]  # one read, one conditional write
    b = place(index, "B", 5)
    assert b.joined and b.incident_id == "INC-A"
    c = place(index, "C", 16)  # B extended the window to minute 15: past it
    assert not c.joined and c.incident_id == "INC-C" and "INC-A past its window" in c.why
    assert index.resolve_incident(a.key, "INC-C", T0 + timedelta(minutes=17))
    d = place(index, "D", 18)
    assert not d.joined and "INC-C resolved: a new incident refers to it" in d.why
    assert not index.resolve_incident(a.key, "INC-C", T0)  # the key points at INC-D now


def test_a_non_firing_alert_opens_nothing_and_writes_nothing(ddb: Any) -> None:
    index = IncidentKeys("AlertsTable", ddb)
    alone = place(index, "A", 0, state="INSUFFICIENT_DATA")
    assert not alone.joined and "opens no incident" in alone.why
    assert not place(index, "B", 1).joined  # the key had no incident: B opens one


def test_alerts_of_one_incident_delivered_at_once_open_one_incident(ddb: Any) -> None:
    from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # each conditional write atomic, as DynamoDB applies it
    index = IncidentKeys("AlertsTable", ddb)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(place(index, f"A{n}", n * 0.1)))
        for n in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.incident_id for r in results}) == 1
    assert sum(not r.joined for r in results) == 1
    [opened] = [r.incident_id for r in results if not r.joined]
    state = index.incident(opened)
    assert state is not None and len(state.members) == 8 and len(state.firing) == 8


def test_members_clear_once_and_the_incident_resolves_as_resolve_on_says(ddb: Any) -> None:
    index = IncidentKeys("AlertsTable", ddb)
    a, b = place(index, "A", 0), place(index, "B", 1)
    assert b.joined
    after_a = index.member_cleared(a.incident_id, "A")
    assert after_a is not None and after_a.firing == ("B",) and after_a.members == ("A", "B")
    assert after_a.after_clearing("A") == (
        False,
        "Incident INC-A stays open: 1 of its 2 alarm(s) still firing (B).",
    )
    again = index.member_cleared(a.incident_id, "A")  # a retried OK: nothing changes twice
    assert again is not None and again.firing == ("B",)
    after_b = index.member_cleared(a.incident_id, "B")
    assert after_b is not None and after_b.firing == ()
    done, why = after_b.after_clearing("B")
    assert done and "all 2 alarm(s) of incident INC-A cleared" in why
    assert index.mark_resolved(after_b, T0, why)
    assert not index.mark_resolved(after_b, T0, why)  # once
    c = place(index, "C", 2)  # within the window, but the incident is resolved
    assert not c.joined and "INC-A resolved: a new incident refers to it" in c.why


def test_a_member_never_joins_an_incident_resolved_after_its_key_was_read(ddb: Any) -> None:
    """The incident is resolved between the key's read and the join: the join is refused
    by the incident's own item and the alert opens a new incident."""
    index = IncidentKeys("AlertsTable", ddb)
    a = place(index, "A", 0)
    state = index.incident(a.incident_id)
    assert state is not None
    # Resolved on its own item only (the key's update has not happened yet).
    ddb.update_item(TableName="AlertsTable", Key={"pk": {"S": "INCIDENT#INC-A"},
                    "sk": {"S": "INCIDENT"}}, UpdateExpression="SET resolved_at = :t",
                    ExpressionAttributeValues={":t": {"S": T0.isoformat()}})  # fmt: skip
    b = place(index, "B", 1)
    assert not b.joined and b.incident_id == "INC-B" and "INC-A resolved" in b.why


def test_the_last_member_clearing_resolves_the_incident_in_one_write_unless_it_changed(
    ddb: Any,
) -> None:
    """An OK reads the incident with its alert: when that read says this clearing resolves
    it, the member leaves the firing set and the incident is resolved in one conditional
    write. If the incident changed since (a member joined, another cleared, it was
    resolved), the write changes nothing and says so: the caller decides again."""
    index = IncidentKeys("AlertsTable", ddb)
    a = place(index, "A", 0)
    assert place(index, "B", 1).joined
    read = index.incident(a.incident_id)
    assert read is not None and read.firing == ("A", "B")
    index.member_cleared(a.incident_id, "A")
    stale = read  # A cleared since: a decision from `read` would be wrong
    assert not index.resolved_by_clearing(stale, "B", T0, "all cleared")
    fresh = index.incident(a.incident_id)
    assert fresh is not None and fresh.firing == ("B",) and fresh.resolved_at is None
    c = place(index, "C", 2)  # a member joins between the read and the write
    assert c.joined
    assert not index.resolved_by_clearing(fresh, "B", T0, "all cleared")
    now = index.incident(a.incident_id)
    assert now is not None and now.firing == ("B", "C") and now.resolved_at is None
    index.member_cleared(a.incident_id, "C")
    last = index.incident(a.incident_id)
    assert last is not None and last.firing == ("B",)
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    assert index.resolved_by_clearing(last, "B", T0, "all 3 cleared")
    assert calls == ["UpdateItem"]
    done = index.incident(a.incident_id)
    assert done is not None and done.firing == () and done.resolved_at == T0
    assert done.resolution == "all 3 cleared"
    assert not index.resolved_by_clearing(last, "B", T0, "again")  # once
    assert not index.mark_resolved(done, T0, "again")


def test_one_clearing_write_names_each_member_still_firing(ddb: Any) -> None:
    """Under `resolve_on: first` the first clearing resolves an incident whose others still
    fire: the condition names the firing set as read, member by member, so one cleared
    or joined since refuses it; a set too large to name is decided the two-write way."""
    from dataclasses import replace

    from opslink.adapters.store.incidents import FOLD_MAX_FIRING

    index = IncidentKeys("AlertsTable", ddb)
    a = place(index, "A", 0)
    for n, member in enumerate(("B", "C"), start=1):
        assert place(index, member, n).joined
    read = index.incident(a.incident_id)
    assert read is not None and read.firing == ("A", "B", "C")
    index.member_cleared(a.incident_id, "C")
    assert not index.resolved_by_clearing(read, "A", T0, "first cleared")  # C left since
    read = index.incident(a.incident_id)
    assert read is not None
    assert index.resolved_by_clearing(read, "A", T0, "first cleared")
    done = index.incident(a.incident_id)
    assert done is not None and done.firing == ("B",) and done.resolved_at == T0
    crowd = replace(read, firing=tuple(f"M{i}" for i in range(FOLD_MAX_FIRING + 1)))
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    assert not index.resolved_by_clearing(crowd, "M0", T0, "first cleared")
    assert calls == []  # not tried: the caller clears the member and decides from that


def test_a_full_incident_takes_no_member_the_next_alert_opens_one_that_refers_to_it(
    ddb: Any, monkeypatch: Any
) -> None:
    """An incident's members are sets on one item (DynamoDB refuses items over 400 KB):
    a burst under one key past INCIDENT_MEMBERS_MAX opens the next incident."""
    monkeypatch.setattr("opslink.correlation.INCIDENT_MEMBERS_MAX", 3)
    index = IncidentKeys("AlertsTable", ddb)
    placed = [place(index, alert, minute) for minute, alert in enumerate("ABCDEFG")]
    assert [p.incident_id for p in placed] == ["INC-A"] * 3 + ["INC-D"] * 3 + ["INC-G"]
    assert "INC-A full (3 alerts): a new incident refers to it" in placed[3].why
    first, second = index.incident("INC-A"), index.incident("INC-D")
    assert first is not None and second is not None
    assert set(first.members) == {"A", "B", "C"} and set(second.members) == {"D", "E", "F"}
