"""The ticket system down on the emulator: nothing lost, nothing doubled. Alerts that
arrive during the outage are recorded, the operators get one fallback notification per
alert, and after recovery the reconciler gives each alert exactly one ticket and starts
its remediation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from opslink.adapters.store.faults import FaultRecords
from opslink_cli import samples
from opslink_cli.emulator import LocalStack
from tests.e2e.conftest import Stack
from tests.integration.contract_servers import json_response, serve
from tests.integration.ticket_servers import ZendeskApi

pytestmark = pytest.mark.e2e


class FlakyZendesk(ZendeskApi):
    down = True

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        if self.down:
            return json_response(503, {"error": "Service Unavailable"})
        return super().handle(method, path, headers, body)


def test_ticket_system_outage_loses_nothing(tmp_path: Path) -> None:
    app = FlakyZendesk()
    with serve(app) as url:
        params = {
            "TicketProvider": "zendesk",
            "TicketBaseUrl": url,
            "TicketCredentialsSecret": "opslink/zendesk",
            # Three alarms of one family would be one incident: this is about each alert.
            "Correlation": "false",
        }
        empty = tmp_path / "catalog"
        empty.mkdir()
        with LocalStack(
            parameters=params,
            log_path=tmp_path / "lambda.log",
            env_overrides={"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(empty)}},
        ) as local:
            stack = Stack(local)
            boto3.client("secretsmanager", region_name="us-east-1").create_secret(
                Name="opslink/zendesk",
                SecretString=json.dumps({"email": "ops@example.com", "token": "zd-token"}),
            )
            sqs = local.client("sqs")
            queue = sqs.create_queue(QueueName="operators")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            local.client("sns").subscribe(
                TopicArn=local.arns["NotificationTopic"], Protocol="sqs", Endpoint=queue_arn
            )
            at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
            names = [f"prod-checkout-api-cpu-high-{i}" for i in range(3)]
            for name in names:
                local.publish_alarm(samples.metric_alarm(name, at))
            alerts = stack.alerts.list_alerts()
            assert len(alerts) == 3 and all(a.ticket_id is None for a in alerts)
            notices = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
            subjects = [json.loads(m["Body"])["Subject"] for m in notices]
            assert sorted(s for s in subjects if "fallback" in s) == sorted(
                f"[OpsLink fallback] checkout: {name}" for name in names
            )
            # One integration fault, told once, with its assessment.
            assert subjects.count("[OpsLink fault] zendesk (ticket_system) failing") == 1
            app.down = False  # the ticket system is back
            fired = local.advance(300)
            assert "opslink-IngestFunction" in fired  # the reconciler's schedule
            local.wait_for_executions(timeout=60)
            alerts = stack.alerts.list_alerts()
            assert all(a.ticket_id and a.execution_name for a in alerts)
            assert len(app.tickets) == 3  # exactly one ticket per alert
            assert {t["external_id"] for t in app.tickets.values()} == {
                f"opslink-{a.alert_id}" for a in alerts
            }
            local.advance(300)  # the next reconciliation changes nothing
            assert len(app.tickets) == 3
            [fault] = FaultRecords(stack.alerts.table, stack.alerts.client).faults()
            assert fault.state == "recovered" and fault.component == "ticket_system"
