"""Ticket webhooks: verify, deduplicate, then apply the ticket's *current* state.

Each provider signs its webhooks its own way; a request with a bad or missing signature
gets 401 and changes nothing. Bodies over 256 KiB get 413. A delivery seen before is
acknowledged without effect (replays), and signed timestamps older than five minutes
are refused. The payload is only trusted for the ticket's id: its state is read from the
ticket system itself, so a forged-but-signed or stale payload cannot close an alert.

Schemes (header names as the providers document them):
- github:  X-Hub-Signature-256: sha256=HMAC_SHA256(secret, body); X-GitHub-Delivery
- jira:    X-Hub-Signature: sha256=HMAC_SHA256(secret, body); X-Atlassian-Webhook-Identifier
- zendesk: X-Zendesk-Webhook-Signature: base64(HMAC_SHA256(secret, timestamp + body));
           X-Zendesk-Webhook-Signature-Timestamp
- others (builtin, servicenow, redmine): X-OpsLink-Timestamp (unix seconds) and
           X-OpsLink-Signature: sha256=HMAC_SHA256(secret, timestamp + "." + body), the
           MAC in hex or base64 (recipes for each system: docs/TICKET_SYSTEMS.md)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger

from opslink import json_input
from opslink.errors import RetryableError, TicketSystemRejected
from opslink.ports import ReplayGuard
from opslink.ticket_closure import apply_missing, apply_ticket
from opslink.track_service import TrackDeps, record_busy, record_skip

logger = Logger(child=True)

MAX_BODY = 256 * 1024
TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    path: str = "/"
    query: dict[str, str] | None = None


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _hex_hmac(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that any header value survives (non-ASCII included)."""
    return bool(given) and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode()
    )


def _check_time(ts: str | None, now: datetime) -> None:
    try:
        at = datetime.fromtimestamp(int(str(ts)), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise Rejected(401, "missing or malformed signature timestamp") from None
    if abs(now - at) > TOLERANCE:
        raise Rejected(401, "signature timestamp outside the 5-minute window (replay?)")


def verify(provider: str, req: WebhookRequest, secret: str, now: datetime) -> str:
    """Check the signature; return the delivery id used against replays."""
    h = req.headers
    if provider in ("github", "jira"):
        header = "x-hub-signature-256" if provider == "github" else "x-hub-signature"
        given = h.get(header, "")
        expected = "sha256=" + _hex_hmac(secret, req.body)
        if not _same(given, expected):
            raise Rejected(401, f"bad or missing {header}")
        # Replays are keyed on the signed content, not on the unsigned delivery-id header
        # (a redelivery carries the same body, so it is recognised all the same).
        return expected
    if provider == "zendesk":
        ts = h.get("x-zendesk-webhook-signature-timestamp", "")
        given = h.get("x-zendesk-webhook-signature", "")
        mac = hmac.new(secret.encode(), ts.encode() + req.body, hashlib.sha256).digest()
        if not _same(given, base64.b64encode(mac).decode()):
            raise Rejected(401, "bad or missing x-zendesk-webhook-signature")
        try:
            _check_time(
                str(int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())), now
            )
        except ValueError:
            raise Rejected(401, "malformed x-zendesk-webhook-signature-timestamp") from None
        return given
    ts = h.get("x-opslink-timestamp", "")
    given = h.get("x-opslink-signature", "")
    mac = hmac.new(secret.encode(), ts.encode() + b"." + req.body, hashlib.sha256).digest()
    # Hex (openssl, Python) or base64 (ServiceNow's GlideCertificateEncryption.generateMac).
    if not (
        _same(given, "sha256=" + mac.hex())
        or _same(given, "sha256=" + base64.b64encode(mac).decode())
    ):
        raise Rejected(401, "bad or missing x-opslink-signature")
    _check_time(ts, now)
    return given


def ticket_id_from(provider: str, payload: Any) -> str | None:
    """The changed ticket's id, from each provider's documented payload."""
    if not isinstance(payload, dict):
        return None
    candidates: list[Any] = []
    if provider == "github":
        candidates.append((payload.get("issue") or {}).get("number"))
    elif provider == "jira":
        issue = payload.get("issue") or {}
        candidates += [issue.get("key"), issue.get("id")]
    elif provider == "zendesk":
        candidates += [
            (payload.get("ticket") or {}).get("id"),
            (payload.get("detail") or {}).get("id"),
        ]
    elif provider == "servicenow":
        candidates += [payload.get("sys_id"), (payload.get("incident") or {}).get("sys_id")]
    else:
        candidates += [payload.get("ticket_id"), (payload.get("issue") or {}).get("id")]
    for value in candidates:
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


def request_from_function_url(event: Any) -> WebhookRequest | None:
    """A Lambda Function URL (payload 2.0) request, or None for any other event."""
    if not isinstance(event, dict) or "http" not in (event.get("requestContext") or {}):
        return None
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return WebhookRequest(
        method=str(event["requestContext"]["http"].get("method", "")).upper(),
        headers=headers,
        body=body,
        path=str(event.get("rawPath") or event["requestContext"]["http"].get("path") or "/"),
        query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
    )


def function_url_response(
    status: int, doc: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(doc),
    }


RETRY_AFTER_SECONDS = 60


def parse_body(req: WebhookRequest) -> Any:
    """JSON, or GitHub's default form encoding (`payload=<JSON>`); ValueError otherwise."""
    kind = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        form = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
        if "payload" not in form:
            raise ValueError("form-encoded body without a payload field")
        return json_input.loads(form["payload"][0])
    return json_input.loads(req.body or b"null")


def _says_deleted(payload: Any) -> bool:
    """The delivery itself reports a deletion (GitHub `issues.deleted`, a Zendesk or
    generic payload with status "deleted"): only then is a 404 taken as deleted."""
    if not isinstance(payload, dict):
        return False
    ticket = payload.get("ticket") or payload.get("detail") or {}
    status = ticket.get("status") if isinstance(ticket, dict) else None
    return (
        payload.get("action") == "deleted"
        or status == "deleted"
        or payload.get("status") == "deleted"
    )


def handle_webhook(
    req: WebhookRequest, deps: TrackDeps, provider: str, secret: str, replay: ReplayGuard
) -> tuple[int, dict[str, Any]]:
    """Verify, then apply the ticket's current state; the delivery is recorded as seen
    only once it was applied, so a vendor's retry after a transient failure (answered
    503 with Retry-After) is applied, never answered `duplicate`."""
    now = deps.clock()
    if req.method != "POST":
        return 405, {"error": "webhooks are POST requests"}
    if len(req.body) > MAX_BODY:
        return 413, {"error": f"body over {MAX_BODY} bytes"}
    try:
        delivery = f"{provider}:{verify(provider, req, secret, now)}"
    except Rejected as exc:
        return exc.status, {"error": exc.reason}
    if provider == "github" and req.headers.get("x-github-event") == "ping":
        return 200, {"status": "pong"}  # GitHub's test delivery when a hook is created
    try:
        payload = parse_body(req)
    except (ValueError, UnicodeDecodeError):
        return 400, {"error": "body is neither JSON nor a form-encoded payload"}
    ticket_id = ticket_id_from(provider, payload)
    if ticket_id is None:
        return 400, {"error": f"no ticket id in the {provider} payload"}
    if replay.delivery_seen(delivery):
        return 200, {"status": "duplicate", "ticket_id": ticket_id}
    try:
        ticket = deps.tickets.get(ticket_id)
        if ticket is None and _says_deleted(payload):  # deleted: closed by a human
            applied = apply_missing(deps, provider, ticket_id, "webhook")
        elif ticket is None:  # gone without saying why (404): nothing to apply
            replay.claim_delivery(delivery, now)
            return 200, {"status": "ignored", "reason": f"{provider} ticket {ticket_id} not found"}
        else:
            applied = apply_ticket(deps, ticket, "webhook")
    except TicketSystemRejected as exc:  # this ticket cannot be used: recorded, not retried
        record_skip(deps, ticket_id, exc, "webhook")
        replay.claim_delivery(delivery, now)
        return 200, {"status": "skipped", "ticket_id": ticket_id, "reason": str(exc)}
    except RetryableError as exc:  # away or throttled: the vendor retries the same delivery
        record_busy(deps, exc, "webhook")
        wait = exc.retry_after if exc.retry_after is not None else RETRY_AFTER_SECONDS
        return 503, {"error": f"ticket {ticket_id} cannot be handled now: {exc}", "retry": True,
                     "retry_after": max(1, math.ceil(wait))}  # fmt: skip
    replay.claim_delivery(delivery, now)
    status = 202 if applied.outcome == "unknown" else 200
    return status, {
        "status": applied.outcome,
        "ticket_id": ticket_id,
        "alert_id": applied.alert_id,
        "reason": applied.reason,
    }
