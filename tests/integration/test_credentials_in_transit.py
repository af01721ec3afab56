"""Credentials in transit: a rotated secret is picked up on the first 401 (one fresh read
of Secrets Manager, then the call again; a second 401 is final), plain http is refused
except to this machine, and TLS certificates are verified (a self-signed server on
127.0.0.1 is refused, not trusted)."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from opslink.adapters.http_client import HttpClient, require_tls
from opslink.adapters.jobs.registry import job_platform
from opslink.adapters.tickets.registry import ticket_system
from opslink.config import CommonSettings, RemediateSettings
from opslink.errors import ConfigurationError, JobPlatformError, JobPlatformRejected
from opslink.models import Priority, TicketDraft, TicketType
from opslink.remediation_models import JobRequest
from tests.integration.contract_servers import GenericJobApi, serve
from tests.integration.ticket_servers import GitHubApi

REQUEST = JobRequest(
    runbook="restart_service",
    script_path="/x/restart_service.sh",
    script="#!/bin/bash\n",
    environment={"SERVICE": "checkout"},
    targets={"InstanceId": ("i-0a1b2c3d4e5f60718",)},
    timeout_seconds=60,
    idempotency_key="A-1:restart_service",
)


@pytest.fixture
def secrets() -> Iterator[Any]:
    from aws_lambda_powertools.utilities import parameters

    with mock_aws():
        parameters.clear_caches()
        yield boto3.client("secretsmanager", region_name="us-east-1")
        parameters.clear_caches()


def statuses(app: Any) -> list[tuple[str, str]]:
    return [(r.method, r.headers.get(app.auth_header, "")) for r in app.requests]


def test_a_rotated_job_platform_token_is_picked_up_on_the_first_401(secrets: Any) -> None:
    secrets.create_secret(Name="opslink/jobs", SecretString="old-token")
    app = GenericJobApi()
    app.auth_value = "Bearer old-token"
    with serve(app) as url:
        settings = RemediateSettings.from_environ(
            {
                "ALERTS_TABLE": "alerts",
                "TICKETS_TABLE": "tickets",
                "JOB_PLATFORM": "http",
                "JOB_API_URL": url,
                "JOB_API_TOKEN_SECRET": "opslink/jobs",
            }
        )
        platform = job_platform(settings)
        platform.launch(REQUEST)
        # The token is rotated: the server takes only the new one, the cache holds the old.
        secrets.put_secret_value(SecretId="opslink/jobs", SecretString="new-token")
        app.auth_value = "Bearer new-token"
        again = REQUEST.model_copy(update={"idempotency_key": "A-2:restart_service"})
        platform.launch(again)
        assert [h for _, h in statuses(app)] == [
            "Bearer old-token",
            "Bearer old-token",  # refused (401) ...
            "Bearer new-token",  # ... re-read once, and the same call again
        ]
        # Revoked for good: one fresh read, one more try, then a clear refusal.
        app.auth_value = "Bearer someone-else"
        before = len(app.requests)
        third = REQUEST.model_copy(update={"idempotency_key": "A-3:restart_service"})
        with pytest.raises(JobPlatformRejected, match=r"authentication refused \(401\)"):
            platform.launch(third)
        assert len(app.requests) - before == 2


def test_a_rotated_ticket_system_token_is_picked_up_on_the_first_401(secrets: Any) -> None:
    secrets.create_secret(Name="opslink/tickets", SecretString='{"token": "gh-old"}')
    app = GitHubApi()
    app.auth_value = "Bearer gh-old"
    with serve(app) as url:
        settings = CommonSettings.from_environ(
            {
                "ALERTS_TABLE": "alerts",
                "TICKETS_TABLE": "tickets",
                "TICKET_PROVIDER": "github",
                "TICKET_PROJECT": "acme/ops",
                "TICKET_BASE_URL": url,
                "TICKET_CREDENTIALS_SECRET": "opslink/tickets",
            }
        )
        tickets = ticket_system(settings)
        draft = TicketDraft(
            alert_id="A-1",
            title="prod-checkout-api-cpu-high",
            description="CPU high",
            ticket_type=TicketType.INCIDENT,
            priority=Priority.HIGH,
            due_at=datetime(2026, 11, 28, 12, tzinfo=UTC),
        )
        tickets.create(draft)
        before = len(app.requests)
        secrets.put_secret_value(SecretId="opslink/tickets", SecretString='{"token": "gh-new"}')
        app.auth_value = "Bearer gh-new"
        ticket = tickets.create(draft.model_copy(update={"alert_id": "A-2"}))
        assert ticket.id and ticket.alert_id == "A-2"
        after = [h for _, h in statuses(app)[before:]]
        # the first call after the rotation is refused once, then all use the new token
        assert after[0] == "Bearer gh-old" and set(after[1:]) == {"Bearer gh-new"}


@pytest.mark.parametrize(
    "url",
    ["http://tickets.example.com", "http://10.0.0.5:8080", "ftp://jobs.example.com", "jira"],
)
def test_plain_http_to_another_machine_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not an https:// URL"):
        HttpClient("Jira", url, {})


@pytest.mark.parametrize(
    "url", ["https://acme.atlassian.net", "http://127.0.0.1:8080", "http://localhost"]
)
def test_tls_or_this_machine_is_accepted(url: str) -> None:
    assert require_tls("Jira", url) == url


def test_a_link_header_cannot_lead_to_plain_http() -> None:
    client = HttpClient("GitHub", "https://api.github.com", {})
    with pytest.raises(ConfigurationError, match="not an https:// URL"):
        client.request("GET", "http://evil.example/repos/acme/ops/issues?page=2")


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_certificates_are_verified(self_signed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = HttpClient("job API", self_signed, {}, timeout=(1.0, 2.0), retries=0)
    with pytest.raises(JobPlatformError, match="SSLError"):
        client.request("GET", "/jobs/1")


def _snow_settings(url: str) -> CommonSettings:
    return CommonSettings.from_environ(
        {
            "ALERTS_TABLE": "alerts",
            "TICKETS_TABLE": "tickets",
            "TICKET_PROVIDER": "servicenow",
            "TICKET_BASE_URL": url,
            "TICKET_CREDENTIALS_SECRET": "opslink/snow",
        }
    )


def _draft(alert_id: str) -> TicketDraft:
    return TicketDraft(alert_id=alert_id, title="prod-checkout-api-cpu-high",
                       description="CPU high", ticket_type=TicketType.INCIDENT,
                       priority=Priority.HIGH, due_at=datetime(2026, 11, 28, 12, tzinfo=UTC))  # fmt: skip


def test_servicenow_through_oauth_client_credentials(secrets: Any) -> None:
    """An instance that refuses basic authentication from integrations: with `client_id`
    and `client_secret` in the credentials secret, one token of the client credentials
    grant serves every call until it ends; a token the instance revoked early costs one
    refused call, then a new one is fetched and the call made."""
    from tests.integration.ticket_servers import ServiceNowOAuthApi

    secrets.create_secret(
        Name="opslink/snow",
        SecretString='{"client_id": "opslink-client", "client_secret": "client-secret"}',
    )
    app = ServiceNowOAuthApi()
    with serve(app) as url:
        tickets = ticket_system(_snow_settings(url))
        first = tickets.create(_draft("A-1"))
        second = tickets.create(_draft("A-2"))
        assert first.id != second.id and app.issued == 1
        assert set(app.auth_seen) == {"Bearer snow-token-1"}  # never basic, one token
        app.revoke()
        seen = len(app.auth_seen)
        assert tickets.create(_draft("A-3")).alert_id == "A-3"
        assert app.issued == 2
        assert app.auth_seen[seen] == "Bearer snow-token-1"  # refused once
        assert set(app.auth_seen[seen + 1 :]) == {"Bearer snow-token-2"}


def test_a_refused_servicenow_oauth_client_is_named_without_its_secret(secrets: Any) -> None:
    from opslink.errors import TicketSystemRejected
    from tests.integration.ticket_servers import ServiceNowOAuthApi

    secrets.create_secret(
        Name="opslink/snow",
        SecretString='{"client_id": "opslink-client", "client_secret": "s3cr3t-wrong"}',
    )
    app = ServiceNowOAuthApi()
    with serve(app) as url, pytest.raises(TicketSystemRejected) as refused:
        ticket_system(_snow_settings(url)).create(_draft("A-1"))
    said = str(refused.value)
    assert "OAuth client credentials refused (401" in said and "OAuth Application User" in said
    assert "s3cr3t-wrong" not in said and app.auth_seen == []  # no API call without a token


def test_a_servicenow_token_is_renewed_before_it_expires() -> None:
    """The token is renewed a minute before ServiceNow says it ends, not after a refusal."""
    from opslink.adapters.tickets.servicenow_oauth import ClientCredentials
    from tests.integration.ticket_servers import ServiceNowOAuthApi

    app = ServiceNowOAuthApi()
    app.lifetime = 300
    now = [0.0]
    with serve(app) as url:
        auth = ClientCredentials(url, *ServiceNowOAuthApi.CLIENT, clock=lambda: now[0])
        assert auth.token() == "snow-token-1"
        now[0] = 239.0
        assert auth.token() == "snow-token-1"
        now[0] = 240.0  # 300 s less the minute's margin
        assert auth.token() == "snow-token-2" and app.issued == 2


@pytest.mark.parametrize(
    ("secret", "sent"),
    [
        ('{"email": "ops@example.com", "api_key": "zd-token"}', "basic"),
        ('{"token": "zd-oauth-access-token"}', "Bearer zd-oauth-access-token"),
    ],
    ids=["api-token", "oauth"],
)
def test_zendesk_takes_an_api_token_or_an_oauth_access_token(
    secrets: Any, secret: str, sent: str
) -> None:
    from tests.integration.ticket_servers import ZendeskApi

    secrets.create_secret(Name="opslink/zendesk", SecretString=secret)
    app = ZendeskApi()
    if sent != "basic":
        app.auth_value = sent
    with serve(app) as url:
        settings = CommonSettings.from_environ(
            {"ALERTS_TABLE": "alerts", "TICKETS_TABLE": "tickets", "TICKET_PROVIDER": "zendesk",
             "TICKET_BASE_URL": url, "TICKET_CREDENTIALS_SECRET": "opslink/zendesk"}
        )  # fmt: skip
        assert ticket_system(settings).create(_draft("A-1")).alert_id == "A-1"
    assert {h for _, h in statuses(app)} == {app.auth_value}


def test_a_zendesk_api_key_without_its_email_is_refused_by_name(secrets: Any) -> None:
    secrets.create_secret(Name="opslink/zendesk", SecretString='{"api_key": "zd-token"}')
    settings = CommonSettings.from_environ(
        {"ALERTS_TABLE": "alerts", "TICKETS_TABLE": "tickets", "TICKET_PROVIDER": "zendesk",
         "TICKET_BASE_URL": "https://acme.zendesk.com", "TICKET_CREDENTIALS_SECRET": "opslink/zendesk"}
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match="'email'"):
        ticket_system(settings)
