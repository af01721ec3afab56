"""Pick the TicketSystem adapter named by configuration."""

from __future__ import annotations

from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.config import CommonSettings
from opslink.errors import ConfigurationError
from opslink.ports import TicketSystem

PROVIDERS = ("builtin",)


def ticket_system(settings: CommonSettings) -> TicketSystem:
    if settings.ticket_provider == "builtin":
        return BuiltinTicketSystem(settings.tickets_table, base_url=settings.ticket_base_url)
    raise ConfigurationError(
        f"TICKET_PROVIDER={settings.ticket_provider!r} is not supported (choose one of: {', '.join(PROVIDERS)})"
    )
