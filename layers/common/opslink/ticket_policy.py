"""Ticket rules: type, priority, assignee, title, description and due date of a ticket.

Pure functions; no I/O. The knowledge base of suggested steps lives in knowledge_base.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from opslink.inert import code, fenced, md_cell, title_text
from opslink.knowledge_base import suggested_steps
from opslink.models import Alarm, AlarmKind, Enrichment, Priority, Severity, TicketDraft, TicketType
from opslink.scrub import scrub
from opslink.text_fit import fit

TITLE_MAX = 255
DESCRIPTION_FIELD_MAX = 2_000  # per alarm text field inside the description
# A metric-math alarm's expressions: each cut at this, and listed up to the budget. With
# every field at its maximum a description stays under ~16,000 characters: Jira refuses
# more than 32,767 (its wiki markup escapes at most double a text), and Redmine on MySQL
# stores 65,535 bytes (4 per character at most) — past them the alarm is never ticketed.
EXPRESSION_MAX = 500
EXPRESSIONS_BUDGET = 2_000

DUE_IN = {
    Priority.CRITICAL: timedelta(hours=2),
    Priority.HIGH: timedelta(hours=8),
    Priority.MEDIUM: timedelta(days=1),
    Priority.LOW: timedelta(days=3),
}

_ORDER = [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL]
_BASE = {
    Severity.CRITICAL: Priority.CRITICAL,
    Severity.HIGH: Priority.HIGH,
    Severity.MEDIUM: Priority.MEDIUM,
    Severity.LOW: Priority.LOW,
}
_TYPE_BY_KIND = {
    "database": TicketType.DATABASE,
    "network": TicketType.NETWORK,
    "storage": TicketType.STORAGE,
}
_TYPE_BY_ALERT = {
    "database_connection": TicketType.DATABASE,
    "network_latency": TicketType.NETWORK,
    "cpu_usage": TicketType.PERFORMANCE,
    "memory_usage": TicketType.PERFORMANCE,
    "disk_usage": TicketType.STORAGE,
}


def ticket_type(enrichment: Enrichment) -> TicketType:
    """The alert type decides when it is specific; else the kind of service does."""
    by_alert = _TYPE_BY_ALERT.get(enrichment.alert_type)
    if by_alert:
        return by_alert
    return _TYPE_BY_KIND.get(enrichment.service_kind or "", TicketType.INCIDENT)


def priority(enrichment: Enrichment) -> Priority:
    """Severity x business impact: a critical service raises the priority one level;
    an alert outside production lowers it one level."""
    level = _ORDER.index(_BASE[enrichment.severity])
    if enrichment.critical_service:
        level += 1
    if enrichment.environment != "production":
        level -= 1
    return _ORDER[max(0, min(level, len(_ORDER) - 1))]


def assignee(enrichment: Enrichment, oncall: str | None) -> str | None:
    """The service owner, else the team's on-call engineer, else nobody."""
    return enrichment.owner or oncall or None


def due_at(prio: Priority, triggered_at: datetime) -> datetime:
    return triggered_at + DUE_IN[prio]


def _clip(text: str, limit: int) -> str:
    """Alarm text (the author's, or a metric's), scrubbed before it is cut: a cut through
    a secret leaves a part the ticket guard's scrub would no longer recognise."""
    text = scrub(text)
    return fit(" ".join(text.split()) if "\n" not in text else text.strip(), limit)


def title(alarm: Alarm, enrichment: Enrichment) -> str:
    """`[SEVERITY] service - message`; the message is the description's first line,
    else the alarm name."""
    first_line = alarm.description.strip().splitlines()[0] if alarm.description.strip() else ""
    message = scrub(first_line) or alarm.name  # scrubbed before `fit` cuts it
    prefix = f"[{enrichment.severity.value.upper()}] {enrichment.service} - "
    return fit(prefix + title_text(message), TITLE_MAX)


def console_links(alarm: Alarm, where: Enrichment | None = None) -> list[tuple[str, str]]:
    """The alarm in the console of its region — and of its account: through IAM Identity
    Center's access portal when the account has a console role and the map a portal (the
    link signs in to that account and role, then opens the page), else a switch-role link
    beside the page's (the console opens pages in the account one is signed in to)."""
    base = f"https://{alarm.region}.console.aws.amazon.com/cloudwatch/home?region={alarm.region}"
    links = [
        ("Alarm in the CloudWatch console", f"{base}#alarmsV2:alarm/{quote(alarm.name, safe='')}")
    ]
    metric = alarm.primary_metric
    if metric and metric.namespace:
        links.append(
            (
                "Metrics of the namespace",
                f"{base}#metricsV2:graph=~();namespace={quote(metric.namespace, safe='')}",
            )
        )
    role = where.console_role if where else None
    if not role or not alarm.account_id:
        return links
    if where and where.console_portal:
        portal = where.console_portal.rstrip("/")
        return [
            (f"{label} (account {alarm.account_id}, role {role})",
             f"{portal}/#/console?account_id={alarm.account_id}&role_name={quote(role, safe='')}"
             f"&destination={quote(url, safe='')}")
            for label, url in links
        ]  # fmt: skip
    name = quote((where.account_name if where else None) or alarm.account_id, safe="")
    switch = (
        f"https://signin.aws.amazon.com/switchrole?account={alarm.account_id}"
        f"&roleName={quote(role, safe='')}&displayName={name}"
    )
    return [(f"Switch to account {alarm.account_id} (role {role}) first", switch), *links]


def _impact(alarm: Alarm, enrichment: Enrichment, prio: Priority) -> str:
    scope = "a business-critical service" if enrichment.critical_service else "a service"
    hosts = (
        ", ".join(code(f"{k}={v}") for k, v in alarm.dimensions.items()) or "not given by the alarm"
    )
    return (
        f"{prio.value} priority: {scope} in {enrichment.environment} is affected "
        f"(team {enrichment.team or 'unknown'}). Affected resources: {hosts}."
    )


def _expression_rows(alarm: Alarm) -> list[tuple[str, str]]:
    """A metric-math alarm's expressions, each cut, as many as the budget holds."""
    rows: list[tuple[str, str]] = []
    used = 0
    exprs = [m for m in alarm.metrics if m.expression]
    for m in exprs:
        text = _clip(m.expression or "", EXPRESSION_MAX)
        if used + len(text) > EXPRESSIONS_BUDGET:
            left = len(exprs) - len(rows)
            rows.append(("More expressions", f"{left} not shown: the alarm's page has them"))
            break
        used += len(text)
        rows.append((f"Expression {m.id or ''}".strip(), text))
    return rows


def description(alarm: Alarm, enrichment: Enrichment, prio: Priority, alert_id: str) -> str:
    """Markdown: what fired, impact, suggested steps, links."""
    metric = alarm.primary_metric
    rows = [
        ("Alarm", alarm.name),
        (
            "State",
            f"{alarm.previous_state.value if alarm.previous_state else '?'} → {alarm.state.value}",
        ),
        ("Changed at", alarm.state_changed_at.isoformat()),
        ("Kind", alarm.kind.value.replace("_", " ")),
        (
            "Account / region",
            f"{alarm.account_id}"
            + (f" ({enrichment.account_name})" if enrichment.account_name else "")
            + f" / {alarm.region}",
        ),
        (
            "Alarm ARN",
            alarm.arn
            + (
                " (derived from account, region and name: the message carried none)"
                if alarm.arn_derived
                else ""
            ),
        ),
        ("Service", enrichment.service),
        ("Environment", enrichment.environment),
        ("Alert type", enrichment.alert_type),
        ("Severity", enrichment.severity.value),
        ("OpsLink alert", alert_id),
    ]
    if metric:
        rows.append(("Metric", f"{metric.namespace}/{metric.name} ({metric.stat or 'n/a'})"))
    if alarm.threshold is not None:
        rows.append(("Threshold", f"{alarm.comparison or ''} {alarm.threshold:g}".strip()))
    rows += _expression_rows(alarm)
    if alarm.kind is AlarmKind.COMPOSITE and alarm.alarm_rule:
        rows.append(("Alarm rule", _clip(alarm.alarm_rule, DESCRIPTION_FIELD_MAX)))
        if alarm.triggering_children:
            children = alarm.triggering_children
            said = _clip(", ".join(children), DESCRIPTION_FIELD_MAX)
            rows.append(
                (
                    "Triggered by",
                    said + (f" ({len(children)} alarms)" if said.endswith("…") else ""),
                )
            )
    table = "\n".join(f"| {k} | {md_cell(v)} |" for k, v in rows)
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(suggested_steps(enrichment.alert_type), 1))
    links = "\n".join(f"- [{label}]({url})" for label, url in console_links(alarm, enrichment))
    parts = [
        "## What fired",
        "| Field | Value |\n| --- | --- |\n" + table,
    ]
    if alarm.description.strip():
        parts += [
            "**Alarm description**",
            "\n".join(fenced(_clip(alarm.description, DESCRIPTION_FIELD_MAX))),
        ]
    if alarm.reason.strip():
        parts += ["**Reason**", "\n".join(fenced(_clip(alarm.reason, DESCRIPTION_FIELD_MAX)))]
    parts += [
        "## Impact",
        _impact(alarm, enrichment, prio),
        "## Suggested steps",
        steps,
        "## Links",
        links,
    ]
    return "\n\n".join(parts) + "\n"


def draft_ticket(
    alarm: Alarm,
    enrichment: Enrichment,
    alert_id: str,
    oncall: str | None,
    previous_ticket: str | None = None,
    unverified: str | None = None,
    follows: str | None = None,
    incident: tuple[str, str] | None = None,
) -> TicketDraft:
    """The alert's ticket; with `unverified` (why its origin is not proven) marked so in
    title, labels and text: a human looks, automation never runs. With `incident` (its
    id, and why the alert opened it), the ticket says it is the incident's."""
    prio = priority(enrichment)
    text = description(alarm, enrichment, prio, alert_id)
    extra: dict[str, str] = {}
    labels: tuple[str, ...] = ()
    if unverified:
        text = (
            f"**Unverified origin**: {unverified}. OpsLink runs no automation for this "
            "alarm; check that it is real before acting on it.\n\n" + text
        )
        extra["origin"] = "unverified"
        labels = ("unverified_origin",)
    if follows:
        text += (
            f"\n## History\n\nThis alarm fired again within the reopen window, but its "
            f"previous ticket {follows} is closed for good and cannot be reopened: this is "
            "its follow-up.\n"
        )
        extra["previous_ticket"] = follows
    elif previous_ticket:
        text += (
            f"\n## History\n\nThis alarm fired before: its previous alert's ticket is "
            f"{previous_ticket} (resolved, past the reopen window).\n"
        )
        extra["previous_ticket"] = previous_ticket
    if incident:
        text += (
            f"\n## Incident\n\nThis ticket is incident {incident[0]}'s ({incident[1]}). Alarms "
            "of the same cause join it here, each with a comment, instead of opening tickets "
            f"of their own: `opslink incidents show {incident[0]}`.\n"
        )
    return TicketDraft(
        alert_id=alert_id,
        title=fit(("[UNVERIFIED] " if unverified else "") + title(alarm, enrichment), TITLE_MAX),
        description=text,
        ticket_type=ticket_type(enrichment),
        priority=prio,
        assignee=assignee(enrichment, oncall),
        due_at=due_at(prio, alarm.state_changed_at),
        follows=follows,
        labels=(
            "opslink",
            f"service:{enrichment.service}",
            f"type:{enrichment.alert_type}",
            *labels,
        ),
        custom_fields={
            "alert_id": alert_id,
            "service": enrichment.service,
            "severity": enrichment.severity.value,
            "triggered_at": alarm.state_changed_at.isoformat(),
        }
        | extra,
    )
