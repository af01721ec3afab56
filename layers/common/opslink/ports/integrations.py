"""The rest of the world: directory, alarm tags, workflow, notifications, webhook replay."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from opslink.remediation_input import RemediationInput


class Directory(Protocol):
    def oncall(self, team: str | None) -> str | None:
        """Who is on call for a team right now, if anyone is known."""


class AlarmTagSource(Protocol):
    def tags(self, alarm_arn: str, fired_at: datetime | None = None) -> dict[str, str]:
        """Tags of the alarm (it changed state at `fired_at`, when known); empty when it
        has none or they cannot be read."""


class Workflow(Protocol):
    def start_remediation(self, name: str, payload: RemediationInput) -> bool:
        """Start the remediation execution; False when one with that name already ran."""

    def stop_remediation(self, name: str, cause: str) -> bool:
        """Stop the execution if it still runs; False if it already ended."""


class Stopper(Protocol):
    def stop_remediation(self, name: str, cause: str) -> bool: ...


class Notifier(Protocol):
    def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None: ...


class ChatMessages(Protocol):
    name: str

    def approval_requested(self, facts: dict[str, str]) -> str:
        """Post an approval request with its buttons; the message, "<channel>/<ts>"
        (ChatError: not taken)."""

    def handed_over(self, facts: dict[str, str]) -> str:
        """Tell the service's channel an alert was handed to a human; the message."""

    def replace(self, message: str, text: str) -> None:
        """Replace a posted message with `text` (its buttons gone)."""

    def fault(self, facts: dict[str, str]) -> str:
        """Tell the default channel an integration fault opened or recovered."""

    def check(self) -> str:
        """Whether the platform takes the bot's credentials (posting nothing): what it is."""


class FaultListing(Protocol):
    def faults(self, state: str | None = None, limit: int = 100) -> list[Any]:
        """Faults on record, newest first (`state`: open or recovered only)."""


class ReplayGuard(Protocol):
    def delivery_seen(self, delivery_id: str) -> bool:
        """True when the delivery was applied before."""

    def claim_delivery(self, delivery_id: str, now: datetime) -> bool:
        """Record an applied delivery (conditional write with a TTL); False if recorded."""
