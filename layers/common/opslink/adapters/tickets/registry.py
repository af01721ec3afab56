"""Pick the TicketSystem adapter named by TICKET_PROVIDER.

External providers read their credentials from the Secrets Manager secret named by
TICKET_CREDENTIALS_SECRET (through Powertools Parameters, cached), never from plain
variables: a JSON object with `user` (or `email`) and `token` (or `password`, `api_key`);
for ServiceNow's OAuth client credentials grant, `client_id` and `client_secret`.
Provider-specific settings come as TICKET_OPTIONS (JSON).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.config import CommonSettings
from opslink.errors import ConfigurationError
from opslink.ports import TicketSystem
from opslink.secrets import read_credentials

PROVIDERS = ("builtin", "jira", "servicenow", "zendesk", "github", "redmine")


def _credentials(secret_name: str, provider: str, fresh: bool) -> dict[str, str]:
    if not secret_name:
        raise ConfigurationError(f"TICKET_PROVIDER={provider} needs TICKET_CREDENTIALS_SECRET")
    return read_credentials(secret_name, f"ticket provider {provider}", fresh=fresh)


def _need(value: str, name: str, provider: str) -> str:
    if not value:
        raise ConfigurationError(f"TICKET_PROVIDER={provider} needs {name}")
    return value


def ticket_system(settings: CommonSettings) -> TicketSystem:
    """The configured provider, behind the secret scrubber. A 401 re-reads the secret
    (skipping its cache) once: a rotated credential is picked up without a redeploy."""
    from opslink.adapters.tickets.scrubbed import ScrubbedTickets

    provider = _provider(settings)
    http = getattr(provider, "http", None)
    if http is not None:
        http.refresh = lambda: _provider(settings, fresh=True).http  # type: ignore[attr-defined]
    return ScrubbedTickets(provider)


def _provider(settings: CommonSettings, fresh: bool = False) -> TicketSystem:
    provider = settings.ticket_provider
    if provider == "builtin":
        return BuiltinTicketSystem(settings.tickets_table, base_url=settings.ticket_base_url)
    if provider not in PROVIDERS:
        raise ConfigurationError(
            f"TICKET_PROVIDER={provider!r} is not supported (choose one of: {', '.join(PROVIDERS)})"
        )
    opts: dict[str, Any] = settings.ticket_options
    gateway = urlparse(settings.ticket_base_url or "").hostname == "api.atlassian.com"
    if provider == "jira" and gateway and not opts.get("browse_url"):  # before any read
        raise ConfigurationError(
            "TICKET_PROVIDER=jira through api.atlassian.com (scoped API tokens) needs "
            'TICKET_OPTIONS {"browse_url": "https://<your-site>.atlassian.net"} for the '
            "tickets' links"
        )
    creds = _credentials(settings.ticket_credentials_secret, provider, fresh)
    secret = creds.get("token") or creds.get("password") or creds.get("api_key") or ""
    user = creds.get("user") or creds.get("email")
    url = settings.ticket_base_url
    if provider == "jira":
        from opslink.adapters.tickets.jira import JiraTickets

        return JiraTickets(
            _need(url, "TICKET_BASE_URL", provider),
            _need(settings.ticket_project, "TICKET_PROJECT", provider),
            user,
            secret,
            api_version=int(opts.get("api_version", 3)),
            issue_types=opts.get("issue_types"),
            priorities=opts.get("priorities"),
            deployment=opts.get("deployment"),
            browse_url=opts.get("browse_url"),
        )
    if provider == "servicenow":
        from opslink.adapters.tickets.servicenow import ServiceNowTickets

        base = _need(url, "TICKET_BASE_URL", provider)
        oauth = None
        if creds.get("client_id"):  # the OAuth client credentials grant, not basic auth
            from opslink.adapters.tickets.servicenow_oauth import ClientCredentials

            needed = "a 'client_secret' beside 'client_id' in the credentials secret"
            client_secret = _need(creds.get("client_secret", ""), needed, provider)
            oauth = ClientCredentials(base, creds["client_id"], client_secret)
        else:
            _need(user or "", "a 'user' (or 'client_id') in the credentials secret", provider)
        return ServiceNowTickets(
            base,
            user or "",
            secret,
            assignment_group=str(opts.get("assignment_group", "")),
            close_code=str(opts.get("close_code", "Solution provided")),
            oauth=oauth,
        )
    if provider == "zendesk":
        from opslink.adapters.tickets.zendesk import ZendeskTickets

        _need(user or creds.get("token", ""), "an 'email' with its 'api_key' (or an OAuth "
              "'token')", provider)  # fmt: skip
        return ZendeskTickets(_need(url, "TICKET_BASE_URL", provider), user or "", secret)
    if provider == "github":
        from opslink.adapters.tickets.github import GitHubTickets

        return GitHubTickets(
            _need(settings.ticket_project, "TICKET_PROJECT (owner/repo)", provider),
            secret,
            base_url=url or "https://api.github.com",
        )
    from opslink.adapters.tickets.redmine import RedmineTickets

    field = opts.get("alert_field_id")
    if not isinstance(field, int):
        raise ConfigurationError(
            'TICKET_PROVIDER=redmine needs TICKET_OPTIONS {"alert_field_id": <custom field id>}'
        )
    return RedmineTickets(
        _need(url, "TICKET_BASE_URL", provider),
        secret,
        _need(settings.ticket_project, "TICKET_PROJECT", provider),
        field,
        users={str(k): int(v) for k, v in (opts.get("users") or {}).items()},
        text_formatting=str(opts.get("text_formatting", "common_mark")),
    )
