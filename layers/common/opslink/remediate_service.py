"""Tasks of the remediation state machine that need OpsLink's own state.

select: choose a runbook for the alert (the catalog grows with the job platforms; with no
        match the alert is left to humans with a note);
note: record a note on the alert and comment on its ticket;
record_failure: record that an OpsLink step failed, so the alert is never silently stuck.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from opslink.errors import InvalidAlarm
from opslink.models import RemediationInput
from opslink.ports import AlertStore, TicketSystem


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RemediateDeps:
    store: AlertStore
    tickets: TicketSystem
    clock: Callable[[], datetime] = _utcnow


class TaskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action: str
    alert: RemediationInput
    kind: str = "note"
    text: str | None = None
    error: dict[str, Any] | None = None


def parse_request(event: Any) -> TaskRequest:
    try:
        return TaskRequest.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidAlarm(f"remediation task input: field {where!r}: {first['msg']}") from None


def select_runbook(req: TaskRequest) -> dict[str, Any]:
    alert = req.alert
    return {
        "runbook": None,
        "reason": (
            f"No runbook in the catalog matches alert type {alert.alert_type} for service "
            f"{alert.service} in {alert.environment}; left to humans."
        ),
    }


def _note(deps: RemediateDeps, req: TaskRequest, kind: str, text: str) -> dict[str, Any]:
    alert = req.alert
    deps.store.add_note(alert.alert_id, text, deps.clock(), kind=kind)
    if alert.ticket_id:
        deps.tickets.comment(alert.ticket_id, text)
    return {"noted": True, "kind": kind}


def record_note(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    return _note(deps, req, req.kind, req.text or "(no text)")


def record_failure(deps: RemediateDeps, req: TaskRequest) -> dict[str, Any]:
    error = req.error or {}
    cause = str(error.get("Cause", ""))
    with contextlib.suppress(ValueError, AttributeError):  # Lambda causes are JSON
        cause = json.loads(cause).get("errorMessage", cause)
    text = (
        f"Automated remediation stopped: {error.get('Error', 'unknown error')}: {cause[:1500]}. "
        "The alert needs a human."
    )
    return _note(deps, req, "remediation_failed", text)


def run_task(event: Any, deps: RemediateDeps) -> dict[str, Any]:
    req = parse_request(event)
    if req.action == "select":
        return select_runbook(req)
    if req.action == "note":
        return record_note(deps, req)
    if req.action == "record_failure":
        return record_failure(deps, req)
    raise InvalidAlarm(
        f"remediation task: unknown action {req.action!r} (select, note, record_failure)"
    )
