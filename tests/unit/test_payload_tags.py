"""Alarm tags carried by the notification (CloudWatch's tag propagation): SNS `AlarmTags`
with `AlarmTagsStatus`, EventBridge and alarm-action `alarmTags`/`alarmTagsStatus`. Used
as they come when CloudWatch says it retrieved them — no tag call for that alarm — and
read as before otherwise."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from opslink.alarm_parsing import parse_alarm_document
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.models import Outcome
from opslink_cli import samples

T0 = samples.T0
TAGS = {"service": "payments", "team": "billing", "environment": "staging"}


def _sns(tags: Any, status: Any = "SUCCESS", name: str = "cpu-high-7") -> dict[str, Any]:
    msg = samples.metric_alarm(name, T0)
    msg["AlarmTags"], msg["AlarmTagsStatus"] = tags, status
    return msg


@pytest.mark.parametrize(
    "form",
    [TAGS, [{"Key": k, "Value": v} for k, v in TAGS.items()],
     [{"key": k, "value": v} for k, v in TAGS.items()]],
    ids=["map", "Key/Value", "key/value"],
)  # fmt: skip
def test_sns_tags_in_every_shape(form: Any) -> None:
    assert parse_alarm_document(_sns(form)).tags == TAGS


def test_eventbridge_and_alarm_action_tags() -> None:
    event = samples.eventbridge_event("cpu-high-7", T0)
    event["detail"] |= {"alarmTags": TAGS, "alarmTagsStatus": "SUCCESS"}
    assert parse_alarm_document(event).tags == TAGS
    action = samples.alarm_action_payload("cpu-high-7", T0)
    action["alarmData"] |= {"alarmTags": TAGS, "alarmTagsStatus": "SUCCESS"}
    assert parse_alarm_document(action).tags == TAGS


@pytest.mark.parametrize("status", [None, "FAILURE", "success", 1])
def test_tags_not_retrieved_are_not_taken(status: Any) -> None:
    """Propagation off (no status), or CloudWatch could not read them: read as before."""
    assert parse_alarm_document(_sns(TAGS, status)).tags is None


def test_retrieved_without_tags_is_an_empty_set() -> None:
    assert parse_alarm_document(_sns(None)).tags == {}
    assert parse_alarm_document(_sns({})).tags == {}


def test_hostile_tags_are_bounded() -> None:
    """CloudWatch's own limits: 50 tags, keys of 1-128 and values of 0-256 characters;
    `aws:` keys are never propagated; anything else is left out, not the alarm."""
    many = {f"k{i}": "v" for i in range(80)}
    assert len(parse_alarm_document(_sns(many)).tags or {}) == 50
    odd = {"aws:cloudformation:stack-name": "x", "k" * 129: "v", "long": "v" * 257,
           "service": "payments", "n": 5, "": "empty"}  # fmt: skip
    assert parse_alarm_document(_sns(odd)).tags == {"service": "payments"}
    assert parse_alarm_document(_sns("service=payments")).tags is None  # not a tag set


class CountingTags:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def tags(self, alarm_arn: str, fired_at: Any = None) -> dict[str, str]:
        self.asked.append(alarm_arn)
        return {"service": "from-the-api"}


def test_carried_tags_enrich_the_alert_without_a_tag_call(
    deps: IngestDeps, policy: IngestPolicy
) -> None:
    deps.tags = CountingTags()
    [carried] = ingest_event(samples.sns_event(_sns(TAGS)), deps, policy)
    assert carried.outcome is Outcome.CREATED and deps.tags.asked == []
    alert = deps.store.get(carried.alert_id)
    assert alert and (alert.service, alert.team, alert.environment) == (
        "payments", "billing", "staging")  # fmt: skip
    # Not carried (propagation off on that alarm): read as before.
    later = samples.metric_alarm("cpu-high-8", T0 + timedelta(minutes=1))
    [read] = ingest_event(samples.sns_event(later), deps, policy)
    assert deps.tags.asked == [samples.alarm_arn("cpu-high-8")]
    assert deps.store.get(read.alert_id).service == "from-the-api"  # type: ignore[union-attr]
