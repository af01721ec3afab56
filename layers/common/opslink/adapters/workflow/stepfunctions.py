"""Workflow port on Step Functions: start the remediation execution, once per alert."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from opslink.adapters.aws import aws_errors, lazy_client
from opslink.errors import RetryableError

if TYPE_CHECKING:
    from opslink.remediation_input import RemediationInput

# What an execution's input carries beside the alert (statemachine/remediation.asl.json):
# the fallback ladder's start, so that no state is spent setting it.
INITIAL_STATE: dict[str, Any] = {"ladder": {"attempts": []}}


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = lazy_client("stepfunctions")
        return self._client

    def start_remediation(self, name: str, payload: RemediationInput) -> bool:
        try:
            with aws_errors(
                f"Step Functions StartExecution {name}", RetryableError, ("ExecutionAlreadyExists",)
            ):
                self.client.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=name,
                    input=json.dumps(INITIAL_STATE | payload.model_dump(mode="json")),
                )
            return True
        except ClientError:  # ExecutionAlreadyExists: one run per alert
            return False

    def stop_remediation(self, name: str, cause: str) -> bool:
        """Stop the alert's execution if it still runs; False if it already ended."""
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        gone = ("ExecutionDoesNotExist", "ExecutionNotFound")
        try:
            with aws_errors(f"Step Functions StopExecution {name}", RetryableError, gone):
                status = self.client.describe_execution(executionArn=arn)["status"]
                if status != "RUNNING":
                    return False
                self.client.stop_execution(
                    executionArn=arn, error="OpsLink.TicketClosed", cause=cause[:32_000]
                )
            return True
        except ClientError:  # the execution does not exist (any more)
            return False
