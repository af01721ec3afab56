"""Rundeck, AWX and HTTP job API notifications on the webhook URL (/jobs/<platform>):
authenticated by the derived token or the signature scheme, the job id taken where each
platform puts it, passed on as a job-end event, and refused by name otherwise."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from opslink.errors import RetryableError
from opslink.job_events import job_event
from opslink.job_notifications import handle_job_notification, notification_token
from opslink.webhook_service import WebhookRequest

SECRET = "hook-secret"
NOW = datetime.now(UTC)


def _req(
    platform: str,
    body: bytes,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> WebhookRequest:
    return WebhookRequest(
        method=method,
        headers=headers or {},
        body=body,
        path=f"/jobs/{platform}",
        query={"token": notification_token(SECRET)} if query is None else query,
    )


def _handle(req: WebhookRequest) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    status, doc = handle_job_notification(req, SECRET, sent.append, NOW)
    return status, doc, sent


RUNDECK_XML = (
    b'<notification trigger="success" executionId="4242" status="succeeded">'
    b'<executions count="1"><execution id="4242" status="succeeded"/></executions>'
    b"</notification>"
)


@pytest.mark.parametrize(
    ("platform", "body", "headers", "query_id", "job_id"),
    [
        ("rundeck", RUNDECK_XML, {}, None, "4242"),  # the built-in plugin's XML
        ("rundeck", json.dumps({"trigger": "success", "execution": {"id": 7}}).encode(), {},
         None, "7"),  # the JSON plugin
        ("rundeck", b"", {"x-rundeck-notification-execution-id": "99"}, None, "99"),
        ("rundeck", b"", {}, "123", "123"),  # ?id=${execution.id} in the URL
        ("awx", json.dumps({"id": 38, "status": "successful"}).encode(), {}, None, "38"),
        ("http", json.dumps({"job_id": "job-1", "status": "succeeded"}).encode(), {}, None,
         "job-1"),
    ],
)  # fmt: skip
def test_each_platform_notification_is_passed_on_as_a_job_end(
    platform: str, body: bytes, headers: dict[str, str], query_id: str | None, job_id: str
) -> None:
    query = {"token": notification_token(SECRET)} | ({"id": query_id} if query_id else {})
    status, doc, sent = _handle(_req(platform, body, query, headers))
    assert status == 202 and doc["job_id"] == job_id
    [event] = sent
    assert job_event(event) == (platform, job_id, f"{platform} notification")


def test_the_token_may_come_as_a_header() -> None:
    body = json.dumps({"id": 5}).encode()
    status, _, sent = _handle(
        _req("awx", body, {}, {"x-opslink-token": notification_token(SECRET)})
    )
    assert status == 202 and len(sent) == 1


def test_a_signed_notification_needs_no_token() -> None:
    body = json.dumps({"job_id": "j-9"}).encode()
    ts = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"x-opslink-timestamp": ts, "x-opslink-signature": f"sha256={mac}"}
    status, doc, _ = _handle(_req("http", body, {}, headers))
    assert status == 202 and doc["job_id"] == "j-9"


@pytest.mark.parametrize(
    ("req", "status", "why"),
    [
        (_req("awx", b'{"id": 1}', {"token": "wrong"}), 401, "bad notification token"),
        (_req("awx", b'{"id": 1}', {}), 401, "x-opslink-signature"),
        (_req("jenkins", b'{"id": 1}'), 404, "no job notifications for 'jenkins'"),
        (_req("awx", b'{"id": 1}', method="GET"), 405, "POST"),
        (_req("awx", b'{"name": "no id"}'), 400, "no job id in the awx notification"),
        (_req("http", b'{"job_id": "../../etc"}'), 400, "no job id"),
        (_req("awx", b"x" * (256 * 1024 + 1)), 413, "body over"),
    ],
)
def test_bad_notifications_are_refused_by_name(req: WebhookRequest, status: int, why: str) -> None:
    got, doc, sent = _handle(req)
    assert got == status and why in doc["error"] and sent == []


def test_when_the_function_cannot_be_reached_the_platform_is_asked_to_retry() -> None:
    def away(event: dict[str, Any]) -> None:
        raise RetryableError("throttled")

    status, doc = handle_job_notification(_req("awx", b'{"id": 3}'), SECRET, away, NOW)
    assert status == 503 and doc["retry"] is True
