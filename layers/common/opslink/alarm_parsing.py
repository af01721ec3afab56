"""Parse every form a CloudWatch alarm state change reaches OpsLink in.

Forms: the SNS alarm notification (metric, metric-math, anomaly-detection and composite
alarms), the EventBridge "CloudWatch Alarm State Change" event (directly or forwarded
through SNS) and the payload CloudWatch sends when it invokes a Lambda function as an
alarm action. Each field is read from where its form really carries it: the alarm name
from the message body (SNS subjects are truncated to 100 characters) and the region code
from the alarm ARN (SNS messages carry a display name such as "EU (Ireland)").
"""

from __future__ import annotations

import json
import re
from typing import Any

from opslink.alarm_events import from_alarm_action, from_eventbridge
from opslink.alarm_sns import from_sns
from opslink.errors import InvalidAlarm, TestNotification
from opslink.models import Alarm
from opslink.scrub import scrub_excerpt

_PLACEHOLDER = re.compile(
    r"^(REGION|ACCOUNT_NUMBER|ACCOUNT_ID|AWS_ACCOUNT_ID|EXAMPLE\w*|x{12})$", re.I
)


def test_notification_marker(doc: dict[str, Any]) -> str | None:
    """The placeholder that marks `doc` as a test notification, else None. Only identity
    fields are looked at (the region and account of the ARN, the account, the region
    code), never alarm names or descriptions: a real alarm may be called "example"."""
    values: list[Any] = []
    for key in ("AlarmArn", "alarmArn"):
        arn = doc.get(key)
        if isinstance(arn, str) and arn.count(":") >= 5:
            values += arn.split(":")[3:5]
    values += [doc.get("AWSAccountId"), doc.get("account"), doc.get("accountId")]
    if "detail-type" in doc:
        values.append(doc.get("region"))
    elif isinstance(doc.get("Region"), str) and doc["Region"].strip().upper() == "REGION":
        values.append(doc["Region"])
    for value in values:
        if isinstance(value, str) and _PLACEHOLDER.match(value.strip()):
            return value.strip()
    return None


def is_eventbridge_alarm(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("detail-type") == "CloudWatch Alarm State Change"


def is_alarm_action(doc: Any) -> bool:
    return isinstance(doc, dict) and "alarmData" in doc and "alarmArn" in doc


# Control characters other than tab and line breaks: no alarm field needs them, and a
# NUL is refused by the databases behind ticket systems (a ticket never made, retried).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_DEPTH = 32  # CloudWatch's deepest form (an EventBridge metric query's dimensions): 9


def _printable(value: Any, depth: int = 0) -> Any:
    """A copy of a decoded document without control characters in its strings."""
    if depth > MAX_DEPTH:
        raise InvalidAlarm(f"alarm message nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {_printable(k, depth + 1): _printable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v, depth + 1) for v in value]
    return value


def parse_alarm_document(doc: Any, topic_arn: str | None = None) -> Alarm:
    """Parse one decoded document: an SNS alarm message body, an EventBridge event or
    an alarm-action payload. Raises InvalidAlarm with a specific reason, TestNotification
    for the console's placeholder messages."""
    if not isinstance(doc, dict):
        raise InvalidAlarm(f"alarm message is a JSON {type(doc).__name__}, not an object")
    doc = _printable(doc)
    placeholder = test_notification_marker(doc)
    if placeholder:
        raise TestNotification(f"test notification (placeholder {placeholder})")
    if is_eventbridge_alarm(doc):
        return from_eventbridge(doc)
    if doc.get("detail-type"):
        raise InvalidAlarm(
            f"EventBridge event of type {str(doc['detail-type'])[:80]!r} is not an alarm state change"
        )
    if is_alarm_action(doc):
        return from_alarm_action(doc)
    if "AlarmName" in doc or "NewStateValue" in doc or "AlarmArn" in doc:
        return from_sns(doc, topic_arn)
    raise InvalidAlarm("message is not a CloudWatch alarm (no AlarmName, detail-type or alarmData)")


def parse_sns_message(message: str | None, topic_arn: str | None = None) -> Alarm:
    """Parse the Message string of an SNS record (published to `topic_arn`)."""
    if message is None or not message.strip():
        raise InvalidAlarm("SNS Message is empty")
    try:
        doc = json.loads(message)
    except json.JSONDecodeError as exc:
        raise InvalidAlarm(f"SNS Message is not JSON ({exc.msg} at position {exc.pos})") from None
    except RecursionError:  # hostile nesting: refused, not retried as an internal error
        raise InvalidAlarm(f"SNS Message nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # a number past Python's digit limit
        raise InvalidAlarm(
            f"SNS Message is not usable JSON ({scrub_excerpt(str(exc), 80)})"
        ) from None
    return parse_alarm_document(doc, topic_arn)
