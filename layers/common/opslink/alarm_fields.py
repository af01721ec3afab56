"""Field checks shared by every alarm form: lengths capped (fields reach tickets),
timestamps aware and in range, states and ARNs validated, dimensions normalised."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from opslink.clock import utcnow
from opslink.errors import InvalidAlarm
from opslink.models import AlarmState

MAX_TEXT = 16_384  # descriptions and reasons beyond this are cut: they end up in tickets
ALARM_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:cloudwatch:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):alarm:(?P<name>.+)$"
)
STATES = ", ".join(s.value for s in AlarmState)


def cut(text: str | None) -> str:
    text = text or ""
    if len(text) <= MAX_TEXT:
        return text
    # A word cut in two is left out whole: a secret's first half is one no rule finds.
    # (A longer run without a space is no secret shape; it is kept as cut.)
    head = text[:MAX_TEXT]
    if not text[MAX_TEXT].isspace():
        word_at = max(head.rfind(c) for c in " \t\r\n") + 1
        head = head[:word_at] if len(head) - word_at <= 512 else head
    return head + f"… [truncated {len(text) - len(head)} characters]"


MAX_FIELD = 1024  # a dimension value, metric name or expression: they reach tickets
MAX_DIMENSIONS = 30  # CloudWatch allows 30 per metric
# A metric-math alarm's queries and a composite's triggering children, kept at most: an
# alert is one DynamoDB item (400 KB); past that its every write would be refused and
# the alarm retried until parked. CloudWatch allows far fewer.
MAX_METRICS = 20
MAX_CHILDREN = 100
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(days=1)


def field(text: Any) -> str:
    value = str(text)
    return value if len(value) <= MAX_FIELD else value[:MAX_FIELD] + "…"


def when(value: datetime, field: str) -> datetime:
    """A state-change time OpsLink can order by: with a time zone, not absurd, in UTC (the
    store compares stamps as ISO text: "10:00+01:00" must not sort after "09:30+00:00").
    A naive or far-future stamp would poison the alarm's later transitions."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidAlarm(f"{field} {value.isoformat()!r} has no time zone")
    if not EARLIEST <= value <= utcnow() + FUTURE_SKEW:
        raise InvalidAlarm(f"{field} {value.isoformat()!r} is out of range")
    return value.astimezone(UTC)


def state(value: Any, field: str) -> AlarmState:
    try:
        return AlarmState(str(value))
    except ValueError:
        raise InvalidAlarm(
            f"unknown alarm state {str(value)[:40]!r} in {field} (expected {STATES})"
        ) from None


def arn_parts(arn: str) -> tuple[str, str]:
    match = ALARM_ARN.match(arn or "")
    if not match:
        raise InvalidAlarm(f"AlarmArn {str(arn)[:120]!r} is not a CloudWatch alarm ARN")
    return match["region"], match["account"]


def describe_validation(exc: ValidationError, form: str) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    kind = "missing field" if first["type"] == "missing" else "invalid field"
    return f"{form}: {kind} {where!r} ({first['msg']})"


# --- SNS alarm notification ---------------------------------------------------------


def dims(raw: Any) -> dict[str, str]:
    """Dimensions come as [{name, value}] in SNS and as {name: value} in EventBridge;
    at most 30, each name and value capped (they reach tickets and runbook targets)."""
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [
            (item.get("name") or item.get("Name"), item.get("value") or item.get("Value"))
            for item in raw
            if isinstance(item, dict)
        ]
    else:
        pairs = []
    for name, value in pairs[:MAX_DIMENSIONS]:
        if name is not None and value is not None:
            out[field(name)[:255]] = field(value)
    return out


MAX_TAGS = 50  # CloudWatch's own limit per alarm
TAGS_RETRIEVED = "SUCCESS"


def payload_tags(raw: Any, status: Any) -> dict[str, str] | None:
    """The alarm's tags as its notification carries them (CloudWatch's tag propagation:
    `AlarmTags` with `AlarmTagsStatus` in SNS, `alarmTags`/`alarmTagsStatus` in events
    and alarm-action payloads), as {key: value}; None when the notification does not
    carry them retrieved (propagation off, or CloudWatch could not read them): the tags
    are then read as before. A map or [{Key, Value}] list; keys and values within
    CloudWatch's limits, `aws:` keys (never propagated) and anything else left out."""
    if status != TAGS_RETRIEVED:
        return None
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [
            (item.get("Key", item.get("key")), item.get("Value", item.get("value")))
            for item in raw
            if isinstance(item, dict)
        ]
    elif raw is None:
        pairs = []  # retrieved, and the alarm has none (or none the filter kept)
    else:
        return None
    out: dict[str, str] = {}
    for key, value in pairs[:MAX_TAGS]:
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        if 1 <= len(key) <= 128 and len(value) <= 256 and not key.lower().startswith("aws:"):
            out[key] = value
    return out
