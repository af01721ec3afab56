"""Safety figures: does unattended automation touch exactly what it should?

    .venv/bin/python bench/safety.py

On the local emulator (the real state machine, ingest and remediation functions, the
local job platform, moto's EC2 / Auto Scaling / CloudWatch):
1. blast radius: alarms on an Auto Scaling group, an instance and a service tag; for
   each run, the hosts its jobs were launched on (the local platform's job records)
   against the hosts intended (read independently from moto: the group's InService
   instances, the tagged instances, the instance; one host for a `pick: one` runbook).
   Must be equal; a run refused (more hosts than max_targets) must touch none.
2. provenance: forged or unverifiable messages (another account, an alarm that never
   existed, an ARN that is not CloudWatch's, an alarm already OK) published to the alarm
   topic; jobs (diagnostics included) launched for them. Must be 0.
In-process:
3. secrets: the secret-shape corpus (tests/unit/secret_corpus.py) printed by a job, through the hand-over and every ticket
   markup; shapes that survive. Must be 0.
4. markup: hostile alarm text and job output rendered for every ticket system; live
   mentions, images, links or injected headings outside literal regions. Must be 0.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.secret_corpus import SHAPES  # noqa: E402

from opslink.inert import regions, render  # noqa: E402
from opslink.outcome_texts import HandOverFacts, handover_note  # noqa: E402
from opslink.scrub import scrub  # noqa: E402
from opslink_cli import samples  # noqa: E402
from opslink_cli.emulator import LocalStack, put_cloudwatch_alarm  # noqa: E402


def _jobs(local: LocalStack) -> list[dict[str, Any]]:
    jobs = Path(local.state_dir or "") / "jobs"
    return [json.loads((d / "job.json").read_text()) for d in jobs.iterdir()]


def _hosts_of(local: LocalStack, alert_id: str) -> set[str]:
    store = local.alert_store()
    return {h for j in store.launched_jobs(alert_id) for h in j.targets.get("InstanceId", [])}


def blast_radius(local: LocalStack) -> list[tuple[str, str, int, int, bool]]:
    """(alarm, runbook, intended, touched, equal) per run."""
    put_cloudwatch_alarm("prod-checkout-api-cpu-high", samples.REGION)
    put_cloudwatch_alarm("prod-search-memory-high", samples.REGION)
    put_cloudwatch_alarm("prod-search-health-fail", samples.REGION)
    cases = [
        (
            "prod-checkout-api-cpu-high",
            {"AutoScalingGroupName": "checkout-api-asg"},
            "CPUUtilization",
        ),
        ("prod-search-memory-high", {"InstanceId": "i-0123456789abcdef0"}, "mem_used_percent"),
        ("prod-search-health-fail", {}, "HealthCheckStatus"),
    ]
    for name, dims, metric in cases:
        local.publish_alarm(samples.metric_alarm(name, samples.T0, metric=metric, dimensions=dims))
    local.wait_for_executions(timeout=180, settle=True)
    asg = local.client("autoscaling")
    ec2 = local.client("ec2")
    rows = []
    store = local.alert_store()
    for alert in store.list_alerts():
        dims = alert.dimensions
        if dims.get("InstanceId"):
            fleet = [dims["InstanceId"]]
        elif dims.get("AutoScalingGroupName"):
            groups = asg.describe_auto_scaling_groups(
                AutoScalingGroupNames=[dims["AutoScalingGroupName"]]
            )["AutoScalingGroups"]
            fleet = [
                i["InstanceId"]
                for g in groups
                for i in g["Instances"]
                if i["LifecycleState"] == "InService"
            ]
        else:
            out = ec2.describe_instances(
                Filters=[{"Name": "tag:Service", "Values": [alert.service]},
                         {"Name": "instance-state-name", "Values": ["running"]}]
            )  # fmt: skip
            fleet = [i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]]
        for job in store.launched_jobs(alert.alert_id):
            runbook = job.runbook
            spec = next(r for r in _catalog() if r.name == runbook).spec
            intended = sorted(fleet)[:1] if spec.targets.pick == "one" else sorted(fleet)
            if len(intended) > spec.max_targets:
                intended = []  # refused: nothing may be touched
            touched = sorted(
                {h for j in store.launched_jobs(alert.alert_id) if j.runbook == runbook
                 for h in j.targets.get("InstanceId", [])}
            )  # fmt: skip
            rows.append(
                (alert.alarm_name, runbook, len(intended), len(touched), touched == intended)
            )
    return sorted(set(rows))


def _catalog() -> Any:
    from opslink.remediation.catalog import load_catalog

    return load_catalog(str(ROOT / "runbooks"))


def provenance(local: LocalStack) -> list[tuple[str, int]]:
    """(case, jobs launched for it, diagnostics included)."""
    put_cloudwatch_alarm("prod-search-cpu-recovered", samples.REGION, state="OK")
    dims = {"InstanceId": "i-0fedcba9876543210"}
    other = samples.metric_alarm("prod-search-cpu-other-account", samples.T0, dimensions=dims)
    other["AWSAccountId"] = "999999999999"
    other["AlarmArn"] = other["AlarmArn"].replace(samples.ACCOUNT, "999999999999")
    ghost = samples.metric_alarm("prod-search-cpu-never-existed", samples.T0, dimensions=dims)
    put_cloudwatch_alarm("prod-search-cpu-arn", samples.REGION)
    wrong_arn = samples.metric_alarm("prod-search-cpu-arn", samples.T0, dimensions=dims)
    wrong_arn["AlarmArn"] = wrong_arn["AlarmArn"].replace("eu-west-1", "ap-south-1")
    recovered = samples.metric_alarm("prod-search-cpu-recovered", samples.T0, dimensions=dims)
    cases = {
        "another account": other,
        "alarm never existed": ghost,
        "ARN not CloudWatch's": wrong_arn,
        "alarm already OK": recovered,
    }
    for message in cases.values():
        local.publish_alarm(message)
    local.wait_for_executions(timeout=120, settle=True)
    store = local.alert_store()
    out = []
    for case, message in cases.items():
        [alert] = [a for a in store.list_alerts() if a.alarm_name == message["AlarmName"]]
        events = store.journal.events([], alert_id=alert.alert_id)
        ran = [e for e in events if e.get("kind") in ("job_launched", "diagnostic_started")]
        out.append((case, len(ran) + len(store.launched_jobs(alert.alert_id))))
    return out


def secrets() -> tuple[int, int]:
    output = "\n".join(text for _, text, _ in SHAPES)
    facts = HandOverFacts("A-1", "checkout", "production", "prod-x", "eu-west-1",
                          "restart_service", "local 1", "T-1")  # fmt: skip
    # As the hand-over composes it (remediation/outcome.py): the job's output and the
    # detail scrubbed before they are cut to their excerpts, the note scrubbed again as
    # every ticket write is.
    shown = scrub(output)
    note = scrub(handover_note(facts, "the job failed", shown, shown, shown, None))
    rendered = [render(m, note) for m in ("markdown", "plain", "wiki", "textile")]
    leaked = sum(1 for _, _, secret in SHAPES if any(secret in r for r in rendered))
    return leaked, len(SHAPES)


HOSTILE = {
    "mention": "@acme/security-team",
    "image": "![x](https://track.example/i.png)",
    "html image": "<img src=https://track.example/p.gif>",
    "link": "[Reset your SSO password](https://sso.example.evil/reset)",
    "heading after a fence": "```\n## Approved by @acme/sre-leads",
}


# What would render live, per markup: a mention that pings, a URL that links or loads,
# HTML, an injected heading.
_URLS = ("https://track.example", "https://sso.example.evil")
LIVE = {
    "markdown": ("@acme", *_URLS, "<img", "## Approved"),
    "plain": ("@acme", *_URLS, "[code]"),  # shown as text, but linkified and @-parsed
    "wiki": ("@acme", *_URLS, "{html}", "!https"),
    "textile": ("@acme", *_URLS, "<img"),
}


def _live(markup_name: str, out: str) -> str:
    """The part of a rendered document the ticket system interprets (literal blocks
    and spans removed)."""
    import re

    if markup_name == "markdown":
        return "".join(c for k, c in regions(out) if k == "text")
    if markup_name == "wiki":
        out = re.sub(r"\{noformat\}.*?\{noformat\}", "", out, flags=re.S)
        return re.sub(r"\{\{.*?\}\}", "", out)
    if markup_name == "textile":
        out = re.sub(r"<pre>.*?</pre>", "", out, flags=re.S)
        return re.sub(r"<code>.*?</code>", "", out)
    return out


def markup() -> tuple[int, int]:
    from opslink.alarm_parsing import parse_sns_message
    from opslink.models import Enrichment, Severity
    from opslink.ticket_policy import draft_ticket

    live = total = 0
    for label, text in HOSTILE.items():
        message = samples.metric_alarm("prod-x", samples.T0, description=text)
        message["NewStateReason"] = text
        alarm = parse_sns_message(json.dumps(message), samples.TOPIC)
        enr = Enrichment(service="checkout", team="payments", environment="production",
                         alert_type="cpu_usage", severity=Severity.HIGH)  # fmt: skip
        facts = HandOverFacts("A-1", "checkout", "production", "prod-x", "eu-west-1",
                              "restart_service", "local 1", "T-1")  # fmt: skip
        doc = draft_ticket(alarm, enr, "A-1", None).description + handover_note(
            facts, "failed", "", text, "", None
        )
        for markup_name in ("markdown", "plain", "wiki", "textile"):
            total += 1
            out = render(markup_name, scrub(doc))
            active = any(p in _live(markup_name, out) for p in LIVE[markup_name])
            if active:
                live += 1
                print(f"  ACTIVE: {label} in {markup_name}")
    return live, total


def main() -> None:
    started = time.monotonic()
    with LocalStack(log_path=ROOT / ".opslink" / "bench-safety.log") as local:
        rows = blast_radius(local)
        forged = provenance(local)
    print("1. hosts touched per runbook run vs intended")
    for alarm, runbook, intended, touched, equal in rows:
        print(f"  {alarm:34} {runbook:16} intended {intended}  touched {touched}  "
              f"{'equal' if equal else 'DIFFERENT'}")  # fmt: skip
    print(f"  runs: {len(rows)}, equal: {sum(r[4] for r in rows)}")
    print("2. forged or unverifiable messages that launched a job (diagnostics included)")
    for case, jobs in forged:
        print(f"  {case:24} jobs {jobs}")
    print(f"  total: {sum(j for _, j in forged)} (must be 0)")
    leaked, shapes = secrets()
    print(f"3. planted secret shapes that reached any output: {leaked} of {shapes}")
    live, renders = markup()
    print(f"4. hostile markup rendered active: {live} of {renders} renders")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
