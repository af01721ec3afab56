"""TaskCallbacks on Step Functions: wake an execution waiting on a task token."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from opslink.adapters.aws import aws_errors, lazy_client
from opslink.errors import RetryableError
from opslink.ports.records import JsonObject

# The token was waited on and is not any more: the execution moved on (its wait timed
# out and the safety poll took over) or was stopped. Nothing to wake.
GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")


class StepFunctionsCallbacks:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = lazy_client("stepfunctions")
        return self._client

    def succeed(self, token: str, output: JsonObject) -> bool:
        return self._answer(
            "SendTaskSuccess", self.client.send_task_success, taskToken=token,
            output=json.dumps(output),
        )  # fmt: skip

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._answer(
            "SendTaskFailure", self.client.send_task_failure, taskToken=token,
            error=error[:256], cause=cause,
        )  # fmt: skip

    @staticmethod
    def _answer(operation: str, call: Callable[..., Any], **params: Any) -> bool:
        """True when the execution took the answer; False when nothing waits any more."""
        try:
            with aws_errors(f"Step Functions {operation}", RetryableError, GONE):
                call(**params)
            return True
        except ClientError:
            return False
