"""Acting in a member account of the organization: AWS clients on credentials of the
account's OpsLink member role (`OpsLinkMemberRole`, created by forwarder.yaml), assumed
with the stack's ExternalId.

Credentials are kept per account and region until shortly before they expire. A role
that is missing or refuses the stack (AccessDenied, a wrong ExternalId) is a
configuration problem, not a passing one: MemberAccountDenied (a ConfigurationError, so
the caller hands over instead of retrying), remembered for a few minutes so a burst of
alarms from that account makes one AssumeRole call, not a storm; `on_denied` records it
as a fault. The stack's own account never assumes anything."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from opslink.adapters.aws import error_code, lazy_client, single_attempt_config
from opslink.errors import ConfigurationError, RetryableError

REFRESH_BEFORE_SECONDS = 300  # new credentials this long before the old ones expire
DENIED_FOR_SECONDS = 300  # a refused account is not asked again for this long
SESSION_SECONDS = 3600
_DENIED_CODES = ("AccessDenied", "AccessDeniedException", "InvalidClientTokenId",
                 "NoSuchEntity", "ValidationError")  # fmt: skip


class MemberAccountDenied(ConfigurationError):
    """OpsLink cannot act in that account: its member role is missing or refuses it."""


@dataclass
class _Credentials:
    values: dict[str, str]
    expires_at: float


class MemberSessions:
    def __init__(
        self,
        role_name: str,
        external_id: str,
        home_account: str,
        sts: Any = None,
        on_denied: Callable[[str, Exception], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.role_name = role_name
        self.external_id = external_id
        self.home_account = home_account
        self._sts = sts
        self._on_denied = on_denied
        self._clock = clock
        self._credentials: dict[str, _Credentials] = {}
        self._denied: dict[str, tuple[float, str]] = {}
        self._clients: dict[tuple[str, str, str, bool], Any] = {}

    def is_member(self, account: str) -> bool:
        """An account other than the stack's own: acted in through its member role."""
        return bool(account) and account != self.home_account

    def role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{self.role_name}"

    def enter(self, account: str) -> None:
        """Assume the account's member role now (MemberAccountDenied when it refuses)."""
        self._assumed(account)

    def client(
        self, service: str, account: str, region: str, *, single_attempt: bool = False
    ) -> Any:
        """A client for `service` in `account` and `region` (the stack's own account: the
        function's own credentials); `single_attempt`: calls made once (aws.py)."""
        if not self.is_member(account):
            return lazy_client(service, region, single_attempt=single_attempt)
        creds = self._assumed(account)
        key = (service, account, region, single_attempt)
        cached = self._clients.get(key)
        if cached is None or cached[0] is not creds:
            import boto3

            made = boto3.client(
                service, region_name=region or None,
                aws_access_key_id=creds.values["AccessKeyId"],
                aws_secret_access_key=creds.values["SecretAccessKey"],
                aws_session_token=creds.values["SessionToken"],
                config=single_attempt_config() if single_attempt else None,
            )  # fmt: skip
            self._clients[key] = cached = (creds, made)
        return cached[1]

    def _assumed(self, account: str) -> _Credentials:
        now = self._clock()
        refused = self._denied.get(account)
        if refused is not None and now < refused[0]:
            raise MemberAccountDenied(refused[1])
        creds = self._credentials.get(account)
        if creds is not None and now < creds.expires_at - REFRESH_BEFORE_SECONDS:
            return creds
        if self._sts is None:
            self._sts = lazy_client("sts")
        try:
            out = self._sts.assume_role(
                RoleArn=self.role_arn(account),
                RoleSessionName="opslink-remediate",
                ExternalId=self.external_id,
                DurationSeconds=SESSION_SECONDS,
            )
        except ParamValidationError as exc:  # the configured ExternalId itself is unusable
            why = f"cannot act in account {account}: MemberExternalId is not usable ({exc})"
            self._denied[account] = (now + DENIED_FOR_SECONDS, why)
            raise MemberAccountDenied(why) from exc
        except (BotoCoreError, ClientError) as exc:
            if error_code(exc) not in _DENIED_CODES:
                raise RetryableError(f"STS AssumeRole into account {account}: {exc}") from exc
            why = (
                f"cannot act in account {account}: AssumeRole denied for {self.role_arn(account)} "
                f"({error_code(exc)}); deploy forwarder.yaml there with this stack's ExternalId"
            )
            self._denied[account] = (now + DENIED_FOR_SECONDS, why)
            if self._on_denied is not None:
                self._on_denied(account, exc)
            raise MemberAccountDenied(why) from exc
        raw = out["Credentials"]
        expires = raw.get("Expiration")
        expires_at = expires.timestamp() if hasattr(expires, "timestamp") else now + SESSION_SECONDS
        creds = _Credentials({k: str(raw[k]) for k in ("AccessKeyId", "SecretAccessKey",
                                                       "SessionToken")}, expires_at)  # fmt: skip
        self._credentials[account] = creds
        return creds
