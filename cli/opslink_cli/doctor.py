"""`opslink doctor`: the integration checklist made executable.

Against a deployed stack (AWS APIs, read-only) or, with `--local`, against template.yaml as
the local stack deploys it, each check reports pass / warn / fail with its evidence and
the fix. Exit status 1 when any check fails (warnings do not fail), `--output json` for CI.

The checks read a `Deployment`: what the stack is (function settings, IAM roles, tables,
topics, queues, alarms), built either from AWS (`deployment.from_stack`) or from the
template (`deployment.from_template`), so both modes run the same checks."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from opslink.adapters.http_client import DEFAULT_TIMEOUT, require_tls
from opslink.errors import ConfigurationError, OpsLinkError
from opslink_cli.doctor_deployment import SECRET_VARIABLES, URL_VARIABLES, Deployment
from opslink_cli.doctor_members import member_regions, member_rows
from opslink_cli.iam_review import review
from opslink_cli.render import emit, style_from

SELF_ALARMS = (
    "IngestDeadLetterAlarm",
    "ScheduledRunsDeadLetterAlarm",
    "RemediationFailingAlarm",
    "IngestErrorsAlarm",
    "AutomationRateAlarm",
    "AutomationSuccessRateAlarm",
)
ASYNC_FUNCTIONS = ("IngestFunction", "TrackFunction", "MetricsFunction")


@dataclass
class Check:
    check: str
    status: str  # pass, warn, fail
    evidence: str
    fix: str = ""


def least_privilege(d: Deployment) -> Check:
    findings = review(d.roles, d.journal_table_arn)
    statements = sum(len(r.statements) for r in d.roles)
    if not d.roles:
        return Check("least-privilege", "fail", "no IAM roles found", "deploy template.yaml")
    if findings:
        return Check(
            "least-privilege",
            "fail",
            "; ".join(map(str, findings[:8])),
            "redeploy template.yaml of this version; remove the statements named",
        )
    return Check(
        "least-privilege",
        "pass",
        f"{len(d.roles)} roles, {statements} statements: no wildcard action, every "
        'Resource "*" allowlisted, secrets name-??????, Run Command on opted-in instances',
    )


def secrets(d: Deployment) -> list[Check]:
    names = sorted({v for f in d.functions.values() for k, v in f.env.items()
                    if k in SECRET_VARIABLES and v})  # fmt: skip
    if not names:
        return [Check("secrets", "pass", "no secrets configured (builtin tickets, no tokens)")]
    out = []
    for name in names:
        readable, rotation = d.secret_status(name)
        if not readable:
            out.append(Check(f"secret {name}", "fail", "not readable", "create it, or grant "
                             "secretsmanager:GetSecretValue to your operator role"))  # fmt: skip
        elif not rotation:
            out.append(Check(f"secret {name}", "warn", "readable; rotation not configured",
                             "aws secretsmanager rotate-secret (docs/SECURITY.md)"))  # fmt: skip
        else:
            out.append(Check(f"secret {name}", "pass", f"readable; {rotation}"))
    return out


def audit_trail(d: Deployment) -> Check:
    if not d.journal_table_arn or not d.table("JournalTable").exists:
        return Check("audit-trail", "fail", "no journal table", "deploy template.yaml")
    guarded = [f for f in review(d.roles, d.journal_table_arn) if "journal" in f.rule]
    if guarded:
        return Check("audit-trail", "fail", "; ".join(map(str, guarded)), "redeploy")
    pitr = d.table("JournalTable").point_in_time_recovery
    return Check(
        "audit-trail",
        "pass" if pitr else "warn",
        "journal table append-only for every function (UpdateItem/DeleteItem denied)"
        + ("; point-in-time recovery on" if pitr else "; point-in-time recovery OFF"),
        "" if pitr else "enable point-in-time recovery on the journal table",
    )


def encryption(d: Deployment) -> Check:
    weak = [f"table {n}" for n in ("AlertsTable", "TicketsTable", "JournalTable")
            if d.table(n).sse != "KMS"]  # fmt: skip
    weak += [f"topic {n}" for n, key in d.topic_keys.items() if not key]
    weak += [f"queue {n}" for n, key in d.queue_keys.items() if not key]
    if weak:
        return Check("encryption", "fail", "not encrypted with the stack's key: "
                     + ", ".join(weak), "redeploy template.yaml")  # fmt: skip
    return Check("encryption", "pass", f"3 tables, {len(d.topic_keys)} topics, "
                 f"{len(d.queue_keys)} queues under KMS")  # fmt: skip


def tls(d: Deployment) -> Check:
    urls = sorted({v for f in d.functions.values() for k, v in f.env.items()
                   if k in URL_VARIABLES and v})  # fmt: skip
    bad = []
    for url in urls:
        try:
            require_tls("integration", url)
        except ConfigurationError:
            bad.append(url)
    if bad:
        return Check("tls", "fail", "plain http: " + ", ".join(bad), "use https:// URLs")
    return Check("tls", "pass", f"{len(urls)} integration URL(s), all https (or this "
                 "machine); certificates always verified")  # fmt: skip


def retries_and_timeouts(d: Deployment) -> Check:
    problems = [f"{n}: timeout {f.timeout}s" for n, f in d.functions.items()
                if not f.timeout or f.timeout > 900]  # fmt: skip
    if d.ingest_retries is not None and d.ingest_retries < 1:
        problems.append("ingest: no retry of failed deliveries")
    connect, read = DEFAULT_TIMEOUT
    evidence = (f"function timeouts {sorted({f.timeout for f in d.functions.values()})} s; "
                f"ingest retries {d.ingest_retries}; HTTP: connect {connect} s, read {read} s, "
                "3 retries with backoff, Retry-After honoured")  # fmt: skip
    if problems:
        return Check("retries-timeouts", "fail", "; ".join(problems), "redeploy template.yaml")
    return Check("retries-timeouts", "pass", evidence)


def dead_letters_and_alarms(d: Deployment) -> list[Check]:
    no_dlq = [n for n in ASYNC_FUNCTIONS if n in d.functions and not d.functions[n].dlq]
    missing = [a for a in SELF_ALARMS if a not in d.alarms]
    return [
        Check("dead-letter-queues", "fail" if no_dlq else "pass",
              f"missing on {', '.join(no_dlq)}" if no_dlq else
              "ingest, track and metrics park what failed every retry",
              "redeploy template.yaml" if no_dlq else ""),
        Check("self-alarms", "fail" if missing else "pass",
              f"missing: {', '.join(missing)}" if missing else
              f"{len(SELF_ALARMS)} alarms to the operators' topic",
              "redeploy template.yaml" if missing else ""),
    ]  # fmt: skip


def webhook(d: Deployment) -> Check:
    if not d.webhook_url:
        return Check("webhook-secret", "pass", "no webhook endpoint (the sweep syncs tickets)")
    name = d.functions.get("TrackFunction", None)
    secret = name.env.get("WEBHOOK_SECRET_NAME", "") if name else ""
    if not secret or not d.secret_status(secret)[0]:
        return Check("webhook-secret", "fail", f"endpoint {d.webhook_url} without a readable "
                     "secret", "set WebhookSecretName to an existing secret")  # fmt: skip
    return Check("webhook-secret", "pass", f"endpoint signed with secret {secret}")


def job_completion(d: Deployment) -> Check:
    from opslink.config import job_ends_announced

    """Does a job's end wake its execution? Rundeck, AWX and the HTTP job API announce it
    only on the webhook URL: `on` without that URL leaves every wait to its safety poll
    at the runbook's timeout."""
    fn = d.functions.get("RemediateFunction")
    env = fn.env if fn else {}
    platform = env.get("JOB_PLATFORM", "ssm")
    mode = env.get("JOB_COMPLETION_EVENTS", "auto")
    on = job_ends_announced(platform, mode)
    if not on:
        return Check("job-completion", "warn" if platform in ("rundeck", "awx", "http") else "pass",
                     f"{platform}: jobs are polled on the schedule (JobCompletionEvents={mode})",
                     f"set up the notifications (opslink jobs notify-url {platform}) and "
                     "deploy with JobCompletionEvents=on" if platform in ("rundeck", "awx", "http")
                     else "")  # fmt: skip
    if platform in ("rundeck", "awx", "http") and not d.webhook_url:
        return Check("job-completion", "fail", f"JobCompletionEvents=on but no webhook URL: "
                     f"{platform} has nowhere to announce a job's end, every wait lasts until "
                     "the runbook's timeout", "set WebhookSecretName (the URL exists with it), "
                     f"then opslink jobs notify-url {platform}")  # fmt: skip
    how = "Run Command events (RunCommandEndRule)" if platform == "ssm" else (
        f"{platform} notifications on {d.webhook_url}/jobs/{platform}" if platform != "local"
        else "the emulator's watcher")  # fmt: skip
    return Check("job-completion", "pass", f"a job's end wakes its execution: {how}")


def catalog(path: Path) -> Check:
    from opslink.remediation.catalog import load_catalog

    try:
        runbooks = load_catalog(str(path))
    except ConfigurationError as exc:
        return Check("runbook-catalog", "fail", str(exc), "fix the runbook named")
    broken = []
    for rb in runbooks:
        res = subprocess.run(["bash", "-n", str(rb.script_path)], capture_output=True,  # noqa: S603,S607
                             text=True, check=False)  # fmt: skip
        if res.returncode:
            broken.append(f"{rb.script_path.name}: {res.stderr.strip()[:200]}")
    if broken:
        return Check("runbook-catalog", "fail", "; ".join(broken), "fix the script syntax")
    if not runbooks:
        return Check("runbook-catalog", "fail", "no runbooks: every alert would go to humans",
                     "point --catalog at a runbook folder (the project's: runbooks/)")  # fmt: skip
    return Check("runbook-catalog", "pass", f"{len(runbooks)} runbooks load; every script "
                 "passes bash -n")  # fmt: skip


def integrations(d: Deployment) -> list[Check]:
    out = []
    for label, probe in (("ticket-system", d.probe_tickets), ("job-platform", d.probe_jobs),
                         ("chat", d.probe_chat)):  # fmt: skip
        try:
            out.append(Check(label, "pass", probe()))
        except (OpsLinkError, OSError) as exc:
            out.append(Check(label, "fail", str(exc)[:300], "check the URL, the credentials "
                             "secret and the network path from your account"))  # fmt: skip
    return out


# The fold's checkpoint trails the clock by FOLD_LAG (45 min) plus up to an hour between
# runs; three missed runs on top of that mean the schedule is not running.
FOLD_STALE = timedelta(hours=4)


def kpi_fold(d: Deployment, now: datetime) -> Check:
    if not d.kpi_fold_scheduled:
        return Check("kpi-fold", "fail", "no hourly KPI fold on the track function: the "
                     "counters stop growing and every KPI read walks the journal",
                     "redeploy template.yaml (TrackFunction's KpiFold schedule)")  # fmt: skip
    if d.kpi_fold_through is None:
        return Check("kpi-fold", "pass", "the track function folds the journal into the KPI "
                     "counters every hour")  # fmt: skip
    through = d.kpi_fold_through()
    if through is None:
        return Check("kpi-fold", "warn", "the hourly fold has not run yet; figures are exact "
                     "(reads include the events not folded)", "wait for the hour, or invoke the "
                     "track function with {\"action\": \"fold_kpis\"}")  # fmt: skip
    behind = now - through
    minutes = int(behind.total_seconds() // 60)
    if behind > FOLD_STALE:
        return Check("kpi-fold", "fail", f"the KPI fold has counted up to {through.isoformat()} "
                     f"only ({minutes} min behind): its hourly runs are failing or not "
                     "scheduled; reads stay exact but walk more of the journal each hour",
                     "look at ScheduledRunsDeadLetterQueue and the track function's errors")  # fmt: skip
    return Check("kpi-fold", "pass", f"counted up to {through.isoformat()} ({minutes} min "
                 "behind: events settle 45 min before they are folded)")  # fmt: skip


def run_checks(d: Deployment, catalog_path: Path, probes: bool = True) -> list[Check]:
    steps: list[Callable[[], Check | list[Check]]] = [
        lambda: least_privilege(d),
        lambda: secrets(d),
        lambda: audit_trail(d),
        lambda: encryption(d),
        lambda: tls(d),
        lambda: retries_and_timeouts(d),
        lambda: dead_letters_and_alarms(d),
        lambda: webhook(d),
        lambda: job_completion(d),
        lambda: catalog(catalog_path),
        lambda: kpi_fold(d, datetime.now(UTC)),
        *([lambda: integrations(d)] if probes else []),
    ]
    checks: list[Check] = []
    for step in steps:
        got = step()
        checks += got if isinstance(got, list) else [got]
    return checks


def doctor_command(args: argparse.Namespace, out: TextIO) -> int:
    from opslink_cli import doctor_deployment

    root = Path(args.template).parent if args.template else doctor_deployment.repo_root()
    local = args.local
    d = doctor_deployment.from_template(root) if local else doctor_deployment.from_stack(args)
    checks = run_checks(d, Path(args.catalog or root / "runbooks"), probes=not args.no_probes)
    rows: list[dict[str, Any]] = [asdict(c) for c in checks]
    members = member_rows(d.probe_member, args.member_account or [], member_regions(args))
    rows += members
    emit(rows, style_from(args, out), out, ("check", "status", "evidence", "fix"), max_width=90)
    failed = [c for c in checks if c.status == "fail"] + [
        r for r in members if r["status"] == "fail"
    ]
    return 1 if failed else 0
