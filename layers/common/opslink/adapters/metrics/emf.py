"""KPI datapoints as CloudWatch Embedded Metric Format documents on stdout (Lambda's log
stream turns them into metrics): one document per dimension set, stamped with the day."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from opslink.metrics_service import Datapoint


def emit(
    points: list[Datapoint],
    day: date,
    now: datetime,
    namespace: str,
    write: Callable[[str], None] = print,
) -> int:
    """The number of documents written. A day's figures are stamped at its 12:00 UTC, the
    same timestamp on every publication, so publishing a finished day again changes no
    statistic (idempotent); today's partial figures before noon carry the current time
    (CloudWatch refuses datapoints more than two hours ahead)."""
    groups: dict[tuple[tuple[str, str], ...], list[Datapoint]] = defaultdict(list)
    for p in points:
        groups[p.dimensions].append(p)
    noon = now.replace(
        year=day.year, month=day.month, day=day.day, hour=12, minute=0, second=0, microsecond=0
    )
    stamp = min(noon, now)
    for dims, group in groups.items():
        emf = AmazonCloudWatchEMFProvider(namespace=namespace, service="opslink")
        for key, value in dims:
            emf.add_dimension(key, value)
        for p in group:
            emf.add_metric(name=p.name, unit=MetricUnit[p.unit], value=p.value)
        emf.set_timestamp(stamp)
        write(json.dumps(emf.serialize_metric_set(), separators=(",", ":")))
    return len(groups)
