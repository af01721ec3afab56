"""Track: keep alerts in step with their tickets (scheduled sweep and webhooks)."""

from __future__ import annotations

from opslink.cold_start import initialising

with initialising():  # imports and configuration: see cold_start.py
    from functools import cache
    from typing import Any

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from opslink.alert_actions import handle_operator_request
    from opslink.chat_wiring import chat_answer, faults_to_chat
    from opslink.config import TrackSettings
    from opslink.deadline import budget
    from opslink.function_url import answer
    from opslink.observability import logger as make_logger
    from opslink.observability import tracer as make_tracer
    from opslink.track_service import TrackDeps, sweep
    from opslink.webhook_service import request_from_function_url
    from opslink.wiring import job_events, track_deps, webhook_secret

    SETTINGS = TrackSettings.from_environ()
    logger = make_logger()
    tracer = make_tracer()


@cache
def deps() -> TrackDeps:
    with initialising():  # clients and configuration files, on the first invocation
        return track_deps(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    with budget(context):  # the sweep stops taking tickets before the function's timeout
        return _handle(event)


def _handle(event: Any) -> dict[str, Any]:
    if isinstance(event, dict) and "operator" in event:  # opslink alerts ack|assign|snooze
        return handle_operator_request(deps(), event["operator"])
    if isinstance(event, dict) and event.get("action") == "fold_kpis":  # hourly (KPIS.md)
        return deps().journal.fold_kpis().as_dict()
    if isinstance(event, dict) and "incident" in event:  # opslink incidents split|merge
        from opslink.incident_actions import handle_incident_request

        return handle_incident_request(deps(), event["incident"])
    request = request_from_function_url(event)
    if request is None:  # the schedule
        result = sweep(deps()) | {"faults_told": faults_to_chat(SETTINGS, deps())}
        logger.info("sweep done", extra=result)
        return result
    if request.path.startswith("/chat/"):  # Slack's buttons, the Teams bot's endpoint
        return chat_answer(SETTINGS, request, deps())
    return answer(request, webhook_secret(SETTINGS), deps(), job_events(SETTINGS).forward)
