"""External calls (AWS API + ticket HTTP) the ingest function makes per delivery.

Counted with botocore's `before-call` event on every client the handlers create, on the
local emulator; only calls made on a thread that is running the ingest handler count
(the state machine's own calls are the remediation's, not ingest's). The builtin ticket
system's calls are DynamoDB calls, so they are included. Alarms are created (tagged)
before they fire, as in an account. Targets: new alarm <= 4 (a cold container's first
alarm also takes the account's tag snapshot), plus alert correlation's one read and one
conditional write (shown side by side with Correlation=false); duplicate delivery <= 2.
"A member's re-fire" is an incident member's with correlation on (its incident's comment
slot); with Correlation=false the same alarm is an alert on its own.

    .venv/bin/python bench/external_calls.py
"""

from __future__ import annotations

import collections
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3

from opslink_cli import samples
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm
from opslink_cli.emulator import runtime as lambda_runtime

INGEST = "opslink-IngestFunction"


class Counter:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        if lambda_runtime.current_function() == INGEST:
            self.calls.append(f"{model.service_model.service_name}.{model.name}")

    def take(self) -> list[str]:
        out, self.calls = self.calls, []
        return out


def main() -> None:
    counter = Counter()
    t0 = samples.T0

    def alarm(name: str, minutes: float = 0, state: str = "ALARM") -> dict[str, Any]:
        return samples.sns_event(
            samples.metric_alarm(
                name,
                t0 + timedelta(minutes=minutes),
                state=state,
                old="OK" if state == "ALARM" else "ALARM",
            )
        )

    scenarios = [
        ("new alarm (cold container: tag snapshot)", alarm("prod-checkout-api-cpu-high")),
        ("new alarm (warm container)", alarm("prod-orders-api-cpu-high-1")),
        # Untagged, and fired before the container's snapshot began: known untagged from it.
        ("new alarm, untagged (warm container)", alarm("prod-ledger-db-cpu-high")),
        ("duplicate delivery", alarm("prod-checkout-api-cpu-high")),
        ("same alarm on another resource: joins the incident", alarm("prod-orders-api-cpu-high-2")),
        ("re-fire, ticket commented", alarm("prod-checkout-api-cpu-high", 5)),
        (
            "re-fire inside comment period (its slot seen taken here)",
            alarm("prod-checkout-api-cpu-high", 6),
        ),
        # A member comments on its incident's ticket with the incident's slot, counted first.
        (
            "a member's re-fire, the incident's ticket commented",
            alarm("prod-orders-api-cpu-high-2", 5),
        ),
        (
            "a member's re-fire inside the incident's period (seen taken here)",
            alarm("prod-orders-api-cpu-high-2", 6),
        ),
        ("OK, alert and ticket resolved", alarm("prod-checkout-api-cpu-high", 20, "OK")),
        ("ALARM again: ticket reopened", alarm("prod-checkout-api-cpu-high", 30)),
        ("OK without open alert", alarm("prod-search-cpu-high", 0, "OK")),
        # The orders incident's window is over: its key's item makes this one a new
        # incident that refers to it (the opening is refused with the item, then placed).
        ("new alarm, its key's incident past its window", alarm("prod-orders-api-cpu-high-3", 45)),
        ("malformed record", samples.sns_event("not json")),
    ]

    # CloudWatch's tag propagation: the alarm's tags in its notification, no tag call at
    # all — the cold container's first alarm included.
    def carried(name: str) -> dict[str, Any]:
        msg = samples.metric_alarm(name, t0)
        msg["AlarmTags"], msg["AlarmTagsStatus"] = {"team": "payments"}, "SUCCESS"
        return samples.sns_event(msg)

    propagated = [
        ("new alarm, tags in its notification (cold container)", carried("prod-cart-api-cpu-high")),
        ("new alarm, tags in its notification (warm container)", carried("prod-cart-db-cpu-high")),
    ]
    rows = []
    for tags, grouping in (
        ("true", "true"),
        ("false", "true"),
        ("true", "false"),
        ("carried", "true"),
    ):
        params = {"ReadAlarmTags": "true" if tags == "carried" else tags, "Correlation": grouping}
        with LocalStack(log_path=Path("/tmp/opslink-bench-lambda.log"), parameters=params) as stack:
            # moto resets boto3's default session when it starts: hook the one handlers will use.
            boto3.setup_default_session()
            assert boto3.DEFAULT_SESSION is not None
            boto3.DEFAULT_SESSION.events.register("before-call", counter)
            # Alarms exist (tagged, as teams tag them) before they first fire.
            for name in ("prod-checkout-api-cpu-high", "prod-orders-api-cpu-high-1",
                         "prod-orders-api-cpu-high-2", "prod-orders-api-cpu-high-3"):  # fmt: skip
                put_cloudwatch_alarm(name, "eu-west-1", "OK", {"team": "payments"})
            put_cloudwatch_alarm("prod-ledger-db-cpu-high", "eu-west-1", "OK", {})
            full = tags == "true" and grouping == "true"
            suffix = "" if full or tags == "carried" else (
                " (ReadAlarmTags=false)" if tags == "false" else " (Correlation=false)")  # fmt: skip
            todo = scenarios if grouping == "false" or full else scenarios[:5]
            for label, event in propagated if tags == "carried" else todo:
                counter.take()
                payload, error = stack.invoke("IngestFunction", event)
                outcome = (
                    payload["results"][0]["outcome"]
                    if isinstance(payload, dict) and not error
                    else error
                )
                rows.append(
                    (
                        f"{label}{suffix}",
                        outcome,
                        counter.take(),
                    )
                )
                stack.wait_for_executions()
    print(f"{'delivery':<76}{'outcome':<11}{'calls':>6}  by operation")
    for label, outcome, calls in rows:
        ops = ", ".join(
            f"{op} x{n}" if n > 1 else op for op, n in collections.Counter(calls).items()
        )
        print(f"{label:<76}{outcome!s:<11}{len(calls):>6}  {ops}")


if __name__ == "__main__":
    main()
