"""What a runbook acts on, as the per-resource automation budget counts it."""

from __future__ import annotations

from opslink.remediation_input import RemediationInput

RESOURCE_DIMENSIONS = (
    "InstanceId",
    "AutoScalingGroupName",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "LoadBalancer",
    "FunctionName",
    "ClusterName",
)


def resource_of(alert: RemediationInput) -> str:
    """What a runbook acts on, for the per-resource budget: the alarm's resource
    dimension, else the alarm itself."""
    for key in RESOURCE_DIMENSIONS:
        if alert.dimensions.get(key):
            return f"{key}={alert.dimensions[key]}"[:300]
    return f"alarm={alert.alarm_name or alert.alert_id}"[:300]
