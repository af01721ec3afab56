"""Pick the JobPlatform adapter named by JOB_PLATFORM. Tokens come from Secrets Manager
through Powertools Parameters (cached per container), never from plain variables."""

from __future__ import annotations

from typing import Any

from opslink.config import RemediateSettings
from opslink.errors import ConfigurationError
from opslink.ports import JobPlatform
from opslink.secrets import read_secret


def _url(url: str, what: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{what} needs an https URL, not {url!r}")
    return url


def job_platform(s: RemediateSettings, members: Any = None) -> JobPlatform:
    """The configured platform; for the HTTP ones a 401 re-reads the token (skipping its
    cache) once, so a rotated token is picked up without a redeploy. `members`
    (MemberSessions): SSM runs member accounts' jobs there."""
    platform = _platform(s, members=members)
    http = getattr(platform, "http", None)
    if http is not None:
        http.refresh = lambda: _platform(s, fresh=True).http  # type: ignore[attr-defined]
    return platform


def _platform(s: RemediateSettings, fresh: bool = False, members: Any = None) -> JobPlatform:
    def _secret(name: str, what: str) -> str:
        return read_secret(name, what, fresh=fresh)

    if s.job_platform == "ssm":
        from opslink.adapters.jobs.ssm import SsmRunCommandPlatform

        return SsmRunCommandPlatform(
            output_bucket=s.ssm_output_bucket, members=members, home_account=s.stack_account_id
        )
    if s.job_platform == "local":
        from opslink.adapters.jobs.local_shell import LocalShellPlatform, Sandbox

        sandbox = (
            Sandbox(
                home=s.local_sandbox_home,
                aws_endpoint_url=s.local_aws_endpoint_url,
                hide=tuple(d for d in s.local_sandbox_hide.split(":") if d),
            )
            if s.local_sandbox_home
            else None
        )
        return LocalShellPlatform(
            s.local_jobs_dir,
            target_root=s.local_target_root,
            path_prefix=s.local_job_path,
            sandbox=sandbox,
        )
    if s.job_platform == "http":
        from opslink.adapters.jobs.http_api import HttpJobApiPlatform

        return HttpJobApiPlatform(
            _url(s.job_api_url, "JOB_API_URL"), _secret(s.job_api_token_secret, "the job API")
        )
    if s.job_platform == "rundeck":
        from opslink.adapters.jobs.rundeck import RundeckPlatform

        return RundeckPlatform(
            _url(s.rundeck_url, "RUNDECK_URL"),
            _secret(s.rundeck_token_secret, "Rundeck"),
            s.rundeck_jobs,
        )
    if s.job_platform == "awx":
        from opslink.adapters.jobs.awx import AwxPlatform

        return AwxPlatform(
            _url(s.awx_url, "AWX_URL"), _secret(s.awx_token_secret, "AWX"), s.awx_templates
        )
    raise ConfigurationError(f"JOB_PLATFORM={s.job_platform!r} is not supported")
