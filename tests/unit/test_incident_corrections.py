"""Operators correct alert correlation (`opslink incidents split|merge`, run by the track
function): the alert or incident moves, the tickets say so, the audit trail and the KPIs
count a correction, a retry changes nothing twice, bad requests get specific refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from opslink.adapters.store.incident_keys import IncidentKeys
from opslink.incident_actions import handle_incident_request
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.ingest.grouping import load_correlator
from opslink.kpis import compute
from opslink.models import AlertStatus, TicketStatus
from opslink.track_service import TrackDeps
from opslink_cli import samples
from tests.unit.conftest import Clock
from tests.unit.fakes import tracking_on

T0 = samples.T0


def alarm(name: str, at_min: float = 0, state: str = "ALARM", asg: str = "search-asg") -> Any:
    return samples.sns_event(
        samples.metric_alarm(
            name, T0 + timedelta(minutes=at_min), state=state,
            old="OK" if state == "ALARM" else "ALARM",
            dimensions={"AutoScalingGroupName": asg},
        )
    )  # fmt: skip


@pytest.fixture
def grouped(deps: IngestDeps, ddb: Any) -> IngestDeps:
    deps.incidents = IncidentKeys("AlertsTable", ddb)
    deps.correlator = load_correlator(None, deps.service_map.depends_on())
    return deps


@pytest.fixture
def track(grouped: IngestDeps, clock: Clock) -> TrackDeps:
    return tracking_on(grouped, clock=clock, incidents=grouped.incidents)  # fmt: skip


def one(event: Any, deps: IngestDeps) -> Any:
    [result] = ingest_event(event, deps, IngestPolicy())
    return result


def texts(deps: IngestDeps, ticket_id: str) -> list[str]:
    ticket = deps.tickets.get(ticket_id)
    assert ticket is not None
    return [c.get("text", "") for c in ticket.comments]


def test_split_gives_the_alert_its_own_ticket_and_counts_a_correction(
    grouped: IngestDeps, track: TrackDeps, clock: Clock
) -> None:
    first = one(alarm("prod-search-cpu-high-1"), grouped)
    second = one(alarm("prod-search-cpu-high-2", 1), grouped)
    third = one(alarm("prod-search-cpu-high-3", 2), grouped)
    assert first.ticket_id == second.ticket_id == third.ticket_id
    before = compute(grouped.store.journal.kpi_counters(T0).get("all", {}))
    assert before.incidents == 1 and before.alerts_per_incident == 3.0

    request = {"action": "split", "alert_id": second.alert_id, "by": "erin",
               "reason": "a different disk"}  # fmt: skip
    answer = handle_incident_request(track, request)
    assert answer["ok"] and answer["from"] == first.alert_id.replace("A-", "INC-")
    own = answer["ticket_id"]
    assert own != first.ticket_id
    split = grouped.store.get(second.alert_id)
    assert split is not None and split.ticket_id == own and split.incident_role == "opened"
    assert split.incident_why == "split out of " + answer["from"] + " by erin: a different disk"
    assert any(
        "was split out of this incident by erin" in t for t in texts(grouped, first.ticket_id)
    )
    assert any(f"Split out of incident {answer['from']}" in t for t in texts(grouped, own))
    after = compute(grouped.store.journal.kpi_counters(T0).get("all", {}))
    assert (after.incidents, after.corrections, after.tickets) == (2, 1, before.tickets + 1)
    # A retry changes nothing twice: the alert is its incident's opener now.
    again = handle_incident_request(track, request)
    assert not again["ok"] and again["code"] == "conflict" and "opened incident" in again["error"]

    # The split alert's OK resolves its own ticket only; the incident's stays with the others.
    one(alarm("prod-search-cpu-high-2", 5, "OK"), grouped)
    assert grouped.tickets.get(own).status is TicketStatus.RESOLVED  # type: ignore[union-attr]
    assert grouped.tickets.get(first.ticket_id).status is TicketStatus.OPEN  # type: ignore[union-attr]
    one(alarm("prod-search-cpu-high-1", 6, "OK"), grouped)
    one(alarm("prod-search-cpu-high-3", 7, "OK"), grouped)
    assert grouped.tickets.get(first.ticket_id).status is TicketStatus.RESOLVED  # type: ignore[union-attr]


def test_merge_moves_the_open_alerts_and_resolves_the_merged_incident_once(
    grouped: IngestDeps, track: TrackDeps
) -> None:
    cpu = one(alarm("prod-search-cpu-high-1"), grouped)
    disk = one(alarm("prod-search-disk-full-1", 1), grouped)  # another family: its own
    disk2 = one(alarm("prod-search-disk-full-2", 2), grouped)
    assert disk.ticket_id == disk2.ticket_id != cpu.ticket_id
    before = compute(grouped.store.journal.kpi_counters(T0).get("all", {}))
    answer = handle_incident_request(track, {"action": "merge", "source": disk.alert_id,
                                             "into": cpu.alert_id, "by": "erin"})  # fmt: skip
    assert answer["ok"] and sorted(answer["moved"]) == sorted([disk.alert_id, disk2.alert_id])
    for r in (disk, disk2):
        moved = grouped.store.get(r.alert_id)
        assert moved is not None and moved.ticket_id == cpu.ticket_id
        assert moved.incident_id == cpu.alert_id.replace("A-", "INC-")
    assert grouped.tickets.get(disk.ticket_id).status is TicketStatus.RESOLVED  # type: ignore[union-attr]
    after = compute(grouped.store.journal.kpi_counters(T0).get("all", {}))
    assert after.incidents == before.incidents - 1 and after.corrections == 1
    # The merged-away ticket's links are left: its alerts resolve by their new incident.
    for name, minute in (("prod-search-disk-full-1", 5), ("prod-search-disk-full-2", 6)):
        one(alarm(name, minute, "OK"), grouped)
    assert grouped.tickets.get(cpu.ticket_id).status is TicketStatus.OPEN  # type: ignore[union-attr]
    one(alarm("prod-search-cpu-high-1", 7, "OK"), grouped)
    assert grouped.tickets.get(cpu.ticket_id).status is TicketStatus.RESOLVED  # type: ignore[union-attr]
    for r in (cpu, disk, disk2):
        assert grouped.store.get(r.alert_id).status is AlertStatus.RESOLVED  # type: ignore[union-attr]
    again = handle_incident_request(track, {"action": "merge", "source": disk.alert_id,
                                            "into": cpu.alert_id, "by": "erin"})  # fmt: skip
    assert not again["ok"] and again["code"] == "conflict"


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        ({"action": "split", "by": "erin"}, "invalid", "give the alert"),
        ({"action": "split", "alert_id": "A-nope", "by": "erin"}, "not_found", "A-nope"),
        (
            {"action": "merge", "source": "INC-nope", "into": "INC-x", "by": "e"},
            "not_found",
            "INC-nope",
        ),
        ({"action": "shred", "alert_id": "A-1", "by": "erin"}, "invalid", "action"),
        ({"action": "split", "alert_id": "A-1", "by": ""}, "invalid", "by"),
    ],
)
def test_bad_requests_get_a_specific_refusal(
    track: TrackDeps, request_: dict[str, Any], code: str, words: str
) -> None:
    answer = handle_incident_request(track, request_)
    assert not answer["ok"] and answer["code"] == code and words in answer["error"]


def test_an_opener_or_an_alert_in_no_incident_cannot_be_split(
    grouped: IngestDeps, track: TrackDeps
) -> None:
    first = one(alarm("prod-search-cpu-high-1"), grouped)
    answer = handle_incident_request(track, {"action": "split", "alert_id": first.alert_id,
                                             "by": "erin"})  # fmt: skip
    assert not answer["ok"] and "its ticket is the incident's" in answer["error"]
