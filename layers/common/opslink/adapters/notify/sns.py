"""Notifier on SNS: one message per event, with attributes subscribers can filter on."""

from __future__ import annotations

from typing import Any

from opslink.adapters.aws import aws_errors, lazy_client
from opslink.errors import RetryableError
from opslink.scrub import scrub


class SnsNotifier:
    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = lazy_client("sns")
        return self._client

    def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None:
        with aws_errors(f"SNS publish to {self.topic_arn}", RetryableError):
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=scrub(subject)[:100],
                Message=scrub(message),
                MessageAttributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v
                },
            )
