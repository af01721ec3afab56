"""Remediate: the Lambda tasks of the remediation state machine."""

from __future__ import annotations

from opslink.cold_start import initialising

with initialising():  # imports and configuration: see cold_start.py
    from functools import cache
    from typing import Any

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from opslink.config import RemediateSettings
    from opslink.deadline import budget
    from opslink.observability import logger as make_logger
    from opslink.observability import tracer as make_tracer
    from opslink.remediation import RemediateDeps, run_task
    from opslink.remediation.catalog import load_catalog
    from opslink.scrub import scrubbed_errors
    from opslink.wiring import remediate_deps

    SETTINGS = RemediateSettings.from_environ()
    load_catalog(SETTINGS.runbook_catalog_path)  # a malformed runbook fails the cold start, named
    logger = make_logger()
    tracer = make_tracer()


@cache
def deps() -> RemediateDeps:
    with initialising():  # clients and configuration files, on the first invocation
        return remediate_deps(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)  # payloads carry ticket texts
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    # Errors propagate by type name, so the state machine's Retry/Catch can match them.
    logger.append_keys(action=event.get("action") if isinstance(event, dict) else None)
    with budget(context), scrubbed_errors():  # no retry wait past the task; no secret kept
        return run_task(event, deps())
