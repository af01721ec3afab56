"""`opslink demo`: OpsLink end to end on the local emulator, in well under a minute.

Runbooks really run, as local subprocesses, in a sealed sandbox against a simulated host
(a scratch folder with stand-ins for systemctl, the AWS CLI …), so nothing on this
machine and nothing in any AWS account is touched. The emulator plays CloudWatch: an
alarm goes back to OK when a runbook really fixed what it watches on the simulated host.

The demo checks itself: it fails (exit 1) if OpsLink did not do what it showed — every
alert has exactly one ticket, no open ticket belongs to a resolved alert, at least one
verified fix, an approval granted and one rejected, the counters match what exists.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.models import Alert, AlertStatus, Ticket, TicketStatus
from opslink_cli import connection, operator, samples
from opslink_cli.emulator import LocalStack
from opslink_cli.emulator.slack import LocalSlack
from opslink_cli.executions import list_executions
from opslink_cli.render import table

ENGINEER = "erin@example.com"
APPROVER = "dana@example.com"
# A member account of the organization (forwarder.yaml deployed there): its alarm is
# ticketed here and remediated there, through its member role.
MEMBER_ACCOUNT, MEMBER_REGION = "210987654321", "us-west-2"
DEMO_PARAMETERS = {
    "MemberRoleName": "OpsLinkMemberRole",
    "MemberExternalId": "opslink-demo",
    "AllowedAccountIds": MEMBER_ACCOUNT,
    "AlarmPublisherAccounts": MEMBER_ACCOUNT,
}
MEMBER_ALARM = "prod-shipping-api-cpu-high"
# The local Slack workspace (emulator/slack.py): approval requests posted to #ops, and
# dana, mapped by the service map's chat_users, approves one with a click.
SLACK_PARAMETERS = {
    "SlackBotTokenSecretName": "opslink/slack-bot",
    "SlackSigningSecretName": "opslink/slack-signing",
    "SlackChannel": "#ops",
}
SLACK_USER = ("U0DEMODANA", "dana")


@contextmanager
def demo_stack(log_path: Any = None) -> Iterator[tuple[LocalStack, LocalSlack]]:
    """The demo's stack: a member account, and a local Slack workspace its approval
    requests are posted to and its buttons clicked in."""
    from opslink_cli.emulator.slack import BOT_TOKEN, SIGNING_SECRET

    slack = LocalSlack().start()
    overrides = {
        f: {"SLACK_API_URL": slack.api_url} for f in ("RemediateFunction", "TrackFunction")
    }
    try:
        with LocalStack(mirror_alarms=True, log_path=log_path, env_overrides=overrides,
                        parameters=DEMO_PARAMETERS | SLACK_PARAMETERS) as stack:  # fmt: skip
            secrets = stack.client("secretsmanager")
            secrets.create_secret(Name=SLACK_PARAMETERS["SlackBotTokenSecretName"],
                                  SecretString=BOT_TOKEN)  # fmt: skip
            secrets.create_secret(Name=SLACK_PARAMETERS["SlackSigningSecretName"],
                                  SecretString=SIGNING_SECRET)  # fmt: skip
            yield stack, slack
    finally:
        slack.stop()


def _click(stack: LocalStack, slack: LocalSlack, execution: str, action: str) -> str:
    """dana presses a button of the request posted for `execution`; what Slack shows."""
    message = slack.message_for(execution)
    answer, error = stack.invoke("TrackFunction", slack.click(message, action, *SLACK_USER))
    if error is not None or not isinstance(answer, dict) or answer.get("statusCode") != 200:
        raise RuntimeError(f"the Slack click was not taken: {error or answer}")
    return str(json.loads(answer["body"]).get("text", ""))


@dataclass
class DemoRun:
    alerts: list[Alert] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # alarm name -> ingest outcome
    member_account: bool = False  # the stack acts in a member account (DEMO_PARAMETERS)
    slack_approved: str = ""  # the execution approved by a Slack click (demo_stack)
    report: Any = None  # the KPI report of the week ending on the demo's day


def _step(out: TextIO, started: float) -> Callable[[str], None]:
    count = iter(range(1, 100))

    def say(text: str) -> None:
        out.write(f"[{time.monotonic() - started:5.1f}s] {next(count)}. {text}\n")
        out.flush()

    return say


def _orders_db(name: str, at: datetime) -> dict[str, Any]:
    return samples.metric_alarm(
        name,
        at,
        metric="DatabaseConnections",
        namespace="AWS/RDS",
        dimensions={"DBInstanceIdentifier": "orders-db-1"},
        threshold=400,
        description="Connections on orders-db near max_connections",
    )


# Seconds an execution may go without any progress before the demo gives up on it: waits
# follow the machine (a loaded machine is slow, not stuck), never a fixed deadline.
STALL_SECONDS = 180.0


def _wait_for_approval_request(stack: LocalStack, execution: str) -> None:
    deadline, seen, checked = time.monotonic() + STALL_SECONDS, -1, 0.0
    while time.monotonic() < deadline:
        if stack.waiting_for_approval(execution):
            return
        status = stack.wait_for_executions([execution], timeout=0)[execution]
        if status not in ("RUNNING", "NOT_STARTED"):
            raise RuntimeError(
                f"{execution} ended ({status}) without asking for an approval; see "
                f"`opslink executions show {execution}` on the kept state"
            )
        if time.monotonic() - checked >= 1.0:
            checked, moved = time.monotonic(), stack.progress([execution])
            if moved != seen:  # still moving: the machine is slow, not stuck
                seen, deadline = moved, time.monotonic() + STALL_SECONDS
        time.sleep(0.1)
    raise RuntimeError(
        f"{execution} made no progress for {STALL_SECONDS:.0f}s and never asked for an approval"
    )


def _member_alarm(at: datetime) -> dict[str, Any]:
    message = samples.metric_alarm(
        MEMBER_ALARM,
        at,
        dimensions={"AutoScalingGroupName": "shipping-api-asg"},
        description="CPU above 85% on the shipping API fleet (member account)",
    )
    return message | {
        "AWSAccountId": MEMBER_ACCOUNT,
        "Region": "US West (Oregon)",
        "AlarmArn": f"arn:aws:cloudwatch:{MEMBER_REGION}:{MEMBER_ACCOUNT}:alarm:{MEMBER_ALARM}",
    }


def _decide(conn: connection.Connection, verb: str, execution: str, by: str) -> str:
    args = argparse.Namespace(name=execution, by=by, reason="not during peak hours", output="table")
    buf = io.StringIO()
    handler = operator.executions_approve if verb == "approve" else operator.executions_reject
    handler(conn, args, buf)
    return buf.getvalue().strip()


def run_start(now: datetime) -> datetime:
    """When the demo's alarms begin: ten minutes ago, their 8 minutes on one day — in the
    minutes after midnight they end just before it — so its per-day checks (counters,
    the metrics function's day, the report) see the whole run."""
    t0 = now.replace(microsecond=0) - timedelta(minutes=10)
    if (t0 + timedelta(minutes=8)).date() == t0.date():
        return t0
    midnight = datetime.combine(now.date(), datetime.min.time(), now.tzinfo)
    return midnight - timedelta(minutes=9)


def scenario(
    stack: LocalStack, say: Callable[[str], None], slack: LocalSlack | None = None
) -> DemoRun:
    """The demo's story on a running stack (mirror_alarms on); returns what it left. With
    `slack`, one approval is given by a button click in it."""
    run = DemoRun()
    t0 = run_start(datetime.now(UTC))
    ddb = stack.client("dynamodb")
    store = stack.alert_store()
    tickets = BuiltinTicketSystem(stack.names["TicketsTable"], ddb)
    conn = connection.Connection(
        store, tickets, stack.client("stepfunctions"), stack.arns["RemediationStateMachine"]
    )
    cpu = samples.metric_alarm(
        "prod-checkout-api-cpu-high",
        t0,
        dimensions={"AutoScalingGroupName": "checkout-api-asg"},
        description="CPU above 85% on the checkout API fleet",
    )
    say(
        "New alarms for five services arrive through SNS (metric, metric math, anomaly "
        "detection, composite, EventBridge form)"
    )
    for message in (
        cpu,
        samples.metric_math_alarm(
            "prod-payments-db-connection-pool", t0, description="Connection pool above 90%"
        ),
        samples.anomaly_alarm(
            "prod-search-latency-anomaly", t0, description="Search latency outside its usual band"
        ),
        samples.composite_alarm("prod-cdn-edge-degraded", t0, description="CDN edge degraded"),
        samples.eventbridge_event("prod-logs-archive-disk-usage", t0),
    ):
        stack.publish_alarm(message)
    say(
        "checkout depends on payments-db (service map): their alarms are one incident on "
        "one ticket; payments-db, the deeper dependency, is its root and gets a remediation"
    )
    say("A sixth alarm invokes the ingest function directly as a CloudWatch alarm action")
    stack.invoke("IngestFunction", samples.alarm_action_payload("prod-search-memory-critical", t0))
    say("SNS delivers the checkout alarm a second time (duplicate delivery: nothing new)")
    stack.publish_alarm(cpu)
    say("A malformed message and a console test notification reach the topic")
    stack.publish_alarm("ALARM: checkout is on fire {not json", subject="garbage")
    test_note = json.loads(
        json.dumps(samples.sample_events()["sns-console-test-notification.json"]["Records"][0])
    )["Sns"]["Message"]
    stack.publish_alarm(test_note, subject="test")
    role = stack.parameters.get("MemberRoleName")
    if role:
        run.member_account = True
        say(
            f"An alarm of member account {MEMBER_ACCOUNT} in {MEMBER_REGION} (forwarder.yaml "
            f"forwards it): its ticket here; its hosts read, its runbook run and its fix "
            f"verified there, through {role}"
        )
        stack.publish_alarm(_member_alarm(t0))

    say(
        "Remediation runs: runbook chosen, job launched in the sandbox, polled, alarm verified; "
        "resolved or handed over on the alert's own ticket"
    )
    stack.wait_for_executions(timeout=STALL_SECONDS, settle=True, stall=True)

    say("orders-db connections: its only fix, restart_db, needs a human's approval")
    stack.publish_alarm(_orders_db("prod-orders-db-connections-high", t0))
    stack.publish_alarm(_orders_db("prod-orders-db-connection-storm", t0 + timedelta(minutes=1)))
    approved = next(a for a in store.list_alerts() if a.alarm_name.endswith("connections-high"))
    refused = next(a for a in store.list_alerts() if a.alarm_name.endswith("connection-storm"))
    for alert in (approved, refused):
        _wait_for_approval_request(stack, str(alert.execution_name))
    if slack is not None:
        run.slack_approved = str(approved.execution_name)
        say(f"  in Slack #ops, {SLACK_USER[1]} clicks Approve on the request for "
            f"{approved.execution_name} (signed by Slack, sent to the track function's URL)")  # fmt: skip
        say("    " + _click(stack, slack, str(approved.execution_name), "approve"))
    else:
        say(f"  opslink executions approve {approved.execution_name} --by {APPROVER}")
        say("    " + _decide(conn, "approve", str(approved.execution_name), APPROVER))
    say(f"  opslink executions reject {refused.execution_name} --by {APPROVER}")
    say("    " + _decide(conn, "reject", str(refused.execution_name), APPROVER))

    payments = next(
        a for a in store.list_alerts() if a.alarm_name == "prod-payments-db-connection-pool"
    )
    say(
        "payments-db: the diagnostics (connection pool, host snapshot) are on its ticket; "
        "its fix, restart_db, needs approval, and the pool is draining by itself"
    )
    _wait_for_approval_request(stack, str(payments.execution_name))
    say(f"  opslink executions reject {payments.execution_name} --by {APPROVER}")
    say("    " + _decide(conn, "reject", str(payments.execution_name), APPROVER))
    stack.wait_for_executions(timeout=STALL_SECONDS, stall=True)

    say(
        "The payments-db alarm returns to OK: the last alarm of its incident to clear, so "
        "the incident's ticket is resolved (checkout's verified fix only commented on it)"
    )
    ok = samples.metric_math_alarm(
        "prod-payments-db-connection-pool", t0 + timedelta(minutes=8), state="OK"
    )
    ok["OldStateValue"] = "ALARM"
    stack.publish_alarm(ok)

    say(
        f"{ENGINEER} closes the cdn-edge ticket; the local clock moves 5 minutes and the "
        "track sweep runs"
    )
    cdn = next(a for a in store.list_alerts(limit=100) if a.alarm_name == "prod-cdn-edge-degraded")
    assert cdn.ticket_id
    tickets.set_status(
        cdn.ticket_id, TicketStatus.CLOSED, note="Edge node drained and replaced.", by=ENGINEER
    )
    fired = stack.advance(300)
    say(f"  fired on the local clock: {', '.join(sorted(set(fired)))}")
    run.alerts = store.list_alerts(limit=100)
    run.tickets = tickets.list(limit=100)
    from opslink.adapters.store.bookkeeping import Bookkeeping

    run.rejected = Bookkeeping(store.table, store.client).rejections(datetime.now(UTC))
    run.counters = store.journal.kpi_counters(t0).get("all", {})  # the run's day's counters
    from opslink_cli.kpi_report import build

    run.report = build(store.journal, t0.date() - timedelta(days=6), t0.date())
    run.executions = list_executions(
        stack.client("stepfunctions"), stack.arns["RemediationStateMachine"], 50
    )
    return run


def problems(run: DemoRun) -> list[str]:
    """What the demo promises, checked on what it left behind."""
    found = []
    by_name = {a.alarm_name: a for a in run.alerts}
    tickets = {t.id: t for t in run.tickets}
    expected_alerts = 8 + run.member_account
    if len(run.alerts) != expected_alerts:
        found.append(f"expected {expected_alerts} alerts, found {len(run.alerts)}")
    still_firing = {a.incident_id for a in run.alerts if a.status is AlertStatus.OPEN}
    for alert in run.alerts:
        # An incident's member is on its opener's ticket; every other alert has its own.
        own = [t for t in run.tickets if t.alert_id == alert.alert_id]
        owned = 0 if alert.incident_role == "joined" else 1
        if len(own) != owned or alert.ticket_id not in tickets:
            found.append(
                f"alert {alert.alert_id} has {len(own)} tickets of its own, expected {owned}"
            )
        ticket = tickets.get(alert.ticket_id or "")
        if (
            alert.status is AlertStatus.RESOLVED
            and alert.incident_id not in still_firing  # its incident's ticket waits for them
            and ticket is not None
            and ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        ):
            found.append(f"resolved alert {alert.alert_id} has open ticket {ticket.id}")
    if run.report is not None and run.report.current.alerts != len(run.alerts):
        found.append(
            f"the KPI report counts {run.report.current.alerts} alerts, {len(run.alerts)} exist"
        )
    left = sum(1 for e in run.executions if e["outcome"] == "LeftToHumans")
    if run.report is not None and sum(run.report.current.handed_over_by.values()) != left:
        found.append(
            f"the KPI report counts {run.report.current.handed_over_by} alerts left to humans, "
            f"{left} executions ended with humans"
        )
    if run.counters.get("tickets") != len(run.tickets):
        found.append(
            f"KPI counter tickets={run.counters.get('tickets')} but "
            f"{len(run.tickets)} tickets exist"
        )
    expectations = {
        "prod-logs-archive-disk-usage": ("automation", None),
        "prod-checkout-api-cpu-high": ("automation", None),
        "prod-orders-db-connections-high": ("automation", None),
        "prod-payments-db-connection-pool": ("alarm", None),
        "prod-cdn-edge-degraded": ("ticket", ENGINEER),
    }
    if run.member_account:
        expectations[MEMBER_ALARM] = ("automation", None)
        member = by_name.get(MEMBER_ALARM)
        if member is not None and (member.account_id, member.region) != (
            MEMBER_ACCOUNT, MEMBER_REGION):  # fmt: skip
            found.append(f"{MEMBER_ALARM} is not the member account's alarm")
    for name, (by, who) in expectations.items():
        expected = by_name.get(name)
        if expected is None or expected.status is not AlertStatus.RESOLVED:
            found.append(f"{name} should be resolved by {by}")
        elif expected.resolution.get("by") != by or (who and expected.resolution.get("who") != who):
            found.append(f"{name} resolved as {expected.resolution}, expected by {by} {who or ''}")
    outcomes = {e["alert_id"]: (e["outcome"], e["reason"]) for e in run.executions}
    storm = by_name.get("prod-orders-db-connection-storm")
    if storm is None or outcomes.get(storm.alert_id, ("", ""))[1] != "approval rejected":
        found.append("the rejected approval should leave the storm alert to humans")
    if len(run.executions) != expected_alerts or any(
        e["status"] != "SUCCEEDED" for e in run.executions
    ):
        found.append(
            f"executions not all succeeded: {[(e['execution'], e['status']) for e in run.executions]}"
        )
    if len(run.rejected) != 1:
        found.append(f"expected 1 rejected message, found {len(run.rejected)}")
    return found


def run_demo(out: TextIO, keep: bool = True) -> int:
    started = time.monotonic()
    say = _step(out, started)
    say(
        "Standing up the stack from template.yaml on the local emulator (moto, handlers in-process)"
    )
    with demo_stack() as (stack, slack):
        say(
            f"  {len(stack.names)} resources; runbooks run sealed in a sandbox against the "
            f"simulated host {stack.state_dir}/host; a local Slack workspace at {slack.api_url}"
        )
        run = scenario(stack, say, slack)
        log = stack.runtime.log_path if stack.runtime else "-"
        kept = None
        if keep:
            from opslink_cli.kept_state import save

            kept = save(stack)
    _report(run, out)
    out.write("\nAutomation KPIs (the demo's week; definitions in docs/KPIS.md)\n")
    from pathlib import Path

    from opslink_cli.kpi_report import print_summary
    from opslink_cli.report_render import write

    paths = write(run.report, Path(".opslink") / "report")
    print_summary(run.report, paths, out)
    out.write(f"Done in {time.monotonic() - started:.1f}s. Handler logs: {log}\n")
    if kept is not None:
        url = "http://127.0.0.1:5055"
        out.write(
            f"\nThe demo's state is kept in {kept}. Explore it (no AWS account involved):\n"
            f"  opslink local serve --state {kept}        # in one terminal\n"
            f"  opslink alerts list --endpoint-url {url}\n"
            f"  opslink executions show NAME --endpoint-url {url}\n"
            f"  opslink runbooks stats --alert-type cpu_usage --service checkout "
            f"--endpoint-url {url}\n"
            f"  opslink audit --endpoint-url {url}\n"
            f"  opslink report --endpoint-url {url}\n"
        )
    found = problems(run)
    for p in found:
        out.write(f"DEMO CHECK FAILED: {p}\n")
    return 1 if found else 0


def _report(run: DemoRun, out: TextIO) -> None:
    rows = [
        a.model_dump(mode="json")
        | {
            "resolved_by": (a.resolution.get("who") or a.resolution.get("by", ""))
            if a.resolution
            else ""
        }
        for a in run.alerts
    ]
    out.write("\nAlerts\n")
    table(
        rows,
        (
            "alert_id",
            "status",
            "priority",
            "service",
            "alert_type",
            "ticket_id",
            "resolved_by",
            "alarm_name",
        ),
        out,
        max_width=34,
    )
    out.write(
        "\nTickets (one per incident: alarms of one cause share one; a failed automation is "
        "handed over on it)\n"
    )
    now = datetime.now(UTC)
    table(
        [operator.ticket_row(t, now) for t in run.tickets],
        ("id", "status", "priority", "assignee", "closed_by", "due_at", "title"),
        out,
        max_width=56,
    )
    out.write("\nRemediation executions (a timeline: `opslink executions show NAME`, below)\n")
    table(run.executions, ("execution", "status", "took", "outcome", "reason"), out, max_width=60)
    out.write("\nRejected input\n")
    table(run.rejected, ("source", "reason"), out, max_width=70)
    fixed = sum(1 for e in run.executions if e["outcome"] == "Remediated")
    out.write(
        f"\nVerified fixes: {fixed}; tickets: {len(run.tickets)} for {len(run.alerts)} alerts; "
        f"KPI counters of the run's day: {json.dumps(run.counters, sort_keys=True)}\n"
    )
