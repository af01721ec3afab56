"""Correlation rules: which alerts share a cause, in the catalog's style (docs/CORRELATION.md).

A YAML file of rules, read once and validated at load: a bad rule fails with the file,
the rule (by name, or by position when it has none) and the field named. The first rule
whose `match` fits an alert decides its grouping key (fields joined), its window (extended
by each new member up to `max_lifetime`), which states may open an incident and when the
incident resolves; `group: false` switches grouping off for what it matches. Alerts no
rule matches go to the built-ins (composite, dependencies, burst: correlation.py), which
`builtins` can switch off one by one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opslink.config_files import config_text, safe_yaml
from opslink.errors import ConfigurationError

ResolveOn = Literal["all", "first", "last", "never"]
OpensOn = Literal["ALARM", "INSUFFICIENT_DATA"]  # an OK never opens an incident
# What a grouping key may be made of; `dimension:<Name>` and `tag:<Key>` name one each.
KEY_FIELDS = (
    "service", "alert_type", "environment", "alarm_name", "alarm_family", "account",
    "region", "group",
)  # fmt: skip
_DURATION = re.compile(r"^(\d+)\s*(s|m|h)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}


def seconds(value: Any) -> int:
    """`90`, `"90s"`, `"10m"`, `"1h"` as seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a text like 10m")
    if isinstance(value, int):
        return value
    found = _DURATION.match(str(value).strip())
    if not found:
        raise ValueError(f"{value!r} is not a duration (e.g. 90s, 10m, 1h)")
    return int(found.group(1)) * _UNITS[found.group(2)]


class RuleMatch(BaseModel):
    """Every field given must fit (alarm_name: a shell pattern; dimensions: each equal)."""

    model_config = ConfigDict(extra="forbid")
    alert_type: str | None = None
    service: str | None = None
    environment: str | None = None
    alarm_name: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    match: RuleMatch = Field(default_factory=RuleMatch)
    group: bool = True
    group_by: list[str] = Field(default_factory=lambda: ["service", "alert_type"])
    window: int = 600
    max_lifetime: int = 1800
    create_on: list[OpensOn] = ["ALARM"]  # pydantic copies the default per rule
    resolve_on: ResolveOn = "all"

    @field_validator("window", "max_lifetime", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return seconds(value)

    @field_validator("group_by")
    @classmethod
    def _key_fields(cls, fields: list[str]) -> list[str]:
        if not fields:
            raise ValueError("a grouping key needs at least one field")
        for f in fields:
            kind, _, name = f.partition(":")
            if f in KEY_FIELDS or (kind in ("dimension", "tag") and name):
                continue
            raise ValueError(
                f"unknown key field {f!r} (one of {', '.join(KEY_FIELDS)}, dimension:<Name>, "
                "tag:<Key>)"
            )
        return fields

    @model_validator(mode="after")
    def _bounded(self) -> Rule:
        if self.window <= 0:
            raise ValueError("window must be longer than 0 s")
        if self.max_lifetime < self.window:
            raise ValueError(
                f"max_lifetime ({self.max_lifetime} s) is shorter than window ({self.window} s)"
            )
        return self


class Builtins(BaseModel):
    model_config = ConfigDict(extra="forbid")
    composite: bool = True  # a composite alarm and its children: one incident
    dependencies: bool = True  # services that depend on each other (service map)
    burst: bool = True  # one alarm family across one group's resources


class Defaults(BaseModel):
    """The built-ins' window, lifetime and resolution."""

    model_config = ConfigDict(extra="forbid")
    window: int = 600
    max_lifetime: int = 1800
    resolve_on: ResolveOn = "all"

    @field_validator("window", "max_lifetime", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return seconds(value)


class CorrelationRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    defaults: Defaults = Field(default_factory=Defaults)
    builtins: Builtins = Field(default_factory=Builtins)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> CorrelationRules:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self


def parse_rules(text: str, origin: str) -> CorrelationRules:
    try:
        doc = safe_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"correlation rules {origin}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigurationError(f"correlation rules {origin}: expected a mapping at the top")
    try:
        return CorrelationRules.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigurationError(
            f"correlation rules {origin}: {_where(doc, first['loc'])}: {first['msg']}"
        ) from None


def _where(doc: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """`rule 'name' field 'window'` for a rule's field, `field 'x'` elsewhere."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = doc.get("rules") or []
        raw = rules[loc[1]] if loc[1] < len(rules) else {}
        name = raw.get("name") if isinstance(raw, dict) else None
        rule = f"rule {name!r}" if name else f"rule #{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{rule} field {rest!r}" if rest else rule
    return "field " + repr(".".join(str(p) for p in loc))


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> CorrelationRules:
    """The rules at `path`, or the layer's default, read once per process (a function's
    cold start)."""
    return read_rules(path)


def read_rules(path: str | None = None) -> CorrelationRules:
    """The rules at `path`, or the layer's default (built-ins only), read now."""
    return parse_rules(*config_text(path, "correlation.yaml", "correlation rules"))
