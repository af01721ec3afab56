"""Where a runbook may run: targets taken from alarm dimensions (or the service tag),
validated like parameters before any job platform sees them.

A target is one concrete resource name: never a wildcard, a pattern, a list or a word a
platform reads as "everything" (AWX's `all`, Rundeck's `.*`, SSM's `*`). Alarm
dimensions are attacker-reachable text (anyone who can put a metric alarm can name its
dimensions), so the rules are full matches on a small alphabet: no spaces, commas,
quotes, shell or regex metacharacters, and ASCII only (no Unicode look-alikes).

`check_targets` is called where the targets are resolved and again by every job platform
adapter before it launches, so an adapter never acts on targets it did not validate."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from opslink.errors import ParameterRejectedError

# Full-match rules per target key. EC2 instance ids (8 or 17 hex digits) and SSM managed
# instances (mi-); Auto Scaling group names restricted to the characters teams use.
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}"
TARGET_PATTERNS: dict[str, str] = {
    "InstanceId": r"(i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17})",
    "AutoScalingGroupName": _NAME,
}
# Other dimensions a runbook may declare (DBInstanceIdentifier, ClusterName...) and the
# service tag's value.
GENERIC_PATTERN = _NAME
TAG_KEY_PATTERN = r"[A-Za-z0-9_.:/=+@-]{1,128}"
# Words job platforms read as a group of hosts rather than one host.
RESERVED = frozenset({"all", "ungrouped", "localhost", "any", "none", "null"})
MAX_VALUES = 1  # one resource per alarm: a list is refused, not split


def pattern_for(key: str) -> str:
    return TARGET_PATTERNS.get(key, GENERIC_PATTERN)


def check_targets(runbook: str, targets: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The targets, each key and value checked; ParameterRejectedError on the first that
    is not a single, concrete resource name (the run stops and a human takes over)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, values in targets.items():
        name = f"target {key}"
        if key.startswith("tag:"):
            if not re.fullmatch(TAG_KEY_PATTERN, key[4:]):
                raise ParameterRejectedError(runbook, name, key, f"tag:{TAG_KEY_PATTERN}")
        elif not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,63}", key):
            raise ParameterRejectedError(runbook, "target key", key, r"[A-Za-z][A-Za-z0-9]{0,63}")
        if isinstance(values, str | bytes) or len(values) != MAX_VALUES:
            shown = values if isinstance(values, str) else ",".join(map(str, values))
            raise ParameterRejectedError(runbook, name, shown, "exactly one resource")
        pattern = GENERIC_PATTERN if key.startswith("tag:") else pattern_for(key)
        for value in values:
            if not isinstance(value, str) or not re.fullmatch(pattern, value, re.ASCII):
                raise ParameterRejectedError(runbook, name, str(value), pattern)
            if value.lower() in RESERVED:
                raise ParameterRejectedError(runbook, name, value, "a resource name, not a group")
        out[key] = tuple(values)
    return out


MAX_HOSTS = 100  # the catalog's max_targets ceiling


def check_hosts(runbook: str, targets: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """What a job platform may act on: exactly {"InstanceId": hosts}, 1 to MAX_HOSTS
    distinct, concrete instance ids. Anything else (no hosts, a group, a tag, a pattern)
    is refused: an adapter never leaves the host set to the platform's inventory."""
    if set(targets) != {"InstanceId"}:
        shown = ",".join(targets) or "(none)"
        raise ParameterRejectedError(
            runbook, "targets", shown, "", reason="is not an explicit host list (InstanceId)"
        )
    values = targets["InstanceId"]
    if isinstance(values, str | bytes) or not 1 <= len(values) <= MAX_HOSTS:
        raise ParameterRejectedError(
            runbook, "targets", str(values)[:80], "", reason=f"must list 1 to {MAX_HOSTS} hosts"
        )
    if len(set(values)) != len(values):
        raise ParameterRejectedError(
            runbook, "targets", ",".join(values), "", reason="lists a host twice"
        )
    pattern = TARGET_PATTERNS["InstanceId"]
    for value in values:
        if not isinstance(value, str) or not re.fullmatch(pattern, value, re.ASCII):
            raise ParameterRejectedError(runbook, "target InstanceId", str(value), pattern)
    return tuple(values)
