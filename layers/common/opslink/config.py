"""One settings model per function, read from the environment once per cold start.

Plain pydantic models (no pydantic-settings: the layer stays small). A missing or bad
variable fails the cold start with the variable named, instead of a KeyError later.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opslink.errors import ConfigurationError


class OkPolicy(StrEnum):
    RESOLVE = "resolve"  # resolve the alert and its ticket
    COMMENT = "comment"  # resolve the alert, only comment on the ticket


class InsufficientDataPolicy(StrEnum):
    NOTE = "note"  # comment on the open alert's ticket, if any
    IGNORE = "ignore"


def json_object(value: object) -> object:
    """Settings that hold JSON objects arrive as strings in the environment."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON object: {exc.msg}") from None
    return value


def use_local_endpoint(environ: Any) -> None:
    """Under `sam local`, OPSLINK_AWS_ENDPOINT_URL points the SDK at `opslink local serve`
    (SAM only passes variables the template declares, and AWS_ENDPOINT_URL is not one)."""
    url = str(environ.get("OPSLINK_AWS_ENDPOINT_URL") or "")
    if url and not environ.get("AWS_ENDPOINT_URL"):
        environ["AWS_ENDPOINT_URL"] = url


def job_ends_announced(platform: str, mode: str) -> bool:
    """JobCompletionEvents: `auto` is SSM only (the stack's own EventBridge rule); Rundeck,
    AWX and the HTTP job API announce job ends once their notifications are set up (`on`)."""
    return platform == "ssm" if mode == "auto" else mode == "on"


class _Settings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True, populate_by_name=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        if environ is None:
            use_local_endpoint(os.environ)
        env = dict(os.environ if environ is None else environ)
        try:
            return cls.model_validate(env)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigurationError(f"{cls.__name__}: {problems}") from None


def account_set(raw: str) -> frozenset[str]:
    """ALLOWED_ACCOUNT_IDS: comma-separated 12-digit ids (empties ignored)."""
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(i for i in ids if not (len(i) == 12 and i.isdigit()))
    if bad:
        raise ValueError(f"ALLOWED_ACCOUNT_IDS: not 12-digit account ids: {', '.join(bad)}")
    return ids


def region_set(raw: str) -> frozenset[str]:
    """ALARM_REGIONS: comma-separated region names (empties ignored)."""
    regions = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(r for r in regions if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", r))
    if bad:
        raise ValueError(f"ALARM_REGIONS: not region names: {', '.join(bad)}")
    return regions


class CommonSettings(_Settings):
    alerts_table: str = Field(alias="ALERTS_TABLE", min_length=3)
    tickets_table: str = Field(alias="TICKETS_TABLE", min_length=3)
    # The lifecycle journal / audit trail (append-only for the functions); empty = ALERTS_TABLE.
    journal_table: str = Field(default="", alias="JOURNAL_TABLE")
    ticket_provider: str = Field(default="builtin", alias="TICKET_PROVIDER")
    service_map_path: str | None = Field(default=None, alias="SERVICE_MAP_PATH")
    ticket_base_url: str = Field(default="", alias="TICKET_BASE_URL")
    ticket_project: str = Field(default="", alias="TICKET_PROJECT")
    ticket_credentials_secret: str = Field(default="", alias="TICKET_CREDENTIALS_SECRET")
    ticket_options: dict[str, Any] = Field(default_factory=dict, alias="TICKET_OPTIONS")
    # Provenance: accounts whose alarms may trigger automation (empty: any alarm that
    # DescribeAlarms finds in this account).
    allowed_account_ids: frozenset[str] = Field(default=frozenset(), alias="ALLOWED_ACCOUNT_IDS")
    # ... and regions (empty: any region).
    alarm_regions: frozenset[str] = Field(default=frozenset(), alias="ALARM_REGIONS")
    # The stack's own account (jobs run there; other accounts' alarms are sliced in KPIs).
    stack_account_id: str = Field(default="", alias="STACK_ACCOUNT_ID")
    # Slack's bot token (its secret's name; empty: no Slack Web API calls): approval
    # requests posted (remediate), the reject dialog and message updates (track).
    slack_bot_token_secret_name: str = Field(default="", alias="SLACK_BOT_TOKEN_SECRET")
    # Slack's Web API (empty: slack.com); the local emulator's workspace sets its own.
    slack_api_url: str = Field(default="", alias="SLACK_API_URL")
    # The default chat channel (Slack) or conversation (Teams): approval requests of
    # services without their own, hand-overs, faults.
    slack_channel: str = Field(default="", alias="SLACK_CHANNEL")
    teams_conversation: str = Field(default="", alias="TEAMS_CONVERSATION")
    teams_service_url: str = Field(default="", alias="TEAMS_SERVICE_URL")  # Bot Connector
    # Microsoft Teams: the bot's app id (empty: no Teams) and its client secret's name.
    teams_app_id: str = Field(default="", alias="TEAMS_APP_ID")
    teams_app_password_secret_name: str = Field(default="", alias="TEAMS_APP_PASSWORD_SECRET")
    teams_tenant_id: str = Field(default="", alias="TEAMS_TENANT_ID")  # single-tenant bots
    # Sign-in and the Bot Framework's OpenID metadata (empty: Microsoft's); the local
    # emulator's Teams sets its own.
    teams_login_url: str = Field(default="", alias="TEAMS_LOGIN_URL")
    teams_openid_url: str = Field(default="", alias="TEAMS_OPENID_URL")

    _options = field_validator("ticket_options", mode="before")(json_object)

    @field_validator("allowed_account_ids", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> Any:
        return account_set(value) if isinstance(value, str) else value

    @field_validator("alarm_regions", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> Any:
        return region_set(value) if isinstance(value, str) else value


class IngestSettings(CommonSettings):
    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN", min_length=20)
    notification_topic_arn: str = Field(default="", alias="NOTIFICATION_TOPIC_ARN")
    refire_comment_period_seconds: int = Field(
        default=3600, ge=0, alias="REFIRE_COMMENT_PERIOD_SECONDS"
    )
    ok_policy: OkPolicy = Field(default=OkPolicy.RESOLVE, alias="OK_POLICY")
    insufficient_data_policy: InsufficientDataPolicy = Field(
        default=InsufficientDataPolicy.NOTE, alias="INSUFFICIENT_DATA_POLICY"
    )
    read_alarm_tags: bool = Field(default=True, alias="READ_ALARM_TAGS")
    lease_seconds: int = Field(default=90, ge=5, alias="LEASE_SECONDS")
    reopen_window_seconds: int = Field(default=86_400, ge=0, alias="REOPEN_WINDOW_SECONDS")
    flap_transitions: int = Field(default=6, ge=2, alias="FLAP_TRANSITIONS")
    flap_window_seconds: int = Field(default=600, ge=60, alias="FLAP_WINDOW_SECONDS")
    # Alert correlation (docs/CORRELATION.md): on, alerts of one cause share one incident
    # and its ticket; the rules file (empty: the layer's, built-ins only).
    correlation: bool = Field(default=True, alias="CORRELATION")
    correlation_rules_path: str = Field(default="", alias="CORRELATION_RULES_PATH")


class RemediateSettings(CommonSettings):
    notification_topic_arn: str = Field(default="", alias="NOTIFICATION_TOPIC_ARN")
    job_platform: str = Field(
        default="ssm", alias="JOB_PLATFORM", pattern="^(ssm|local|rundeck|awx|http)$"
    )
    runbook_catalog_path: str = Field(default="/opt", alias="RUNBOOK_CATALOG_PATH")
    poll_base_seconds: int = Field(default=15, ge=1, le=3600, alias="POLL_BASE_SECONDS")
    poll_max_seconds: int = Field(default=900, ge=1, le=86_400, alias="POLL_MAX_SECONDS")
    # Does the platform announce job ends (remediation/completion.py)? auto: SSM yes (the
    # template's EventBridge rule), others only once their notifications are set up (on).
    job_completion_events: str = Field(
        default="auto", alias="JOB_COMPLETION_EVENTS", pattern="^(auto|on|off)$"
    )
    runs_per_service_hour: int = Field(default=10, ge=0, alias="AUTOMATION_RUNS_PER_SERVICE_HOUR")
    runs_per_resource_hour: int = Field(default=3, ge=0, alias="AUTOMATION_RUNS_PER_RESOURCE_HOUR")
    max_attempts_per_episode: int = Field(default=2, ge=1, le=5, alias="MAX_ATTEMPTS_PER_EPISODE")
    # The state machine's waits, carried by the tasks' results (no Pass state to pay for).
    verify_grace_seconds: int = Field(default=120, ge=0, le=86_400, alias="VERIFY_GRACE_SECONDS")
    approval_timeout_seconds: int = Field(
        default=3600, ge=60, le=31_536_000, alias="APPROVAL_TIMEOUT_SECONDS"
    )
    automation_control_parameter: str = Field(default="", alias="AUTOMATION_CONTROL_PARAMETER")
    # Member accounts: their alarms verified in their account through this role (empty: off).
    member_role_name: str = Field(default="", alias="MEMBER_ROLE_NAME")
    member_external_id: str = Field(default="", alias="MEMBER_EXTERNAL_ID")
    alarm_bus_arn: str = Field(default="", alias="ALARM_BUS_ARN")  # the organization's bus
    # Hand-over on the alert's own ticket (own) or on a [FAILED_AUTO] ticket of its own.
    escalation_ticket: str = Field(
        default="own", alias="ESCALATION_TICKET", pattern="^(own|separate)$"
    )
    local_jobs_dir: str = Field(default="/tmp/opslink-jobs", alias="LOCAL_JOBS_DIR")  # noqa: S108 (local platform only)
    # Confines the local platform's runbooks to a directory (OPSLINK_TARGET_ROOT).
    local_target_root: str = Field(default="", alias="LOCAL_TARGET_ROOT")
    # Put first on the local platform's PATH (the emulator's stand-ins for host tools).
    local_job_path: str = Field(default="", alias="LOCAL_JOB_PATH")
    # Set by the local emulator: seals the local platform's scripts (scratch HOME, no
    # inherited AWS settings, dummy credentials, AWS endpoint on 127.0.0.1).
    local_sandbox_home: str = Field(default="", alias="LOCAL_SANDBOX_HOME")
    # Set by the emulator when the machine can seal runbooks (colon-separated directories
    # they must not see: the user's home, /root, /home).
    local_sandbox_hide: str = Field(default="", alias="LOCAL_SANDBOX_HIDE")
    local_aws_endpoint_url: str = Field(default="", alias="LOCAL_AWS_ENDPOINT_URL")
    ssm_output_bucket: str = Field(default="", alias="SSM_OUTPUT_BUCKET")
    job_api_url: str = Field(default="", alias="JOB_API_URL")
    job_api_token_secret: str = Field(default="", alias="JOB_API_TOKEN_SECRET")
    rundeck_url: str = Field(default="", alias="RUNDECK_URL")
    rundeck_token_secret: str = Field(default="", alias="RUNDECK_TOKEN_SECRET")
    rundeck_jobs: dict[str, str] = Field(default_factory=dict, alias="RUNDECK_JOBS")
    awx_url: str = Field(default="", alias="AWX_URL")
    awx_token_secret: str = Field(default="", alias="AWX_TOKEN_SECRET")
    awx_templates: dict[str, int] = Field(default_factory=dict, alias="AWX_TEMPLATES")

    _json_maps = field_validator("rundeck_jobs", "awx_templates", mode="before")(json_object)

    @property
    def job_events(self) -> bool:
        return job_ends_announced(self.job_platform, self.job_completion_events)


class TrackSettings(CommonSettings):
    state_machine_arn: str = Field(default="", alias="STATE_MACHINE_ARN")
    notification_topic_arn: str = Field(default="", alias="NOTIFICATION_TOPIC_ARN")
    pending_reminder_seconds: int = Field(default=7200, ge=60, alias="PENDING_REMINDER_SECONDS")
    webhook_secret_name: str = Field(default="", alias="WEBHOOK_SECRET_NAME")
    remediate_function_name: str = Field(default="", alias="REMEDIATE_FUNCTION_NAME")
    # Slack's signing secret (Secrets Manager): approve/reject buttons on /chat/slack.
    slack_signing_secret_name: str = Field(default="", alias="SLACK_SIGNING_SECRET_NAME")
    # Chat's "pause automation" and `/opslink pause` write its maintenance windows.
    automation_control_parameter: str = Field(default="", alias="AUTOMATION_CONTROL_PARAMETER")


class MetricsSettings(CommonSettings):
    metrics_namespace: str = Field(default="OpsLink", alias="POWERTOOLS_METRICS_NAMESPACE")
    notification_topic_arn: str = Field(default="", alias="NOTIFICATION_TOPIC_ARN")
    top_n: int = Field(default=10, ge=1, le=50, alias="KPI_TOP_N")
    automation_rate_target: float = Field(default=60.0, alias="KPI_AUTOMATION_RATE_TARGET")
    success_rate_target: float = Field(default=80.0, alias="KPI_SUCCESS_RATE_TARGET")
    mtta_minutes_target: float = Field(default=5.0, alias="KPI_MTTA_MINUTES_TARGET")
