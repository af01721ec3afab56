"""The local emulator runs handlers in-process through one moto seam. If moto moves it,
these fail loudly instead of the emulator silently trying Docker."""

from __future__ import annotations

import pytest
from moto.awslambda.models import LambdaFunction

from opslink_cli.emulator import runtime as lambda_runtime


def test_moto_still_has_the_seam() -> None:
    assert callable(getattr(LambdaFunction, "_invoke_lambda", None))


def test_missing_seam_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(lambda_runtime, "SEAM_NAME", "_no_such_method")
    runtime = lambda_runtime.LocalLambdaRuntime(tmp_path / "log")
    with pytest.raises(RuntimeError, match="moto moved its Lambda seam"):
        runtime.install()
