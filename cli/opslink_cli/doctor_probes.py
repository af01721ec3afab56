"""`opslink doctor`'s read-only probes of the integrations as deployed: one cheap
authenticated read per ticket system and job platform, and the chat platform's own
credential check — with the secrets as they are now, never shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opslink.errors import ConfigurationError

if TYPE_CHECKING:
    from opslink_cli.doctor_deployment import FunctionView

# A cheap authenticated read per system: reachable, and the credentials are accepted.
TICKET_PROBES = {
    "jira": "{api}/myself",
    "servicenow": "/api/now/table/sys_user?sysparm_limit=1&sysparm_fields=sys_id",
    "zendesk": "/api/v2/users/me.json",
    "github": "/repos/{project}",
    "redmine": "/users/current.json",
}
JOB_PROBES = {"rundeck": "/api/41/system/info", "awx": "{api}/me/",
              "http": "/jobs/opslink-doctor-probe"}  # fmt: skip


def probe_tickets(fn: FunctionView | None) -> str:
    from opslink.adapters.tickets.registry import _provider
    from opslink.config import CommonSettings

    if fn is None:
        raise ConfigurationError("no track function found")
    settings = CommonSettings.from_environ(fn.env)
    provider = settings.ticket_provider
    if provider == "builtin":
        return "builtin ticket system (DynamoDB): nothing to reach"
    system: Any = _provider(settings, fresh=True)  # the secret as it is now
    path = TICKET_PROBES[provider].format(
        api=getattr(system, "api", ""), project=settings.ticket_project
    )
    # A lookup that must find nothing: a system that ignores the alert marker's filter
    # (a wrong Redmine alert_field_id, an unreadable ServiceNow field) answers another
    # ticket, and the adapter refuses it, naming the setting.
    system.find_by_alert("A-opslink-doctor-probe")
    system.http.request("GET", path, what="doctor probe")
    return (
        f"{provider} at {settings.ticket_base_url}: reachable, credentials accepted, "
        "lookups by the alert marker answer only its tickets"
    )


def probe_jobs(fn: FunctionView | None, client: Callable[[str], Any]) -> str:
    from opslink.adapters.jobs.registry import _platform
    from opslink.config import RemediateSettings

    if fn is None:
        raise ConfigurationError("no remediate function found")
    settings = RemediateSettings.from_environ(fn.env)
    if settings.job_platform == "ssm":
        client("ssm").list_commands(MaxResults=1)
        return "SSM Run Command: reachable (ListCommands, the remediate role's read)"
    if settings.job_platform == "local":
        return "local job platform: nothing to reach"
    platform: Any = _platform(settings, fresh=True)
    probe = JOB_PROBES[settings.job_platform].format(api=getattr(platform, "api", ""))
    found = platform.http.request("GET", probe, what="doctor probe", missing_ok=True)
    if found is None and settings.job_platform == "awx":
        raise ConfigurationError(
            f"AWX_URL {settings.awx_url}: no controller API at {probe} (on AAP 2.5+ give "
            "the platform gateway's URL with /api/controller/)"
        )
    if settings.job_platform == "rundeck":  # a job run on the server, or deaf to the run id
        from opslink.adapters.jobs.rundeck_jobs import RUN_ID_OPTION, check_job

        jobs = sorted(set(settings.rundeck_jobs.values()))
        for job in jobs:
            check_job(platform.http, job, [RUN_ID_OPTION])
        return (
            f"rundeck: reachable, credentials accepted; jobs {jobs or 'none'} dispatch to "
            f"nodes and define the {RUN_ID_OPTION} option"
        )
    if settings.job_platform == "awx":  # a template that ignores the limit runs everywhere
        templates = sorted(set(settings.awx_templates.values()))
        for template in templates:
            platform.check_template(template)
        return (
            f"awx: reachable, credentials accepted; job templates {templates or 'none'} "
            "prompt on launch for Limit and Variables"
        )
    return f"{settings.job_platform}: reachable, credentials accepted"


def probe_chat(fn: FunctionView | None) -> str:
    """The chat platform the remediate function posts to takes its credentials (Slack's
    auth.test, the Teams bot's sign-in); nothing is posted."""
    from opslink.chat_wiring import chat_messages
    from opslink.config import RemediateSettings
    from opslink.service_map import ServiceMap

    if fn is None:
        raise ConfigurationError("no remediate function found")
    chat = chat_messages(RemediateSettings.from_environ(fn.env), ServiceMap(), fresh=True)
    return "no chat platform configured" if chat is None else str(chat.check())
