"""Job platforms' own notifications of a job's end, on the webhook URL at
`/jobs/<platform>`, passed on to the remediate function (remediation/completion.py).

Rundeck's webhook notification and AWX's webhook notification template cannot sign a
body, so they authenticate with a token derived from the webhook secret, in the URL's
`token` query parameter or an `X-OpsLink-Token` header; a sender that can sign (the
HTTP job API, a proxy) may use the ticket webhooks' X-OpsLink-Signature scheme instead.
A notification is only a hint: it names a job, whose state the remediate function reads
from the platform before waking anything — a forged one costs one status call.

Where each platform puts the job's id:
- rundeck: the X-Rundeck-Notification-Execution-ID header, an `id` query parameter
  (`?id=${execution.id}` in the URL), the JSON plugin's execution.id, or the built-in
  plugin's XML (`executionId="…"`)
- awx:     the body's `id` (the job's id)
- http:    the body's `job_id` (or `id`)
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opslink import json_input
from opslink.errors import RetryableError
from opslink.job_events import job_state_change
from opslink.webhook_service import MAX_BODY, Rejected, WebhookRequest, verify

PLATFORMS = ("rundeck", "awx", "http")
PREFIX = "/jobs/"
_TOKEN_CONTEXT = b"opslink job notifications"
_JOB_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_XML_EXECUTION_ID = re.compile(rb'executionId="([0-9]{1,20})"')


def notification_token(secret: str) -> str:
    """The token job platforms put in the notification URL (printed by the docs' recipe)."""
    return hmac.new(secret.encode(), _TOKEN_CONTEXT, hashlib.sha256).hexdigest()


def is_job_notification(req: WebhookRequest) -> bool:
    return req.path.startswith(PREFIX)


def _authenticated(req: WebhookRequest, secret: str, now: datetime) -> None:
    given = (req.query or {}).get("token") or req.headers.get("x-opslink-token", "")
    if given:
        if not hmac.compare_digest(given.encode(), notification_token(secret).encode()):
            raise Rejected(401, "bad notification token")
        return
    verify("generic", req, secret, now)  # X-OpsLink-Signature, or 401


def _json(body: bytes) -> Any:
    try:
        return json_input.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def job_id_from(platform: str, req: WebhookRequest) -> str | None:
    parsed = _json(req.body)
    doc: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    candidates: list[Any] = []
    if platform == "rundeck":
        execution = doc.get("execution")
        execution = execution if isinstance(execution, dict) else {}
        xml = _XML_EXECUTION_ID.search(req.body)
        candidates += [
            req.headers.get("x-rundeck-notification-execution-id"),
            (req.query or {}).get("id"),
            execution.get("id"),
            doc.get("executionId"),
            xml.group(1).decode() if xml else None,
        ]
    elif platform == "awx":
        candidates.append(doc.get("id"))
    else:
        candidates += [doc.get("job_id"), doc.get("id")]
    for value in candidates:
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value).strip()
            if _JOB_ID.match(text):
                return text
    return None


def handle_job_notification(
    req: WebhookRequest,
    secret: str,
    forward: Callable[[dict[str, Any]], None],
    now: datetime,
) -> tuple[int, dict[str, Any]]:
    platform = req.path[len(PREFIX) :].strip("/")
    if platform not in PLATFORMS:
        return 404, {
            "error": f"no job notifications for {platform[:40]!r} ({', '.join(PLATFORMS)})"
        }
    if req.method != "POST":
        return 405, {"error": "notifications are POST requests"}
    if len(req.body) > MAX_BODY:
        return 413, {"error": f"body over {MAX_BODY} bytes"}
    try:
        _authenticated(req, secret, now)
    except Rejected as exc:
        return exc.status, {"error": exc.reason}
    job_id = job_id_from(platform, req)
    if job_id is None:
        return 400, {"error": f"no job id in the {platform} notification"}
    try:
        forward(job_state_change(platform, job_id, f"{platform} notification"))
    except RetryableError as exc:  # the platform retries (or the safety poll finds the job)
        return 503, {"error": f"could not pass the notification on: {exc}", "retry": True}
    return 202, {"status": "forwarded", "platform": platform, "job_id": job_id}
