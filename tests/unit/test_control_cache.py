"""The automation-control parameter is optional and absent by default: its absence is
cached like a value, so a remediation does not ask SSM again at every task; an
operator's command reads it fresh."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from opslink.automation_control import SsmAutomationControl


def test_an_absent_parameter_is_asked_for_once_per_cache_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    value: dict[str, str | None] = {"raw": None}

    def get_parameter(name: str, **kw: Any) -> str:
        calls.append(kw)
        if value["raw"] is None:
            raise GetParameterError(
                "An error occurred (ParameterNotFound) when calling GetParameter"
            )
        return value["raw"]

    monkeypatch.setattr(parameters, "get_parameter", get_parameter)
    control = SsmAutomationControl("/opslink/automation-control", max_age=30)
    for _ in range(3):  # select, next attempt, launch: one question
        assert control.current().suppression("checkout", datetime.now(UTC)) is None
    assert len(calls) == 1
    value["raw"] = '{"paused": true, "reason": "incident", "by": "dana"}'
    fresh = control.current(fresh=True)  # an operator's command, right after a change
    assert len(calls) == 2 and calls[-1]["force_fetch"] is True
    assert fresh.suppression("checkout", datetime.now(UTC))
