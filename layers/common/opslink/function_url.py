"""What the track function's URL answers: ticket webhooks at `/`, job platforms'
notifications at `/jobs/<platform>` (job_notifications.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from opslink.job_notifications import handle_job_notification, is_job_notification
from opslink.track_service import TrackDeps
from opslink.webhook_service import (
    RETRY_AFTER_SECONDS,
    WebhookRequest,
    function_url_response,
    handle_webhook,
)

logger = Logger(child=True)


def answer(
    request: WebhookRequest,
    secret: str | None,
    deps: TrackDeps,
    forward_job_event: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    if secret is None:
        return function_url_response(
            404, {"error": "webhooks are not configured (WebhookSecretName)"}
        )
    if is_job_notification(request):
        status, doc = handle_job_notification(request, secret, forward_job_event, deps.clock())
        logger.info("job notification handled", extra={"status": status, **doc})
        return function_url_response(status, doc)
    status, doc = handle_webhook(request, deps, deps.tickets.name, secret, deps.bookkeeping)
    logger.info("webhook handled", extra={"status": status, **doc})
    retry = (
        {"retry-after": str(doc.get("retry_after", RETRY_AFTER_SECONDS))} if status == 503 else None
    )
    return function_url_response(status, doc, retry)
