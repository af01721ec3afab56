"""The SNS alarm notification (metric, metric-math, anomaly-detection and composite
alarms). The alarm name is read from the body (SNS subjects are cut at 100 characters)
and the region code from the alarm ARN (the body carries a display name)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opslink.alarm_fields import (
    MAX_CHILDREN,
    MAX_METRICS,
    arn_parts,
    cut,
    describe_validation,
    dims,
    field,
    payload_tags,
    state,
    when,
)
from opslink.aws_regions import partition_for_region, partition_of, region_code, region_of_arn
from opslink.errors import InvalidAlarm
from opslink.models import Alarm, AlarmKind, AlarmSource, MetricRef


class _SnsDimension(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True)
    name: str
    value: str


class _SnsMetricStat(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
    Metric: dict[str, Any] = Field(default_factory=dict)
    Period: int | None = None
    Stat: str | None = None


class _SnsMetricDataQuery(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
    Id: str | None = None
    Expression: str | None = None
    Label: str | None = None
    MetricStat: _SnsMetricStat | None = None


class _SnsTrigger(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
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
    model_config = ConfigDict(defer_build=True, extra="ignore")
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
    AlarmTags: Any = None  # tag propagation (payload_tags)
    AlarmTagsStatus: Any = None

    @field_validator("AlarmArn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None:
            arn_parts(value)
        return value


def _derived_arn(parsed: _SnsAlarmMessage, topic_arn: str | None) -> str:
    """The ARN CloudWatch would have sent, from account, region and name; the partition
    comes from the topic the message was published to (aws-cn, aws-us-gov)."""
    account = str(parsed.AWSAccountId or "")
    if not re.fullmatch(r"\d{12}", account):
        raise InvalidAlarm(
            "CloudWatch alarm message: no 'AlarmArn' and no 12-digit 'AWSAccountId' to derive it from"
        )
    # CloudWatch publishes only to topics in the alarm's own region: the topic's region
    # stands in for a display name no table knows (or a message without one).
    region = region_code(parsed.Region or "") or region_of_arn(topic_arn)
    if region is None:
        raise InvalidAlarm(
            f"CloudWatch alarm message: no 'AlarmArn', region {str(parsed.Region)[:60]!r} "
            "is neither a region code nor a known region name, and no SNS TopicArn names one"
        )
    partition = partition_of(topic_arn) or partition_for_region(region)
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{parsed.AlarmName}"


def from_sns(msg: dict[str, Any], topic_arn: str | None = None) -> Alarm:
    try:
        parsed = _SnsAlarmMessage.model_validate(msg)
    except ValidationError as exc:
        raise InvalidAlarm(describe_validation(exc, "CloudWatch alarm message")) from None
    arn = parsed.AlarmArn or _derived_arn(parsed, topic_arn)
    region, account = arn_parts(arn)
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
                dimensions=dims([d.model_dump() for d in trigger.Dimensions]),
                stat=trigger.Statistic or trigger.ExtendedStatistic,
                period=trigger.Period,
            )
        )
    elif trigger.Metrics:
        kind = AlarmKind.ANOMALY_DETECTION if trigger.ThresholdMetricId else AlarmKind.METRIC_MATH
        for query in trigger.Metrics[:MAX_METRICS]:
            stat = query.MetricStat
            metric = stat.Metric if stat else {}
            metrics.append(
                MetricRef(
                    id=query.Id,
                    namespace=metric.get("Namespace"),
                    name=metric.get("MetricName"),
                    dimensions=dims(metric.get("Dimensions")),
                    stat=stat.Stat if stat else None,
                    period=stat.Period if stat else None,
                    expression=query.Expression,
                    label=query.Label,
                )
            )
    else:
        raise InvalidAlarm("CloudWatch alarm message: 'Trigger' has neither MetricName nor Metrics")
    children = tuple(
        field(child.get("Arn")) for child in parsed.TriggeringChildren if child.get("Arn")
    )[:MAX_CHILDREN]
    return Alarm(
        name=parsed.AlarmName,
        arn=arn,
        arn_derived=parsed.AlarmArn is None,
        account_id=account,
        region=region,
        state=state(parsed.NewStateValue, "NewStateValue"),
        previous_state=state(parsed.OldStateValue, "OldStateValue")
        if parsed.OldStateValue
        else None,
        reason=cut(parsed.NewStateReason),
        description=cut(parsed.AlarmDescription),
        state_changed_at=when(parsed.StateChangeTime, "StateChangeTime"),
        kind=kind,
        source=AlarmSource.SNS,
        metrics=tuple(metrics),
        threshold=trigger.Threshold if trigger else None,
        comparison=trigger.ComparisonOperator if trigger else None,
        alarm_rule=cut(parsed.AlarmRule) if parsed.AlarmRule else None,
        triggering_children=children,
        tags=payload_tags(parsed.AlarmTags, parsed.AlarmTagsStatus),
    )


# --- EventBridge event and alarm-action payload (same "alarmData"/"detail" shape) ---
