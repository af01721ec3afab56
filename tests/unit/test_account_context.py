"""Tickets say where: the alarm's account (with its name from the service map's
`accounts`), its region, and console links that open that account and region — through
IAM Identity Center's access portal when the map has one, else with a switch-role link;
an account's entry gives its alarms' environment and team unless a tag or the service
says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from opslink.enrichment import enrich
from opslink.errors import ConfigurationError
from opslink.models import Alarm, AlarmKind, AlarmSource, AlarmState, MetricRef
from opslink.service_map import parse_service_map
from opslink.ticket_policy import draft_ticket

MEMBER, REGION = "012345678901", "us-west-2"
MAP = f"""
console_portal: https://d-9067c0ffee.awsapps.com/start
accounts:
  {MEMBER}:
    name: shipping-staging
    environment: staging
    team: logistics
    console_role: OnCallReadOnly
  "210987654321":
    name: shipping-prod
services:
  shipping:
    team: shipping
    dimensions: {{AutoScalingGroupName: shipping-*}}
teams:
  logistics: {{oncall: lee@example.com}}
"""


def _alarm(
    account: str, name: str = "shipping-api-cpu-high", group: str = "shipping-api-asg"
) -> Alarm:
    return Alarm(
        name=name,
        arn=f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{name}",
        account_id=account,
        region=REGION,
        state=AlarmState.ALARM,
        state_changed_at=datetime(2026, 12, 6, 9, tzinfo=UTC),
        kind=AlarmKind.METRIC,
        source=AlarmSource.SNS,
        metrics=(
            MetricRef(
                namespace="AWS/EC2",
                name="CPUUtilization",
                dimensions={"AutoScalingGroupName": group},
            ),
        ),
    )


def _links(description: str) -> dict[str, str]:
    section = description.split("## Links", 1)[1]
    out = {}
    for line in section.strip().splitlines():
        label, _, url = line.removeprefix("- [").partition("](")
        out[label] = url.rstrip(")")
    return out


def test_a_named_account_with_a_portal_gets_links_that_open_it() -> None:
    smap = parse_service_map(MAP, "test")
    alarm = _alarm(MEMBER)
    enr = enrich(alarm, {}, smap)
    assert (enr.environment, enr.sources["environment"]) == ("staging", "service_map")
    assert enr.team == "shipping"  # the service's own team wins over the account's
    draft = draft_ticket(alarm, enr, "A-1", None)
    assert f"{MEMBER} (shipping-staging) / {REGION}" in draft.description
    links = _links(draft.description)
    [(label, url)] = [(k, v) for k, v in links.items() if k.startswith("Alarm in")]
    assert label == f"Alarm in the CloudWatch console (account {MEMBER}, role OnCallReadOnly)"
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://d-9067c0ffee.awsapps.com/start/"
    )
    query = parse_qs(parts.fragment.split("?", 1)[1])
    assert query["account_id"] == [MEMBER] and query["role_name"] == ["OnCallReadOnly"]
    destination = unquote(query["destination"][0])
    assert destination.startswith(f"https://{REGION}.console.aws.amazon.com/cloudwatch/home")
    assert destination.endswith("#alarmsV2:alarm/shipping-api-cpu-high")


def test_without_a_portal_a_switch_role_link_comes_first() -> None:
    smap = parse_service_map(MAP.replace("console_portal: https://d-9067c0ffee.awsapps.com/start", ""),
                             "test")  # fmt: skip
    alarm = _alarm(MEMBER)
    links = _links(draft_ticket(alarm, enrich(alarm, {}, smap), "A-1", None).description)
    first_label, first = next(iter(links.items()))
    assert first_label == f"Switch to account {MEMBER} (role OnCallReadOnly) first"
    query = parse_qs(urlsplit(first).query)
    assert query == {"account": [MEMBER], "roleName": ["OnCallReadOnly"],
                     "displayName": ["shipping-staging"]}  # fmt: skip
    assert any(u.startswith(f"https://{REGION}.console.aws.amazon.com/") for u in links.values())


def test_an_account_without_a_console_role_keeps_plain_links_and_its_name() -> None:
    smap = parse_service_map(MAP, "test")
    alarm = _alarm("210987654321")
    draft = draft_ticket(alarm, enrich(alarm, {}, smap), "A-1", None)
    assert "210987654321 (shipping-prod) / us-west-2" in draft.description
    assert all(
        u.startswith(f"https://{REGION}.console") for u in _links(draft.description).values()
    )
    unknown = _alarm("999999999999")
    plain = draft_ticket(unknown, enrich(unknown, {}, smap), "A-2", None).description
    assert "999999999999 / us-west-2" in plain


def test_an_accounts_team_and_environment_fill_in_for_a_service_the_map_lacks() -> None:
    smap = parse_service_map(MAP, "test")
    enr = enrich(_alarm(MEMBER, "dev-ledger-cpu-high", "ledger-asg"), {}, smap)
    assert enr.service == "ledger" and enr.team == "logistics"
    assert enr.environment == "staging"  # the account's, before the name's "dev"
    assert smap.oncall(enr.team) == "lee@example.com"
    tagged = enrich(
        _alarm(MEMBER, "dev-ledger-cpu-high", "ledger-asg"), {"Environment": "production"}, smap
    )
    assert tagged.environment == "production"  # a tag wins


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("accounts: {'12345': {name: x}}", "not 12-digit account ids: 12345"),
        ("accounts: {'123456789012': {console_role: 'a b'}}", "console_role"),
        ("console_portal: http://portal.example", "console_portal"),
        ("accounts: {'123456789012': {nickname: x}}", "nickname"),
    ],
)
def test_a_bad_accounts_section_is_named(text: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        parse_service_map(text, "service-map.yaml")
