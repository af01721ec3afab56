"""What an alarm costs to handle, in AWS list prices, measured on the emulator.

Representative scenarios run on the local stack (the real handlers and ASL, the local
job platform, in real time). Every billable unit is counted as it happens:

- Lambda: one request per invocation; GB-s from each invocation's measured duration
  (rounded up to the millisecond) and the function's configured memory;
- Step Functions (Standard): state transitions = states entered in each execution's
  history; the state machine's own SNS publishes (Notify) are counted from it too;
- DynamoDB (on demand): write units per written item (1 KB steps; twice in a
  transaction) and read units per item read (4 KB steps; half for eventually
  consistent reads, twice in a transaction), from the item sizes DynamoDB would count
  (attribute names + values); an updated item is weighed as it is after the update;
- SNS publishes, CloudWatch API requests, EventBridge events sent by the handlers;
- CloudWatch Logs ingestion: the bytes the handlers log.

Longer jobs: a remediation with a 10-second job on one host runs for real, twice — with
the job's end announced (completion events: SSM's default, Rundeck/AWX with their
notifications; the waiting execution is woken, so a job of any length costs the same)
and without (the execution polls). Without events, a 2-minute or 30-minute job differs
from the short one only by its polls, so it costs the measured run plus (polls it needs
- polls the short job took) x what one measured poll cycle costs (the wait's and the
poll's Lambda invocations, GB-s, reads, three transitions: AwaitJob, PollJob, the
Choice). The polls a job needs come from the poll schedule itself (remediation/policy.py
without duration history; poll_schedule.py with eight past runs), as
bench/state_transitions.py simulates them. EventBridge delivers AWS services' own events
(Run Command's status changes) at no charge; the invocation they cause is counted.

Not counted: the free tiers, X-Ray (sampled; priced per trace), data transfer, the ticket
system and job platform themselves, and CloudWatch custom metrics (billed per metric per
month, not per alarm: the KPI scenario reports how many it writes).

    .venv/bin/python bench/cost.py
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from opslink.journal import FOLD_LAG
from opslink.remediation.poll_schedule import expected, wait_after
from opslink_cli import samples
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm, schedule_event
from opslink_cli.emulator import runtime as lambda_runtime
from opslink_cli.emulator.stack import REGION as STACK_REGION

CATALOG = Path(__file__).parent / "catalog"
# What Lambda itself logs per invocation (START, END and REPORT lines), beside the handler.
LAMBDA_LOG_LINES = 260

# List prices, us-east-1, as published on 2026-12-01 (USD).
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000166667,  # x86
    "sfn_transition": 0.025 / 1e3,  # Standard workflows
    "ddb_wru": 0.625 / 1e6,  # on demand
    "ddb_rru": 0.125 / 1e6,
    "sns_publish": 0.50 / 1e6,
    "cw_api": 0.01 / 1e3,  # DescribeAlarms, PutMetricData, GetMetricData, ...
    "events": 1.00 / 1e6,  # custom events put on a bus
    "logs_gb": 0.50,  # CloudWatch Logs ingestion
}


@dataclass
class Units:
    lambda_requests: int = 0
    gb_s: float = 0.0
    transitions: int = 0
    wru: float = 0.0
    rru: float = 0.0
    sns: int = 0
    cw_api: int = 0
    events: int = 0
    log_bytes: int = 0
    by_function: Counter[str] = field(default_factory=Counter)
    wru_by_item: Counter[str] = field(default_factory=Counter)  # "<op> <item kind>" -> WRU
    writes_by_item: Counter[str] = field(default_factory=Counter)  # ... -> writes

    def dollars(self) -> float:
        p = PRICES
        return (
            self.lambda_requests * p["lambda_request"]
            + self.gb_s * p["lambda_gb_s"]
            + self.transitions * p["sfn_transition"]
            + self.wru * p["ddb_wru"]
            + self.rru * p["ddb_rru"]
            + self.sns * p["sns_publish"]
            + self.cw_api * p["cw_api"]
            + self.events * p["events"]
            + self.log_bytes / 1e9 * p["logs_gb"]
        )

    def minus(self, before: Units) -> Units:
        out = Units()
        for name in ("lambda_requests", "gb_s", "transitions", "wru", "rru", "sns", "cw_api",
                     "events", "log_bytes"):  # fmt: skip
            setattr(out, name, getattr(self, name) - getattr(before, name))
        out.by_function = self.by_function - before.by_function
        out.wru_by_item = self.wru_by_item - before.wru_by_item
        out.writes_by_item = self.writes_by_item - before.writes_by_item
        return out

    def copy(self) -> Units:
        return self.minus(Units())


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (the name is counted by the caller)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return math.ceil(len(v.lstrip("-").replace(".", "").lstrip("0") or "0") / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(x) for k, x in v.items())
    return 0


def item_kind(key: dict[str, Any] | None) -> str:
    """An item's kind from its keys: "ALERT/ALERT", "ALERT/NOTE", "JOURNAL/EVT"…"""

    def part(name: str) -> str:
        value = str(((key or {}).get(name) or {}).get("S", ""))
        return value.split("#")[0] or "-"

    return f"{part('pk')}/{part('sk')}"


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + attribute_size(v) for k, v in (item or {}).items())


class Meter:
    """botocore hooks on the handlers' session, and a timer around each invocation."""

    def __init__(self, stack: LocalStack, raw_ddb: Any) -> None:
        self.units = Units()
        self.polls = Units()  # the poll task's share, to price a poll
        self.counted: set[str] = set()  # executions already billed (a duplicate names its)
        self.paths: list[list[str]] = []
        self.local = threading.local()
        self.stack = stack
        assert stack.runtime is not None  # the stack is running
        self.runtime = stack.runtime
        self.raw = raw_ddb  # uncounted: weighs updated items after the write
        self.memory = {name: spec.memory for name, spec in self.runtime.functions.items()}
        original = self.runtime.invoke

        def timed(fn: Any, event: Any) -> tuple[str, bool, str]:
            doc = event
            if isinstance(doc, str | bytes):
                with contextlib.suppress(ValueError):
                    doc = json.loads(doc)
            polling = isinstance(doc, dict) and doc.get("action") in ("poll", "await_job")
            self.local.polling = polling
            start = time.perf_counter()
            try:
                return original(fn, event)
            finally:
                self.invoked(fn.function_name, time.perf_counter() - start, polling)
                self.local.polling = False

        self.runtime.invoke = timed  # type: ignore[method-assign]

    def invoked(self, function: str, seconds: float, polling: bool = False) -> None:
        """One Lambda request of `function` that ran `seconds`."""
        gb_s = math.ceil(seconds * 1000) / 1000 * self.memory.get(function, 128) / 1024
        for units in (self.units, self.polls) if polling else (self.units,):
            units.log_bytes += LAMBDA_LOG_LINES
            units.lambda_requests += 1
            units.by_function[function] += 1
            units.gb_s += gb_s

    @staticmethod
    def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["cost_params"] = dict(params)  # the API parameters, for after-call

    def after_call(
        self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        params = context.get("cost_params") or {}
        if lambda_runtime.current_function() is None:
            return  # the emulator's own calls (the bench, moto's machinery)
        service, op = model.service_model.service_name, model.name
        if service == "dynamodb":
            self._dynamodb(op, params, parsed, self.units)
            if getattr(self.local, "polling", False):
                self._dynamodb(op, params, parsed, self.polls)
        elif service == "sns" and op == "Publish":
            self.units.sns += 1
        elif service == "cloudwatch":
            self.units.cw_api += 1
        elif service == "events" and op == "PutEvents":
            self.units.events += len(params.get("Entries", []))

    def _dynamodb(self, op: str, params: dict[str, Any], parsed: dict[str, Any], u: Units) -> None:
        def wrote(units: int, key: dict[str, Any] | None, how: str = op) -> None:
            u.wru += units
            u.wru_by_item[f"{how} {item_kind(key)}"] += units
            u.writes_by_item[f"{how} {item_kind(key)}"] += 1

        if op == "PutItem":
            wrote(max(1, math.ceil(item_size(params["Item"]) / 1024)), params["Item"])
        elif op in ("UpdateItem", "DeleteItem"):
            after = self.raw.get_item(TableName=params["TableName"], Key=params["Key"],
                                      ConsistentRead=True).get("Item")  # fmt: skip
            wrote(max(1, math.ceil(item_size(after) / 1024)), params["Key"])
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                if kind == "ConditionCheck":
                    u.rru += 2
                    continue
                item = body.get("Item") or self.raw.get_item(
                    TableName=body["TableName"], Key=body["Key"], ConsistentRead=True
                ).get("Item")
                wrote(2 * max(1, math.ceil(item_size(item) / 1024)),
                      body.get("Key") or body.get("Item"), f"Transact{kind}")  # fmt: skip
        elif op == "BatchWriteItem":
            for writes in params["RequestItems"].values():
                for w in writes:
                    item = (w.get("PutRequest") or {}).get("Item")
                    wrote(max(1, math.ceil(item_size(item) / 1024)), item)
        elif op == "GetItem":
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            u.rru += factor * max(1, math.ceil(item_size(parsed.get("Item")) / 4096))
        elif op == "TransactGetItems":
            for r in parsed.get("Responses", []):
                u.rru += 2 * max(1, math.ceil(item_size(r.get("Item")) / 4096))
        elif op == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                u.rru += sum(0.5 * max(1, math.ceil(item_size(i) / 4096)) for i in items)
        elif op in ("Query", "Scan"):
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            total = sum(item_size(i) for i in parsed.get("Items", []))
            u.rru += factor * max(1, math.ceil(total / 4096))

    def executions(self, names: list[str]) -> None:
        sfn = self.stack.client("stepfunctions")
        self.poll_states = 0
        for name in [n for n in names if n not in self.counted]:
            self.counted.add(name)
            history = sfn.get_execution_history(
                executionArn=self.stack.execution_arn(name), maxResults=1000
            )["events"]
            entered = [e["stateEnteredEventDetails"]["name"] for e in history
                       if "stateEnteredEventDetails" in e]  # fmt: skip
            self.units.transitions += len(entered)
            self.paths.append(entered)
            self.units.sns += entered.count("Notify")
            self.poll_states += entered.count("PollJob")

    def log_bytes(self) -> int:
        with contextlib.suppress(OSError):
            return self.runtime.log_path.stat().st_size
        return 0


def _clear_when_launched(stack: LocalStack, alarm: str, alert_id: str) -> None:
    """The alarm goes back to OK once its job was launched (the job is the fix)."""
    cw = boto3.client("cloudwatch", region_name=samples.REGION)
    store = stack.alert_store()
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if store.launched_jobs(alert_id):
            cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="job ran")
            return
        time.sleep(0.05)


def scenario(meter: Meter, label: str, action: Any) -> tuple[str, Units]:
    before, log_before = meter.units.copy(), meter.log_bytes()
    executions = action() or []
    meter.stack.wait_for_executions(executions, timeout=3600)
    meter.executions(executions)
    meter.units.log_bytes += meter.log_bytes() - log_before
    return label, meter.units.minus(before)


def polls_for(seconds: float, history: bool) -> int:
    """Polls the schedule makes for a job of `seconds` (median over 200 runs within 8 %
    of it, with eight such past runs as history, or none), as bench/state_transitions.py."""
    rng = random.Random(7)
    past = [seconds * rng.uniform(0.92, 1.08) for _ in range(8)]
    plan = expected(past) if history else None
    counts = []
    for _ in range(200):
        d = seconds * rng.uniform(0.92, 1.08)
        elapsed, attempt = 0.0, 0
        while elapsed < d:
            elapsed += wait_after(elapsed, attempt, plan, 15, 900, d * 3 - elapsed)
            attempt += 1
        counts.append(attempt)
    return int(statistics.median(counts))


def measure(events: str, everything: bool) -> tuple[list[tuple[str, Units]], Units, int]:
    """The scenarios on a fresh stack; `events`: how local jobs' ends are announced."""
    rows: list[tuple[str, Units]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalStack(
            # The grace before verification is one Wait state whatever its length: shortened
            # here so the bench runs in seconds; billing is the same.
            parameters={
                "VerifyGraceSeconds": "2",
                "PollBaseSeconds": "15",
                "PollMaxSeconds": "900",
            },
            env_overrides={"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}},
            log_path=Path(tmp) / "lambda.log",
            job_end_events=events,
        ) as stack,
    ):
        boto3.setup_default_session()  # the session the handlers' clients come from
        assert boto3.DEFAULT_SESSION is not None
        # A session of its own: the meter's reads are not the handlers'.
        raw = boto3.session.Session().client("dynamodb", region_name=STACK_REGION)
        meter = Meter(stack, raw)
        boto3.DEFAULT_SESSION.events.register("before-parameter-build", meter.keep_params)
        boto3.DEFAULT_SESSION.events.register("after-call", meter.after_call)

        # Alarms arrive as they fire: their times are now (a redelivery hours late would
        # have its counters written in its transactions instead of by the fold).
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

        def remediated() -> list[str]:
            alarm = "prod-search-job-10s"
            put_cloudwatch_alarm(alarm, samples.REGION, state="ALARM")
            event = samples.sns_event(samples.metric_alarm(
                alarm, t0, dimensions={"Duration": "10", "InstanceId": "i-0123456789abcdef0"}))  # fmt: skip
            payload, error = stack.invoke("IngestFunction", event)
            assert error is None and isinstance(payload, dict), payload
            result = payload["results"][0]
            threading.Thread(target=_clear_when_launched, daemon=True,
                             args=(stack, alarm, result["alert_id"])).start()  # fmt: skip
            return [result["execution_name"]]

        def deliver(event: dict[str, Any]) -> Any:
            def run() -> list[str]:
                payload, error = stack.invoke("IngestFunction", event)
                assert error is None and isinstance(payload, dict), payload
                name = payload.get("results", [{}])[0].get("execution_name")
                return [name] if name else []

            return run

        def alarm(minutes: float, state: str = "ALARM") -> dict[str, Any]:
            return samples.sns_event(samples.metric_alarm(
                "prod-checkout-api-cpu-high", t0 + timedelta(minutes=minutes),
                state=state, old="OK" if state == "ALARM" else "ALARM"))  # fmt: skip

        def human_closes() -> list[str]:
            from opslink.adapters.tickets.builtin import BuiltinTicketSystem
            from opslink.models import TicketStatus

            [alert] = [a for a in stack.alert_store().list_alerts(status="open")
                       if a.alarm_name == "prod-checkout-api-cpu-high"]  # fmt: skip
            tickets = BuiltinTicketSystem(stack.names["TicketsTable"], raw)
            tickets.set_status(alert.ticket_id or "", TicketStatus.CLOSED)  # by a human
            stack.invoke("TrackFunction", schedule_event("opslink-TrackFunction"))  # the sweep
            return []

        def kpis() -> list[str]:
            stack.invoke("MetricsFunction", schedule_event("opslink-MetricsFunction"))
            return []

        def fold_later() -> list[str]:
            """The metrics function's hourly fold once those events have settled (its clock
            moved past FOLD_LAG; run as that function so its calls are counted)."""
            from opslink.adapters.store.dynamodb import DynamoAlertStore

            store = DynamoAlertStore(stack.names["AlertsTable"],
                                     boto3.client("dynamodb", region_name=STACK_REGION),
                                     journal_table=stack.names["JournalTable"])  # fmt: skip
            store.clock = lambda: datetime.now(UTC) + FOLD_LAG + timedelta(minutes=5)
            start = time.perf_counter()
            with lambda_runtime._in_handler("MetricsFunction"):
                done = store.journal.fold_kpis()
            meter.invoked("MetricsFunction", time.perf_counter() - start)
            print(f"fold: {done.events} events, {done.rows} rows, {done.transactions} transactions")
            return []

        ok = samples.metric_alarm("prod-search-job-10s", t0 + timedelta(minutes=5),
                                  state="OK", old="ALARM")  # fmt: skip
        rows.append(scenario(meter, "new alarm + remediation, 10 s job", remediated))
        polls_seen = meter.poll_states
        print(f"states of the measured remediation ({events}):", " ".join(meter.paths[-1]))
        rows.append(scenario(meter, "OK after the fix (alert already resolved)",
                             deliver(samples.sns_event(ok))))  # fmt: skip
        if everything:  # the worst case: the only alarm of its hour (rows not shared)
            rows.append(scenario(meter, FOLD_ROW, fold_later))
        for label, action in (
            ("new alarm handed to humans (no runnable runbook)", deliver(alarm(0))),
            ("duplicate delivery", deliver(alarm(0))),
            ("re-fire that comments", deliver(alarm(6))),
            ("ticket closed by a human (track sweep)", human_closes),
            ("daily KPIs (metrics function, one run)", kpis),
        ):
            if everything:
                rows.append(scenario(meter, label, action))
        cycles = max(1, polls_seen)  # each: the wait's invocation and the poll's
        per_poll = meter.polls.minus(Units())
        per_poll = Units(lambda_requests=round(per_poll.lambda_requests / cycles),
                         gb_s=per_poll.gb_s / cycles, transitions=3,
                         wru=per_poll.wru / cycles, rru=per_poll.rru / cycles,
                         log_bytes=per_poll.log_bytes // cycles)  # fmt: skip
    return rows, per_poll, polls_seen


FOLD_ROW = "hourly KPI fold of that alarm's events (alone in its hour)"


def main() -> None:
    rows, _, _ = measure("deliver", everything=True)
    polled, per_poll, polls_seen = measure("off", everything=False)
    report(rows, polled[0][1], per_poll, polls_seen)


def scaled(base: Units, per_poll: Units, extra: int) -> Units:
    out = base.copy()
    for name in ("lambda_requests", "gb_s", "transitions", "wru", "rru", "log_bytes"):
        setattr(out, name, getattr(base, name) + extra * getattr(per_poll, name))
    return out


def report(rows: list[tuple[str, Units]], polled: Units, per_poll: Units, polls_seen: int) -> None:
    by = dict(rows)
    short, ok = (
        by["new alarm + remediation, 10 s job"],
        by["OK after the fix (alert already resolved)"],
    )
    evented = [(f"  ... {job} job (job-end event: no polls)", short) for job in ("2 min", "30 min")]
    computed = [("new alarm + remediation, 10 s job, polled (no events)", polled)]
    for job, seconds in (("2 min", 120), ("30 min", 1800)):
        for history in (False, True):
            extra = polls_for(seconds, history) - polls_seen
            label = f"  ... {job} job, polled ({'8 past runs' if history else 'no history'})"
            computed.append((label, scaled(polled, per_poll, extra)))
    print("list prices us-east-1 (2026-12-01); $ per 1,000 of each; one poll cycle = "
          f"{per_poll.lambda_requests} λ req, {per_poll.gb_s:.4f} GB-s, {per_poll.rru:.1f} RRU, "
          "3 transitions")  # fmt: skip
    print(f"{'scenario':<55}{'λ req':>6}{'GB-s':>8}{'trans':>6}{'WRU':>7}{'RRU':>7}"
          f"{'SNS':>4}{'CW':>4}{'log KB':>8}{'$/1000':>9}")  # fmt: skip
    for label, u in rows[:1] + evented + computed + rows[1:]:
        print(f"{label:<55}{u.lambda_requests:>6}{u.gb_s:>8.3f}{u.transitions:>6}{u.wru:>7.1f}"
              f"{u.rru:>7.1f}{u.sns:>4}{u.cw_api:>4}{u.log_bytes / 1024:>8.1f}"
              f"{1000 * u.dollars():>9.3f}")  # fmt: skip
    print()
    for label, u in [("any job length, job-end event", short)] + [
        (lbl.strip(" .").replace(" job", "").replace("new alarm + remediation, ", ""), x)
        for lbl, x in computed
    ]:
        total = 1000 * (u.dollars() + ok.dollars())
        sfn = 1000 * u.transitions * PRICES["sfn_transition"]
        ddb = 1000 * ((u.wru + ok.wru) * PRICES["ddb_wru"] + (u.rru + ok.rru) * PRICES["ddb_rru"])
        print(
            f"remediated alarm, {label} (with its OK): ${total:.3f} per 1,000 "
            f"(Step Functions ${sfn:.3f}, DynamoDB ${ddb:.3f})"
        )
    if FOLD_ROW in by:
        fold = by[FOLD_ROW]
        total = 1000 * (short.dollars() + ok.dollars() + fold.dollars())
        print(f"remediated alarm, job-end event, with its OK and the hourly fold of its events "
              f"when it is the hour's only alarm: ${total:.3f} per 1,000 "
              f"({short.wru + ok.wru + fold.wru:.0f} WRU; the fold's rows are shared by all "
              f"of an hour's alarms of a service)")  # fmt: skip
    print(f"\nwrite units of '{rows[0][0]}' by operation and item kind (pk/sk prefix):")
    for what, units in short.wru_by_item.most_common():
        print(f"  {units:>5} WRU in {short.writes_by_item[what]:>2} writes  {what}")


if __name__ == "__main__":
    main()
