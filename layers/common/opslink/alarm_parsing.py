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
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opslink.aws_regions import partition_for_region, partition_of, region_code
from opslink.errors import InvalidAlarm, TestNotification
from opslink.models import Alarm, AlarmKind, AlarmSource, AlarmState, MetricRef

MAX_TEXT = 16_384  # descriptions and reasons beyond this are cut: they end up in tickets
_ALARM_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:cloudwatch:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):alarm:(?P<name>.+)$"
)
_STATES = ", ".join(s.value for s in AlarmState)


def _cut(text: str | None) -> str:
    text = text or ""
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"… [truncated {len(text) - MAX_TEXT} characters]"


MAX_FIELD = 1024  # a dimension value, metric name or expression: they reach tickets
MAX_DIMENSIONS = 30  # CloudWatch allows 30 per metric
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(days=1)


def _field(text: Any) -> str:
    value = str(text)
    return value if len(value) <= MAX_FIELD else value[:MAX_FIELD] + "…"


def _when(value: datetime, field: str) -> datetime:
    """A state-change time OpsLink can order by: with a time zone, not absurd. A naive or
    far-future stamp would poison the alarm's later transitions (they compare to it)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidAlarm(f"{field} {value.isoformat()!r} has no time zone")
    if not EARLIEST <= value <= datetime.now(UTC) + FUTURE_SKEW:
        raise InvalidAlarm(f"{field} {value.isoformat()!r} is out of range")
    return value


def _state(value: Any, field: str) -> AlarmState:
    try:
        return AlarmState(str(value))
    except ValueError:
        raise InvalidAlarm(
            f"unknown alarm state {str(value)[:40]!r} in {field} (expected {_STATES})"
        ) from None


def _arn_parts(arn: str) -> tuple[str, str]:
    match = _ALARM_ARN.match(arn or "")
    if not match:
        raise InvalidAlarm(f"AlarmArn {str(arn)[:120]!r} is not a CloudWatch alarm ARN")
    return match["region"], match["account"]


def _describe_validation(exc: ValidationError, form: str) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    kind = "missing field" if first["type"] == "missing" else "invalid field"
    return f"{form}: {kind} {where!r} ({first['msg']})"


# --- SNS alarm notification ---------------------------------------------------------


class _SnsDimension(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    name: str
    value: str


class _SnsMetricStat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    Metric: dict[str, Any] = Field(default_factory=dict)
    Period: int | None = None
    Stat: str | None = None


class _SnsMetricDataQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    Id: str | None = None
    Expression: str | None = None
    Label: str | None = None
    MetricStat: _SnsMetricStat | None = None


class _SnsTrigger(BaseModel):
    model_config = ConfigDict(extra="ignore")
    MetricName: str | None = None
    Namespace: str | None = None
    Statistic: str | None = None
    ExtendedStatistic: str | None = None
    Period: int | None = None
    Dimensions: list[_SnsDimension] = Field(default_factory=list)
    Metrics: list[_SnsMetricDataQuery] = Field(default_factory=list)
    ComparisonOperator: str | None = None
    Threshold: float | None = None
    ThresholdMetricId: str | None = None


class _SnsAlarmMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    AlarmName: str = Field(min_length=1, max_length=255)
    AlarmArn: str | None = None  # absent from notifications sent before about 2020
    AWSAccountId: str | None = None
    Region: str | None = None
    AlarmDescription: str | None = None
    NewStateValue: str
    OldStateValue: str | None = None
    NewStateReason: str | None = None
    StateChangeTime: datetime
    Trigger: _SnsTrigger | None = None
    AlarmRule: str | None = None
    TriggeringChildren: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("AlarmArn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None:
            _arn_parts(value)
        return value


def _dims(raw: Any) -> dict[str, str]:
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
            out[_field(name)[:255]] = _field(value)
    return out


def _derived_arn(parsed: _SnsAlarmMessage, topic_arn: str | None) -> str:
    """The ARN CloudWatch would have sent, from account, region and name; the partition
    comes from the topic the message was published to (aws-cn, aws-us-gov)."""
    account = str(parsed.AWSAccountId or "")
    if not re.fullmatch(r"\d{12}", account):
        raise InvalidAlarm(
            "CloudWatch alarm message: no 'AlarmArn' and no 12-digit 'AWSAccountId' to derive it from"
        )
    region = region_code(parsed.Region or "")
    if region is None:
        raise InvalidAlarm(
            f"CloudWatch alarm message: no 'AlarmArn' and region {str(parsed.Region)[:60]!r} "
            "is neither a region code nor a known region name"
        )
    partition = partition_of(topic_arn) or partition_for_region(region)
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{parsed.AlarmName}"


def _from_sns(msg: dict[str, Any], topic_arn: str | None = None) -> Alarm:
    try:
        parsed = _SnsAlarmMessage.model_validate(msg)
    except ValidationError as exc:
        raise InvalidAlarm(_describe_validation(exc, "CloudWatch alarm message")) from None
    arn = parsed.AlarmArn or _derived_arn(parsed, topic_arn)
    region, account = _arn_parts(arn)
    trigger = parsed.Trigger
    metrics: list[MetricRef] = []
    kind = AlarmKind.METRIC
    if parsed.AlarmRule is not None:
        kind = AlarmKind.COMPOSITE
    elif trigger is None:
        raise InvalidAlarm("CloudWatch alarm message: neither 'Trigger' nor 'AlarmRule' present")
    elif trigger.MetricName:
        metrics.append(
            MetricRef(
                namespace=trigger.Namespace,
                name=trigger.MetricName,
                dimensions=_dims([d.model_dump() for d in trigger.Dimensions]),
                stat=trigger.Statistic or trigger.ExtendedStatistic,
                period=trigger.Period,
            )
        )
    elif trigger.Metrics:
        kind = AlarmKind.ANOMALY_DETECTION if trigger.ThresholdMetricId else AlarmKind.METRIC_MATH
        for query in trigger.Metrics:
            stat = query.MetricStat
            metric = stat.Metric if stat else {}
            metrics.append(
                MetricRef(
                    id=query.Id,
                    namespace=metric.get("Namespace"),
                    name=metric.get("MetricName"),
                    dimensions=_dims(metric.get("Dimensions")),
                    stat=stat.Stat if stat else None,
                    period=stat.Period if stat else None,
                    expression=query.Expression,
                    label=query.Label,
                )
            )
    else:
        raise InvalidAlarm("CloudWatch alarm message: 'Trigger' has neither MetricName nor Metrics")
    children = tuple(
        str(child.get("Arn")) for child in parsed.TriggeringChildren if child.get("Arn")
    )
    return Alarm(
        name=parsed.AlarmName,
        arn=arn,
        arn_derived=parsed.AlarmArn is None,
        account_id=account,
        region=region,
        state=_state(parsed.NewStateValue, "NewStateValue"),
        previous_state=_state(parsed.OldStateValue, "OldStateValue")
        if parsed.OldStateValue
        else None,
        reason=_cut(parsed.NewStateReason),
        description=_cut(parsed.AlarmDescription),
        state_changed_at=_when(parsed.StateChangeTime, "StateChangeTime"),
        kind=kind,
        source=AlarmSource.SNS,
        metrics=tuple(metrics),
        threshold=trigger.Threshold if trigger else None,
        comparison=trigger.ComparisonOperator if trigger else None,
        alarm_rule=_cut(parsed.AlarmRule) if parsed.AlarmRule else None,
        triggering_children=children,
    )


# --- EventBridge event and alarm-action payload (same "alarmData"/"detail" shape) ---


class _StateBlock(BaseModel):
    model_config = ConfigDict(extra="ignore")
    value: str
    reason: str | None = None
    timestamp: datetime


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    alarmName: str = Field(min_length=1, max_length=255)
    state: _StateBlock
    previousState: _StateBlock | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)


def _from_detail(detail: Any, arn: str, source: AlarmSource, form: str) -> Alarm:
    try:
        parsed = _Detail.model_validate(detail)
    except ValidationError as exc:
        raise InvalidAlarm(_describe_validation(exc, form)) from None
    region, account = _arn_parts(arn)
    config = parsed.configuration
    metrics: list[MetricRef] = []
    kind = AlarmKind.METRIC
    if config.get("alarmRule"):
        kind = AlarmKind.COMPOSITE
    else:
        queries = config.get("metrics") or []
        if not isinstance(queries, list):
            raise InvalidAlarm(f"{form}: 'configuration.metrics' must be a list")
        for query in queries:
            if not isinstance(query, dict):
                raise InvalidAlarm(f"{form}: 'configuration.metrics' holds a non-object entry")
            stat = query.get("metricStat") or {}
            metric = stat.get("metric") or {}
            expression = query.get("expression")
            if expression and "ANOMALY_DETECTION_BAND" in expression:
                kind = AlarmKind.ANOMALY_DETECTION
            elif expression and kind is AlarmKind.METRIC:
                kind = AlarmKind.METRIC_MATH
            metrics.append(
                MetricRef(
                    id=query.get("id"),
                    namespace=metric.get("namespace"),
                    name=metric.get("name"),
                    dimensions=_dims(metric.get("dimensions")),
                    stat=stat.get("stat"),
                    period=stat.get("period"),
                    expression=expression,
                    label=query.get("label"),
                )
            )
    return Alarm(
        name=parsed.alarmName,
        arn=arn,
        account_id=account,
        region=region,
        state=_state(parsed.state.value, "state.value"),
        previous_state=_state(parsed.previousState.value, "previousState.value")
        if parsed.previousState
        else None,
        reason=_cut(parsed.state.reason),
        description=_cut(config.get("description")),
        state_changed_at=_when(parsed.state.timestamp, "state.timestamp"),
        kind=kind,
        source=source,
        metrics=tuple(metrics),
        alarm_rule=_cut(config["alarmRule"]) if config.get("alarmRule") else None,
    )


def _from_eventbridge(event: dict[str, Any]) -> Alarm:
    resources = event.get("resources") or []
    arn = next((r for r in resources if isinstance(r, str) and ":alarm:" in r), None)
    if arn is None:
        raise InvalidAlarm("EventBridge alarm event: no alarm ARN in 'resources'")
    return _from_detail(
        event.get("detail"), arn, AlarmSource.EVENTBRIDGE, "EventBridge alarm event"
    )


def _from_alarm_action(event: dict[str, Any]) -> Alarm:
    arn = event.get("alarmArn")
    if not isinstance(arn, str):
        raise InvalidAlarm("alarm action payload: missing field 'alarmArn'")
    return _from_detail(
        event.get("alarmData"), arn, AlarmSource.ALARM_ACTION, "alarm action payload"
    )


# Placeholders of the sample and test notifications the console and docs hand out.
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


def parse_alarm_document(doc: Any, topic_arn: str | None = None) -> Alarm:
    """Parse one decoded document: an SNS alarm message body, an EventBridge event or
    an alarm-action payload. Raises InvalidAlarm with a specific reason, TestNotification
    for the console's placeholder messages."""
    if not isinstance(doc, dict):
        raise InvalidAlarm(f"alarm message is a JSON {type(doc).__name__}, not an object")
    placeholder = test_notification_marker(doc)
    if placeholder:
        raise TestNotification(f"test notification (placeholder {placeholder})")
    if is_eventbridge_alarm(doc):
        return _from_eventbridge(doc)
    if doc.get("detail-type"):
        raise InvalidAlarm(
            f"EventBridge event of type {str(doc['detail-type'])[:80]!r} is not an alarm state change"
        )
    if is_alarm_action(doc):
        return _from_alarm_action(doc)
    if "AlarmName" in doc or "NewStateValue" in doc or "AlarmArn" in doc:
        return _from_sns(doc, topic_arn)
    raise InvalidAlarm("message is not a CloudWatch alarm (no AlarmName, detail-type or alarmData)")


def parse_sns_message(message: str | None, topic_arn: str | None = None) -> Alarm:
    """Parse the Message string of an SNS record (published to `topic_arn`)."""
    if message is None or not message.strip():
        raise InvalidAlarm("SNS Message is empty")
    try:
        doc = json.loads(message)
    except json.JSONDecodeError as exc:
        raise InvalidAlarm(f"SNS Message is not JSON ({exc.msg} at position {exc.pos})") from None
    return parse_alarm_document(doc, topic_arn)
