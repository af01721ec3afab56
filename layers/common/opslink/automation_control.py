"""Operators' brakes on automation: a global kill switch and per-service maintenance
windows, held in one SSM parameter (JSON) so they change without a redeploy:

    {"paused": true, "reason": "incident 4711", "by": "dana",
     "maintenance": [{"service": "checkout", "start": "2026-11-28T22:00:00Z",
                      "end": "2026-11-29T02:00:00Z", "reason": "DB migration"}],
     "runbook_modes": {"scale_up": "shadow"}}

A missing parameter means automation runs. Read through Powertools Parameters with a
short cache, so a flip takes effect within `max_age` seconds everywhere.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opslink.errors import ConfigurationError


class MaintenanceWindow(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
    service: str
    start: datetime
    end: datetime
    reason: str = ""


class ModeChange(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
    runbook: str
    mode: str
    by: str = ""
    at: str = ""
    reason: str = ""


class Control(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")
    paused: bool = False
    reason: str = ""
    by: str = ""
    at: str = ""
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    # Autonomy per runbook (shadow | approval | auto) over the catalog's `risk`, and
    # every change of it, newest last (who, when, why).
    runbook_modes: dict[str, str] = Field(default_factory=dict)
    mode_history: list[ModeChange] = Field(default_factory=list)

    def suppression(self, service: str, now: datetime) -> str | None:
        """Why automation must not run for `service` now, or None."""
        if self.paused:
            who = f" by {self.by}" if self.by else ""
            return (
                f"automation paused (kill switch{who}{': ' + self.reason if self.reason else ''})"
            )
        for window in self.maintenance:
            if window.service in (service, "*") and window.start <= now < window.end:
                why = f": {window.reason}" if window.reason else ""
                return (
                    f"maintenance window for {window.service} until {window.end.isoformat()}{why}"
                )
        return None


def with_window(control: Control, window: MaintenanceWindow) -> Control:
    """The control with `window` added and the windows that ended dropped."""
    kept = [w for w in control.maintenance if w.end > window.start]
    return control.model_copy(update={"maintenance": [*kept, window]})


def parse_control(raw: Any, name: str) -> Control:
    try:
        return Control.model_validate_json(raw) if isinstance(raw, str) else Control()
    except ValidationError as exc:
        raise ConfigurationError(f"automation control {name}: {exc.errors()[0]['msg']}") from None


class SsmAutomationControl:
    def __init__(self, parameter: str, max_age: int = 30) -> None:
        self.parameter = parameter
        self.max_age = max_age
        # The parameter is optional and absent by default: its absence is cached like a
        # value (Powertools caches only values), or every task would ask SSM again.
        self._absent_until = 0.0

    def current(self, fresh: bool = False) -> Control:
        if not self.parameter or (not fresh and time.monotonic() < self._absent_until):
            return Control()
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            # fresh: an operator's command right after a change reads the change.
            raw = parameters.get_parameter(self.parameter, max_age=self.max_age, force_fetch=fresh)
        except GetParameterError as exc:
            if "ParameterNotFound" in str(exc):
                self._absent_until = time.monotonic() + self.max_age
                return Control()
            raise ConfigurationError(f"automation control {self.parameter}: {exc}") from exc
        return parse_control(raw, self.parameter)

    def save(self, control: Control) -> None:
        """Write the control (a chat command's maintenance window); read fresh next."""
        from botocore.exceptions import BotoCoreError, ClientError

        from opslink.adapters.aws import lazy_client

        if not self.parameter:
            raise ConfigurationError("no automation control parameter is configured")
        try:
            lazy_client("ssm").put_parameter(Name=self.parameter, Value=control.model_dump_json(),
                                             Type="String", Overwrite=True)  # fmt: skip
        except (BotoCoreError, ClientError) as exc:
            raise ConfigurationError(f"automation control {self.parameter}: {exc}") from exc
        self._absent_until = 0.0
