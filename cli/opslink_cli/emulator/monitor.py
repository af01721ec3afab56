"""The emulator playing CloudWatch for alarms that reach the local stack.

On AWS an alarm exists before it notifies, and it goes back to OK when its metric
recovers. On the emulator an alarm may arrive from nowhere (`aws sns publish`,
`opslink local publish`), so:

- mirror: every alarm state change that reaches the ingest function is mirrored into the
  emulated CloudWatch (created if unknown, set to the message's state);
- evaluate: whenever an alarm in ALARM is read by name (VerifyFix reads it so), its
  condition is evaluated against the simulated host, as CloudWatch evaluates a metric:
  it returns to OK once a runbook has really fixed what it watches there.

What "fixed" means per alert type (the simulated host's metrics), each looked for after
the alarm went into ALARM:
- disk_usage: the old rotated logs or the old data files are gone;
- cpu_usage: an Auto Scaling group was scaled up, or the service was restarted;
- memory_usage: the service was restarted (dropping caches alone does not help here);
- database_connection: the database service was restarted;
- network_latency: the resolver cache was flushed;
- health_check: the service was restarted.
Anything else (and read-only diagnostics) leaves the alarm in ALARM: a human takes over.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from opslink_cli.emulator.deploy import ACCOUNT

OLD_SECONDS = 30 * 86400
SANDBOX_LOG = Path("var/log/opslink-sandbox.log")


@dataclass
class Watched:
    name: str
    region: str
    account: str  # "" = the stack's own
    alert_type: str
    service: str
    since: datetime  # the alarm's own state-change time: fixes count from then on
    dimensions: dict[str, str]


def _actions(host: Path, since: datetime) -> list[str]:
    """Sandbox actions logged after `since` ("systemctl restart x", "aws autoscaling …")."""
    log = host / SANDBOX_LOG
    if not log.is_file():
        return []
    out = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp, _, action = line.partition(" ")
        with contextlib.suppress(ValueError):
            if datetime.fromisoformat(stamp.replace("Z", "+00:00")) >= since.replace(microsecond=0):
                out.append(action)
    return out


def _old_files_left(folder: Path, pattern: str) -> bool:
    cutoff = time.time() - OLD_SECONDS + 86400
    return any(p.stat().st_mtime < cutoff for p in folder.glob(pattern) if p.is_file())


def _restarted(actions: list[str], unit: str | None = None) -> bool:
    return any(
        a.startswith("systemctl restart") and (unit is None or a.split()[-1] == unit)
        for a in actions
    )


def _disk(host: Path, w: Watched, actions: list[str]) -> bool:
    logs = not _old_files_left(host / "var/log", "*.gz")
    data = not _old_files_left(host / "var/lib/app/data", "*")
    return logs or data


def _cpu(host: Path, w: Watched, actions: list[str]) -> bool:
    group = w.dimensions.get("AutoScalingGroupName")
    scaled = any(
        a.startswith("aws autoscaling set-desired-capacity")
        and (group is None or f" {group} " in f" {a} ")
        for a in actions
    )
    return scaled or _restarted(actions, w.service)


def _database(host: Path, w: Watched, actions: list[str]) -> bool:
    return _restarted(actions, w.service) or _restarted(actions, "postgresql")


RULES: dict[str, Callable[[Path, Watched, list[str]], bool]] = {
    "disk_usage": _disk,
    "cpu_usage": _cpu,
    "memory_usage": lambda h, w, a: _restarted(a, w.service),
    "database_connection": _database,
    "network_latency": lambda h, w, a: any(a.startswith("resolvectl flush-caches") for a in a),
    "health_check": lambda h, w, a: _restarted(a, w.service),
}


def alarms_in(event: Any) -> list[Any]:
    """The alarm state changes a Lambda event for ingest carries (SNS records or one
    alarm document); what does not parse is ingest's to reject, not the emulator's."""
    from opslink.alarm_parsing import parse_alarm_document, parse_sns_message
    from opslink.errors import InvalidAlarm

    docs: list[tuple[str, Any, Any]] = []
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        for rec in event["Records"]:
            sns = rec.get("Sns") if isinstance(rec, dict) else None
            if isinstance(sns, dict) and isinstance(sns.get("Message"), str):
                docs.append(("sns", sns["Message"], sns.get("TopicArn")))
    elif isinstance(event, dict):
        docs.append(("doc", event, None))
    out = []
    for kind, body, topic in docs:
        with contextlib.suppress(InvalidAlarm):
            out.append(
                parse_sns_message(body, topic) if kind == "sns" else parse_alarm_document(body)
            )
    return out


class SimulatedMonitor:
    """Mirrors alarms into the emulated CloudWatch and evaluates them on read."""

    def __init__(self, host: Path, client: Callable[[str, str, str], Any]) -> None:
        self.host = host
        # (service, region, account) -> boto3 client of the emulator in that account
        self._client = client
        # keyed by (account, region, name): alarms of one name in two accounts are two
        self.watched: dict[tuple[str, str, str], Watched] = {}
        self._last: dict[tuple[str, str, str], datetime] = {}  # newest state change mirrored
        self._lock = threading.Lock()

    # -- mirror ------------------------------------------------------------------------

    def mirror_event(self, event: Any) -> None:
        """Before ingest runs: the alarms of this Lambda event exist in CloudWatch."""
        for alarm in alarms_in(event):
            self.mirror(alarm)

    def mirror(self, alarm: Any) -> None:
        from opslink.enrichment import enrich
        from opslink.service_map import load_service_map

        account = alarm.account_id if alarm.account_id != ACCOUNT else ""
        key = (account, alarm.region, alarm.name)
        with self._lock:
            if key in self._last and alarm.state_changed_at <= self._last[key]:
                return  # a duplicate or late delivery: CloudWatch has moved on
            self._last[key] = alarm.state_changed_at
        cw = self._client("cloudwatch", alarm.region, account)
        known = cw.describe_alarms(AlarmNames=[alarm.name]).get("MetricAlarms", [])
        metric = alarm.primary_metric
        if not known:
            cw.put_metric_alarm(
                AlarmName=alarm.name,
                MetricName=(metric.name if metric and metric.name else "emulated"),
                Namespace=(metric.namespace if metric and metric.namespace else "OpsLink/Emulator"),
                Statistic="Average",
                Period=60,
                EvaluationPeriods=1,
                Threshold=alarm.threshold if alarm.threshold is not None else 1.0,
                ComparisonOperator=alarm.comparison or "GreaterThanThreshold",
            )
        state = alarm.state.value
        cw.set_alarm_state(
            AlarmName=alarm.name, StateValue=state, StateReason="mirrored by the local emulator"
        )
        if state == "ALARM":
            enr = enrich(alarm, {}, load_service_map())
            with self._lock:
                self.watched[key] = Watched(
                    alarm.name,
                    alarm.region,
                    account,
                    enr.alert_type,
                    enr.service,
                    alarm.state_changed_at,
                    alarm.dimensions,
                )
        else:
            with self._lock:
                self.watched.pop(key, None)

    # -- evaluate ------------------------------------------------------------------------

    def healthy(self, w: Watched) -> bool:
        rule = RULES.get(w.alert_type)
        return bool(rule and rule(self.host, w, _actions(self.host, w.since)))

    def evaluate(self, backend: Any, names: list[str]) -> None:
        region = getattr(backend, "region_name", "")
        account = getattr(backend, "account_id", "")
        account = "" if account == ACCOUNT else account
        for name in names:
            with self._lock:
                w = self.watched.get((account, region, name))
            alarm = backend.alarms.get(name)
            if w is None or alarm is None or alarm.state_value != "ALARM":
                continue
            if self.healthy(w):
                alarm.update_state(
                    f"the simulated host recovered ({w.alert_type} back to normal)", None, "OK"
                )
                with self._lock:
                    self.watched.pop((account, region, name), None)


_active: SimulatedMonitor | None = None


@contextlib.contextmanager
def installed(monitor: SimulatedMonitor) -> Iterator[SimulatedMonitor]:
    """Evaluate watched alarms whenever CloudWatch is asked for them by name."""
    global _active
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.get_alarms_by_alarm_names

    def by_names(self: Any, alarm_names: list[str]) -> Any:
        if _active is not None:
            _active.evaluate(self, list(alarm_names))
        return original(self, alarm_names)

    _active = monitor
    CloudWatchBackend.get_alarms_by_alarm_names = by_names  # type: ignore[method-assign]
    try:
        yield monitor
    finally:
        CloudWatchBackend.get_alarms_by_alarm_names = original  # type: ignore[method-assign]
        _active = None
