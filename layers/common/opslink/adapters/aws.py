"""One way to reach AWS from an adapter: a client created on first use (never at import,
so a cold start pays only for what it calls) and one error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


def lazy_client(service: str, region: str | None = None, *, single_attempt: bool = False) -> Any:
    """`single_attempt`: botocore makes each call once (`single_attempt_config`)."""
    import boto3

    config = single_attempt_config() if single_attempt else None
    return boto3.client(service, region_name=region or None, config=config)


def single_attempt_config() -> Any:
    """For calls that start work and take no idempotency token (SSM SendCommand):
    botocore retries a read timeout or a connection closed before the answer, which
    sends the call again after the service may have acted on it — two commands. Made
    once, a lost answer is the caller's to look up (the launch step's `find`)."""
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1})


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@contextmanager
def aws_errors(
    what: str, error: type[Exception], passthrough: tuple[str, ...] = ()
) -> Iterator[None]:
    """Turn botocore failures into `error` ("<what> failed: …"); ClientErrors whose code is
    in `passthrough` are left for the caller to interpret."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in passthrough:
            raise
        raise error(f"{what} failed: {exc}") from exc
    except BotoCoreError as exc:
        raise error(f"{what} failed: {exc}") from exc
