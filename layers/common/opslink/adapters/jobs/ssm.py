"""SSM Run Command job platform: the AWS default.

SendCommand with AWS-RunShellScript on an explicit list of InstanceIds (resolved and
bounded before launch: opslink/remediation/blast_radius.py), never a tag target.

The script and its lib.sh travel as quoted heredocs (no expansion). Parameters never
enter the command line as text a shell would parse: they travel base64-encoded (an
alphabet with no shell metacharacters) as NUL-separated NAME=VALUE pairs, and a fixed
prelude exports each pair with `export "$kv"`, which does not evaluate the value.
Output beyond GetCommandInvocation's inline limit is read from S3 when an output bucket
is configured.

A member account's job (request.account, not the stack's) runs in that account and the
alarm's region through the account's member role (adapters/member_accounts.py), and is
followed and cancelled there (JobRef carries where); without a member role it is
refused, never sent with the stack's own credentials.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from opslink.adapters.aws import lazy_client
from opslink.adapters.jobs.fields import duration, head, instant, tail
from opslink.adapters.jobs.lookup import WINDOW as LOOKUP_WINDOW
from opslink.adapters.jobs.lookup import find_recent
from opslink.adapters.member_accounts import MemberAccountDenied, MemberSessions
from opslink.clock import utcnow
from opslink.errors import JobPlatformError, JobPlatformRejected
from opslink.remediation_models import JobOutput, JobRef, JobRequest, JobState, JobStatus
from opslink.targets import check_hosts

INLINE_LIMIT = 24_000  # characters GetCommandInvocation returns inline
_STATES = {
    "Pending": JobState.QUEUED,
    "InProgress": JobState.RUNNING,
    "Delayed": JobState.RUNNING,
    "Cancelling": JobState.RUNNING,
    "Success": JobState.SUCCEEDED,
    "Failed": JobState.FAILED,
    "Cancelled": JobState.CANCELLED,
    "TimedOut": JobState.TIMED_OUT,
}
_RETRYABLE = {"ThrottlingException", "InternalServerError", "ServiceUnavailable"}


def _heredoc(path: str, text: str, marker: str) -> list[str]:
    if any(line == marker for line in text.splitlines()):
        raise JobPlatformRejected(f"ssm: script contains the heredoc marker {marker}")
    return [f"cat > {path} <<'{marker}'", *text.splitlines(), marker]


def build_commands(request: JobRequest) -> list[str]:
    pairs = b"".join(f"{k}={v}".encode() + b"\0" for k, v in sorted(request.environment.items()))
    pairs += f"OPSLINK_RUN_ID={request.idempotency_key[-40:]}".encode() + b"\0"
    encoded = base64.b64encode(pairs).decode("ascii")
    lib = Path(request.script_path).with_name("lib.sh")
    lib_text = lib.read_text(encoding="utf-8") if lib.is_file() else ""
    return [
        "set -euo pipefail",
        'workdir="$(mktemp -d)"; trap \'rm -rf "$workdir"\' EXIT',
        *_heredoc('"$workdir/lib.sh"', lib_text, "OPSLINK_LIB_EOF"),
        *_heredoc('"$workdir/runbook.sh"', request.script, "OPSLINK_SCRIPT_EOF"),
        f"OPSLINK_PARAMS_B64={encoded}",
        'while IFS= read -r -d "" kv; do export "$kv"; done < <(printf %s "$OPSLINK_PARAMS_B64" | base64 -d)',
        "unset OPSLINK_PARAMS_B64",
        'bash "$workdir/runbook.sh"',
    ]


def targets_for(request: JobRequest) -> dict[str, Any]:
    """The explicit host list, never a tag or group target that SSM would expand: each
    batch runs on exactly these instances, stopping at the first error."""
    hosts = check_hosts(request.runbook, request.targets)
    if len(hosts) > SEND_COMMAND_MAX:  # SendCommand would refuse it (a validation error)
        raise JobPlatformRejected(
            f"ssm: {len(hosts)} instances in one command; Run Command takes at most "
            f"{SEND_COMMAND_MAX} (the run's batches keep to it)"
        )
    return {"InstanceIds": list(hosts), "MaxConcurrency": str(len(hosts)), "MaxErrors": "0"}


SEND_COMMAND_MAX = 50  # instance ids per SendCommand


class SsmRunCommandPlatform:
    name = "ssm"

    def __init__(
        self,
        client: Any = None,
        s3: Any = None,
        output_bucket: str = "",
        members: MemberSessions | None = None,
        home_account: str = "",
    ) -> None:
        self._client = client
        self._sender = client  # SendCommand's own client: made once (aws.py)
        self._s3 = s3
        self.output_bucket = output_bucket
        self.members = members
        self.home_account = members.home_account if members else home_account

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = lazy_client("ssm")
        return self._client

    @property
    def sender(self) -> Any:
        if self._sender is None:
            self._sender = lazy_client("ssm", single_attempt=True)
        return self._sender

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = lazy_client("s3")
        return self._s3

    def _is_home(self, account: str) -> bool:
        return not account or not self.home_account or account == self.home_account

    def _client_for(self, account: str, region: str, single_attempt: bool = False) -> Any:
        """The stack's own client, or one in the member account and region the job's
        hosts are in; `single_attempt`: the one that sends commands."""
        if self._is_home(account):
            return self.sender if single_attempt else self.client
        if self.members is None:
            raise JobPlatformRejected(
                f"ssm: hosts in account {account} are out of reach: MemberRoleName is not set "
                "(deploy forwarder.yaml there and set it)"
            )
        try:
            return self.members.client("ssm", account, region, single_attempt=single_attempt)
        except MemberAccountDenied as exc:  # a hand-over that says why, not a retry
            raise JobPlatformRejected(f"ssm: {exc}") from exc

    def _call(self, op: str, where: JobRequest | JobRef | None = None, **kwargs: Any) -> Any:
        if where is None:
            client = self.client
        else:  # a command is sent once: a lost answer is looked up (`find`), not re-sent
            client = self._client_for(where.account, where.region, op == "send_command")
        try:
            return getattr(client, op)(**kwargs)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in _RETRYABLE:
                raise JobPlatformError(f"ssm {op}: {code}") from exc
            raise JobPlatformRejected(
                f"ssm {op}: {code}: {exc.response['Error'].get('Message', '')}"
            ) from exc
        except ParamValidationError as exc:  # a request we built wrong will not get better
            raise JobPlatformRejected(f"ssm {op}: {exc}") from exc
        except BotoCoreError as exc:
            raise JobPlatformError(f"ssm {op}: {exc}") from exc

    def find(self, request: JobRequest) -> JobRef | None:
        """The command this request sent (its Comment carries the run id), among its
        first host's commands of the last hour: a SendCommand whose answer was lost is
        found, not sent twice (SendCommand takes no idempotency token)."""
        command = find_recent(
            self._commands_since(request, check_hosts(request.runbook, request.targets)[0]),
            lambda c: c.get("Comment") == _comment(request) and bool(c.get("CommandId")),
            lambda c: c.get("RequestedDateTime"),
        )
        if command is None:
            return None
        return JobRef(platform=self.name, job_id=str(command["CommandId"]), launched_at=utcnow(),
                      account=request.account, region=request.region)  # fmt: skip

    def _commands_since(self, request: JobRequest, host: str) -> Iterator[list[dict[str, Any]]]:
        """The host's commands of the lookup's window, a page at a time."""
        since = (utcnow() - LOOKUP_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
        token: dict[str, str] = {}
        while True:
            page = self._call(
                "list_commands", request, InstanceId=host, MaxResults=50,
                Filters=[{"key": "InvokedAfter", "value": since}], **token,
            )  # fmt: skip
            yield [c for c in page.get("Commands") or [] if isinstance(c, dict)]
            if not page.get("NextToken"):
                return
            token = {"NextToken": str(page["NextToken"])}

    def launch(self, request: JobRequest) -> JobRef:
        kwargs: dict[str, Any] = {
            "DocumentName": "AWS-RunShellScript",
            "Comment": _comment(request),
            "Parameters": {
                "commands": build_commands(request),
                "executionTimeout": [str(request.timeout_seconds)],
            },
            "TimeoutSeconds": 600,
            **targets_for(request),
        }
        if self.output_bucket and self._is_home(request.account):
            # (a member account's Run Command cannot write to the stack's bucket: inline)
            kwargs |= {
                "OutputS3BucketName": self.output_bucket,
                "OutputS3KeyPrefix": f"opslink/{request.runbook}",
            }
        command = self._call("send_command", request, **kwargs)["Command"]
        command_id = command.get("CommandId")
        if not command_id:
            raise JobPlatformRejected("ssm send_command: response has no Command.CommandId")
        return JobRef(platform=self.name, job_id=command_id, launched_at=utcnow(),
                      account=request.account, region=request.region)  # fmt: skip

    def _command(self, ref: JobRef) -> dict[str, Any]:
        commands = self._call("list_commands", ref, CommandId=ref.job_id).get("Commands") or []
        if not commands:
            raise JobPlatformRejected(f"ssm: command {ref.job_id} not found")
        return dict(commands[0])

    def status(self, ref: JobRef) -> JobStatus:
        command = self._command(ref)
        raw = command.get("Status", "")
        if raw not in _STATES:
            raise JobPlatformRejected(f"ssm: command {ref.job_id} has unknown Status {raw!r}")
        detail = f"{command.get('CompletedCount', 0)}/{command.get('TargetCount', 0)} targets done, {command.get('ErrorCount', 0)} errors"
        state = _STATES[raw]
        took = self._duration(ref, command) if state is JobState.SUCCEEDED else None
        return JobStatus(state=state, detail=detail, duration_seconds=took)

    def _duration(self, ref: JobRef, command: dict[str, Any]) -> float | None:
        """The run time SSM reports: first instance start to last instance end (the
        command's first five instances, as for its output; once per job, at its end)."""
        spans = []
        for instance in (command.get("InstanceIds") or [])[:5]:
            inv = self._call(
                "get_command_invocation", ref, CommandId=ref.job_id, InstanceId=instance
            )
            spans.append((inv.get("ExecutionStartDateTime"), inv.get("ExecutionEndDateTime")))
        if not spans or any(duration(start, end) is None for start, end in spans):
            return None
        first = min((instant(start) or 0.0) for start, _ in spans)
        last = max((instant(end) or 0.0) for _, end in spans)
        return round(last - first, 3)

    def output(self, ref: JobRef, limit: int = 20_000) -> JobOutput:
        instances = self._command(ref).get("InstanceIds") or []
        outs: list[str] = []
        errs: list[str] = []
        truncated = False
        for instance in instances[:5]:
            inv = self._call(
                "get_command_invocation", ref, CommandId=ref.job_id, InstanceId=instance
            )
            out, err = inv.get("StandardOutputContent", ""), inv.get("StandardErrorContent", "")
            if len(out) >= INLINE_LIMIT:  # SSM kept the first 24,000: the rest is in S3
                s3 = inv.get("StandardOutputUrl") and self._from_s3(inv["StandardOutputUrl"], limit)
                out, truncated = s3 or head(out), True
            if len(err) >= INLINE_LIMIT:
                s3 = inv.get("StandardErrorUrl") and self._from_s3(inv["StandardErrorUrl"], limit)
                err, truncated = s3 or head(err), True
            outs.append(f"[{instance}]\n{out}")
            errs.append(f"[{instance}]\n{err}" if err else "")
        if not instances:
            outs.append("(targets resolved by tag: read per-instance output in the SSM console)")
        stdout, stderr = "\n".join(outs), "\n".join(e for e in errs if e)
        return JobOutput(
            stdout=tail(stdout, limit),
            stderr=tail(stderr, limit),
            truncated=truncated or len(stdout) > limit,
        )

    def _from_s3(self, url: str, limit: int) -> str | None:
        parsed = urlparse(url)
        parts = parsed.path.lstrip("/").split("/", 1)
        bucket, key = (
            (parts[0], parts[1])
            if parsed.netloc.startswith("s3") and len(parts) == 2
            else (parsed.netloc.split(".")[0], parsed.path.lstrip("/"))
        )
        try:  # one byte more: whether the tail starts at a line's start
            got = self.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{limit + 1}")
            body = got["Body"].read()
        except (BotoCoreError, ClientError):
            return None
        text = str(body.decode("utf-8", errors="replace"))
        return text if len(body) <= limit else tail(text, len(text) - 1)  # <= limit: all of it

    def cancel(self, ref: JobRef) -> None:
        self._call("cancel_command", ref, CommandId=ref.job_id)


def _comment(request: JobRequest) -> str:
    """What a command says it is (SSM keeps 100 characters): the run id finds it again."""
    return f"OpsLink {request.runbook} {request.idempotency_key}"[:100]
