"""`opslink demo`: OpsLink end to end on the local emulator, in well under a minute.

Runbooks really run, as local subprocesses, against a simulated host (a sandbox folder
with stand-ins for host tools), so nothing on this machine is touched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.models import TicketStatus
from opslink_cli import samples
from opslink_cli.executions import list_executions
from opslink_cli.local_stack import LocalStack, put_cloudwatch_alarm
from opslink_cli.operator import ALERT_COLUMNS, TICKET_COLUMNS
from opslink_cli.render import table

DEMO_ALARMS = (
    "prod-checkout-api-cpu-high",
    "prod-payments-db-connection-pool",
    "prod-search-latency-anomaly",
    "prod-cdn-edge-degraded",
    "prod-logs-archive-disk-usage",
    "prod-search-memory-critical",
)


def _step(out: TextIO, started: float) -> Callable[[str], None]:
    count = iter(range(1, 100))

    def say(text: str) -> None:
        out.write(f"[{time.monotonic() - started:5.1f}s] {next(count)}. {text}\n")
        out.flush()

    return say


def _cloudwatch_alarms() -> Any:
    """The alarms exist in CloudWatch too, in ALARM: remediation verifies against them."""
    for name in DEMO_ALARMS:
        cw = put_cloudwatch_alarm(name, samples.REGION)
    return cw


def run_demo(out: TextIO) -> int:
    started = time.monotonic()
    say = _step(out, started)
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(minutes=10)
    say(
        "Standing up the stack from template.yaml on the local emulator (moto, handlers in-process)"
    )
    with LocalStack() as stack:
        say(
            f"  {len(stack.names)} resources; runbooks run locally against the simulated host {stack.state_dir}/host"
        )
        cw = _cloudwatch_alarms()
        cpu = samples.metric_alarm(
            "prod-checkout-api-cpu-high",
            t0,
            dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            description="CPU above 85% on the checkout API fleet",
        )
        say(
            "New alarms for five services arrive through SNS (metric, metric math, anomaly detection, composite, EventBridge form)"
        )
        for message in (
            cpu,
            samples.metric_math_alarm(
                "prod-payments-db-connection-pool", t0, description="Connection pool above 90%"
            ),
            samples.anomaly_alarm(
                "prod-search-latency-anomaly",
                t0,
                description="Search latency outside its usual band",
            ),
            samples.composite_alarm("prod-cdn-edge-degraded", t0, description="CDN edge degraded"),
            samples.eventbridge_event("prod-logs-archive-disk-usage", t0),
        ):
            stack.publish_alarm(message)
        say(
            "The log archive's disk usage will drop once its runbook has run (its alarm goes back to OK)"
        )
        cw.set_alarm_state(
            AlarmName="prod-logs-archive-disk-usage", StateValue="OK", StateReason="disk freed"
        )
        say("A sixth alarm invokes the ingest function directly as a CloudWatch alarm action")
        stack.invoke(
            "IngestFunction", samples.alarm_action_payload("prod-search-memory-critical", t0)
        )

        say("SNS delivers the checkout alarm a second time (duplicate delivery)")
        stack.publish_alarm(cpu)
        say(
            "The checkout alarm fires again five minutes later (re-fire: one comment, no new ticket)"
        )
        stack.publish_alarm(
            samples.metric_alarm(
                "prod-checkout-api-cpu-high",
                t0 + timedelta(minutes=5),
                dimensions={"AutoScalingGroupName": "checkout-api-asg"},
                description="CPU above 85% on the checkout API fleet",
            )
        )
        say("A malformed message reaches the topic (rejected with its reason, recorded)")
        stack.publish_alarm("ALARM: checkout is on fire {not json", subject="garbage")

        say(
            "Remediation runs: runbook chosen, job launched, polled, alarm verified; resolved or handed to a human"
        )
        stack.wait_for_executions(timeout=120)
        sfn = stack.client("stepfunctions")
        executions = list_executions(sfn, stack.arns["RemediationStateMachine"], 50)

        say("The payments-db alarm returns to OK (alert and ticket resolved)")
        ok = samples.metric_math_alarm(
            "prod-payments-db-connection-pool", t0 + timedelta(minutes=8), state="OK"
        )
        ok["OldStateValue"] = "ALARM"
        stack.publish_alarm(ok)

        say(
            "An engineer closes the search-latency ticket; the local clock moves 5 minutes and the track sweep runs"
        )
        with stack.environment() as names:
            store = DynamoAlertStore(names["alerts_table"], stack.client("dynamodb"))
            tickets = BuiltinTicketSystem(names["tickets_table"], stack.client("dynamodb"))
            search = next(
                a
                for a in store.list_alerts(limit=100)
                if a.alarm_name == "prod-search-latency-anomaly"
            )
            assert search.ticket_id
            tickets.set_status(
                search.ticket_id,
                TicketStatus.CLOSED,
                note="Cache node replaced; latency back to normal.",
            )
            fired = stack.advance(300)
            say(f"  fired on the local clock: {', '.join(sorted(set(fired)))}")
            alerts = store.list_alerts(limit=100)
            ticket_list = tickets.list(limit=100)
            rejected = store.rejections(now)
            counters = store.counters(t0)

        rows = [
            a.model_dump(mode="json") | {"resolved_by": a.resolution.get("by", "")} for a in alerts
        ]
        out.write("\nAlerts\n")
        table(rows, (*ALERT_COLUMNS[:7], "resolved_by", "alarm_name"), out, max_width=34)
        out.write("\nTickets (the alert's own, and [FAILED_AUTO] hand-overs)\n")
        table([t.model_dump(mode="json") for t in ticket_list], TICKET_COLUMNS, out, max_width=56)
        out.write("\nRemediation executions (opslink executions show NAME for a timeline)\n")
        runbooks = {a.alert_id: _runbook(a.notes) for a in alerts}
        table(
            [e | {"runbook": runbooks.get(e["alert_id"], "")} for e in executions],
            ("execution", "status", "took", "outcome", "runbook"),
            out,
        )
        out.write("\nRejected input\n")
        table(rejected, ("source", "reason"), out, max_width=70)
        out.write(f"\nCounters today: {json.dumps(counters, sort_keys=True)}\n")
        out.write(
            f"Done in {time.monotonic() - started:.1f}s. Handler logs: {stack.runtime.log_path if stack.runtime else '-'}\n"
        )
        return _check(alerts, ticket_list, executions, rejected, out)


def _runbook(notes: list[dict[str, str]]) -> str:
    for note in notes:
        if note.get("kind") == "job_launched":
            return note["text"].split()[2]
    return "-"


def _check(
    alerts: list[Any],
    tickets: list[Any],
    executions: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
    out: TextIO,
) -> int:
    """The demo fails loudly if OpsLink did not do what it showed."""
    problems = []
    by_name = {a.alarm_name: a for a in alerts}
    if len(alerts) != 6:
        problems.append(f"expected 6 alerts, found {len(alerts)}")
    primary = [t for t in tickets if not t.title.startswith("[FAILED_AUTO]")]
    if len(primary) != 6:
        problems.append(f"expected 6 alert tickets (one per alert), found {len(primary)}")
    expectations = {
        "prod-logs-archive-disk-usage": "automation",
        "prod-payments-db-connection-pool": "alarm",
        "prod-search-latency-anomaly": "ticket",
    }
    for name, by in expectations.items():
        alert = by_name.get(name)
        if alert is None or alert.status != "resolved" or alert.resolution.get("by") != by:
            problems.append(f"{name} should be resolved by {by}")
    if len(executions) != 6 or any(e["status"] != "SUCCEEDED" for e in executions):
        problems.append(
            f"executions not all succeeded: {[(e['execution'], e['status']) for e in executions]}"
        )
    if len(rejected) != 1:
        problems.append(f"expected 1 rejected message, found {len(rejected)}")
    for p in problems:
        out.write(f"DEMO CHECK FAILED: {p}\n")
    return 1 if problems else 0
