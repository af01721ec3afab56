"""Alert correlation: which incident an alert joins, and why (docs/CORRELATION.md). Pure.

`grouping` reads an alert's grouping key off the rules (correlation_rules.py): the first
matching rule, else the built-ins — a composite alarm's own key (its children join it),
services that depend on each other (one key per connected part of the service map's
`depends_on` graph), then a burst key (one alarm family in one group: its Auto Scaling
group, else its service). `under_key` decides against the incident open under the key: an
alert joins it while the window (extended by each member, never past the incident's
maximum lifetime) lasts and it holds fewer than INCIDENT_MEMBERS_MAX alerts; a resolved
(or full) incident never takes a member — the alert opens a new incident that refers to
it. incident_book.py applies these in time order; the store
(adapters/store/incident_keys.py) with one conditional write per alert.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from opslink.correlation_rules import CorrelationRules, Rule, RuleMatch
from opslink.models import Alarm, AlarmKind, Alert
from opslink.scrub import scrub_excerpt

ASG_DIMENSION = "AutoScalingGroupName"
# An incident's members are sets on one DynamoDB item (400 KB at most, read whole by every
# member's OK): a burst or a day of flapping under one key opens the next incident at this.
INCIDENT_MEMBERS_MAX = 1000
ASG_TAG = "aws:autoscaling:groupName"
# What names one resource inside an alarm's name: instance and volume ids, UUIDs, long
# hex, IPs, numbers. Removed, the rest is the alarm's family (the same alarm per resource).
_RESOURCE_PARTS = re.compile(
    r"(i|vol|eni|ami|sg|subnet)-[0-9a-f]{8,17}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\b[0-9a-f]{12,}\b|\d{1,3}(?:\.\d{1,3}){3}|\d+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Signal:
    """An alert as correlation sees it."""

    alert_id: str
    at: datetime
    alarm_name: str
    alert_type: str
    service: str
    environment: str
    state: str = "ALARM"
    dimensions: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    account: str = ""
    region: str = ""
    children: tuple[str, ...] = ()  # a composite alarm: the alarms its rule names
    suppressor: str = ""  # its ActionsSuppressor, in ALARM when this change came (the cause)


@dataclass(frozen=True)
class Grouping:
    key: str | None  # None: an incident of its own
    rule: str  # the rule or built-in that decided
    window: int
    max_lifetime: int
    resolve_on: str
    creates: bool  # may this state open an incident (create_on)
    why: str
    composite_links: bool = False  # the composite built-in: joins through alarm links


_RULE_REFS = re.compile(r'\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)')


def _alarm_name(ref: str) -> str:
    return ref.split(":alarm:", 1)[1] if ":alarm:" in ref else ref


def composite_children(alarm_rule: str | None, triggering: Sequence[str] = ()) -> tuple[str, ...]:
    """The alarms a composite alarm's rule names (and those that triggered it), by name."""
    refs = [*_RULE_REFS.findall(alarm_rule or ""), *triggering]
    return tuple(dict.fromkeys(_alarm_name(r.strip()) for r in refs if r.strip()))


def signal_of(alert: Alert) -> Signal:
    """An alert as correlation sees it (a composite's children from its stored alarm)."""
    children: tuple[str, ...] = ()
    suppressor = ""
    if alert.source_alarm:
        alarm = Alarm.model_validate_json(alert.source_alarm)
        if alarm.kind is AlarmKind.COMPOSITE:
            children = composite_children(alarm.alarm_rule, alarm.triggering_children)
            if alarm.actions_suppressed_by == "Alarm" and alarm.actions_suppressor:
                suppressor = alarm.actions_suppressor
    return Signal(
        alert_id=alert.alert_id,
        at=alert.triggered_at,
        alarm_name=alert.alarm_name,
        alert_type=alert.alert_type,
        service=alert.service,
        environment=alert.environment,
        dimensions=dict(alert.dimensions),
        account=alert.account_id or "",
        region=alert.region or "",
        children=children,
        suppressor=suppressor,
    )


def alarm_family(name: str) -> str:
    """The alarm's name without the resource it watches: `web-cpu-i-0abc…` -> `web-cpu-*`."""
    return re.sub(r"(\*[-_.]?)+", "*", _RESOURCE_PARTS.sub("*", name)).lower()


def group_of(s: Signal) -> str:
    """The group a resource belongs to: its Auto Scaling group, else its service."""
    return s.dimensions.get(ASG_DIMENSION) or s.tags.get(ASG_TAG) or f"service:{s.service}"


def key_value(s: Signal, name: str) -> str:
    kind, _, which = name.partition(":")
    if kind == "dimension":
        return s.dimensions.get(which, "")
    if kind == "tag":
        return s.tags.get(which, "")
    return {
        "service": s.service,
        "alert_type": s.alert_type,
        "environment": s.environment,
        "alarm_name": s.alarm_name,
        "alarm_family": alarm_family(s.alarm_name),
        "account": s.account,
        "region": s.region,
        "group": group_of(s),
    }[name]


def matches(m: RuleMatch, s: Signal) -> bool:
    return (
        (m.alert_type is None or m.alert_type == s.alert_type)
        and (m.service is None or m.service == s.service)
        and (m.environment is None or m.environment == s.environment)
        and (m.alarm_name is None or fnmatch.fnmatchcase(s.alarm_name, m.alarm_name))
        and all(s.dimensions.get(k) == v for k, v in m.dimensions.items())
    )


class Dependencies:
    """The service map's `depends_on` graph: which services fail together."""

    def __init__(self, depends_on: Mapping[str, Sequence[str]]) -> None:
        self.below = {s: tuple(d) for s, d in depends_on.items()}
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        for service, deps in self.below.items():
            for dep in deps:
                a, b = sorted((find(service), find(dep)))
                parent[b] = a
        self._component = {s: find(s) for s in parent}
        self._size: dict[str, int] = {}
        for root in self._component.values():
            self._size[root] = self._size.get(root, 0) + 1

    def component(self, service: str) -> str | None:
        """The connected part of the graph the service is in; None when it is alone."""
        root = self._component.get(service)
        return root if root is not None and self._size[root] > 1 else None

    def height(self, service: str, _seen: frozenset[str] = frozenset()) -> int:
        """Dependency levels below a service: 0 for one that depends on nothing."""
        deps = [d for d in self.below.get(service, ()) if d not in _seen]
        return 1 + max((self.height(d, _seen | {service}) for d in deps), default=-1)


def grouping(s: Signal, rules: CorrelationRules, deps: Dependencies) -> Grouping:
    """The grouping key and its terms for one alert: the first matching rule, else the
    built-ins; None as key when grouping is off for it."""
    for rule in rules.rules:
        if matches(rule.match, s):
            return _by_rule(rule, s)
    d, b = rules.defaults, rules.builtins

    def built_in(key: str | None, name: str, why: str) -> Grouping:
        return Grouping(key, name, d.window, d.max_lifetime, d.resolve_on, s.state == "ALARM", why,
                        composite_links=b.composite)  # fmt: skip

    if b.composite and s.children:
        return built_in(f"composite:{s.alarm_name}", "builtin:composite",
                        f"composite alarm over {', '.join(s.children[:5])}")  # fmt: skip
    part = deps.component(s.service) if b.dependencies else None
    if part is not None:
        # A failure spreads along dependencies within minutes: the window counts from the
        # incident's first alert and is not extended (an extended one would absorb every
        # later alert of a whole group of services).
        return Grouping(f"deps:{s.environment}:{part}", "builtin:dependencies", d.window,
                        d.window, d.resolve_on, s.state == "ALARM",
                        f"{s.service} depends on or is depended on by other services",
                        composite_links=b.composite)  # fmt: skip
    if b.burst:
        family, group = alarm_family(s.alarm_name), group_of(s)
        return built_in(f"burst:{s.environment}:{s.service}:{s.alert_type}:{family}:{group}",
                        "builtin:burst", f"alarm family {family} in {group}")  # fmt: skip
    return built_in(None, "builtin:none", "no rule matched and the built-ins are off")


def safe_grouping(s: Signal, rules: CorrelationRules, deps: Dependencies) -> Grouping:
    """`grouping`, where a rule that cannot be evaluated for this alert (a bug, data it
    did not expect) never costs the alert: it gets an incident of its own, and why."""
    try:
        return grouping(s, rules, deps)
    except Exception as exc:
        d = rules.defaults
        why = f"grouping failed ({type(exc).__name__}: {scrub_excerpt(str(exc), 200)}): an incident of its own"
        return Grouping(None, "error", d.window, d.max_lifetime, d.resolve_on, True, why)


def _by_rule(rule: Rule, s: Signal) -> Grouping:
    if not rule.group:
        return Grouping(None, rule.name, rule.window, rule.max_lifetime, rule.resolve_on,
                        True, f"rule {rule.name}: grouping off")  # fmt: skip
    values = "|".join(f"{f}={key_value(s, f)}" for f in rule.group_by)
    return Grouping(f"rule:{rule.name}:{values}", rule.name, rule.window, rule.max_lifetime,
                    rule.resolve_on, s.state in rule.create_on,
                    f"rule {rule.name}: {values}")  # fmt: skip


@dataclass(frozen=True)
class Decision:
    alert_id: str
    incident_id: str
    joined: bool  # False: it opened the incident
    rule: str
    key: str | None
    why: str
    alone: bool = False  # in no incident (grouping off, or a state that opens none)


@dataclass(frozen=True)
class KeyState:
    """What a grouping key points at: its latest incident and that incident's terms (the
    store keeps one item per key; IncidentBook keeps its Incident objects)."""

    incident_id: str
    window_until: datetime
    max_until: datetime
    resolved: bool = False
    members: int = 1  # alerts placed in it under the key

    def takes(self, at: datetime) -> bool:
        return (
            not self.resolved
            and at <= self.window_until
            and at <= self.max_until
            and self.members < INCIDENT_MEMBERS_MAX
        )

    def state(self) -> str:
        """Why it takes no member (when `takes` says so)."""
        if self.resolved:
            return "resolved"
        if self.members >= INCIDENT_MEMBERS_MAX:
            return f"full ({self.members} alerts)"
        return "past its window"


@dataclass(frozen=True)
class Verdict:
    joins: str | None  # the incident the alert joins; None: it opens one
    registers: bool  # the opened incident becomes the key's
    follows: str | None  # the key's previous incident, resolved or past its window
    why: str


def under_key(current: KeyState | None, s: Signal, g: Grouping) -> Verdict:
    """Join the key's incident while it takes members; otherwise open a new one, which
    refers to the previous (never a join into a resolved incident)."""
    if g.key is not None and current is not None and current.takes(s.at):
        return Verdict(current.incident_id, False, None, f"{g.why}; within its window")
    if g.key is None or not g.creates:
        why = g.why if g.key is None else f"{g.why}; {s.state} opens no incident (create_on)"
        return Verdict(None, False, None, why)
    if current is not None:
        return Verdict(None, True, current.incident_id,
                       f"{g.why}; {current.incident_id} {current.state()}: a new incident "
                       "refers to it")  # fmt: skip
    return Verdict(None, True, None, g.why)


def joined_state(current: KeyState, s: Signal, g: Grouping) -> KeyState:
    """The key's incident with its window extended by a new member, counted."""
    extended = s.at + timedelta(seconds=g.window)
    return replace(
        current, window_until=max(current.window_until, extended), members=current.members + 1
    )


def opened_state(incident_id: str, s: Signal, g: Grouping) -> KeyState:
    return KeyState(
        incident_id, s.at + timedelta(seconds=g.window), s.at + timedelta(seconds=g.max_lifetime)
    )
