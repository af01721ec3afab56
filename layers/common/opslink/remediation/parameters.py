"""Runbook parameters, bounded by the catalog and the service map, never chosen by the
alarm's author. Pure; no I/O.

A value is taken from its declared source (an alert field, a dimension, the default),
must match its pattern in full, and then must be allowed:
- `allowed: service_map`: the alert's service must be in the service map and list this
  runbook; the value is that entry's unit (the map's word, not the alarm's);
- `allowed: service_dimension`: the value matches the service map's `dimensions` pattern
  of the alert's service (its own Auto Scaling group, not any group);
- `allowed: values`: one of the catalog's `values`;
- every string value, whatever its rule, is refused when it names a system unit on the
  deny list (sshd, amazon-ssm-agent, systemd-*, cloud-init, the job platforms' agents...).
Each bound value carries its source in words, for the timeline and the ticket."""

from __future__ import annotations

import re
from dataclasses import dataclass

from opslink.errors import ParameterRejectedError
from opslink.remediation.catalog import Runbook
from opslink.remediation_input import RemediationInput
from opslink.service_map import ServiceMap


@dataclass(frozen=True)
class Bound:
    name: str
    value: str
    source: str  # in words: "alert.service 'checkout' via the service map (unit checkout-api)"


def _source_value(source: str, alert: RemediationInput) -> str | None:
    kind, _, key = source.partition(".")
    if kind == "alert":
        value = getattr(alert, key, None)
        return None if value is None else str(value)
    if kind == "dimension":
        return alert.dimensions.get(key)
    return None


def _denied(value: str, smap: ServiceMap | None) -> str | None:
    return (smap or ServiceMap()).denied(value)  # the built-in list holds without a map


def bind_parameters(
    runbook: Runbook, alert: RemediationInput, smap: ServiceMap | None = None
) -> list[Bound]:
    """Every parameter's value and where it came from; ParameterRejectedError on the
    first value that is missing, off-pattern, not allowed or denied."""
    bound: list[Bound] = []
    for name, spec in runbook.spec.parameters.items():
        value = _source_value(spec.source, alert) if spec.source else None
        source = f"{spec.source} of the alert" if value is not None else ""
        if value is None and spec.default is not None:
            value = (
                str(spec.default).lower() if isinstance(spec.default, bool) else str(spec.default)
            )
            source = "the catalog's default"
        if value is None:
            if spec.required:
                raise ParameterRejectedError(runbook.name, name, "", spec.pattern)
            continue
        if not re.fullmatch(spec.pattern, value):
            raise ParameterRejectedError(runbook.name, name, value, spec.pattern)
        if spec.allowed == "service_map":
            unit = smap.unit_for(value, runbook.name) if smap is not None else None
            if unit is None:
                raise ParameterRejectedError(
                    runbook.name,
                    name,
                    value,
                    "",
                    reason=(
                        "is not a service of the service map that allows this runbook "
                        f"(add {runbook.name} to its `runbooks` to allow it)"
                    ),
                )
            if not re.fullmatch(spec.pattern, unit):
                raise ParameterRejectedError(runbook.name, name, unit, spec.pattern)
            source = f"{spec.source} {value!r} via the service map (unit {unit})"
            value = unit
        elif spec.allowed == "service_dimension":
            key = (spec.source or "").partition(".")[2]
            if smap is None or not smap.owns_dimension(alert.service, key, value):
                raise ParameterRejectedError(
                    runbook.name,
                    name,
                    value,
                    "",
                    reason=(
                        f"is not a {key} of service {alert.service} in the service map "
                        f"(its `dimensions.{key}` pattern)"
                    ),
                )
            source = f"{spec.source} of the alert, a {key} of {alert.service} in the service map"
        elif spec.allowed == "values" and value not in spec.values:
            raise ParameterRejectedError(
                runbook.name, name, value, "", reason=f"is not one of {', '.join(spec.values)}"
            )
        if spec.type == "string":
            pattern = _denied(value, smap)
            if pattern is not None:
                raise ParameterRejectedError(
                    runbook.name,
                    name,
                    value,
                    "",
                    reason=f"names a system unit on the deny list ({pattern})",
                )
        bound.append(Bound(name, value, source))
    return bound


def resolve_parameters(
    runbook: Runbook, alert: RemediationInput, smap: ServiceMap | None = None
) -> dict[str, str]:
    """Environment for the script: every value checked and bounded (bind_parameters)."""
    return {b.name: b.value for b in bind_parameters(runbook, alert, smap)}


def describe_sources(bound: list[Bound]) -> str:
    return "; ".join(f"{b.name}={b.value} (from {b.source})" for b in bound)
