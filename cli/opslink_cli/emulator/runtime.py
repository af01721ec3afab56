"""Run the stack's Lambda handlers in this process, as moto's Lambda backend would in
Docker.

The seam is `moto.awslambda.models.LambdaFunction._invoke_lambda`, used by direct
invoke, SNS subscriptions and Step Functions tasks alike. A handler module is imported
once per function (its cold start) with the function's environment from the template
applied, so settings validated at import time see what they would see on AWS. Handler
output (logs, EMF metrics) goes to a log file, not the operator's terminal.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from moto.awslambda.models import LambdaFunction

from opslink_cli.emulator.function_environ import function_environment

SEAM_OWNER = LambdaFunction
SEAM_NAME = "_invoke_lambda"

_local = threading.local()


class _RoutingStream(io.TextIOBase):
    """stdout that sends what a handler prints to the current stack's log, everything
    else through. Loggers keep the stream they were created with, even across stacks in
    one process, so the log file is looked up at write time."""

    current_log: TextIO | None = None

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal

    def write(self, text: str) -> int:
        if getattr(_local, "in_handler", False):
            log = _RoutingStream.current_log
            return log.write(text) if log else len(text)  # no stack running: dropped
        return self.terminal.write(text)

    def flush(self) -> None:
        self.terminal.flush()
        if _RoutingStream.current_log:
            _RoutingStream.current_log.flush()

    def isatty(self) -> bool:
        return self.terminal.isatty()


@dataclass
class _Context:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    timeout_seconds: float = 30.0  # the function's Timeout, as deployed
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """What Lambda reports: the timeout minus the time this invocation has run."""
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str  # module.path.function
    environment: dict[str, str]
    memory: int = 256
    timeout: float = 30.0


class LocalLambdaRuntime:
    """Registry of the stack's functions and the patched invoke path."""

    def __init__(self, log_path: Path) -> None:
        self.functions: dict[str, FunctionSpec] = {}
        self._handlers: dict[str, Any] = {}
        self._cold_lock = threading.Lock()
        self.log_path = log_path
        self.invocations: list[tuple[str, bool]] = []
        self._original: Any = None
        self._stream: _RoutingStream | None = None
        self._log: TextIO | None = None
        # Called with the decoded event before a function runs (the emulator playing
        # CloudWatch mirrors alarms that reach ingest); a failing hook never stops it.
        self.before_invoke: dict[str, Callable[[Any], None]] = {}

    def register(self, spec: FunctionSpec) -> None:
        self.functions[spec.name] = spec

    # -- patching -------------------------------------------------------------------

    def install(self) -> None:
        original = getattr(SEAM_OWNER, SEAM_NAME, None)
        if original is None:
            raise RuntimeError(
                f"moto moved its Lambda seam: {SEAM_OWNER.__module__}.{SEAM_OWNER.__name__}.{SEAM_NAME} "
                "is gone; the local emulator needs an update for this moto version"
            )
        self._original = original
        runtime = self

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            if fn.function_name not in runtime.functions:
                return original(fn, event)
            return runtime.invoke(fn, event)

        setattr(SEAM_OWNER, SEAM_NAME, _invoke_lambda)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w", encoding="utf-8")  # one run's log, not all of them
        if isinstance(sys.stdout, _RoutingStream):
            self._stream = sys.stdout
        else:  # installed once per process, never removed: stale loggers still hold it
            self._stream = _RoutingStream(sys.stdout)
            sys.stdout = self._stream
        _RoutingStream.current_log = self._log

    def uninstall(self) -> None:
        if self._original is not None:
            setattr(SEAM_OWNER, SEAM_NAME, self._original)
            self._original = None
        if self._stream is not None:
            _RoutingStream.current_log = None
        if self._log:
            self._log.close()
            self._log = None
        self._forget_modules()

    def _forget_modules(self) -> None:
        """The next stack gets real cold starts (fresh settings and clients)."""
        packages = {spec.handler.split(".")[0] for spec in self.functions.values()}
        for name in list(sys.modules):
            if name.split(".")[0] in packages:
                del sys.modules[name]
        self._handlers.clear()

    # -- invocation -----------------------------------------------------------------

    def _cold_start(self, spec: FunctionSpec, fn: Any) -> Any:
        with self._cold_lock:
            if spec.name in self._handlers:
                return self._handlers[spec.name]
            module_name, func_name = spec.handler.rsplit(".", 1)
            env = {
                **spec.environment,
                **{k: str(v) for k, v in (fn.environment_vars or {}).items()},
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            }
            with function_environment(env), _in_handler():
                code_dir = str(spec.code_dir)
                if code_dir not in sys.path:
                    sys.path.insert(0, code_dir)
                module = importlib.import_module(module_name)
            self._route_loggers()
            handler = getattr(module, func_name)
            self._handlers[spec.name] = handler
            return handler

    def _route_loggers(self) -> None:
        """Every function logger writes to the routing stream, whatever sys.stdout was
        when the logger was first configured: a logger lives as long as the process (its
        module may be re-imported, the logger is reused), and a test runner swaps
        sys.stdout between a test's phases — without this, which run's log a function's
        lines reach would depend on the order tests ran in."""
        if self._stream is None:
            return
        for candidate in list(logging.root.manager.loggerDict.values()):
            handler = getattr(candidate, "powertools_handler", None)
            if isinstance(handler, logging.StreamHandler) and handler.stream is not self._stream:
                with handler.lock or contextlib.nullcontext():
                    handler.stream = self._stream  # not setStream: the old one may be closed

    def invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        spec = self.functions[fn.function_name]
        if isinstance(event, str | bytes):
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(event or "{}")
        hook = self.before_invoke.get(spec.name)
        if hook is not None:
            try:
                hook(event)
            except Exception as exc:
                if self._log:
                    self._log.write(f"[{spec.name}] emulator hook failed: {exc!r}\n")
        try:
            handler = self._cold_start(spec, fn)
        except Exception as exc:  # Lambda reports init errors like any other error
            return self._error(spec, exc, init=True)
        context = _Context(spec.name, spec.memory, fn.function_arn, timeout_seconds=spec.timeout)
        try:
            with _in_handler(spec.name):
                result = handler(event, context)
            self.invocations.append((spec.name, True))
            return json.dumps(result, default=str), False, ""
        except Exception as exc:
            return self._error(spec, exc)

    def _error(
        self, spec: FunctionSpec, exc: Exception, init: bool = False
    ) -> tuple[str, bool, str]:
        self.invocations.append((spec.name, False))
        trace = traceback.format_exception(exc)
        if self._log:
            self._log.write(f"[{spec.name}] {'init ' if init else ''}error:\n{''.join(trace)}\n")
        payload = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": [line.rstrip() for line in trace[-5:]],
        }
        return json.dumps(payload), True, ""


def current_function() -> str | None:
    """The function whose handler runs on this thread, if any (for call counting)."""
    return getattr(_local, "function", None)


@contextlib.contextmanager
def _in_handler(function: str | None = None) -> Any:
    previous = getattr(_local, "in_handler", False), getattr(_local, "function", None)
    _local.in_handler, _local.function = True, function
    try:
        yield
    finally:
        _local.in_handler, _local.function = previous
