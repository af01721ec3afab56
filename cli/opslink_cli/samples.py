"""Realistic CloudWatch alarm payloads in every form OpsLink ingests.

Used by `opslink demo`, the tests and to (re)write the sample events under events/:
    python -m opslink_cli.samples events/
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"
REGION_DISPLAY = "EU (Ireland)"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:opslink-AlarmTopic"


def ts(at: datetime) -> str:
    """CloudWatch's timestamp format: 2026-11-27T10:00:00.000+0000."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def alarm_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}"


def _base(
    name: str, state: str, old: str, at: datetime, reason: str, description: str
) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "AlarmDescription": description,
        "AWSAccountId": ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": "2026-11-20T09:00:00.000+0000",
        "NewStateValue": state,
        "NewStateReason": reason,
        "StateChangeTime": ts(at),
        "Region": REGION_DISPLAY,
        "AlarmArn": alarm_arn(name),
        "OldStateValue": old,
        "OKActions": [TOPIC],
        "AlarmActions": [TOPIC],
        "InsufficientDataActions": [],
    }


def metric_alarm(
    name: str,
    at: datetime,
    state: str = "ALARM",
    old: str = "OK",
    metric: str = "CPUUtilization",
    namespace: str = "AWS/EC2",
    dimensions: dict[str, str] | None = None,
    threshold: float = 85.0,
    description: str = "",
    reason: str | None = None,
) -> dict[str, Any]:
    dims = dimensions if dimensions is not None else {"InstanceId": "i-0abc123def4567890"}
    msg = _base(
        name,
        state,
        old,
        at,
        reason
        or (
            f"Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold ({threshold}) "
            "(minimum 3 datapoints for OK -> ALARM transition)."
            if state == "ALARM"
            else f"Threshold Crossed: 1 datapoint was not greater than the threshold ({threshold})."
        ),
        description,
    )
    msg["Trigger"] = {
        "MetricName": metric,
        "Namespace": namespace,
        "StatisticType": "Statistic",
        "Statistic": "AVERAGE",
        "Unit": None,
        "Dimensions": [{"value": v, "name": k} for k, v in dims.items()],
        "Period": 300,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 3,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": threshold,
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
    }
    return msg


def metric_math_alarm(
    name: str, at: datetime, state: str = "ALARM", description: str = ""
) -> dict[str, Any]:
    msg = _base(
        name,
        state,
        "OK",
        at,
        "Threshold Crossed: 2 out of the last 2 datapoints [92.0, 95.5] were greater than the threshold (90.0).",
        description,
    )
    msg["Trigger"] = {
        "Period": 60,
        "EvaluationPeriods": 2,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 90.0,
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
        "Metrics": [
            {
                "Expression": "100 * used / max",
                "Id": "pct",
                "Label": "Connection pool used %",
                "ReturnData": True,
            },
            {
                "Id": "used",
                "MetricStat": {
                    "Metric": {
                        "Dimensions": [{"value": "payments-db-1", "name": "DBInstanceIdentifier"}],
                        "MetricName": "DatabaseConnections",
                        "Namespace": "AWS/RDS",
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
                "ReturnData": False,
            },
            {
                "Id": "max",
                "MetricStat": {
                    "Metric": {
                        "Dimensions": [{"value": "payments-db-1", "name": "DBInstanceIdentifier"}],
                        "MetricName": "MaxConnections",
                        "Namespace": "Custom/RDS",
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
                "ReturnData": False,
            },
        ],
    }
    return msg


def anomaly_alarm(
    name: str, at: datetime, state: str = "ALARM", description: str = ""
) -> dict[str, Any]:
    msg = _base(
        name,
        state,
        "OK",
        at,
        "Thresholds Crossed: 1 out of the last 1 datapoints [812.4] was outside the band (min 120.1, max 480.7).",
        description,
    )
    msg["Trigger"] = {
        "Period": 300,
        "EvaluationPeriods": 1,
        "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
        "ThresholdMetricId": "ad1",
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
        "Metrics": [
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {
                        "Dimensions": [
                            {"value": "app/search-alb/50dc6c495c0c9188", "name": "LoadBalancer"}
                        ],
                        "MetricName": "TargetResponseTime",
                        "Namespace": "AWS/ApplicationELB",
                    },
                    "Period": 300,
                    "Stat": "p90",
                },
                "ReturnData": True,
            },
            {
                "Expression": "ANOMALY_DETECTION_BAND(m1, 2)",
                "Id": "ad1",
                "Label": "TargetResponseTime (expected)",
                "ReturnData": True,
            },
        ],
    }
    return msg


def composite_alarm(
    name: str, at: datetime, state: str = "ALARM", description: str = ""
) -> dict[str, Any]:
    msg = _base(
        name,
        state,
        "OK",
        at,
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:prod-cdn-edge-5xx transitioned to ALARM at Friday 27 November, 2026 10:04:00 UTC",
        description,
    )
    msg["AlarmRule"] = "ALARM(prod-cdn-edge-5xx) AND ALARM(prod-cdn-edge-latency)"
    msg["TriggeringChildren"] = [
        {"Arn": alarm_arn("prod-cdn-edge-5xx"), "State": {"Value": "ALARM", "Timestamp": ts(at)}}
    ]
    return msg


def eventbridge_event(
    name: str, at: datetime, state: str = "ALARM", old: str = "OK"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + ts(at))),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [alarm_arn(name)],
        "detail": {
            "alarmName": name,
            "state": {
                "value": state,
                "reason": "Threshold Crossed: 1 out of the last 1 datapoints [97.3] was greater than the threshold (90.0).",
                "reasonData": '{"version":"1.0","queryDate":"2026-11-27T10:00:00.000+0000"}',
                "timestamp": ts(at),
            },
            "previousState": {
                "value": old,
                "reason": "Threshold Crossed",
                "timestamp": "2026-11-27T08:00:00.000+0000",
            },
            "configuration": {
                "description": "Disk almost full on the log archive hosts",
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": "CWAgent",
                                "name": "disk_used_percent",
                                "dimensions": {
                                    "InstanceId": "i-0feedfacecafe0001",
                                    "path": "/var/log",
                                },
                            },
                            "period": 300,
                            "stat": "Average",
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }


def alarm_action_payload(name: str, at: datetime, state: str = "ALARM") -> dict[str, Any]:
    """What CloudWatch sends when it invokes a Lambda function as an alarm action."""
    return {
        "source": "aws.cloudwatch",
        "alarmArn": alarm_arn(name),
        "accountId": ACCOUNT,
        "time": ts(at),
        "region": REGION,
        "alarmData": {
            "alarmName": name,
            "state": {
                "value": state,
                "reason": "Threshold Crossed: 1 datapoint [98.0] was greater than the threshold (90.0).",
                "timestamp": ts(at),
            },
            "previousState": {
                "value": "OK",
                "reason": "Threshold Crossed",
                "timestamp": "2026-11-27T08:00:00.000+0000",
            },
            "configuration": {
                "description": "Memory pressure on search nodes",
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": "CWAgent",
                                "name": "mem_used_percent",
                                "dimensions": {"InstanceId": "i-05348f246563adf80"},
                            },
                            "period": 60,
                            "stat": "Average",
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }


def sns_record(
    message: dict[str, Any] | str, subject: str | None = None, message_id: str | None = None
) -> dict[str, Any]:
    body = message if isinstance(message, str) else json.dumps(message)
    if subject is None and isinstance(message, dict) and "AlarmName" in message:
        subject = f'{message["NewStateValue"]}: "{message["AlarmName"]}" in {REGION_DISPLAY}'[:100]
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid5(uuid.NAMESPACE_OID, body)),
            "TopicArn": TOPIC,
            "Subject": subject,
            "Message": body,
            "Timestamp": "2026-11-27T10:00:00.512Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE",
            "MessageAttributes": {},
        },
    }


def sns_event(*messages: dict[str, Any] | str) -> dict[str, Any]:
    return {"Records": [sns_record(m) for m in messages]}


T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def sample_events() -> dict[str, Any]:
    """File name → Lambda event, for events/."""
    from datetime import timedelta

    cpu = metric_alarm(
        "prod-checkout-api-cpu-high",
        T0,
        metric="CPUUtilization",
        dimensions={"AutoScalingGroupName": "checkout-api-asg"},
        description="CPU above 85% on the checkout API fleet",
    )
    huge = metric_alarm(
        "prod-search-disk-full",
        T0,
        metric="disk_used_percent",
        namespace="CWAgent",
        description="Disk full. " + "x" * 40_000,
    )
    unicode_name = metric_alarm(
        "prod-checkout-api-ünïcødé-$(rm -rf ~);`id`|latency ⚠",
        T0,
        metric="TargetResponseTime",
        namespace="AWS/ApplicationELB",
        dimensions={"LoadBalancer": "app/checkout/123"},
    )
    missing = metric_alarm("prod-checkout-api-cpu-high", T0)
    del missing["StateChangeTime"]
    legacy = metric_alarm(
        "prod-checkout-api-cpu-high",
        T0,
        metric="CPUUtilization",
        dimensions={"AutoScalingGroupName": "checkout-api-asg"},
        description="CPU above 85% on the checkout API fleet",
    )
    del legacy["AlarmArn"]  # CloudWatch sent none before about 2020
    test_note = metric_alarm("ExampleAlarm", T0, description="Test notification")
    test_note.update(
        AlarmArn="arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:ExampleAlarm",
        AWSAccountId="ACCOUNT_NUMBER",
        Region="REGION",
    )
    unknown_state = metric_alarm("prod-checkout-api-cpu-high", T0, state="EXPLODED")
    return {
        "sns-metric-alarm.json": sns_event(cpu),
        "sns-metric-math-alarm.json": sns_event(
            metric_math_alarm(
                "prod-payments-db-connection-pool", T0, description="Connection pool above 90%"
            )
        ),
        "sns-anomaly-detection-alarm.json": sns_event(
            anomaly_alarm(
                "prod-search-latency-anomaly",
                T0,
                description="Search latency outside its usual band",
            )
        ),
        "sns-composite-alarm.json": sns_event(
            composite_alarm("prod-cdn-edge-degraded", T0, description="CDN edge degraded")
        ),
        "sns-ok.json": sns_event(
            metric_alarm(
                "prod-checkout-api-cpu-high",
                T0 + timedelta(minutes=20),
                state="OK",
                old="ALARM",
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            )
        ),
        "sns-insufficient-data.json": sns_event(
            metric_alarm(
                "prod-checkout-api-cpu-high",
                T0 + timedelta(minutes=10),
                state="INSUFFICIENT_DATA",
                old="ALARM",
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
                reason="Insufficient Data: 3 datapoints were unknown.",
            )
        ),
        "sns-refire.json": sns_event(
            metric_alarm(
                "prod-checkout-api-cpu-high",
                T0 + timedelta(minutes=5),
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
                description="CPU above 85% on the checkout API fleet",
            )
        ),
        "sns-eventbridge-forwarded.json": sns_event(
            eventbridge_event("prod-logs-archive-disk-usage", T0)
        ),
        "eventbridge-alarm-state-change.json": eventbridge_event(
            "prod-logs-archive-disk-usage", T0
        ),
        "alarm-action-invoke.json": alarm_action_payload("prod-search-memory-critical", T0),
        "sns-huge-description.json": sns_event(huge),
        "sns-unicode-shell-metacharacters.json": sns_event(unicode_name),
        "sns-legacy-no-alarm-arn.json": sns_event(legacy),
        "sns-approval-orders-db.json": sns_event(
            metric_alarm(
                "prod-orders-db-connections-high",
                T0,
                metric="DatabaseConnections",
                namespace="AWS/RDS",
                dimensions={"DBInstanceIdentifier": "orders-db-1"},
                threshold=400,
                description="Connections on orders-db near max_connections",
            )
        ),
        "sns-console-test-notification.json": sns_event(test_note),
        "bad-non-json-message.json": sns_event("this is not JSON {"),
        "bad-missing-fields.json": sns_event(missing),
        "bad-unknown-state.json": sns_event(unknown_state),
        "bad-other-event-source.json": {
            "Records": [
                {
                    "eventSource": "aws:sqs",
                    "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                    "body": "{}",
                },
            ]
        },
        "bad-batch-one-malformed.json": {
            "Records": [
                sns_record(
                    metric_alarm(
                        "prod-search-cpu-high", T0, dimensions={"InstanceId": "i-0d129da9f4111e6b9"}
                    )
                ),
                sns_record('{"AlarmName": "broken"'),
                sns_record(
                    metric_alarm(
                        "staging-checkout-api-memory-warning",
                        T0,
                        metric="mem_used_percent",
                        namespace="CWAgent",
                    )
                ),
            ]
        },
    }


def write_samples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, event in sample_events().items():
        path = folder / name
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "events")):
        print(p)
