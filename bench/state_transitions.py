"""Step Functions state transitions and detection latency per remediation against job
duration, on the emulator.

The real ASL runs on moto with the local shell job platform; the job sleeps for the
duration under test and the alarm is back to OK, so every run takes the success path.
Time is scaled: Wait states and poll waits last seconds / SCALE and jobs sleep
duration / SCALE, so a 30-minute job takes 30 min / SCALE here. Three configurations of
the same state machine, side by side: completion events (the job's end wakes the waiting
execution: what SSM, and Rundeck/AWX with notifications, do), OpsLink's adaptive polling
without events (PollBaseSeconds=15, PollMaxSeconds=900) and fixed 30-second polling
(base = max = 30). Detection = the job's end (the local runner's finished_at) to the
state that handed its end on, in deployed seconds (polling: wall time x SCALE; events:
wall time, as nothing in that path is scaled).

Then the poll schedule from a runbook's duration history (remediation/poll_schedule.py),
in simulated time: for each job length, 8 past runs within +-8 % of it and 200 runs to
come (+-8 %), each polled as the poll task would (the schedule function itself); reported:
detection latency (job end -> the poll that sees it) and transitions — the platforms
without completion events.

    .venv/bin/python bench/state_transitions.py [SCALE]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import boto3

from opslink.remediation.policy import polls_needed
from opslink.remediation.poll_schedule import expected, wait_after
from opslink_cli import samples
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm

DURATIONS = {"10 s": 10, "2 min": 120, "30 min": 1800}
CATALOG = Path(__file__).parent / "catalog"


def run(config: dict[str, str], scale: float, events: str) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalStack(
            # Three alarms of one family on purpose (one per job length): measured as
            # three remediations, not grouped into one incident.
            parameters=config | {"VerifyGraceSeconds": "60", "Correlation": "false"},
            env_overrides={"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}},
            log_path=Path(tmp) / "lambda.log",
            time_scale=scale,
            job_end_events=events,
        ) as stack,
    ):
        names = {}
        alarms: dict[str, tuple[str, str]] = {}  # execution -> (alarm, alert id)
        for label, seconds in DURATIONS.items():
            # A service of the service map; the alarm fires for real (provenance), and the
            # job's launch is what fixes it (set OK once the job runs, below).
            alarm = f"prod-search-job-{seconds}s"
            put_cloudwatch_alarm(alarm, samples.REGION, state="ALARM")
            event = samples.sns_event(
                samples.metric_alarm(
                    alarm, samples.T0, dimensions={"Duration": f"{seconds / scale:.3f}"}
                )
            )
            payload, error = stack.invoke("IngestFunction", event)
            assert error is None and isinstance(payload, dict), payload
            result = payload["results"][0]
            names[label] = result["execution_name"]
            alarms[result["execution_name"]] = (alarm, result["alert_id"])
        clear = threading.Thread(target=_clear_when_launched, args=(stack, alarms), daemon=True)
        clear.start()
        statuses = stack.wait_for_executions(list(names.values()), timeout=3600)
        sfn = stack.client("stepfunctions")
        for label, name in names.items():
            history = sfn.get_execution_history(
                executionArn=stack.execution_arn(name), maxResults=1000
            )["events"]
            entered = [
                e["stateEnteredEventDetails"]["name"]
                for e in history
                if "stateEnteredEventDetails" in e
            ]
            wall = _detection(stack, history)
            results[label] = {
                "transitions": len(entered),
                "polls": entered.count("PollJob"),
                "remediated": int(entered[-1] == "VerifyFix" and statuses[name] == "SUCCEEDED"),
                "detection": wall if events == "deliver" else wall * scale,
            }
    return results


def _detection(stack: LocalStack, history: list[dict[str, object]]) -> float:
    """Wall seconds from the job's end to the AwaitJob/PollJob exit that carried it."""
    for event in history:
        details = event.get("stateExitedEventDetails")
        if not isinstance(details, dict) or details["name"] not in ("AwaitJob", "PollJob"):
            continue
        launch = json.loads(str(details["output"]))["launch"]
        if launch["poll"]["state"] in ("succeeded", "failed", "cancelled", "timed_out"):
            job_dir = Path(stack.state_dir or "") / "jobs" / launch["job"]["job_id"]
            doc = json.loads((job_dir / "status.json").read_text())
            ended = datetime.fromisoformat(doc["finished_at"])
            seen = event["timestamp"]
            assert isinstance(seen, datetime)
            return max(0.0, (seen - ended).total_seconds())
    raise AssertionError("no state saw the job end")


def _clear_when_launched(stack: LocalStack, alarms: dict[str, tuple[str, str]]) -> None:
    """The alarm goes back to OK once its job was launched (the job is the fix)."""
    cw = boto3.client("cloudwatch", region_name=samples.REGION)  # where the alarms live
    store = stack.alert_store()
    pending = dict(alarms)
    deadline = time.monotonic() + 3600
    while pending and time.monotonic() < deadline:
        for name, (alarm, alert_id) in list(pending.items()):
            if store.launched_jobs(alert_id):
                cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="job ran")
                del pending[name]
        time.sleep(0.05)


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
    polling = {"PollBaseSeconds": "15", "PollMaxSeconds": "900"}
    evented = run(polling, scale, "deliver")
    adaptive = run(polling, scale, "off")
    fixed = run({"PollBaseSeconds": "30", "PollMaxSeconds": "30"}, scale, "off")
    print(
        f"time scale 1/{scale:g}; transitions = states entered in the execution history "
        "(success path); detection = job end -> the execution has it, deployed seconds"
    )
    print(
        f"{'job':<8}{'events':>8}{'detect':>9}{'polling':>9}{'polls':>7}{'detect':>9}"
        f"{'fixed 30s':>11}{'polls':>7}{'detect':>9}{'polling/events':>16}"
    )
    for label in DURATIONS:
        e, a, f = evented[label], adaptive[label], fixed[label]
        assert e["remediated"] and a["remediated"] and f["remediated"], (label, e, a, f)
        print(
            f"{label:<8}{e['transitions']:>8.0f}{e['detection']:>8.1f}s"
            f"{a['transitions']:>9.0f}{a['polls']:>7.0f}{a['detection']:>8.0f}s"
            f"{f['transitions']:>11.0f}{f['polls']:>7.0f}{f['detection']:>8.0f}s"
            f"{a['transitions'] / e['transitions']:>16.1f}"
        )
    print(f"(schedule polls without history for each length: "
          f"{', '.join(str(polls_needed(s, 15, 900)) for s in DURATIONS.values())})")  # fmt: skip
    history_report({k: int(v["transitions"] - 3 * v["polls"]) for k, v in adaptive.items()})


def detection(
    duration: float, history: list[float] | None, base: int, cap: int
) -> tuple[float, int]:
    """(seconds from the job's end to the poll that sees it, polls) under the schedule."""
    plan = expected(history) if history else None
    elapsed, attempt = 0.0, 0
    timeout = duration * 3
    while True:
        elapsed += wait_after(elapsed, attempt, plan, base, cap, timeout - elapsed)
        attempt += 1
        if elapsed >= duration:
            return elapsed - duration, attempt


def history_report(fixed_states: dict[str, int]) -> None:
    rng = random.Random(7)
    print()
    print("poll schedule from duration history (simulated time, 200 runs per job length)")
    print(f"{'job':<8}{'target':>8}{'latency p50':>13}{'p90':>7}{'max':>7}{'polls':>7}"
          f"{'transitions':>13}{'no history: latency p50':>25}{'transitions':>13}")  # fmt: skip
    for label, seconds in DURATIONS.items():
        history = [seconds * rng.uniform(0.92, 1.08) for _ in range(8)]
        runs = [seconds * rng.uniform(0.92, 1.08) for _ in range(200)]
        planned = [detection(d, history, 15, 900) for d in runs]
        plain = [detection(d, None, 15, 900) for d in runs]
        lat = [x for x, _ in planned]
        q90 = statistics.quantiles(lat, n=10)[-1]
        transitions = fixed_states[label] + 3 * int(statistics.median(p for _, p in planned))
        plain_t = fixed_states[label] + 3 * int(statistics.median(p for _, p in plain))
        target = max(15.0, 0.1 * seconds)
        print(f"{label:<8}{target:>7.0f}s{statistics.median(lat):>12.1f}s{q90:>6.1f}s{max(lat):>6.1f}s"
              f"{statistics.median(p for _, p in planned):>7.0f}{transitions:>13}"
              f"{statistics.median(x for x, _ in plain):>24.1f}s{plain_t:>13}")  # fmt: skip


if __name__ == "__main__":
    main()
