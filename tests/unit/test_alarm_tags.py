"""Alarm tags: one snapshot call for the account's alarms, cached per container."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from opslink.adapters.directory.alarm_tags import CloudWatchAlarmTags
from opslink_cli.emulator import put_cloudwatch_alarm

REGION = "us-east-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _alarm(cw: Any, name: str, tags: dict[str, str]) -> str:
    put_cloudwatch_alarm(name, REGION, "OK", tags)
    return str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def _counted(service: str, calls: list[str]) -> Any:
    client = boto3.client(service, region_name=REGION)
    client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return client


def _counted_tags(calls: list[str], clock: Clock) -> CloudWatchAlarmTags:
    """Tags read through clients whose calls land in `calls`."""
    return CloudWatchAlarmTags(
        client=_counted("cloudwatch", calls),
        tagging=_counted("resourcegroupstaggingapi", calls),
        clock=clock,
    )


def test_one_snapshot_serves_every_tagged_alarm(aws: Any) -> None:
    cw = boto3.client("cloudwatch", region_name=REGION)
    web = _alarm(cw, "prod-web-cpu", {"service": "web", "team": "sre"})
    db = _alarm(cw, "prod-db-cpu", {"service": "orders-db"})
    calls: list[str] = []
    clock = Clock()
    tags = _counted_tags(calls, clock)
    assert tags.tags(web) == {"service": "web", "team": "sre"}
    assert tags.tags(db) == {"service": "orders-db"}
    assert calls == ["GetResources"]  # one call for both alarms


def test_untagged_and_new_alarms(aws: Any) -> None:
    cw = boto3.client("cloudwatch", region_name=REGION)
    plain = _alarm(cw, "plain", {})
    calls: list[str] = []
    clock = Clock()
    tags = _counted_tags(calls, clock)
    # Absent from a snapshot taken after it fired: no tags, no second call.
    assert tags.tags(plain) == {}
    assert calls == ["GetResources"]
    # An alarm created after the snapshot, within the minute: read on its own.
    late = _alarm(cw, "late", {"service": "late-svc"})
    clock.now += 10
    assert tags.tags(late) == {"service": "late-svc"}
    assert calls == ["GetResources", "ListTagsForResource"]
    # A minute later, a miss refreshes the snapshot once.
    newer = _alarm(cw, "newer", {"service": "n"})
    clock.now += 60
    assert tags.tags(newer) == {"service": "n"}
    assert calls[-1] == "GetResources" and len(calls) == 3


def test_snapshot_failure_falls_back_to_one_call_per_alarm(aws: Any) -> None:
    cw = boto3.client("cloudwatch", region_name=REGION)
    web = _alarm(cw, "prod-web-cpu", {"service": "web"})

    class Broken:
        def get_paginator(self, name: str) -> Any:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://tagging.invalid")

    tags = CloudWatchAlarmTags(client=cw, tagging=Broken(), clock=Clock())
    assert tags.tags(web) == {"service": "web"}


def _fired(minutes_ago: float) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(minutes=minutes_ago)


def test_untagged_alarms_that_fired_before_the_snapshot_cost_no_call(aws: Any) -> None:
    """A burst: the first alarm takes the snapshot; the untagged ones that fired before
    it began are known untagged from it, where each used to be read on its own."""
    cw = boto3.client("cloudwatch", region_name=REGION)
    web = _alarm(cw, "prod-web-cpu", {"service": "web"})
    burst = [_alarm(cw, f"untagged-{i}", {}) for i in range(5)]
    calls: list[str] = []
    clock = Clock()
    tags = _counted_tags(calls, clock)
    assert tags.tags(web, _fired(1)) == {"service": "web"}
    clock.now += 2
    assert all(tags.tags(arn, _fired(1)) == {} for arn in burst)
    assert calls == ["GetResources"]
    # one that fired after the snapshot began may be newer than it: read on its own
    late = _alarm(cw, "late", {"service": "late-svc"})
    assert tags.tags(late, _fired(-1)) == {"service": "late-svc"}
    # and once the snapshot is older than the cache's life, it says nothing any more
    other = _alarm(cw, "other", {"service": "o"})
    clock.now += 400
    assert tags.tags(other, _fired(1)) == {"service": "o"}
    assert calls == ["GetResources", "ListTagsForResource", "GetResources"]
