"""Ingest: CloudWatch alarm state changes (SNS, EventBridge, alarm action) → alerts."""

from __future__ import annotations

from opslink.cold_start import initialising

with initialising():  # imports and configuration: see cold_start.py
    import json
    from functools import cache
    from typing import Any

    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from opslink.config import IngestSettings
    from opslink.deadline import budget
    from opslink.errors import IngestIncomplete
    from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
    from opslink.observability import logger as make_logger
    from opslink.observability import metrics as make_metrics
    from opslink.observability import tracer as make_tracer
    from opslink.reconciler import is_schedule, reconcile
    from opslink.scrub import scrubbed_errors
    from opslink.wiring import ingest_deps

    SETTINGS = IngestSettings.from_environ()  # a bad configuration fails the cold start, named
    POLICY = IngestPolicy.from_settings(SETTINGS)
    logger = make_logger()
    metrics = make_metrics()
    tracer = make_tracer()


@cache
def deps() -> IngestDeps:
    with initialising():  # clients and configuration files, on the first invocation
        return ingest_deps(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    with budget(context), scrubbed_errors():  # nothing past the timeout; no secret in the DLQ
        return _handle(event)


def _handle(event: Any) -> dict[str, Any]:
    if is_schedule(event):  # the reconciler: alerts a failed delivery left unfinished
        done = reconcile(deps(), POLICY)
        logger.info("reconciled", extra=done)
        return done
    results = ingest_event(event, deps(), POLICY)
    for outcome in (r.outcome.value.title() for r in results):
        metrics.add_metric(name=f"Records{outcome}", unit=MetricUnit.Count, value=1)
    summary = {"results": [r.model_dump(mode="json") for r in results]}
    logger.info("delivery handled", extra={"outcomes": [r.outcome.value for r in results]})
    if any(r.retryable for r in results):
        raise IngestIncomplete(json.dumps(summary))
    return summary
