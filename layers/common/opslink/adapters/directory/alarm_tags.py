"""Alarm tags (Resource Groups Tagging API, else CloudWatch ListTagsForResource), cached
per warm container."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.aws import lazy_client

logger = Logger(child=True)


class CloudWatchAlarmTags:
    """Tags of the account's alarms from one paginated Resource Groups Tagging API call
    (GetResources, resource type cloudwatch:alarm) per region, cached per container; an
    alarm missing from the snapshot refreshes it at most once a minute, and otherwise is
    read on its own (ListTagsForResource) and cached."""

    def __init__(
        self,
        client: Any = None,
        ttl_seconds: float = 300.0,
        tagging: Any = None,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients: dict[str, Any] = {"": client} if client is not None else {}
        self._tagging: dict[str, Any] = {"": tagging} if tagging is not None else {}
        self.ttl = ttl_seconds
        self.refresh = refresh_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}
        self._snapshot_at: dict[str, float] = {}  # region -> when the snapshot was taken

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
        self._snapshot_at[region] = self.clock()
        try:
            pages = self._tagging_client(region).get_paginator("get_resources")
            now = self.clock()
            for page in pages.paginate(ResourceTypeFilters=["cloudwatch:alarm"]):
                for res in page.get("ResourceTagMappingList", []):
                    tags = {t["Key"]: t["Value"] for t in res.get("Tags", [])}
                    self._cache[res["ResourceARN"]] = (now, tags)
        except (BotoCoreError, ClientError) as exc:
            logger.warning("alarm tag snapshot unavailable", extra={"error": str(exc)})
            return False
        return True

    def tags(self, alarm_arn: str) -> dict[str, str]:
        hit = self._cache.get(alarm_arn)
        if hit and self.clock() - hit[0] < self.ttl:
            return hit[1]
        region = self._region(alarm_arn)
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
    def tags(self, alarm_arn: str) -> dict[str, str]:
        return {}
