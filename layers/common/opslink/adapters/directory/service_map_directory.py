"""Directory backed by the service map's teams section (static on-call)."""

from __future__ import annotations

from opslink.service_map import ServiceMap


class ServiceMapDirectory:
    def __init__(self, smap: ServiceMap) -> None:
        self.smap = smap

    def oncall(self, team: str | None) -> str | None:
        return self.smap.oncall(team)
