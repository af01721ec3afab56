"""The service map: services, their owners and teams, and the critical-services list.

Loaded once per cold start from a YAML file (the layer ships a default; SERVICE_MAP_PATH
points elsewhere). A malformed file fails at load with the file and field named.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from opslink.config_files import config_text, safe_yaml
from opslink.errors import ConfigurationError
from opslink.models import Severity


class ServiceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str | None = None
    owner: str | None = None
    kind: str | None = None
    environment: str | None = None
    aliases: list[str] = Field(default_factory=list)
    dimensions: dict[str, str] = Field(default_factory=dict)
    # Runbooks this service's owners allow to act on it (a parameter declared
    # `allowed: service_map` takes its value only from a service that lists the runbook),
    # and the unit those runbooks act on when it is not named like the service.
    runbooks: list[str] = Field(default_factory=list)
    unit: str | None = None
    # Services this one needs (correlation: their alerts and its alerts within one window
    # are one incident, rooted at the deepest dependency).
    depends_on: list[str] = Field(default_factory=list)
    # Who may approve this service's runbooks from chat (directory identities: e-mail);
    # empty: nobody from chat (the CLI, with its AWS permissions, still can).
    approvers: list[str] = Field(default_factory=list)
    # Per runbook, who may approve it from chat instead (a narrower list for a riskier
    # runbook); runbooks not listed take `approvers`.
    runbook_approvers: dict[str, list[str]] = Field(default_factory=dict)
    chat_channel: str | None = None  # where its approval requests are posted (Slack)
    teams_conversation: str | None = None  # ... in Microsoft Teams (a channel's id)


def may_approve(entry: ServiceEntry | None, email: str, runbook: str | None) -> bool:
    """Whether `email` may approve `runbook` of this service from chat."""
    if entry is None:
        return False
    allowed = entry.runbook_approvers.get(runbook or "", entry.approvers)
    return email in allowed


class AccountEntry(BaseModel):
    """An AWS account whose alarms OpsLink takes (keyed by its id in `accounts`)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None  # shown beside the id on tickets (an alias, an Organizations name)
    environment: str | None = None  # its alarms' environment unless a tag or service says
    team: str | None = None  # its alarms' team unless a tag or service says
    console_role: str | None = Field(default=None, pattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$")


class TeamEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oncall: str | None = None


class MapDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    environment: str = "production"
    severity: Severity = Severity.MEDIUM


# System units no runbook may act on, whatever an alarm or the catalog says: remote
# access, the job platforms' own agents, the init system, cloud bootstrap. `denied_units`
# in the service map extends it (fnmatch patterns, case-insensitive).
DENIED_UNITS: tuple[str, ...] = (
    "sshd*", "ssh", "ssh.*", "ssh@*", "amazon-ssm-agent*", "snap.amazon-ssm-agent*",
    "ssm-agent*", "systemd", "systemd-*", "init", "init.*", "cloud-init*", "cloud-config*",
    "cloud-final*", "dbus*", "polkit*", "auditd*", "rsyslog*", "journald*", "chronyd*",
    "ntpd*", "networking*", "network*", "networkmanager*", "firewalld*", "iptables*",
    "nftables*", "ufw*", "sudo*", "login*", "getty*", "serial-getty*", "cron*", "crond*",
    "rundeckd*", "awx*", "automation-controller*", "receptor*", "ansible*",
    "amazon-cloudwatch-agent*", "opslink*", "kubelet*", "containerd*", "docker*",
)  # fmt: skip


class ServiceMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: MapDefaults = Field(default_factory=MapDefaults)
    denied_units: list[str] = Field(default_factory=list)
    critical_services: list[str] = Field(default_factory=list)
    services: dict[str, ServiceEntry] = Field(default_factory=dict)
    teams: dict[str, TeamEntry] = Field(default_factory=dict)
    # Chat users as the directory knows them: "slack:<user id>" or "teams:<Entra object
    # id>" -> e-mail.
    chat_users: dict[str, str] = Field(default_factory=dict)
    # Accounts by id: names, defaults and the console role of each (tickets say where).
    accounts: dict[str, AccountEntry] = Field(default_factory=dict)
    # IAM Identity Center's access portal (https://<x>.awsapps.com/start): console links
    # of an account with a console_role open in that account and role through it.
    console_portal: str | None = Field(default=None, pattern=r"^https://[^\s#?]+$")

    @field_validator("accounts", mode="before")
    @classmethod
    def _account_ids(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        keys = {str(k).zfill(12) if isinstance(k, int) else str(k): v for k, v in value.items()}
        bad = [k for k in keys if not (len(k) == 12 and k.isdigit())]
        if bad:
            raise ValueError(f"not 12-digit account ids: {', '.join(bad)}")
        return keys

    @model_validator(mode="after")
    def _known_dependencies(self) -> ServiceMap:
        for service, entry in self.services.items():
            unknown = [d for d in entry.depends_on if d not in self.services]
            if unknown:
                raise ValueError(
                    f"service {service!r} depends_on {', '.join(map(repr, unknown))}, "
                    "not in services"
                )
        return self

    def depends_on(self) -> dict[str, list[str]]:
        """Each service's dependencies (correlation.Dependencies takes this)."""
        return {s: list(e.depends_on) for s, e in self.services.items() if e.depends_on}

    def canonical(self, name: str) -> str | None:
        """The service a name or alias stands for, if the map knows it."""
        lowered = name.lower()
        for service, entry in self.services.items():
            if lowered == service.lower() or lowered in (a.lower() for a in entry.aliases):
                return service
        return None

    def by_dimensions(self, dimensions: dict[str, str]) -> str | None:
        for service, entry in self.services.items():
            for key, pattern in entry.dimensions.items():
                value = dimensions.get(key)
                if value is not None and fnmatch.fnmatchcase(value, pattern):
                    return service
        return None

    def denied(self, value: str) -> str | None:
        """The deny-list pattern `value` falls under, if any."""
        lowered = value.lower()
        for pattern in (*DENIED_UNITS, *self.denied_units):
            if fnmatch.fnmatchcase(lowered, pattern.lower()):
                return pattern
        return None

    def unit_for(self, service: str, runbook: str) -> str | None:
        """The unit `runbook` may act on for `service`: only when the service is in the
        map and lists the runbook."""
        entry = self.services.get(service)
        if entry is None or runbook not in entry.runbooks:
            return None
        return entry.unit or service

    def owns_dimension(self, service: str, key: str, value: str) -> bool:
        entry = self.services.get(service)
        pattern = entry.dimensions.get(key) if entry else None
        return pattern is not None and fnmatch.fnmatchcase(value, pattern)

    def is_critical(self, service: str) -> bool:
        return service in self.critical_services

    def account(self, account_id: str) -> AccountEntry | None:
        return self.accounts.get(account_id)

    def oncall(self, team: str | None) -> str | None:
        entry = self.teams.get(team or "")
        return entry.oncall if entry else None


def parse_service_map(text: str, origin: str) -> ServiceMap:
    try:
        doc = safe_yaml(text) or {}
        return ServiceMap.model_validate(doc)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"service map {origin}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"service map {origin}: field {where!r}: {first['msg']}") from None


@lru_cache(maxsize=8)
def load_service_map(path: str | None = None) -> ServiceMap:
    """Load the service map from `path`, or the default shipped with the layer."""
    return parse_service_map(*config_text(path, "service-map.yaml", "service map"))
