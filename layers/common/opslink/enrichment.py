"""Enrichment: which service, team, environment, alert type and severity an alarm is about.

Each fact comes from the first source that has it: the alarm's tags, then the service
map, then naming conventions. `Enrichment.sources` records where each one came from, so
a surprising ticket can be explained.
"""

from __future__ import annotations

import re

from opslink.models import Alarm, Enrichment, Severity
from opslink.service_map import ServiceMap

ENVIRONMENTS = {
    "prod": "production",
    "prd": "production",
    "production": "production",
    "live": "production",
    "stg": "staging",
    "stage": "staging",
    "staging": "staging",
    "preprod": "staging",
    "dev": "development",
    "development": "development",
    "test": "test",
    "qa": "test",
    "sandbox": "development",
}

# Metric name → alert type. Names are CloudWatch's and the CloudWatch agent's.
METRIC_ALERT_TYPES = {
    "cpuutilization": "cpu_usage",
    "cpu_usage_active": "cpu_usage",
    "cpu_usage_user": "cpu_usage",
    "memoryutilization": "memory_usage",
    "mem_used_percent": "memory_usage",
    "freeablememory": "memory_usage",
    "disk_used_percent": "disk_usage",
    "diskspaceutilization": "disk_usage",
    "freestoragespace": "disk_usage",
    "volumequeuelength": "disk_usage",
    "latency": "network_latency",
    "targetresponsetime": "network_latency",
    "networkpacketsout": "network_latency",
    "databaseconnections": "database_connection",
    "dbload": "database_connection",
    "statuscheckfailed": "health_check",
    "statuscheckfailed_instance": "health_check",
    "healthyhostcount": "health_check",
    "unhealthyhostcount": "health_check",
}

# Words in an alarm name → alert type, checked in order.
NAME_ALERT_TYPES = (
    (("cpu",), "cpu_usage"),
    (("memory", "mem", "oom"), "memory_usage"),
    (("disk", "storage", "volume", "inode"), "disk_usage"),
    (("latency", "network", "packet", "dns"), "network_latency"),
    (("db", "database", "connection", "connections", "rds"), "database_connection"),
    (("health", "healthcheck", "statuscheck", "unhealthy"), "health_check"),
)

# Severity words in alarm names. "high"/"low" are left out on purpose: in names such as
# "cpu-high" they describe the metric, not the severity. Tags may still say "high".
SEVERITY_WORDS = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "sev1": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "sev2": Severity.HIGH,
    "p2": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "p3": Severity.MEDIUM,
    "info": Severity.LOW,
    "p4": Severity.LOW,
}

TAG_SEVERITY_WORDS = {"high": Severity.HIGH, "low": Severity.LOW, "medium": Severity.MEDIUM}

# Dimensions that often carry a service's own name.
SERVICE_DIMENSIONS = (
    "ServiceName",
    "AutoScalingGroupName",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "FunctionName",
    "ClusterName",
    "TableName",
)

_SPLIT = re.compile(r"[^a-z0-9]+")
_TAG_KEYS = {
    "service": ("service", "opslink:service", "app", "application"),
    "team": ("team", "opslink:team", "owner-team"),
    "owner": ("owner", "opslink:owner"),
    "environment": ("environment", "env", "opslink:environment", "stage"),
    "alert_type": ("alert_type", "alert-type", "opslink:alert_type"),
    "severity": ("severity", "opslink:severity"),
}


def _tag(tags: dict[str, str], fact: str) -> str | None:
    lowered = {k.lower(): v for k, v in tags.items()}
    for key in _TAG_KEYS[fact]:
        value = lowered.get(key)
        if value and value.strip():
            return value.strip()
    return None


def name_tokens(name: str) -> list[str]:
    return [t for t in _SPLIT.split(name.lower()) if t]


def _environment_from_name(tokens: list[str]) -> str | None:
    for token in tokens:
        if token in ENVIRONMENTS:
            return ENVIRONMENTS[token]
    return None


def _alert_type_from_metrics(alarm: Alarm) -> str | None:
    for metric in alarm.metrics:
        if metric.name and metric.name.lower() in METRIC_ALERT_TYPES:
            return METRIC_ALERT_TYPES[metric.name.lower()]
    return None


def _alert_type_from_name(tokens: list[str]) -> str | None:
    for words, alert_type in NAME_ALERT_TYPES:
        if any(w in tokens for w in words):
            return alert_type
    return None


def _severity_from_name(tokens: list[str]) -> Severity | None:
    for token in tokens:
        if token in SEVERITY_WORDS:
            return SEVERITY_WORDS[token]
    return None


def _service_from_name(name: str, tokens: list[str], smap: ServiceMap) -> str | None:
    """Known services first (longest alias wins), then `<env>-<service>-...`."""
    lowered = name.lower()
    candidates: list[tuple[int, str]] = []
    for service, entry in smap.services.items():
        for alias in (service, *entry.aliases):
            if re.search(rf"(^|[^a-z0-9]){re.escape(alias.lower())}($|[^a-z0-9])", lowered):
                candidates.append((len(alias), service))
    if candidates:
        return max(candidates)[1]
    meaningful = [
        t for t in tokens if t not in ENVIRONMENTS and t not in SEVERITY_WORDS and not t.isdigit()
    ]
    return meaningful[0] if meaningful else None


def _normalise_alert_type(value: str) -> str:
    return "_".join(name_tokens(value)) or "generic"


def enrich(alarm: Alarm, tags: dict[str, str], smap: ServiceMap) -> Enrichment:
    """Decide service, team, owner, environment, alert type and severity of an alarm."""
    sources: dict[str, str] = {}
    tokens = name_tokens(alarm.name)

    service = _tag(tags, "service")
    if service:
        service = smap.canonical(service) or service
        sources["service"] = "tag"
    else:
        dimension_service = smap.by_dimensions(alarm.dimensions)
        named = _service_from_name(alarm.name, tokens, smap)
        if dimension_service:
            service, sources["service"] = dimension_service, "service_map"
        elif named and smap.canonical(named):
            service, sources["service"] = named, "service_map"
        else:
            for key in SERVICE_DIMENSIONS:
                value = alarm.dimensions.get(key)
                if value and smap.canonical(value):
                    service, sources["service"] = smap.canonical(value), "service_map"
                    break
            else:
                service, sources["service"] = (named or "unknown"), "naming"
    assert service is not None
    entry = smap.services.get(service)
    account = smap.account(alarm.account_id)

    def pick(
        fact: str, from_map: str | None, from_name: str | None, default: str | None
    ) -> str | None:
        tagged = _tag(tags, fact)
        for source, value in (
            ("tag", tagged),
            ("service_map", from_map),
            ("naming", from_name),
            ("default", default),
        ):
            if value:
                sources[fact] = source
                return value
        return None

    team = pick("team", (entry.team if entry else None) or (account.team if account else None),
                None, None)  # fmt: skip
    owner = pick("owner", entry.owner if entry else None, None, None)
    tagged_env = _tag(tags, "environment")
    environment = pick(
        "environment",
        (entry.environment if entry else None) or (account.environment if account else None),
        _environment_from_name(tokens),
        smap.defaults.environment,
    )
    if tagged_env:
        environment = ENVIRONMENTS.get(tagged_env.lower(), tagged_env.lower())
    alert_type = pick(
        "alert_type",
        None,
        _alert_type_from_metrics(alarm) or _alert_type_from_name(tokens),
        "generic",
    )
    severity_text = pick(
        "severity",
        None,
        (s.value if (s := _severity_from_name(tokens)) else None),
        smap.defaults.severity.value,
    )
    severity = SEVERITY_WORDS.get((severity_text or "").lower()) or TAG_SEVERITY_WORDS.get(
        (severity_text or "").lower()
    )
    if severity is None:
        try:
            severity = Severity((severity_text or "").lower())
        except ValueError:
            severity, sources["severity"] = smap.defaults.severity, "default"
    return Enrichment(
        service=service,
        team=team,
        owner=owner,
        environment=environment or smap.defaults.environment,
        alert_type=_normalise_alert_type(alert_type or "generic"),
        severity=severity,
        critical_service=smap.is_critical(service),
        service_kind=entry.kind if entry else None,
        sources=sources,
        account_name=account.name if account else None,
        console_role=account.console_role if account else None,
        console_portal=smap.console_portal if account and account.console_role else None,
    )
