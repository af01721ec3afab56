"""Alarm tags (Resource Groups Tagging API, else CloudWatch ListTagsForResource), cached
per warm container."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.aws import lazy_client

logger = Logger(child=True)


class CloudWatchAlarmTags:
    """Tags of the account's alarms from one paginated Resource Groups Tagging API call
    (GetResources, resource type cloudwatch:alarm) per region, cached per container; an
    alarm missing from the snapshot refreshes it at most once a minute, and otherwise is
    read on its own (ListTagsForResource) and cached — unless the snapshot began after the
    alarm fired: then the alarm existed when it was taken, and is not listed because it
    has no tags (a burst of untagged alarms costs no call each)."""

    def __init__(
        self,
        client: Any = None,
        ttl_seconds: float = 300.0,
        tagging: Any = None,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clients: dict[str, Any] = {"": client} if client is not None else {}
        self._tagging: dict[str, Any] = {"": tagging} if tagging is not None else {}
        self.ttl = ttl_seconds
        self.refresh = refresh_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}
        self._snapshot_at: dict[str, float] = {}  # region -> when the snapshot was taken
        self.wall = wall
        self._snapshot_began: dict[str, datetime] = {}  # region -> its last snapshot's start

    @staticmethod
    def _region(alarm_arn: str) -> str:
        return alarm_arn.split(":")[3] if alarm_arn.count(":") >= 5 else ""

    def _client(self, alarm_arn: str) -> Any:
        """A client in the alarm's own region (the ARN's fourth field)."""
        if "" in self._clients:
            return self._clients[""]
        region = self._region(alarm_arn)
        if region not in self._clients:
            self._clients[region] = lazy_client("cloudwatch", region)
        return self._clients[region]

    def _tagging_client(self, region: str) -> Any:
        if "" in self._tagging:
            return self._tagging[""]
        if region not in self._tagging:
            self._tagging[region] = lazy_client("resourcegroupstaggingapi", region)
        return self._tagging[region]

    def _take_snapshot(self, region: str) -> bool:
        """All tagged alarms of the region in one paginated call; False on failure (then
        alarms are read one by one)."""
        now, began = self.clock(), self.wall()
        self._snapshot_at[region] = now
        try:
            pages = self._tagging_client(region).get_paginator("get_resources")
            for page in pages.paginate(ResourceTypeFilters=["cloudwatch:alarm"]):
                for res in page.get("ResourceTagMappingList", []):
                    tags = {t["Key"]: t["Value"] for t in res.get("Tags", [])}
                    self._cache[res["ResourceARN"]] = (now, tags)
        except (BotoCoreError, ClientError) as exc:
            logger.warning("alarm tag snapshot unavailable", extra={"error": str(exc)})
            return False
        self._snapshot_began[region] = began
        return True

    def _untagged_when_listed(self, region: str, fired_at: datetime | None) -> bool:
        """The region's snapshot is fresh and began after the alarm fired: it would have
        listed the alarm if it had tags."""
        began, taken = self._snapshot_began.get(region), self._snapshot_at.get(region)
        if fired_at is None or began is None or taken is None:
            return False
        return began >= fired_at and self.clock() - taken < self.ttl

    def tags(self, alarm_arn: str, fired_at: datetime | None = None) -> dict[str, str]:
        hit = self._cache.get(alarm_arn)
        if hit and self.clock() - hit[0] < self.ttl:
            return hit[1]
        region = self._region(alarm_arn)
        if self._untagged_when_listed(region, fired_at):
            return self._cache.setdefault(alarm_arn, (self._snapshot_at[region], {}))[1]
        last = self._snapshot_at.get(region)
        stale = last is None or self.clock() - last >= self.refresh
        if stale and self._take_snapshot(region):
            # Taken now, after the alarm fired: an alarm it does not list has no tags.
            return self._cache.setdefault(alarm_arn, (self.clock(), {}))[1]
        try:
            out = self._client(alarm_arn).list_tags_for_resource(ResourceARN=alarm_arn)
            tags = {t["Key"]: t["Value"] for t in out.get("Tags", [])}
        except (BotoCoreError, ClientError) as exc:
            # Tags refine enrichment; the service map and names still work without them.
            logger.warning(
                "alarm tags unavailable", extra={"alarm_arn": alarm_arn, "error": str(exc)}
            )
            return {}
        self._cache[alarm_arn] = (self.clock(), tags)
        return tags


class NoAlarmTags:
    def tags(self, alarm_arn: str, fired_at: datetime | None = None) -> dict[str, str]:
        return {}
