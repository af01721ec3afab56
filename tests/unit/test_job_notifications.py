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
        # nesting too deep to decode: malformed like any other body, not a 5xx
        (_req("awx", b'{"id": ' + b"[" * 5000 + b"]" * 5000 + b"}"), 400, "no job id"),
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


# -- `opslink jobs notify-url`: what to paste into the platform, and it is accepted --------


def _conn(outputs: dict[str, str]) -> Any:
    import types

    import boto3

    session = boto3.session.Session(region_name="us-east-1")
    return types.SimpleNamespace(
        outputs=outputs, stack_name="opslink", session=session, endpoint_url=None
    )


@pytest.mark.parametrize("platform", ["rundeck", "awx", "http"])
def test_notify_url_prints_what_the_endpoint_accepts(platform: str) -> None:
    import io
    from urllib.parse import parse_qs, urlsplit

    import boto3
    from moto import mock_aws

    from opslink_cli.cli_args import build_parser
    from opslink_cli.job_commands import notify_url

    base = "https://abc123.lambda-url.us-east-1.on.aws/"
    with mock_aws():
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="opslink/webhook", SecretString=SECRET
        )
        args = build_parser().parse_args(
            [
                "jobs",
                "notify-url",
                platform,
                "--webhook-secret",
                "opslink/webhook",
                "--output",
                "json",
            ]
        )
        out = io.StringIO()
        assert notify_url(_conn({"TicketWebhookUrl": base}), args, out) == 0
    doc = json.loads(out.getvalue())
    url = urlsplit(doc["url"].replace("${execution.id}", "4242"))
    assert url.path == f"/jobs/{platform}"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    headers = {k.lower(): v for k, v in doc["headers"].items()}
    body = json.dumps({"id": 4242, "job_id": "4242"}).encode()
    req = WebhookRequest("POST", headers, body, path=url.path, query=query)
    status, answer, sent = _handle(req)
    assert status == 202 and answer["job_id"] == "4242" and len(sent) == 1


def test_notify_url_without_a_webhook_url_or_secret_says_why() -> None:
    import io

    from moto import mock_aws

    from opslink_cli.cli_args import build_parser
    from opslink_cli.connection import OperatorError
    from opslink_cli.job_commands import notify_url

    args = build_parser().parse_args(["jobs", "notify-url", "awx", "--webhook-secret", "nope"])
    with pytest.raises(OperatorError, match="WebhookSecretName"):
        notify_url(_conn({}), args, io.StringIO())
    with mock_aws(), pytest.raises(OperatorError, match="cannot read the webhook secret 'nope'"):
        notify_url(_conn({"TicketWebhookUrl": "https://x.on.aws/"}), args, io.StringIO())


# -- `opslink doctor`: does a job's end wake its execution? -----------------------------------


@pytest.mark.parametrize(
    ("env", "url", "status", "words"),
    [
        ({"JOB_PLATFORM": "ssm"}, "", "pass", "Run Command events"),
        ({"JOB_PLATFORM": "ssm", "JOB_COMPLETION_EVENTS": "off"}, "", "pass", "polled"),
        ({"JOB_PLATFORM": "rundeck"}, "https://u", "warn", "polled on the schedule"),
        ({"JOB_PLATFORM": "awx", "JOB_COMPLETION_EVENTS": "on"}, "", "fail", "no webhook URL"),
        ({"JOB_PLATFORM": "awx", "JOB_COMPLETION_EVENTS": "on"}, "https://u", "pass",
         "awx notifications on https://u/jobs/awx"),
    ],
)  # fmt: skip
def test_the_doctor_says_whether_job_ends_wake_executions(
    env: dict[str, str], url: str, status: str, words: str
) -> None:
    from opslink_cli.doctor import job_completion
    from opslink_cli.doctor_deployment import Deployment, FunctionView

    d = Deployment(
        functions={"RemediateFunction": FunctionView(env=env, timeout=60)},
        roles=[], journal_table_arn="", tables={}, topic_keys={}, queue_keys={}, alarms=set(),
        webhook_url=url,
    )  # fmt: skip
    check = job_completion(d)
    assert check.status == status and words in check.evidence
