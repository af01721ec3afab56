"""Slack beyond deciding: pausing automation for a service — the approval message's
"Pause 1 h" button, and the `/opslink` slash command (`status`; `pause <service>
<duration> <reason>`) — with the CLI's effect: a maintenance window in the automation
control parameter (`opslink automation maintenance`), journaled as an operator action.
Only a service's approvers may pause it; anyone mapped may ask the status."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from opslink.automation_control import MaintenanceWindow, with_window
from opslink.errors import ConfigurationError
from opslink.journal import EventKind, LifecycleEvent
from opslink.ports import AutomationControl, EventRecorder
from opslink.service_map import ServiceMap

PAUSE_BUTTON = timedelta(hours=1)
LONGEST = timedelta(days=7)
_DURATION = re.compile(r"(\d{1,4})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
USAGE = "/opslink status | /opslink pause <service> <duration: 30m, 2h, 1d> <reason>"


class CommandRefused(Exception):
    """A command that cannot be done as given; the text says why (shown only to them)."""


def duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise CommandRefused(f"{text[:20]!r} is not a duration: 30m, 2h or 1d")
    length = timedelta(**{_UNITS[match[2]]: int(match[1])})
    if not timedelta(minutes=1) <= length <= LONGEST:
        raise CommandRefused("a pause lasts from 1 minute to 7 days")
    return length


def pause(
    control: AutomationControl | None,
    journal: EventRecorder,
    smap: ServiceMap,
    service: str,
    length: timedelta,
    by: str,
    reason: str,
    now: datetime,
    platform: str = "Slack",
) -> str:
    """A maintenance window for `service` from now; what to tell the channel."""
    if control is None:
        raise CommandRefused("no automation control parameter is configured for this stack")
    if service not in smap.services:
        raise CommandRefused(f"{service!r} is not a service of the service map")
    if by not in smap.services[service].approvers:
        raise CommandRefused(f"{by} may not pause automation for {service} (the service "
                             "map's approvers)")  # fmt: skip
    start = now.replace(microsecond=0)
    window = MaintenanceWindow(service=service, start=start, end=start + length,
                               reason=f"{reason} (paused from {platform} by {by})")  # fmt: skip
    try:
        control.save(with_window(control.current(fresh=True), window))
    except ConfigurationError as exc:
        raise CommandRefused(f"automation control could not be written: {exc}") from exc
    journal.record_event(LifecycleEvent(
        alert_id="", kind=EventKind.OPERATOR_ACTION, at=now, by=by, why=reason,
        key=f"{now.isoformat()}#maintenance_window:{service}", counted=False,
        detail={"action": f"maintenance_window:{service}", "from": platform.lower()}))  # fmt: skip
    return (f"Automation for {service} paused until {window.end.isoformat()} by {by}: "
            f"{reason}. `opslink automation status` shows it; it ends by itself.")  # fmt: skip


def status(control: AutomationControl | None, now: datetime) -> str:
    if control is None:
        return "Automation runs (no automation control parameter is configured)."
    current = control.current(fresh=True)
    windows = [w for w in current.maintenance if w.start <= now < w.end]
    head = (f"Automation is PAUSED for every service: {current.reason or 'no reason'} "
            f"(by {current.by or 'someone'})." if current.paused else "Automation runs.")  # fmt: skip
    lines = [f"• {w.service}: paused until {w.end.isoformat()} — {w.reason}" for w in windows]
    return "\n".join([head, *lines]) if lines else head + " No service is paused."


def slash(
    text: str,
    email: str,
    control: AutomationControl | None,
    journal: EventRecorder,
    smap: ServiceMap,
    now: datetime,
    platform: str = "Slack",
) -> dict[str, Any]:
    """The answer to `/opslink <text>` (in Teams: a message to the bot): in the channel
    when it changed something."""
    words = text.split()
    try:
        if words[:1] == ["status"] or not words:
            return {"response_type": "ephemeral", "text": status(control, now)}
        if words[0] == "pause" and len(words) >= 4:
            said = pause(control, journal, smap, words[1], duration(words[2]), email,
                         " ".join(words[3:])[:300], now, platform)  # fmt: skip
            return {"response_type": "in_channel", "text": said}
        raise CommandRefused(f"usage: {USAGE}")
    except CommandRefused as exc:
        return {"response_type": "ephemeral", "text": f"{exc}: nothing was changed."}
