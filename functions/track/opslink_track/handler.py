"""Track: keep alerts in step with their tickets (scheduled sweep)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from opslink.config import TrackSettings
from opslink.track_service import TrackDeps, sweep
from opslink.wiring import track_deps

SETTINGS = TrackSettings.from_environ()
logger = Logger(service="opslink-track")


@cache
def deps() -> TrackDeps:
    return track_deps(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    result = sweep(deps())
    logger.info("sweep done", extra=result)
    return result
