"""The service map: services, their owners and teams, and the critical-services list.

Loaded once per cold start from a YAML file (the layer ships a default; SERVICE_MAP_PATH
points elsewhere). A malformed file fails at load with the file and field named.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class TeamEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oncall: str | None = None


class MapDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    environment: str = "production"
    severity: Severity = Severity.MEDIUM


class ServiceMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: MapDefaults = Field(default_factory=MapDefaults)
    critical_services: list[str] = Field(default_factory=list)
    services: dict[str, ServiceEntry] = Field(default_factory=dict)
    teams: dict[str, TeamEntry] = Field(default_factory=dict)

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

    def is_critical(self, service: str) -> bool:
        return service in self.critical_services

    def oncall(self, team: str | None) -> str | None:
        entry = self.teams.get(team or "")
        return entry.oncall if entry else None


def parse_service_map(text: str, origin: str) -> ServiceMap:
    try:
        doc = yaml.safe_load(text) or {}
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
    if path:
        file = Path(path)
        if not file.is_file():
            raise ConfigurationError(f"service map {path}: file not found")
        return parse_service_map(file.read_text(encoding="utf-8"), path)
    text = resources.files("opslink").joinpath("data/service-map.yaml").read_text("utf-8")
    return parse_service_map(text, "opslink/data/service-map.yaml")
