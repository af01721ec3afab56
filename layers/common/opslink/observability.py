"""Logger, Tracer and Metrics for a handler, all named from the environment
(POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, set in template.yaml).

Tracing: Powertools Tracer on each handler (the template turns X-Ray on); AWS SDK calls
are subsegments (botocore patched), and the HTTP calls to ticket systems and job platforms
are subsegments named after the integration (`subsegment`, used by the HTTP client).
Outside Lambda (tests, the local emulator) Powertools disables tracing by itself."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from opslink.scrub import scrub

_tracer: Tracer | None = None


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class ScrubFilter(logging.Filter):
    """Redacts secrets in a record's message, arguments and extra fields (scrub.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, scrub(value))
        return True


def logger() -> Logger:
    """The function's logger; its handler redacts secrets from every record, the
    modules' child loggers included."""
    log = Logger()
    handler = getattr(log, "registered_handler", None)
    if handler is not None and not any(isinstance(f, ScrubFilter) for f in handler.filters):
        handler.addFilter(ScrubFilter())
    return log


def metrics() -> Metrics:
    return Metrics()


def tracer() -> Tracer:
    """The function's tracer (one per container); only botocore is patched, so modules the
    function does not use are not imported for tracing."""
    global _tracer
    if _tracer is None:
        _tracer = Tracer(auto_patch=False)
        if not _tracer.disabled:
            _tracer.provider.patch(["botocore"])
    return _tracer


@contextmanager
def subsegment(name: str, **annotations: str) -> Iterator[Any]:
    """A traced span around a call to an integration; nothing when tracing is off."""
    if _tracer is None or _tracer.disabled:
        yield None
        return
    with _tracer.provider.in_subsegment(name) as sub:
        for key, value in annotations.items():
            sub.put_annotation(key, value)
        yield sub
