"""`opslink jobs notify-url PLATFORM`: where and how a job platform tells OpsLink that a
job ended (docs/JOB_PLATFORMS.md) — the webhook URL's `/jobs/<platform>` path with the
token derived from the webhook secret, ready to paste into Rundeck or AWX."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from opslink.job_notifications import notification_token
from opslink_cli.connection import OperatorError
from opslink_cli.render import emit, style_from

_HOW = {
    "rundeck": "On each OpsLink job (RundeckJobs): notifications On Success, On Failure and "
    "On Abort, type Webhook, this URL:",
    "awx": "A notification template of type Webhook (POST, this URL and header), attached "
    "to each job template in AwxTemplates for Success and Failure:",
    "http": 'When a job ends, POST {"job_id": "<id>"} to this URL:',
}


def notify_url(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    platform = args.platform
    base = (conn.outputs.get("TicketWebhookUrl") or "").rstrip("/")
    if not base:
        raise OperatorError(
            f"stack {conn.stack_name} has no webhook URL: deploy it with WebhookSecretName set "
            "(the URL exists only when there is a secret to check requests with)"
        )
    try:
        secret = conn.session.client("secretsmanager", endpoint_url=conn.endpoint_url)
        value = secret.get_secret_value(SecretId=args.webhook_secret)["SecretString"]
    except Exception as exc:  # ClientError, no credentials: one line, no traceback
        raise OperatorError(
            f"cannot read the webhook secret {args.webhook_secret!r}: "
            f"{' '.join(str(exc).split())[:300]} (needs secretsmanager:GetSecretValue on it)"
        ) from None
    token = notification_token(str(value))
    url = f"{base}/jobs/{platform}"
    doc: dict[str, Any] = {"platform": platform, "url": url, "headers": {}}
    if platform == "awx":
        doc["headers"] = {"X-OpsLink-Token": token}
    elif platform == "rundeck":
        doc["url"] = f"{url}?token={token}&id=${{execution.id}}"
    else:
        doc["url"] = f"{url}?token={token}"
    style = style_from(args, out)
    if style.output != "table" or style.query:
        emit(doc, style, out)
        return 0
    out.write(_HOW[platform] + "\n  " + doc["url"] + "\n")
    for name, value in doc["headers"].items():
        out.write(f"  header {name}: {value}\n")
    out.write("Then deploy with JobCompletionEvents=on. The token changes with the secret.\n")
    return 0
