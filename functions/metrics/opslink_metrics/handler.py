"""Metrics: the automation KPIs of a day as CloudWatch metrics (EMF), and the weekly
quality assessment.

Events: the daily schedule (`{"day": "yesterday"}`, just after midnight UTC),
`{"day": "YYYY-MM-DD"}` for another day (CloudWatch takes datapoints up to two weeks old;
no "day": today so far), `{"action": "assess"}` for the weekly assessment. Publishing a
finished day again writes the same values at the same timestamp: idempotent per day.
"""

from __future__ import annotations

from opslink.cold_start import initialising

with initialising():  # imports and configuration: see cold_start.py
    from functools import cache
    from typing import Any

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from opslink.adapters.metrics.emf import emit
    from opslink.config import MetricsSettings
    from opslink.metrics_service import MetricsDeps, day_of, publish_day, weekly_assessment
    from opslink.observability import logger as make_logger
    from opslink.observability import tracer as make_tracer
    from opslink.wiring import metrics_deps

    SETTINGS = MetricsSettings.from_environ()
    logger = make_logger()
    tracer = make_tracer()


@cache
def deps() -> MetricsDeps:
    with initialising():  # clients and configuration files, on the first invocation
        return metrics_deps(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("action") == "assess":
        findings = weekly_assessment(deps())
        logger.info("quality assessed", extra={"findings": len(findings)})
        return {"findings": [f.as_dict() for f in findings]}
    now = deps().clock()
    day = day_of(event, now.date())
    points, kpis = publish_day(deps(), day)
    documents = emit(points, day, now, SETTINGS.metrics_namespace)
    logger.info("kpis published", extra={"day": day.isoformat(), "documents": documents})
    return {"day": day.isoformat(), "kpis": kpis, "datapoints": len(points)}
