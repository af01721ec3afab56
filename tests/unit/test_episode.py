"""The episode the ingest path carries: the previous episode as the dedup lock keeps it."""

from __future__ import annotations

from datetime import UTC, datetime

from opslink.ingest.episode import PreviousEpisode


def test_the_previous_episode_round_trips_through_the_locks_record() -> None:
    at = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    with_ticket = PreviousEpisode("A-1", at, "OPS-7")
    assert PreviousEpisode.of(with_ticket.facts()) == with_ticket
    without = PreviousEpisode("A-1", at)
    assert without.facts() == {"alert_id": "A-1", "resolved_at": at.isoformat()}
    assert PreviousEpisode.of(without.facts()) == without


def test_a_first_episode_or_an_incomplete_record_has_no_previous() -> None:
    assert PreviousEpisode.of(None) is None
    assert PreviousEpisode.of({}) is None
    assert PreviousEpisode.of({"alert_id": "A-1"}) is None  # when it was resolved is unknown
