"""Metrics: publish OpsLink's daily counters and KPIs as CloudWatch metrics (EMF)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from opslink.config import MetricsSettings
from opslink.metrics_service import MetricsDeps, daily_kpis
from opslink.observability import logger as make_logger
from opslink.observability import metrics as make_metrics
from opslink.observability import tracer as make_tracer
from opslink.wiring import metrics_deps

SETTINGS = MetricsSettings.from_environ()
logger = make_logger()
metrics = make_metrics()
tracer = make_tracer()


@cache
def deps() -> MetricsDeps:
    return metrics_deps(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    d = deps()
    kpis = daily_kpis(d.store.counters(d.clock()))
    for name, value in kpis.items():
        unit = MetricUnit.Percent if name.endswith("Rate") else MetricUnit.Count
        metrics.add_metric(name=name, unit=unit, value=value)
    return {"kpis": kpis}
