"""Queued comments are delivered by one run per ticket at a time: the members of an
incident share one ticket, and two runs that read its comments back at once would both
post what neither sees yet. On the real store (moto, writes applied atomically as
DynamoDB applies them) and the builtin ticket system."""

from __future__ import annotations

import threading
import time
from typing import Any

from opslink.comment_outbox import drain, post_comment
from opslink_cli.emulator.moto_patches import serialise_dynamodb_writes
from tests.unit.conftest import Clock
from tests.unit.fakes import opened_alert


def _ticket(deps: Any) -> str:
    payload = opened_alert(deps)
    return str(deps.store.get(payload["alert_id"]).ticket_id)


def _posted(deps: Any, ticket_id: str, prefix: str = "Re-fire") -> list[str]:
    return [t.split("\n")[0] for t in deps.tickets.comment_texts(ticket_id) if t.startswith(prefix)]


class SlowPosts:
    """The ticket system answering each post after `delay` (the read-back is quick): two
    runs delivering the same queue at once both read it back before either post lands."""

    def __init__(self, tickets: Any, delay: float) -> None:
        self.tickets, self.delay = tickets, delay
        inner = tickets._post_comment

        def slow(ticket_id: str, text: str, author: str) -> None:
            time.sleep(self.delay)
            inner(ticket_id, text, author)

        tickets._post_comment = slow


def test_runs_delivering_one_ticket_at_once_post_each_comment_once_in_order(
    deps: Any, clock: Clock
) -> None:
    serialise_dynamodb_writes()
    ticket_id = _ticket(deps)
    for n in range(3):
        deps.outbox.queue_comment(ticket_id, f"a{n}:refire", f"Re-fire {n}.", clock(), f"a{n}")
    SlowPosts(deps.tickets, 0.2)
    start = threading.Barrier(3)
    results: list[dict[str, int]] = []

    def run(ticket: str | None) -> None:
        start.wait()
        results.append(drain(deps.outbox, deps.tickets, ticket))

    # two members' deliveries of the shared ticket and the reconciler, at the same moment
    threads = [threading.Thread(target=run, args=(t,)) for t in (ticket_id, ticket_id, None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _posted(deps, ticket_id) == ["Re-fire 0.", "Re-fire 1.", "Re-fire 2."]
    assert sum(r["delivered"] for r in results) == 3
    assert sum(r["busy"] for r in results) >= 2  # the others left it to the one holding it
    assert deps.outbox.queued_comments(ticket_id) == []
    assert not deps.outbox.has_queued(ticket_id)


def test_a_ticket_another_run_is_delivering_is_left_to_it(deps: Any, clock: Clock) -> None:
    ticket_id = _ticket(deps)
    assert deps.outbox.hold_delivery(ticket_id, "other-run", 60)
    deps.outbox.queue_comment(ticket_id, "a1:earlier", "Re-fire 1.", clock(), "a1")
    on_ticket = post_comment(deps.outbox, deps.tickets, ticket_id, "a1:later", "Re-fire 2.",
                             clock(), "a1")  # fmt: skip
    assert on_ticket is False  # queued behind the earlier one, for the holder or next run
    assert _posted(deps, ticket_id) == []
    assert drain(deps.outbox, deps.tickets)["busy"] == 2
    deps.outbox.release_delivery(ticket_id, "other-run")
    assert drain(deps.outbox, deps.tickets)["delivered"] == 2
    assert _posted(deps, ticket_id) == ["Re-fire 1.", "Re-fire 2."]


def test_the_holder_delivers_what_was_queued_while_it_held_the_ticket(
    deps: Any, clock: Clock
) -> None:
    ticket_id = _ticket(deps)
    deps.outbox.queue_comment(ticket_id, "a1:first", "Re-fire 1.", clock(), "a1")
    inner = deps.tickets._post_comment
    late: list[bool] = []

    def post(tid: str, text: str, author: str) -> None:
        inner(tid, text, author)
        if not late:  # meanwhile another run queues one and finds the ticket held
            late.append(True)
            on_ticket = post_comment(deps.outbox, deps.tickets, tid, "a2:second", "Re-fire 2.",
                                     clock(), "a2")  # fmt: skip
            assert on_ticket is False

    deps.tickets._post_comment = post
    done = drain(deps.outbox, deps.tickets, ticket_id)
    assert done["delivered"] == 2
    assert _posted(deps, ticket_id) == ["Re-fire 1.", "Re-fire 2."]
    assert not deps.outbox.has_queued(ticket_id)


def test_a_hold_that_ran_out_is_taken_over_and_only_its_holder_releases_it(deps: Any) -> None:
    outbox = deps.outbox
    assert outbox.hold_delivery("T-1", "crashed-run", -1)  # held, then its run died
    assert outbox.hold_delivery("T-1", "next-run", 60)  # ran out: taken over
    assert not outbox.hold_delivery("T-1", "third-run", 60)
    outbox.release_delivery("T-1", "crashed-run")  # a late release is not the holder's
    assert not outbox.hold_delivery("T-1", "third-run", 60)
    outbox.release_delivery("T-1", "next-run")
    assert outbox.hold_delivery("T-1", "third-run", 60)
    assert outbox.hold_delivery("T-2", "third-run", 60)  # one hold per ticket


def _failing_posts(tickets: Any, fails: Any) -> list[int]:
    """Posts fail as `fails(n)` says for the n-th post (a 503 before any work)."""
    from opslink.errors import TicketSystemError

    inner, calls = tickets._post_comment, []

    def post(ticket_id: str, text: str, author: str) -> None:
        calls.append(len(calls) + 1)
        if fails(len(calls)):
            raise TicketSystemError("builtin: 503 Service Unavailable")
        inner(ticket_id, text, author)

    tickets._post_comment = post
    return calls


def test_a_flaky_ticket_system_gets_a_second_try_once_it_took_a_comment(
    deps: Any, clock: Clock
) -> None:
    ticket_id = _ticket(deps)
    for n in range(6):
        deps.outbox.queue_comment(ticket_id, f"a{n}:refire", f"Re-fire {n}.", clock(), f"a{n}")
    calls = _failing_posts(deps.tickets, lambda n: n % 2 == 0)  # every other post: 503
    done = drain(deps.outbox, deps.tickets, ticket_id)
    # one pass, not one pass per failure: each failed post is tried again once
    assert done == {"delivered": 6, "failed": 0, "left": 0, "busy": 0}
    assert _posted(deps, ticket_id) == [f"Re-fire {n}." for n in range(6)]
    assert len(calls) == 11


def test_a_ticket_system_that_is_down_is_tried_once_per_run(deps: Any, clock: Clock) -> None:
    ticket_id = _ticket(deps)
    for n in range(3):
        deps.outbox.queue_comment(ticket_id, f"a{n}:refire", f"Re-fire {n}.", clock(), f"a{n}")
    calls = _failing_posts(deps.tickets, lambda n: True)
    assert drain(deps.outbox, deps.tickets, ticket_id)["failed"] == 1
    assert len(calls) == 1  # nothing taken this run: no second try, the rest waits in order
    assert [c["key"] for c in deps.outbox.queued_comments(ticket_id)] == [
        "a0:refire",
        "a1:refire",
        "a2:refire",
    ]


def test_an_unbounded_run_holds_a_queue_briefly_and_renews_it_while_it_delivers(
    deps: Any, clock: Clock, monkeypatch: Any
) -> None:
    """The CLI (no Lambda deadline) holds a ticket's queue for a short while, renewed as it
    delivers: a long delivery keeps it (no second deliverer gets in), and a run killed
    mid-way would keep it no longer than the hold."""
    from opslink import comment_drain

    serialise_dynamodb_writes()
    monkeypatch.setattr(comment_drain, "UNBOUNDED_HOLD_SECONDS", 1.0)
    ticket_id = _ticket(deps)
    for n in range(8):
        deps.outbox.queue_comment(ticket_id, f"a1:{n}", f"Re-fire {n}.", clock(), "a1")
    SlowPosts(deps.tickets, 0.2)
    result: dict[str, int] = {}
    runner = threading.Thread(target=lambda: result.update(drain(deps.outbox, deps.tickets)))
    runner.start()
    time.sleep(1.3)  # past the first hold: renewed meanwhile, so still this run's
    assert not deps.outbox.hold_delivery(ticket_id, "other-run", 60)
    runner.join()
    assert result["delivered"] == 8
    assert _posted(deps, ticket_id) == [f"Re-fire {n}." for n in range(8)]


def test_a_run_whose_hold_was_taken_over_stops_delivering(deps: Any, clock: Clock) -> None:
    from opslink import comment_drain

    ticket_id = _ticket(deps)
    assert deps.outbox.hold_delivery(ticket_id, "stalled-run", 0.05)
    hold = comment_drain._Hold(deps.outbox, ticket_id, "stalled-run")
    time.sleep(0.1)  # it stalled past its hold: the next run takes the ticket over
    assert deps.outbox.hold_delivery(ticket_id, "next-run", 60)
    hold.taken_at -= comment_drain.UNBOUNDED_HOLD_SECONDS  # due for its renewal
    assert not hold.kept() and not hold.kept()  # lost for good: its queue is the next's


def test_a_comment_refused_for_what_it_says_never_holds_the_queue(deps: Any, clock: Clock) -> None:
    """A comment the system refuses for its content (400/413/422: too long, a form it
    rejects) would be refused at every pass and hold every later comment of the ticket —
    its resolution too. Kept on the alert with the refusal, the queue goes on; a refusal
    of the caller (401) still holds it."""
    from opslink.errors import TicketSystemRejected

    alert_id = str(opened_alert(deps)["alert_id"])
    ticket_id = str(deps.store.get(alert_id).ticket_id)
    for n in range(3):
        deps.outbox.queue_comment(ticket_id, f"a{n}:refire", f"Re-fire {n}.", clock(), alert_id)
    inner = deps.tickets._post_comment

    def post(tid: str, text: str, author: str) -> None:
        if text.startswith("Re-fire 0."):
            exc = TicketSystemRejected("builtin: comment: answered 400: too long")
            exc.status = 400
            raise exc
        inner(tid, text, author)

    deps.tickets._post_comment = post
    done = drain(deps.outbox, deps.tickets, ticket_id)
    assert done["failed"] == 0 and done["left"] == 0
    assert _posted(deps, ticket_id) == ["Re-fire 1.", "Re-fire 2."]
    assert deps.outbox.queued_comments(ticket_id) == []
    kept = [str(n) for n in deps.store.get(alert_id).notes]
    assert any("Not posted on ticket" in n and "Re-fire 0." in n and "400" in n for n in kept)

    deps.outbox.queue_comment(ticket_id, "a3:refire", "Re-fire 3.", clock(), alert_id)
    deps.outbox.queue_comment(ticket_id, "a4:refire", "Re-fire 4.", clock(), alert_id)

    def refused(tid: str, text: str, author: str) -> None:
        exc = TicketSystemRejected("builtin: comment: authentication refused (401)")
        exc.status = 401
        raise exc

    deps.tickets._post_comment = refused
    assert drain(deps.outbox, deps.tickets, ticket_id)["failed"] == 1
    assert [c["key"] for c in deps.outbox.queued_comments(ticket_id)] == ["a3:refire", "a4:refire"]
