"""`opslink demo`: OpsLink end to end on the local emulator, in well under a minute."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from opslink.models import TicketStatus
from opslink_cli import samples
from opslink_cli.local_stack import LocalStack
from opslink_cli.operator import ALERT_COLUMNS, TICKET_COLUMNS
from opslink_cli.render import table


def _step(out: TextIO, started: float) -> Callable[[str], None]:
    count = iter(range(1, 100))

    def say(text: str) -> None:
        out.write(f"[{time.monotonic() - started:5.1f}s] {next(count)}. {text}\n")
        out.flush()

    return say


def run_demo(out: TextIO) -> int:
    started = time.monotonic()
    say = _step(out, started)
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(minutes=10)
    say(
        "Standing up the stack from template.yaml on the local emulator (moto, handlers in-process)"
    )
    with LocalStack() as stack:
        say(f"  {len(stack.names)} resources; alarm topic {stack.arns['AlarmTopic']}")
        cpu = samples.metric_alarm(
            "prod-checkout-api-cpu-high",
            t0,
            dimensions={"AutoScalingGroupName": "checkout-api-asg"},
            description="CPU above 85% on the checkout API fleet",
        )
        pool = samples.metric_math_alarm(
            "prod-payments-db-connection-pool", t0, description="Connection pool above 90%"
        )
        latency = samples.anomaly_alarm(
            "prod-search-latency-anomaly", t0, description="Search latency outside its usual band"
        )
        composite = samples.composite_alarm(
            "prod-cdn-edge-degraded", t0, description="CDN edge degraded"
        )
        disk = samples.eventbridge_event("prod-logs-archive-disk-usage", t0)

        say(
            "New alarms for five services arrive through SNS (metric, metric math, anomaly detection, composite, EventBridge form)"
        )
        for message in (cpu, pool, latency, composite, disk):
            stack.publish_alarm(message)
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

        say("Waiting for the remediation executions to finish")
        statuses = stack.wait_for_executions()
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
            from opslink.adapters.store.dynamodb import DynamoAlertStore
            from opslink.adapters.tickets.builtin import BuiltinTicketSystem

            store = DynamoAlertStore(names["alerts_table"], stack.client("dynamodb"))
            tickets = BuiltinTicketSystem(names["tickets_table"], stack.client("dynamodb"))
            search = next(
                a
                for a in store.list_alerts(status="open")
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

        out.write("\nAlerts\n")
        table([a.model_dump(mode="json") for a in alerts], ALERT_COLUMNS, out, max_width=34)
        out.write("\nTickets\n")
        table([t.model_dump(mode="json") for t in ticket_list], TICKET_COLUMNS, out, max_width=50)
        out.write("\nRemediation executions\n")
        table(
            [{"execution": k, "status": v} for k, v in sorted(statuses.items())],
            ("execution", "status"),
            out,
        )
        out.write("\nRejected input\n")
        table(rejected, ("source", "reason"), out, max_width=70)
        out.write(f"\nCounters today: {json.dumps(counters, sort_keys=True)}\n")
        out.write(
            f"Done in {time.monotonic() - started:.1f}s. Handler logs: {stack.runtime.log_path if stack.runtime else '-'}\n"
        )
        return _check(alerts, ticket_list, statuses, rejected, out)


def _check(
    alerts: list[Any],
    tickets: list[Any],
    statuses: dict[str, str],
    rejected: list[dict[str, Any]],
    out: TextIO,
) -> int:
    """The demo fails loudly if OpsLink did not do what it showed."""
    problems = []
    if len(alerts) != 6:
        problems.append(f"expected 6 alerts, found {len(alerts)}")
    if len(tickets) != 6:
        problems.append(f"expected 6 tickets (one per alert), found {len(tickets)}")
    if sum(1 for a in alerts if a.status == "resolved") != 2:
        problems.append("expected 2 resolved alerts (OK and closed ticket)")
    if any(s != "SUCCEEDED" for s in statuses.values()) or len(statuses) != 6:
        problems.append(f"executions not all succeeded: {statuses}")
    if len(rejected) != 1:
        problems.append(f"expected 1 rejected message, found {len(rejected)}")
    for p in problems:
        out.write(f"DEMO CHECK FAILED: {p}\n")
    return 1 if problems else 0
