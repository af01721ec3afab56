"""The state machine <-> payload contract: every JSONPath the ASL reads, every ResultPath
it writes and every parameter it passes to a task is held against the pydantic payload
models, so a renamed or removed field fails here, not in a running execution."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from opslink.remediation.payloads import EXECUTION_STATE, TASK_RESULTS, TaskRequest
from opslink.remediation.tasks import TASKS
from opslink.remediation_input import RemediationInput
from tests.conftest import ROOT

ASL = json.loads((ROOT / "statemachine" / "remediation.asl.json").read_text())
PATH_FIELDS = ("Variable", "SecondsPath", "TimeoutSecondsPath", "HeartbeatSecondsPath",
               "InputPath", "OutputPath", "ItemsPath")  # fmt: skip


def _members(annotation: Any) -> list[Any]:
    """The types a field may hold (Optional and unions unwrapped)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [m for m in typing.get_args(annotation) if m is not type(None)]
    return [annotation]


def resolve(path: str) -> list[Any]:
    """Walk `$.a.b.c` through the execution state's models; AssertionError if it breaks.
    The types found at the path ([] for the whole state, the context or free-form data)."""
    if path == "$" or path.startswith("$$."):
        return []  # the whole state; the context object
    parts = path.removeprefix("$.").split(".")
    head, rest = parts[0], parts[1:]
    if head in EXECUTION_STATE:
        current: list[Any] = [EXECUTION_STATE[head]]
    else:
        assert head in RemediationInput.model_fields, f"{path}: no field {head!r} in the state"
        current = _members(RemediationInput.model_fields[head].annotation)
    for part in rest:
        nxt: list[Any] = []
        for kind in current:
            origin = typing.get_origin(kind) or kind
            if origin is dict or kind is Any:
                return []  # free-form beyond this point (checked by its own test)
            if isinstance(kind, type) and issubclass(kind, BaseModel) and part in kind.model_fields:
                nxt += _members(kind.model_fields[part].annotation)
        assert nxt, f"{path}: {part!r} is not a field of {current}"
        current = nxt
    return current


def _paths(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and (key.endswith(".$") or key in PATH_FIELDS):
                if value.startswith("$"):
                    out.append(value)
            elif key not in ("Retry",):
                out += _paths(value)
    elif isinstance(node, list):
        for item in node:
            out += _paths(item)
    return out


STATES = sorted(ASL["States"].items())


def _task_parameters(state: Any) -> dict[str, Any]:
    """What a task passes to the remediate function: its Parameters, or their Payload for
    a callback task (.waitForTaskToken)."""
    params = state.get("Parameters") or {}
    if str(state.get("Resource", "")).endswith(".waitForTaskToken"):
        return params.get("Payload") or {}
    return params if isinstance(params, dict) else {}


@pytest.mark.parametrize(("name", "state"), STATES, ids=[n for n, _ in STATES])
def test_every_path_the_state_reads_exists_in_the_payload_models(name: str, state: Any) -> None:
    for path in _paths(state):
        resolve(path)


@pytest.mark.parametrize(("name", "state"), STATES, ids=[n for n, _ in STATES])
def test_every_result_lands_where_its_model_says(name: str, state: Any) -> None:
    for catch in state.get("Catch", []):
        if catch["ResultPath"] is None:  # the state passes on unchanged (a timed-out wait)
            continue
        assert EXECUTION_STATE.get(catch["ResultPath"].removeprefix("$.")) is not None
    if "ResultPath" not in state or state["ResultPath"] is None:
        return
    key = state["ResultPath"].removeprefix("$.")
    head = key.split(".")[0]
    assert head in EXECUTION_STATE, f"{name} writes {state['ResultPath']}, not in EXECUTION_STATE"
    found = resolve(state["ResultPath"]) if "." in key else [EXECUTION_STATE[key]]
    params = state.get("Parameters") or {}
    action = _task_parameters(state).get("action")
    if state["Type"] == "Task" and action:
        assert TASK_RESULTS[action] in found, f"{name}: {action} -> {key} ({found})"
    if state["Type"] == "Pass":  # a literal or a copy: it validates as the model it stands for
        model = EXECUTION_STATE[key]
        if "InputPath" in state:
            resolve(state["InputPath"])
        elif isinstance(model, type) and issubclass(model, BaseModel):
            shape = state.get("Result") or {k.removesuffix(".$"): "x" for k in params}
            literal = {k: v for k, v in shape.items() if k in model.model_fields}
            assert set(shape) == set(literal), f"{name}: {set(shape) - set(literal)} unknown"


@pytest.mark.parametrize(("name", "state"), STATES, ids=[n for n, _ in STATES])
def test_every_task_parameter_is_a_field_of_the_request(name: str, state: Any) -> None:
    params = _task_parameters(state)
    if state["Type"] != "Task" or "action" not in params:
        return
    assert params["action"] in TASKS, f"{name}: unknown action {params['action']}"
    for key in params:
        field = key.removesuffix(".$")
        assert field in TaskRequest.model_fields, f"{name}: {field!r} is not a TaskRequest field"


def test_the_notification_carries_what_notify_reads(deps: Any, policy: Any) -> None:
    """RemediationInput.notification is free-form; both writers (ingest, an operator's run)
    give the announcement (diagnose) what it publishes."""
    from opslink.alarm_parsing import parse_alarm_document
    from opslink.ingest import remediation_start
    from opslink.ingest.alarm import new_episode
    from opslink.remediation.diagnostics import ANNOUNCED_ATTRIBUTES
    from opslink_cli import samples
    from opslink_cli.runbook_commands import _manual_input

    notify = ["subject", "message", *(f"attributes.{a}" for a in ANNOUNCED_ATTRIBUTES)]
    alarm = parse_alarm_document(samples.metric_alarm("prod-checkout-api-cpu-high", samples.T0))
    alert = new_episode(alarm, deps, policy).alert
    docs = [remediation_start._notification(alarm, alert, "OPS-1", None),
            _manual_input(alert, "restart_service", "dana", "r1", "")["notification"]]  # fmt: skip
    for doc in docs:
        for dotted in notify:
            value: Any = doc
            for part in dotted.split("."):
                assert isinstance(value, dict) and part in value, f"notification lacks {dotted}"
                value = value[part]
            assert isinstance(value, str) and value
