"""Metrics: publish OpsLink's daily counters and KPIs as CloudWatch metrics (EMF)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.config import MetricsSettings
from opslink.metrics_service import daily_kpis

SETTINGS = MetricsSettings.from_environ()
logger = Logger(service="opslink-metrics")
metrics = Metrics(namespace=SETTINGS.metrics_namespace, service="metrics")


@cache
def store() -> DynamoAlertStore:
    return DynamoAlertStore(SETTINGS.alerts_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    kpis = daily_kpis(store().counters(datetime.now(UTC)))
    for name, value in kpis.items():
        unit = MetricUnit.Percent if name.endswith("Rate") else MetricUnit.Count
        metrics.add_metric(name=name, unit=unit, value=value)
    return {"kpis": kpis}
