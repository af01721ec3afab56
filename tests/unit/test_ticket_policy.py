"""Ticket rules: type, priority, assignee, title, description, due date, custom fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opslink.alarm_parsing import parse_sns_message
from opslink.models import Enrichment, Priority, Severity, TicketType
from opslink.ticket_policy import assignee, draft_ticket, priority, ticket_type, title
from tests.conftest import load_event


def enr(**kw: object) -> Enrichment:
    base: dict[str, object] = {
        "service": "checkout",
        "environment": "production",
        "alert_type": "cpu_usage",
        "severity": Severity.HIGH,
    }
    base.update(kw)
    return Enrichment.model_validate(base)


@pytest.mark.parametrize(
    ("alert_type", "kind", "expected"),
    [
        ("database_connection", None, TicketType.DATABASE),
        ("network_latency", None, TicketType.NETWORK),
        ("cpu_usage", None, TicketType.PERFORMANCE),
        ("memory_usage", "database", TicketType.PERFORMANCE),
        ("disk_usage", None, TicketType.STORAGE),
        ("generic", "database", TicketType.DATABASE),
        ("generic", "storage", TicketType.STORAGE),
        ("health_check", None, TicketType.INCIDENT),
    ],
)
def test_ticket_type(alert_type: str, kind: str | None, expected: TicketType) -> None:
    assert ticket_type(enr(alert_type=alert_type, service_kind=kind)) is expected


@pytest.mark.parametrize(
    ("severity", "critical", "env", "expected"),
    [
        (Severity.CRITICAL, True, "production", Priority.CRITICAL),
        (Severity.HIGH, True, "production", Priority.CRITICAL),
        (Severity.HIGH, False, "production", Priority.HIGH),
        (Severity.MEDIUM, False, "production", Priority.MEDIUM),
        (Severity.LOW, False, "production", Priority.LOW),
        (Severity.LOW, False, "staging", Priority.LOW),
        (Severity.CRITICAL, False, "development", Priority.HIGH),
        (Severity.MEDIUM, True, "staging", Priority.MEDIUM),
    ],
)
def test_priority_is_severity_times_business_impact(
    severity: Severity, critical: bool, env: str, expected: Priority
) -> None:
    assert priority(enr(severity=severity, critical_service=critical, environment=env)) is expected


def test_assignee_owner_then_oncall_then_nobody() -> None:
    assert assignee(enr(owner="alice@example.com"), "bob@example.com") == "alice@example.com"
    assert assignee(enr(), "bob@example.com") == "bob@example.com"
    assert assignee(enr(), None) is None


def _alarm(name: str = "sns-metric-alarm.json"):  # type: ignore[no-untyped-def]
    return parse_sns_message(load_event(name)["Records"][0]["Sns"]["Message"])


def test_title_format_and_length() -> None:
    alarm = _alarm()
    assert title(alarm, enr()) == "[HIGH] checkout - CPU above 85% on the checkout API fleet"
    huge = _alarm("sns-huge-description.json")
    long_title = title(huge, enr())
    assert len(long_title) == 255 and long_title.endswith("…")


@pytest.mark.parametrize(
    ("sev", "crit", "hours"),
    [
        (Severity.CRITICAL, False, 2),
        (Severity.HIGH, False, 8),
        (Severity.MEDIUM, False, 24),
        (Severity.LOW, False, 72),
    ],
)
def test_due_date_by_priority(sev: Severity, crit: bool, hours: int) -> None:
    alarm = _alarm()
    draft = draft_ticket(alarm, enr(severity=sev, critical_service=crit), "A-1", None)
    assert draft.due_at - alarm.state_changed_at == timedelta(hours=hours)


def test_description_has_facts_impact_steps_and_links() -> None:
    alarm = _alarm()
    draft = draft_ticket(
        alarm, enr(team="payments", critical_service=True), "A-123", "bob@example.com"
    )
    text = draft.description
    for heading in ("## What fired", "## Impact", "## Suggested steps", "## Links"):
        assert heading in text
    assert "| Alarm | `prod-checkout-api-cpu-high` |" in text  # untrusted: a code span
    assert "AutoScalingGroupName=checkout-api-asg" in text
    assert "business-critical" in text
    assert "top processes" in text  # the cpu_usage knowledge-base entry
    assert (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/prod-checkout-api-cpu-high"
        in text
    )
    assert draft.custom_fields == {
        "alert_id": "A-123",
        "service": "checkout",
        "severity": "high",
        "triggered_at": datetime(2026, 11, 27, 10, tzinfo=UTC).isoformat(),
    }
    assert draft.assignee == "bob@example.com"


def test_description_escapes_table_breaking_names_and_bounds_size() -> None:
    alarm = _alarm("sns-unicode-shell-metacharacters.json")
    text = draft_ticket(alarm, enr(), "A-1", None).description
    assert "`id`\\|latency" in text  # the pipe cannot break the markdown table
    huge = draft_ticket(_alarm("sns-huge-description.json"), enr(), "A-1", None).description
    assert len(huge) < 8_000


def _largest_alarms(ch: str) -> list[object]:
    """A composite alarm and a metric-math alarm with every field at what CloudWatch allows
    (100 triggering children, 20 metrics, 1,024-character expressions, long reasons),
    made of `ch`."""
    import json

    name = ("prod-" + ch * 250)[:255]
    children = [
        {
            "Arn": f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:c{i:03d}-" + ch * 250,
            "State": {"Value": "ALARM", "Timestamp": "2026-11-27T10:00:00.000+0000"},
        }
        for i in range(100)
    ]
    base = {
        "AlarmName": name,
        "AlarmDescription": ch * 1024,
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": ch * 20_000,
        "StateChangeTime": "2026-11-27T10:00:00.000+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}",
        "OldStateValue": "OK",
    }
    composite = base | {
        "AlarmRule": " OR ".join(f"ALARM(c{i:03d}-{ch * 250})" for i in range(100))[:10_240],
        "TriggeringChildren": children,
    }
    math = base | {
        "Trigger": {
            "Period": 60,
            "EvaluationPeriods": 2,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 90.0,
            "Metrics": [
                {"Expression": ch * 1024, "Id": f"e{i}", "ReturnData": i == 0} for i in range(20)
            ],
        }
    }
    return [parse_sns_message(json.dumps(doc)) for doc in (composite, math)]


@pytest.mark.parametrize("ch", ["x", "|", "<", "`", "界", "\U0001f525"])
def test_the_largest_alarms_describe_within_every_ticket_systems_limit(ch: str) -> None:
    """Jira refuses a description over 32,767 characters and Redmine on MySQL one over
    65,535 bytes: past them the alarm would never be ticketed. Escaping for each markup
    (pipes in tables, `<` in Textile, every special character in Jira wiki) included."""
    from opslink.inert import render

    for alarm in _largest_alarms(ch):
        text = draft_ticket(alarm, enr(), "A-0123456789abcdef0123", None).description  # type: ignore[arg-type]
        assert len(text) <= 20_000
        for markup in ("markdown", "textile", "wiki", "plain"):
            out = render(markup, text)
            assert len(out) <= 32_767, markup
            assert len(out.encode("utf-8")) <= 65_535, markup
        assert "## Suggested steps" in text and "## Links" in text


def test_a_composite_alarm_says_how_many_children_it_could_not_list() -> None:
    composite, math = _largest_alarms("x")
    text = draft_ticket(composite, enr(), "A-1", None).description  # type: ignore[arg-type]
    assert "(100 alarms)" in text
    text = draft_ticket(math, enr(), "A-1", None).description  # type: ignore[arg-type]
    assert "| More expressions | `16 not shown: the alarm's page has them` |" in text
    assert text.count("| Expression e") == 4  # 500 characters each, 2,000 in all


@pytest.mark.parametrize("limit", [255, 160])
def test_a_handover_title_fits_as_java_counts_it(limit: int) -> None:
    from opslink.models import HandOver

    handover = HandOver(priority=Priority.HIGH, due_at=datetime(2026, 11, 27, tzinfo=UTC), note="x")
    for current in (
        "\U0001f525" * 200,
        "a" * (limit - 5) + "\U0001f525" * 3,
        "[FAILED_AUTO] " + "é" * 300,
    ):
        out = handover.title(current, limit)
        assert out.startswith("[FAILED_AUTO] ")
        assert len(out.encode("utf-16-le")) <= 2 * limit
        assert out.endswith("…")
        assert "\ud83d" not in out  # never half a character


def test_an_alarm_text_cut_to_fit_keeps_no_part_of_a_secret() -> None:
    """An alarm description (the author's text) holding a webhook URL or a key where the
    ticket's field is cut: scrubbed before the cut, so no half of it survives the guard."""
    from opslink.alarm_fields import cut
    from opslink.scrub import scrub

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    pieces = {secret[i : i + 12] for i in range(len(secret) - 11)}
    alarm = _alarm()
    for pad in range(1_960, 2_000, 3):  # the key across DESCRIPTION_FIELD_MAX (2,000)
        text = "x" * pad + f" aws secret {secret} rotated"
        draft = draft_ticket(alarm.model_copy(update={"description": text}), enr(), "A-1", None)
        shown = scrub(draft.description)  # as the ticket guard writes it
        assert not any(p in shown for p in pieces), pad
    for pad in range(16_350, 16_384, 3):  # and across the 16 KB an alarm's text is kept to
        kept = cut("y" * pad + f" {secret} rest")
        assert not any(p in scrub(kept) for p in pieces), pad
