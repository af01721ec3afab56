"""Every sample event under events/ parses into the alarm it describes; bad input is
rejected with a specific reason and never with another exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opslink.alarm_parsing import parse_alarm_document, parse_sns_message
from opslink.errors import InvalidAlarm
from opslink.models import AlarmKind, AlarmSource, AlarmState
from tests.conftest import EVENTS, load_event


def _sns_message(name: str, index: int = 0) -> str:
    return load_event(name)["Records"][index]["Sns"]["Message"]


GOOD = {
    # file: (kind, state, source, alarm name)
    "sns-metric-alarm.json": (
        AlarmKind.METRIC,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-checkout-api-cpu-high",
    ),
    "sns-metric-math-alarm.json": (
        AlarmKind.METRIC_MATH,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-payments-db-connection-pool",
    ),
    "sns-anomaly-detection-alarm.json": (
        AlarmKind.ANOMALY_DETECTION,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-search-latency-anomaly",
    ),
    "sns-composite-alarm.json": (
        AlarmKind.COMPOSITE,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-cdn-edge-degraded",
    ),
    "sns-ok.json": (AlarmKind.METRIC, AlarmState.OK, AlarmSource.SNS, "prod-checkout-api-cpu-high"),
    "sns-insufficient-data.json": (
        AlarmKind.METRIC,
        AlarmState.INSUFFICIENT_DATA,
        AlarmSource.SNS,
        "prod-checkout-api-cpu-high",
    ),
    "sns-refire.json": (
        AlarmKind.METRIC,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-checkout-api-cpu-high",
    ),
    "sns-eventbridge-forwarded.json": (
        AlarmKind.METRIC,
        AlarmState.ALARM,
        AlarmSource.EVENTBRIDGE,
        "prod-logs-archive-disk-usage",
    ),
    "sns-huge-description.json": (
        AlarmKind.METRIC,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-search-disk-full",
    ),
    "sns-unicode-shell-metacharacters.json": (
        AlarmKind.METRIC,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-checkout-api-ünïcødé-$(rm -rf ~);`id`|latency ⚠",
    ),
    "sns-approval-orders-db.json": (
        AlarmKind.METRIC,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-orders-db-connections-high",
    ),
    "sns-legacy-no-alarm-arn.json": (
        AlarmKind.METRIC,
        AlarmState.ALARM,
        AlarmSource.SNS,
        "prod-checkout-api-cpu-high",
    ),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_sns_samples_parse(name: str) -> None:
    kind, state, source, alarm_name = GOOD[name]
    alarm = parse_sns_message(_sns_message(name))
    assert (alarm.kind, alarm.state, alarm.source, alarm.name) == (kind, state, source, alarm_name)
    assert alarm.region == "eu-west-1"  # from the ARN, not the display name "EU (Ireland)"
    assert alarm.account_id == "123456789012"
    assert alarm.state_changed_at.tzinfo is not None


def test_every_sample_file_is_covered() -> None:
    covered = set(GOOD) | {"eventbridge-alarm-state-change.json", "alarm-action-invoke.json"}
    covered |= {"sns-console-test-notification.json"}
    covered |= {"local-env.json"}  # not an event: `sam local --env-vars`
    covered |= {p.name for p in EVENTS.glob("bad-*.json")}
    assert {p.name for p in EVENTS.glob("*.json")} == covered


def test_eventbridge_event_parses() -> None:
    alarm = parse_alarm_document(load_event("eventbridge-alarm-state-change.json"))
    assert alarm.source is AlarmSource.EVENTBRIDGE
    assert alarm.name == "prod-logs-archive-disk-usage"
    assert alarm.dimensions == {"InstanceId": "i-0feedfacecafe0001", "path": "/var/log"}
    assert alarm.primary_metric is not None and alarm.primary_metric.name == "disk_used_percent"
    assert alarm.previous_state is AlarmState.OK


def test_alarm_action_payload_parses() -> None:
    alarm = parse_alarm_document(load_event("alarm-action-invoke.json"))
    assert alarm.source is AlarmSource.ALARM_ACTION
    assert alarm.name == "prod-search-memory-critical"
    assert alarm.description == "Memory pressure on search nodes"


def test_name_comes_from_message_not_truncated_subject() -> None:
    record = load_event("sns-metric-alarm.json")["Records"][0]
    msg = json.loads(record["Sns"]["Message"])
    long_name = "prod-checkout-api-" + "very-long-alarm-name-" * 8
    msg["AlarmName"] = long_name
    msg["AlarmArn"] = msg["AlarmArn"].rsplit(":", 1)[0] + ":" + long_name
    assert parse_sns_message(json.dumps(msg)).name == long_name


def test_metric_math_keeps_expression_and_inputs() -> None:
    alarm = parse_sns_message(_sns_message("sns-metric-math-alarm.json"))
    assert [m.id for m in alarm.metrics] == ["pct", "used", "max"]
    assert alarm.metrics[0].expression == "100 * used / max"
    assert alarm.dimensions == {"DBInstanceIdentifier": "payments-db-1"}


def test_composite_carries_rule_and_children() -> None:
    alarm = parse_sns_message(_sns_message("sns-composite-alarm.json"))
    assert alarm.alarm_rule and "ALARM(prod-cdn-edge-5xx)" in alarm.alarm_rule
    assert alarm.triggering_children == (
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-cdn-edge-5xx",
    )


def test_huge_description_is_cut_with_a_marker() -> None:
    alarm = parse_sns_message(_sns_message("sns-huge-description.json"))
    assert len(alarm.description) < 17_000
    assert "truncated" in alarm.description


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("this is not JSON {", "SNS Message is not JSON"),
        ("", "SNS Message is empty"),
        ("[1, 2]", "JSON list, not an object"),
        ('{"hello": "world"}', "not a CloudWatch alarm"),
        ('{"AlarmName": "x", "NewStateValue": "ALARM"}', "missing field 'StateChangeTime'"),
        (
            '{"AlarmName": "x", "NewStateValue": "ALARM", "StateChangeTime": "2026-11-27T10:00:00.000+0000", "Trigger": {"MetricName": "m"}}',
            "no 'AlarmArn' and no 12-digit 'AWSAccountId'",
        ),
        (
            '{"AlarmName": "x", "AWSAccountId": "123456789012", "Region": "Atlantis (Deep)", "NewStateValue": "ALARM", "StateChangeTime": "2026-11-27T10:00:00.000+0000", "Trigger": {"MetricName": "m"}}',
            "neither a region code nor a known region name",
        ),
        (
            '{"AlarmName": "x", "AlarmArn": "arn:aws:sns:eu-west-1:123456789012:topic", "NewStateValue": "ALARM", "StateChangeTime": "2026-11-27T10:00:00.000+0000", "Trigger": {"MetricName": "m"}}',
            "is not a CloudWatch alarm ARN",
        ),
        (
            '{"AlarmName": "x", "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:x", "NewStateValue": "ALARM", "StateChangeTime": "yesterday", "Trigger": {"MetricName": "m"}}',
            "invalid field 'StateChangeTime'",
        ),
        (
            '{"detail-type": "EC2 Instance State-change Notification", "detail": {}}',
            "is not an alarm state change",
        ),
        # hostile nesting: a specific refusal, not an internal error retried until parked
        ('{"a":' * 5000 + "1" + "}" * 5000, "nests deeper than 32 levels"),
        ('{"AlarmName": ' + "[" * 40 + "]" * 40 + "}", "nests deeper than 32 levels"),
        ('{"AlarmName": ' + "1" * 5000 + "}", "not usable JSON (Exceeds the limit"),
    ],
)
def test_bad_messages_get_specific_reasons(message: str, reason: str) -> None:
    with pytest.raises(InvalidAlarm) as err:
        parse_sns_message(message)
    assert reason in err.value.reason


def test_control_characters_are_dropped_from_every_field() -> None:
    """A NUL or an escape in a name, reason or description never reaches a ticket (the
    databases behind ticket systems refuse a NUL: the ticket would never be made)."""
    msg = json.loads(_sns_message("sns-metric-alarm.json"))
    msg["AlarmName"] = "prod-\x00checkout\x1b[31m-cpu"
    msg["NewStateReason"] = "Threshold\x00 crossed\x07"
    msg["AlarmDescription"] = "line one\nline\ttwo\x0c"
    msg["Trigger"]["Dimensions"] = [{"name": "InstanceId", "value": "i-0abc\x00"}]
    alarm = parse_sns_message(json.dumps(msg))
    assert alarm.name == "prod-checkout[31m-cpu" and alarm.reason == "Threshold crossed"
    assert alarm.description == "line one\nline\ttwo"  # tab and line breaks are kept
    assert alarm.dimensions == {"InstanceId": "i-0abc"}


def test_unknown_state_is_named() -> None:
    with pytest.raises(InvalidAlarm) as err:
        parse_sns_message(_sns_message("bad-unknown-state.json"))
    assert "unknown alarm state 'EXPLODED'" in err.value.reason


def test_timestamps_in_cloudwatch_format() -> None:
    alarm = parse_sns_message(_sns_message("sns-metric-alarm.json"))
    assert alarm.state_changed_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_time_with_an_offset_is_kept_in_utc() -> None:
    """The store orders an alarm's transitions by their stamps as ISO text: one written
    with an offset ("10:30+01:00", from a forwarder or another source) sorted after a
    later UTC one ("10:00+00:00") and the later transition was taken as out of order."""
    doc = json.loads(_sns_message("sns-metric-alarm.json"))
    doc["StateChangeTime"] = "2026-11-27T11:30:00.000+0100"
    alarm = parse_sns_message(json.dumps(doc))
    assert alarm.state_changed_at.utcoffset() is not None
    assert alarm.state_changed_at.isoformat() == "2026-11-27T10:30:00+00:00"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
_alarmish_keys = st.sampled_from(
    [
        "AlarmName",
        "AlarmArn",
        "NewStateValue",
        "StateChangeTime",
        "Trigger",
        "AlarmRule",
        "detail-type",
        "detail",
        "resources",
        "alarmData",
        "alarmArn",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_alarmish_keys, _json, max_size=8))
def test_arbitrary_documents_only_ever_raise_invalid_alarm(doc: dict) -> None:
    try:
        parse_alarm_document(doc)
    except InvalidAlarm as exc:
        assert exc.reason


def test_sample_files_match_their_generator(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """events/ is written by `python -m opslink_cli.samples events/`; they must not drift."""
    from opslink_cli.samples import write_samples

    for path in write_samples(tmp_path):
        assert path.read_text(encoding="utf-8") == (EVENTS / path.name).read_text(
            encoding="utf-8"
        ), path.name


# -- intake tolerance: legacy payloads without AlarmArn, console test notifications --------


def _legacy(region: str = "EU (Ireland)") -> dict:
    msg = json.loads(_sns_message("sns-metric-alarm.json"))
    del msg["AlarmArn"]
    msg["Region"] = region
    return msg


@pytest.mark.parametrize(
    ("region", "topic", "arn"),
    [
        (
            "EU (Ireland)",
            None,
            "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-checkout-api-cpu-high",
        ),
        (
            "Asia Pacific (Tokyo)",
            "arn:aws:sns:ap-northeast-1:123456789012:alarms",
            "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:prod-checkout-api-cpu-high",
        ),
        (
            "China (Ningxia)",
            "arn:aws-cn:sns:cn-northwest-1:123456789012:alarms",
            "arn:aws-cn:cloudwatch:cn-northwest-1:123456789012:alarm:prod-checkout-api-cpu-high",
        ),
        (
            "AWS GovCloud (US-West)",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms",
            "arn:aws-us-gov:cloudwatch:us-gov-west-1:123456789012:alarm:prod-checkout-api-cpu-high",
        ),
        (
            "us-east-2",
            None,
            "arn:aws:cloudwatch:us-east-2:123456789012:alarm:prod-checkout-api-cpu-high",
        ),
    ],
)
def test_message_without_alarm_arn_gets_a_derived_arn(
    region: str, topic: str | None, arn: str
) -> None:
    alarm = parse_sns_message(json.dumps(_legacy(region)), topic)
    assert alarm.arn == arn
    assert alarm.arn_derived
    assert alarm.region == arn.split(":")[3]


def test_legacy_sample_event_is_accepted_and_says_the_arn_was_derived() -> None:
    from opslink.enrichment import enrich
    from opslink.service_map import load_service_map
    from opslink.ticket_policy import description, priority

    record = load_event("sns-legacy-no-alarm-arn.json")["Records"][0]["Sns"]
    alarm = parse_sns_message(record["Message"], record["TopicArn"])
    assert alarm.arn_derived and alarm.region == "eu-west-1"
    enr = enrich(alarm, {}, load_service_map())
    text = description(alarm, enr, priority(enr), "A-1")
    assert "derived from account, region and name" in text


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.update(
            AlarmArn="arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:ExampleAlarm",
            AWSAccountId="ACCOUNT_NUMBER",
            Region="REGION",
        ),
        lambda m: m.update(AlarmArn="arn:aws:cloudwatch:us-east-1:EXAMPLE:alarm:x"),
        lambda m: (m.pop("AlarmArn"), m.update(AWSAccountId="ACCOUNT_NUMBER")),
    ],
)
def test_console_test_notifications_are_recognised(mutate) -> None:
    from opslink.errors import TestNotification

    msg = json.loads(_sns_message("sns-metric-alarm.json"))
    mutate(msg)
    with pytest.raises(TestNotification) as err:
        parse_sns_message(json.dumps(msg))
    assert "test notification" in err.value.reason


def test_an_alarm_named_example_is_not_a_test_notification() -> None:
    msg = json.loads(_sns_message("sns-metric-alarm.json"))
    msg["AlarmName"] = "EXAMPLE"
    msg["AlarmArn"] = msg["AlarmArn"].rsplit(":", 1)[0] + ":EXAMPLE"
    assert parse_sns_message(json.dumps(msg)).name == "EXAMPLE"


@pytest.mark.parametrize(
    ("stamp", "says"),
    [
        ("2026-11-27T10:00:00.000", "has no time zone"),
        ("9999-12-31T23:59:59.000+0000", "out of range"),
        ("1970-01-01T00:00:00.000+0000", "out of range"),
    ],
)
def test_timestamps_without_zone_or_out_of_range_are_rejected(stamp: str, says: str) -> None:
    msg = json.loads(_sns_message("sns-metric-alarm.json"))
    msg["StateChangeTime"] = stamp
    with pytest.raises(InvalidAlarm) as err:
        parse_sns_message(json.dumps(msg))
    assert "StateChangeTime" in err.value.reason and says in err.value.reason


def test_huge_dimensions_and_metric_names_are_capped() -> None:
    from opslink.enrichment import enrich
    from opslink.service_map import load_service_map
    from opslink.ticket_policy import description, priority

    msg = json.loads(_sns_message("sns-metric-alarm.json"))
    msg["Trigger"]["Dimensions"] = [{"name": f"D{i}", "value": "v" * 100_000} for i in range(50)]
    msg["Trigger"]["MetricName"] = "m" * 100_000
    alarm = parse_sns_message(json.dumps(msg))
    assert len(alarm.dimensions) == 30
    assert all(len(v) <= 1025 for v in alarm.dimensions.values())
    enr = enrich(alarm, {}, load_service_map())
    assert len(description(alarm, enr, priority(enr), "A-1")) < 40_000


def test_a_composite_s_children_and_a_math_alarm_s_queries_are_capped() -> None:
    """Thousands of triggering children or queries (CloudWatch sends far fewer) would make
    an alert past DynamoDB's 400 KB item: every write refused, the alarm retried until
    parked. The first ones are kept."""
    composite = json.loads(_sns_message("sns-composite-alarm.json"))
    composite["TriggeringChildren"] = [
        {"Arn": f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:child-{i}-" + "x" * 5000}
        for i in range(5000)
    ]
    alarm = parse_sns_message(json.dumps(composite))
    assert len(alarm.triggering_children) == 100
    assert alarm.triggering_children[0].startswith("arn:aws:cloudwatch:eu-west-1:")
    assert all(len(c) <= 1025 for c in alarm.triggering_children)
    math = json.loads(_sns_message("sns-metric-math-alarm.json"))
    query = math["Trigger"]["Metrics"][0]
    math["Trigger"]["Metrics"] = [{**query, "Id": f"m{i}"} for i in range(500)]
    assert len(parse_sns_message(json.dumps(math)).metrics) == 20
    assert len(alarm.model_dump_json()) < 200_000


def _mutations() -> st.SearchStrategy[dict]:
    """Real alarm messages with one field replaced by anything JSON can carry."""
    base = json.loads(_sns_message("sns-metric-alarm.json"))
    keys = st.sampled_from([*sorted(base), "Trigger.Dimensions", "Trigger.MetricName"])

    def mutate(key: str, value: object) -> dict:
        msg = json.loads(json.dumps(base))
        if key.startswith("Trigger."):
            msg["Trigger"][key.split(".")[1]] = value
        else:
            msg[key] = value
        return msg

    return st.builds(mutate, keys, _json)


@settings(max_examples=300, deadline=None)
@given(_mutations())
def test_mutated_real_messages_are_parsed_or_rejected_with_a_reason(msg: dict) -> None:
    """0 unhandled exceptions: every failure is an InvalidAlarm naming what is wrong."""
    try:
        parse_sns_message(json.dumps(msg))
    except InvalidAlarm as exc:
        assert exc.reason


@pytest.mark.parametrize(
    ("region", "topic", "code"),
    [
        ("EU - Ireland", None, "eu-west-1"),  # CloudWatch's older display forms
        ("US - N. Virginia", None, "us-east-1"),
        ("US - Oregon", None, "us-west-2"),
        ("Asia Pacific - Sydney", None, "ap-southeast-2"),
        ("South America - Sao Paulo", None, "sa-east-1"),
        ("Europe (Stockholm)", None, "eu-north-1"),  # the console's newer form
        ("  EU   (Frankfurt) ", None, "eu-central-1"),
        # A name no table knows, or none at all: the SNS topic names the region.
        ("Atlantis (Deep)", "arn:aws:sns:ap-south-2:123456789012:alarms", "ap-south-2"),
        (None, "arn:aws:sns:ca-west-1:123456789012:alarms", "ca-west-1"),
    ],
)
def test_every_era_of_region_is_accepted_without_alarm_arn(
    region: str | None, topic: str | None, code: str
) -> None:
    msg = _legacy("x")
    if region is None:
        del msg["Region"]
    else:
        msg["Region"] = region
    alarm = parse_sns_message(json.dumps(msg), topic)
    assert alarm.region == code and alarm.arn_derived
    assert alarm.arn == f"arn:aws:cloudwatch:{code}:123456789012:alarm:prod-checkout-api-cpu-high"


def test_a_legacy_message_through_the_sns_delivery_uses_the_records_topic(deps, policy) -> None:  # type: ignore[no-untyped-def]
    """The whole SNS → Lambda path: the region comes from the record's TopicArn."""
    from opslink.ingest import ingest_event

    msg = _legacy("Some Future Region Name")
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {
        "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-3:123456789012:alarms",
        "Message": json.dumps(msg)}}]}  # fmt: skip
    [result] = ingest_event(event, deps, policy)
    assert result.outcome.value == "created", result.reason
    alert = deps.store.get(result.alert_id)
    assert alert is not None and ":eu-west-3:" in alert.alarm_arn
