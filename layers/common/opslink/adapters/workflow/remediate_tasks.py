"""The remediate function, called from the track function: it owns the job platform's
configuration and credentials (track has neither) — cancel an alert's jobs, pass a job
platform's notification on."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from opslink.adapters.aws import lazy_client
from opslink.errors import RetryableError
from opslink.models import Alert


class _RemediateFunction:
    def __init__(self, function_name: str, client: Any = None) -> None:
        self.function_name = function_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = lazy_client("lambda")
        return self._client


class RemediateTaskCanceller(_RemediateFunction):
    def __init__(self, function_name: str, store: Any, client: Any = None) -> None:
        super().__init__(function_name, client)
        self.store = store

    def cancel_jobs(self, alert: Alert, reason: str) -> list[str]:
        cancelled = []
        for job in self.store.launched_jobs(alert.alert_id):
            event = {
                "action": "cancel",
                "alert": {
                    "alert_id": alert.alert_id,
                    "ticket_id": alert.ticket_id,
                    "service": alert.service,
                    "environment": alert.environment,
                    "alert_type": alert.alert_type,
                    "severity": alert.severity.value,
                    "account_id": alert.account_id,  # where the job runs
                    "region": alert.region,
                    "notification": {},
                },
                "job": job.out(),
                "text": reason,
            }
            try:
                out = self.client.invoke(
                    FunctionName=self.function_name, Payload=json.dumps(event).encode()
                )
            except (BotoCoreError, ClientError) as exc:
                raise RetryableError(
                    f"invoke {self.function_name} to cancel job {job.job_id}: {exc}"
                ) from exc
            if out.get("FunctionError"):
                raise RetryableError(
                    f"cancel of job {job.job_id} failed: {out['Payload'].read()[:300]!r}"
                )
            cancelled.append(job.job_id)
        return cancelled


class RemediateJobEvents(_RemediateFunction):
    """Pass a job platform's notification on to the remediate function, asynchronously
    (it wakes the execution waiting for the job; the platform is answered at once)."""

    def forward(self, event: dict[str, Any]) -> None:
        if not self.function_name:
            raise RetryableError("REMEDIATE_FUNCTION_NAME is not set: nowhere to pass it on")
        try:
            self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps(event).encode(),
            )
        except (BotoCoreError, ClientError) as exc:
            raise RetryableError(f"invoke {self.function_name}: {exc}") from exc
