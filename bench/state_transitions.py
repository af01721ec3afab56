"""Step Functions state transitions per remediation against job duration, on the emulator.

The real ASL runs on moto with the local shell job platform; the job sleeps for the
duration under test and the alarm is back to OK, so every run takes the success path.
Time is scaled: Wait states last seconds / SCALE and jobs sleep duration / SCALE, so a
30-minute job takes 30 min / SCALE here. Two configurations of the same state machine:
OpsLink's adaptive backoff (PollBaseSeconds=15, PollMaxSeconds=900, the defaults) and the
original design's fixed 30-second polling (base = max = 30).

Then the poll schedule from a runbook's duration history (remediation/poll_schedule.py),
in simulated time: for each job length, 8 past runs within +-8 % of it and 200 runs to
come (+-8 %), each polled as the poll task would (the schedule function itself); reported:
detection latency (job end -> the poll that sees it) and transitions, against the
targets latency <= max(15 s, 10 % of the duration) and <= 30 transitions at 30 min. The
non-poll states of the success path are taken from the emulator run above.

    .venv/bin/python bench/state_transitions.py [SCALE]
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

from opslink.remediation.policy import polls_needed
from opslink.remediation.poll_schedule import expected, wait_after
from opslink_cli import samples
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm

DURATIONS = {"10 s": 10, "2 min": 120, "30 min": 1800}
CATALOG = Path(__file__).parent / "catalog"


def run(config: dict[str, str], scale: float) -> dict[str, dict[str, int]]:
    results: dict[str, dict[str, int]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalStack(
            parameters=config | {"VerifyGraceSeconds": "60"},
            env_overrides={"RemediateFunction": {"RUNBOOK_CATALOG_PATH": str(CATALOG)}},
            log_path=Path(tmp) / "lambda.log",
            time_scale=scale,
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
            results[label] = {
                "transitions": len(entered),
                "polls": entered.count("PollJob"),
                "remediated": int(entered[-1] == "Remediated" and statuses[name] == "SUCCEEDED"),
            }
    return results


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
    adaptive = run({"PollBaseSeconds": "15", "PollMaxSeconds": "900"}, scale)
    fixed = run({"PollBaseSeconds": "30", "PollMaxSeconds": "30"}, scale)
    print(
        f"time scale 1/{scale:g}; transitions = states entered in the execution history (success path)"
    )
    print(
        f"{'job':<8}{'adaptive':>10}{'polls':>7}{'fixed 30s':>11}{'polls':>7}{'ratio':>8}{'schedule polls':>16}"
    )
    for label, seconds in DURATIONS.items():
        a, f = adaptive[label], fixed[label]
        assert a["remediated"] and f["remediated"], (label, a, f)
        print(
            f"{label:<8}{a['transitions']:>10}{a['polls']:>7}{f['transitions']:>11}{f['polls']:>7}"
            f"{f['transitions'] / a['transitions']:>8.1f}{polls_needed(seconds, 15, 900):>16}"
        )
    history_report({k: v["transitions"] - 3 * v["polls"] for k, v in adaptive.items()})


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
