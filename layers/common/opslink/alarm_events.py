"""The EventBridge "CloudWatch Alarm State Change" event and the payload CloudWatch
sends when it invokes a Lambda function as an alarm action (same `detail` shape)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opslink.alarm_fields import (
    MAX_METRICS,
    arn_parts,
    cut,
    describe_validation,
    dims,
    payload_tags,
    state,
    when,
)
from opslink.errors import InvalidAlarm
from opslink.models import Alarm, AlarmKind, AlarmSource, MetricRef


class _StateBlock(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
    value: str
    reason: str | None = None
    timestamp: datetime
    actionsSuppressedBy: str | None = Field(default=None, max_length=32)


class _Detail(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
    alarmName: str = Field(min_length=1, max_length=255)
    state: _StateBlock
    previousState: _StateBlock | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)
    alarmTags: Any = None  # tag propagation (payload_tags)
    alarmTagsStatus: Any = None


def _from_detail(detail: Any, arn: str, source: AlarmSource, form: str) -> Alarm:
    try:
        parsed = _Detail.model_validate(detail)
    except ValidationError as exc:
        raise InvalidAlarm(describe_validation(exc, form)) from None
    region, account = arn_parts(arn)
    config = parsed.configuration
    metrics: list[MetricRef] = []
    kind = AlarmKind.METRIC
    if config.get("alarmRule"):
        kind = AlarmKind.COMPOSITE
    else:
        queries = config.get("metrics") or []
        if not isinstance(queries, list):
            raise InvalidAlarm(f"{form}: 'configuration.metrics' must be a list")
        for query in queries[:MAX_METRICS]:
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
                    dimensions=dims(metric.get("dimensions")),
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
        state=state(parsed.state.value, "state.value"),
        previous_state=state(parsed.previousState.value, "previousState.value")
        if parsed.previousState
        else None,
        reason=cut(parsed.state.reason),
        description=cut(config.get("description")),
        state_changed_at=when(parsed.state.timestamp, "state.timestamp"),
        kind=kind,
        source=source,
        metrics=tuple(metrics),
        alarm_rule=cut(config["alarmRule"]) if config.get("alarmRule") else None,
        actions_suppressor=_name(config.get("actionsSuppressor")),
        actions_suppressed_by=parsed.state.actionsSuppressedBy,
        tags=payload_tags(parsed.alarmTags, parsed.alarmTagsStatus),
    )


def _name(ref: Any) -> str | None:
    """An alarm named by name or ARN, as a name (None when absent or not text)."""
    if not isinstance(ref, str) or not ref.strip():
        return None
    return cut(ref.split(":alarm:", 1)[-1].strip())[:255]


def from_eventbridge(event: dict[str, Any]) -> Alarm:
    resources = event.get("resources") or []
    arn = next((r for r in resources if isinstance(r, str) and ":alarm:" in r), None)
    if arn is None:
        raise InvalidAlarm("EventBridge alarm event: no alarm ARN in 'resources'")
    alarm = _from_detail(
        event.get("detail"), arn, AlarmSource.EVENTBRIDGE, "EventBridge alarm event"
    )
    # EventBridge sets `account` and `region` to where the event was put (a forwarded
    # event keeps its origin's): an event naming another account's alarm was made up.
    sender, at = str(event.get("account") or ""), str(event.get("region") or "")
    if (sender and alarm.account_id and sender != alarm.account_id) or (
        at and alarm.region and at != alarm.region
    ):
        raise InvalidAlarm(
            f"EventBridge alarm event: put by account {sender or '?'} in {at or '?'} but names "
            f"alarm {alarm.arn}: a forged cross-account event, not an alarm of that account"
        )
    return alarm


def from_alarm_action(event: dict[str, Any]) -> Alarm:
    arn = event.get("alarmArn")
    if not isinstance(arn, str):
        raise InvalidAlarm("alarm action payload: missing field 'alarmArn'")
    return _from_detail(
        event.get("alarmData"), arn, AlarmSource.ALARM_ACTION, "alarm action payload"
    )


# Placeholders of the sample and test notifications the console and docs hand out.
