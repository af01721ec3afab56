"""Alarm tags from CloudWatch (ListTagsForResource), cached per warm container."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.aws import lazy_client

logger = Logger(child=True)


class CloudWatchAlarmTags:
    def __init__(self, client: Any = None, ttl_seconds: float = 300.0) -> None:
        self._clients: dict[str, Any] = {"": client} if client is not None else {}
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}

    def _client(self, alarm_arn: str) -> Any:
        """A client in the alarm's own region (the ARN's fourth field)."""
        if "" in self._clients:
            return self._clients[""]
        region = alarm_arn.split(":")[3] if alarm_arn.count(":") >= 5 else ""
        if region not in self._clients:
            self._clients[region] = lazy_client("cloudwatch", region)
        return self._clients[region]

    def tags(self, alarm_arn: str) -> dict[str, str]:
        hit = self._cache.get(alarm_arn)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        try:
            out = self._client(alarm_arn).list_tags_for_resource(ResourceARN=alarm_arn)
            tags = {t["Key"]: t["Value"] for t in out.get("Tags", [])}
        except (BotoCoreError, ClientError) as exc:
            # Tags refine enrichment; the service map and names still work without them.
            logger.warning(
                "alarm tags unavailable", extra={"alarm_arn": alarm_arn, "error": str(exc)}
            )
            return {}
        self._cache[alarm_arn] = (time.monotonic(), tags)
        return tags


class NoAlarmTags:
    def tags(self, alarm_arn: str) -> dict[str, str]:
        return {}
