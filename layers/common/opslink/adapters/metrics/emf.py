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
    """The number of documents written. Today's figures carry the current time, a past
    day's 23:59 of that day (the same timestamp on every publication: idempotent)."""
    groups: dict[tuple[tuple[str, str], ...], list[Datapoint]] = defaultdict(list)
    for p in points:
        groups[p.dimensions].append(p)
    stamp = (
        now
        if day == now.date()
        else now.replace(
            year=day.year, month=day.month, day=day.day, hour=23, minute=59, second=0, microsecond=0
        )
    )
    for dims, group in groups.items():
        emf = AmazonCloudWatchEMFProvider(namespace=namespace, service="opslink")
        for key, value in dims:
            emf.add_dimension(key, value)
        for p in group:
            emf.add_metric(name=p.name, unit=MetricUnit[p.unit], value=p.value)
        emf.set_timestamp(stamp)
        write(json.dumps(emf.serialize_metric_set(), separators=(",", ":")))
    return len(groups)
