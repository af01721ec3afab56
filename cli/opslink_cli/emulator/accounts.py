"""The emulator's AWS accounts: the stack's own and any member account an alarm names.

moto keeps accounts apart by the account of the credentials. The emulator plays a member
account's own side (its alarms in CloudWatch, its hosts in EC2/Auto Scaling) as that
account's administrator would: through a role of its own there, never OpsLink's member
role — that one is OpsLink's to use, so what OpsLink reads there it reads through it."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from opslink_cli.emulator.deploy import ACCOUNT

ADMIN_ROLE = "OpsLinkEmulatorAdmin"
_lock = threading.Lock()
_credentials: dict[tuple[str, str | None], dict[str, str]] = {}


def account_client(
    service: str, region: str, account: str = "", endpoint_url: str | None = None
) -> Any:
    """A client in `account` ("" or the stack's: the emulator's own credentials)."""
    if not account or account == ACCOUNT:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)
    with _lock:
        creds = _credentials.get((account, endpoint_url))
        if creds is None:
            sts = boto3.client("sts", region_name=region, endpoint_url=endpoint_url)
            raw = sts.assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", RoleSessionName="emulator"
            )["Credentials"]
            creds = {k: raw[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
            _credentials[(account, endpoint_url)] = creds
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def forget() -> None:
    """A new emulator (a new moto) knows none of the old credentials."""
    with _lock:
        _credentials.clear()
