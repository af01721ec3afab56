"""Listings read every page: DynamoDB answers a Query with 1 MB at most (moto as well),
and a listing that stops at its first page leaves the rest out without a word."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opslink.adapters.store.bookkeeping import Bookkeeping
from tests.unit.conftest import Clock


def test_a_day_of_rejections_beyond_one_page_is_listed_whole(deps: Any, clock: Clock) -> None:
    books = Bookkeeping(deps.store.table, deps.store.client)
    for n in range(320):  # ~4 KB each (reason and excerpt kept to 2,000 characters)
        books.record_rejection("sns", f"bad payload {n}: " + "r" * 2000, "e" * 2000,
                               clock() + timedelta(seconds=n))  # fmt: skip
    listed = books.rejections(clock())
    assert len(listed) == 320
    assert {r["reason"].split(":")[0] for r in listed} == {f"bad payload {n}" for n in range(320)}


def test_waiting_comments_behind_a_week_of_delivered_ones_are_all_listed(
    deps: Any, clock: Clock
) -> None:
    outbox = deps.outbox
    # A busy ticket's partition keeps a week of delivered comments (30 KB each at most):
    # the filter for the waiting ones runs after DynamoDB's 1 MB page.
    for n in range(60):
        outbox.queue_comment("T-9", f"a1:old:{n:03d}", "x" * 29_000, clock(), "a1")
        outbox.comment_delivered("T-9", f"a1:old:{n:03d}")
    for n in range(3):  # keys sorting after the delivered ones: on a later page
        outbox.queue_comment("T-9", f"z1:new:{n}", f"Waiting {n}.", clock(), "z1")
    waiting = outbox.queued_comments("T-9")
    assert [w["key"] for w in waiting] == ["z1:new:0", "z1:new:1", "z1:new:2"]


def test_listing_more_alerts_than_one_page_holds(deps: Any) -> None:
    from tests.unit.fakes import opened_alert

    alert_id = opened_alert(deps)["alert_id"]
    client, table = deps.store.client, deps.store.table
    item = client.get_item(TableName=table, Key={"pk": {"S": f"ALERT#{alert_id}"},
                                                 "sk": {"S": "ALERT"}})["Item"]  # fmt: skip
    item["padding"] = {"S": "p" * 1500}  # an alert with its notes: ~2 KB or more
    for n in range(600):  # copies of a real alert item: more than one 1 MB index page
        copy = dict(item) | {"pk": {"S": f"ALERT#A-copy{n:04d}"},
                             "alert_id": {"S": f"A-copy{n:04d}"},
                             "gsi1sk": {"S": f"{item['gsi1sk']['S']}#{n:04d}"}}  # fmt: skip
        client.put_item(TableName=table, Item=copy)
    assert len(deps.store.list_alerts(limit=1000)) == 601
    assert len(deps.store.list_alerts(status="open", limit=550)) == 550


def test_listing_more_builtin_tickets_than_one_page_holds(deps: Any, clock: Clock) -> None:
    from tests.unit.fakes import opened_alert

    tickets = deps.tickets
    ticket_id = str(deps.store.get(opened_alert(deps)["alert_id"]).ticket_id)
    client, table = tickets.client, tickets.table
    item = client.get_item(TableName=table, Key=tickets._key(ticket_id))["Item"]
    item["description"] = {"S": "d" * 3000}  # a ticket with its description and comments
    for n in range(400):  # more than one 1 MB page of the tickets' index
        client.put_item(TableName=table, Item=dict(item) | {
            "pk": {"S": f"TICKET#C-{n:04d}"}, "gsi1sk": {"S": f"{item['gsi1sk']['S']}#{n:04d}"}
        })  # fmt: skip
    assert len(tickets.list(limit=401)) == 401
