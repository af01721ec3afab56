"""Workflow port on Step Functions: start the remediation execution, once per alert."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from opslink.errors import RetryableError


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("stepfunctions")
        return self._client

    def start_remediation(self, name: str, payload: dict[str, Any]) -> bool:
        try:
            self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise RetryableError(f"Step Functions StartExecution {name} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise RetryableError(f"Step Functions StartExecution {name} failed: {exc}") from exc

    def stop_remediation(self, name: str, cause: str) -> bool:
        """Stop the alert's execution if it still runs; False if it already ended."""
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        try:
            status = self.client.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING":
                return False
            self.client.stop_execution(
                executionArn=arn, error="OpsLink.TicketClosed", cause=cause[:32_000]
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("ExecutionDoesNotExist", "ExecutionNotFound"):
                return False
            raise RetryableError(f"Step Functions StopExecution {name} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise RetryableError(f"Step Functions StopExecution {name} failed: {exc}") from exc
