"""The event that announces a job's end to the remediate function: EventBridge's envelope,
so one code path reads it whoever sends it (Run Command's own status-change events, the
webhook URL passing on a job platform's notification, the emulator's watcher)."""

from __future__ import annotations

from typing import Any

SSM_COMMAND_EVENT = "EC2 Command Status-change Notification"
JOB_EVENT = "Job State Change"


def job_state_change(platform: str, job_id: str, source: str, status: str = "") -> dict[str, Any]:
    return {
        "version": "0",
        "source": source,
        "detail-type": JOB_EVENT,
        "detail": {"platform": platform, "job_id": job_id, "status": status},
    }


def job_event(event: dict[str, Any]) -> tuple[str, str, str] | None:
    """(platform, job id, source) of a job-end event; None for any other event."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None
    kind = event.get("detail-type")
    if kind == SSM_COMMAND_EVENT and detail.get("command-id"):
        return "ssm", str(detail["command-id"]), "ssm event"
    if kind == JOB_EVENT and detail.get("platform") and detail.get("job_id"):
        return str(detail["platform"]), str(detail["job_id"]), str(event.get("source") or "event")
    return None
