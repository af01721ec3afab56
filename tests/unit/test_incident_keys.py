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
    assert calls == ["GetItem", "PutItem"]  # one read, one conditional write
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
    item = ddb.scan(TableName="AlertsTable")["Items"]
    [key_item] = [i for i in item if i["pk"]["S"].startswith("INCKEY#")]
    assert key_item["members"]["N"] == "8"
