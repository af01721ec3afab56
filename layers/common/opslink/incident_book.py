"""Incidents applied in time order (the bench and the tests): members, their decisions
with reasons, composite links and resolution by `resolve_on`. The decisions under a
grouping key are correlation.under_key's, as the store's (adapters/store/incident_keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opslink.correlation import Decision, Dependencies, Grouping, KeyState, Signal, under_key


@dataclass
class Incident:
    incident_id: str
    key: str | None
    rule: str
    opened_at: datetime
    window_until: datetime
    max_until: datetime
    resolve_on: str
    firing: dict[str, bool] = field(default_factory=dict)  # member alert -> still firing
    services: dict[str, str] = field(default_factory=dict)  # member alert -> its service
    resolved_at: datetime | None = None
    follows: str | None = None  # the resolved incident under the same key before it

    def takes(self, at: datetime) -> bool:
        return self.key_state().takes(at)

    def key_state(self) -> KeyState:
        return KeyState(self.incident_id, self.window_until, self.max_until,
                        self.resolved_at is not None, members=len(self.firing))  # fmt: skip

    def root(self, deps: Dependencies) -> str:
        """The member to act on: the first on the deepest dependency among the members'
        services (the first member when none depends on another)."""
        order = list(self.services)
        return min(order, key=lambda a: (deps.height(self.services[a]), order.index(a)))


class IncidentBook:
    """Incidents and their members, applied in time order (the bench and the tests; the
    store's conditional writes make the same decisions)."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}
        self.by_key: dict[str, str] = {}  # key -> its latest incident
        self.of_alert: dict[str, str] = {}
        self.of_alarm: dict[str, str] = {}  # alarm name -> incident of its latest alert
        self.composite_child: dict[str, str] = {}  # a composite's child -> its incident
        self.decisions: list[Decision] = []

    def place(self, s: Signal, g: Grouping) -> Decision:
        joined = self._composite_link(s, g)
        if joined is not None:
            return joined
        current = self.incidents.get(self.by_key.get(g.key or "", ""))
        verdict = under_key(current.key_state() if current else None, s, g)
        if verdict.joins is not None:
            return self._join(s, self.incidents[verdict.joins], g, verdict.why)
        before = self.incidents.get(verdict.follows or "")
        return self._open(s, g, before, verdict.why, verdict.registers)

    def _composite_link(self, s: Signal, g: Grouping) -> Decision | None:
        """A composite joins the open incident of a child that fired first; a child of
        an open composite's incident joins it."""
        if s.children:
            found = [(c, self.of_alarm.get(c, "")) for c in s.children]
            what = "composite over {}: joins {}"
        else:
            found = [(s.alarm_name, self.composite_child.get(s.alarm_name, ""))]
            what = "{} is part of a composite alarm in {}"
        for name, incident_id in found:
            incident = self.incidents.get(incident_id)
            if incident is not None and incident.takes(s.at):
                return self._join(s, incident, g, what.format(name, incident_id))
        return None

    def _open(
        self, s: Signal, g: Grouping, before: Incident | None, why: str, registers: bool
    ) -> Decision:
        incident = Incident(
            incident_id=f"INC-{len(self.incidents) + 1}",
            key=g.key,
            rule=g.rule,
            opened_at=s.at,
            window_until=s.at + timedelta(seconds=g.window),
            max_until=s.at + timedelta(seconds=g.max_lifetime),
            resolve_on=g.resolve_on,
            follows=before.incident_id if before else None,
        )
        self.incidents[incident.incident_id] = incident
        if registers and g.key is not None:
            self.by_key[g.key] = incident.incident_id
        return self._record(s, incident, False, g, why)

    def _join(self, s: Signal, incident: Incident, g: Grouping, why: str) -> Decision:
        extended = s.at + timedelta(seconds=g.window)
        incident.window_until = min(max(incident.window_until, extended), incident.max_until)
        return self._record(s, incident, True, g, why)

    def _record(self, s: Signal, inc: Incident, joined: bool, g: Grouping, why: str) -> Decision:
        inc.firing[s.alert_id] = True
        inc.services[s.alert_id] = s.service
        self.of_alert[s.alert_id] = inc.incident_id
        self.of_alarm[s.alarm_name] = inc.incident_id
        for child in s.children:
            self.composite_child[child] = inc.incident_id
        decision = Decision(s.alert_id, inc.incident_id, joined, g.rule, g.key, why)
        self.decisions.append(decision)
        return decision

    def resolve(self, alert_id: str, at: datetime) -> Incident | None:
        """A member's alert resolved; the incident when this resolves it (resolve_on)."""
        incident = self.incidents.get(self.of_alert.get(alert_id, ""))
        if incident is None or incident.resolved_at is not None:
            return None
        newest = list(incident.firing)[-1]
        incident.firing[alert_id] = False
        done = {
            "all": not any(incident.firing.values()),
            "first": True,
            "last": alert_id == newest,
            "never": False,
        }[incident.resolve_on]
        if done:
            incident.resolved_at = at
            return incident
        return None
