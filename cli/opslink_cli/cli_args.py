"""The `opslink` command line: subcommands and options, as the AWS CLI's users expect.

Global options (`--endpoint-url`, `--profile`, `--region`, `--output`, `--query`,
`--no-truncate`, `--color`, `--stack-name` …) are accepted before or after the
subcommand; `AWS_ENDPOINT_URL`, `AWS_PROFILE` and `AWS_REGION`/`AWS_DEFAULT_REGION` are
honoured as the AWS CLI does. Every usage error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlparse

from opslink.journal import EventKind

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3
OUTPUTS = ("table", "json", "text", "yaml")


DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "runbooks"


class UsageError(Exception):
    """Bad input on the command line: exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"opslink: error: {message} (see `{self.prog} --help`)\n")
        sys.exit(EXIT_USAGE)


# Days a command can be asked about: alarms before 2000 are refused at ingest, and a
# period's arithmetic (the previous period, a window) stays within what dates can hold.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def iso_day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{text} is outside {FIRST_DAY} to {LAST_DAY}")
    return day


def account_id(text: str) -> str:
    if not (len(text) == 12 and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a 12-digit AWS account id")
    return text


def region_name(text: str) -> str:
    from opslink.config import region_set

    try:
        return next(iter(region_set(text)))
    except (ValueError, StopIteration):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region name") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


MAX_DAYS = 3650  # ten years: past any journal a deployment keeps, and dates stay in range


def day_count(text: str) -> int:
    """--days: a whole number of days, 1 to MAX_DAYS."""
    value = positive_int(text)
    if value > MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be {MAX_DAYS} (ten years) or fewer, not {value}")
    return value


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range (1-65535)")
    return value


def endpoint_url(text: str) -> str:
    parsed = urlparse(text)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in ("http", "https") or not parsed.hostname or port == -1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an endpoint URL (e.g. http://127.0.0.1:5055)"
        )
    return text.rstrip("/")


def caller() -> str:
    """The local user, for --by and --author defaults when no AWS identity applies."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "operator"


def cli_version() -> str:
    try:
        return version("opslink")
    except PackageNotFoundError:
        return "unknown"


def _global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Defaults live on the top-level parser only: a subcommand's copy of an option
    (default SUPPRESS) overrides it when given and leaves it alone when not."""

    def d(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    g = parser.add_argument_group("global options (as the AWS CLI; before or after the command)")
    g.add_argument(
        "--endpoint-url",
        type=endpoint_url,
        default=d(None),  # AWS_ENDPOINT_URL is read (and checked) after parsing
        help="e.g. http://127.0.0.1:5055 for `opslink local serve` (env AWS_ENDPOINT_URL)",
    )
    g.add_argument("--profile", default=d(None), help="AWS named profile (env AWS_PROFILE)")
    g.add_argument("--region", default=d(None), help="AWS region (env AWS_REGION)")
    g.add_argument("--output", choices=OUTPUTS, default=d("table"), help="output format")
    g.add_argument("--query", default=d(None), help="JMESPath query applied to the result")
    g.add_argument(
        "--no-truncate",
        "--wide",
        dest="no_truncate",
        action="store_true",
        default=d(False),
        help="show table cells in full",
    )
    g.add_argument(
        "--color",
        choices=("auto", "on", "off"),
        default=d("auto"),
        help="colour in tables (auto: only on a terminal, never with NO_COLOR)",
    )
    g.add_argument(
        "--stack-name", default=d("opslink"), help="the deployed stack (default: opslink)"
    )
    g.add_argument("--alerts-table", default=d(None), help="override the alerts table name")
    g.add_argument("--tickets-table", default=d(None), help="override the tickets table name")
    g.add_argument(
        "--journal-table", default=d(None), help="override the journal (audit trail) table name"
    )


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="opslink",
        description="OpsLink: CloudWatch alarms to tickets and remediation.",
        epilog="Exit status: 0 success, 1 failure (including anything not found), "
        "2 usage error, 3 `local run` with rejected records or unreadable files.",
    )
    p.add_argument("--version", action="version", version=f"opslink {cli_version()}")
    _global_options(p, top=True)
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(parent: Any, name: str, **kw: Any) -> argparse.ArgumentParser:
        cmd: argparse.ArgumentParser = parent.add_parser(name, **kw)
        _global_options(cmd, top=False)
        return cmd

    class _Sub:
        """Command groups take the global options too (`alerts --region R list`)."""

        def add_parser(self, name: str, **kw: Any) -> argparse.ArgumentParser:
            return command(sub, name, **kw)

    groups = _Sub()

    demo = command(
        sub, "demo", help="run OpsLink end to end on the local emulator and print a summary"
    )
    demo.add_argument(
        "--no-keep",
        action="store_true",
        help="do not keep the demo's state in .opslink/demo-state (kept by default; reopen "
        "it with `opslink local serve --state .opslink/demo-state`)",
    )

    local = groups.add_parser("local", help="the local emulator").add_subparsers(
        dest="local_command", required=True, parser_class=Parser
    )
    run = command(local, "run", help="invoke ingest with Lambda event files on a fresh stack")
    run.add_argument("events", nargs="+", type=Path, metavar="EVENT.json")
    run.add_argument("--json", action="store_true", help="one JSON object per record and line")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    serve = command(local, "serve", help="serve a local stack on 127.0.0.1 until interrupted")
    serve.add_argument("--port", type=port_number, default=5055)
    serve.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (0.0.0.0 for `sam local` containers; default 127.0.0.1)",
    )
    serve.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="reopen a kept state (the demo's: .opslink/demo-state)",
    )
    for cmd in (run, serve):
        cmd.add_argument(
            "--param", action="append", default=[], metavar="NAME=VALUE", help="template parameter"
        )
    publish = command(
        local, "publish", help="publish alarm events to a running `local serve` (no AWS CLI needed)"
    )
    publish.add_argument("events", nargs="+", type=Path, metavar="EVENT.json")
    publish.add_argument("--topic-arn", help="default: the local stack's alarm topic")
    sweep = command(local, "sweep", help="run the track sweep of a running `local serve` now")
    sweep.add_argument("--function", default="TrackFunction", help=argparse.SUPPRESS)

    alerts = groups.add_parser("alerts", help="OpsLink alerts").add_subparsers(
        dest="alerts_command", required=True, parser_class=Parser
    )
    a_list = command(alerts, "list")
    a_list.add_argument("--status", choices=("open", "resolved"))
    a_list.add_argument("--limit", type=positive_int, default=50)
    a_show = command(alerts, "show")
    a_show.add_argument("alert_id")
    a_ack = command(alerts, "ack", help="someone is on it: the ticket goes in progress")
    a_assign = command(alerts, "assign", help="give the alert's ticket to someone")
    a_snooze = command(alerts, "snooze", help="no reminders until a time (at most 7 days)")
    for cmd in (a_ack, a_assign, a_snooze):
        cmd.add_argument("alert_id")
        cmd.add_argument("--reason", default="", help="why (on the ticket and in the audit)")
        cmd.add_argument("--by", help="who (default: your identity)")
    a_assign.add_argument("assignee", help="as the ticket system knows them (login, e-mail, id)")
    until = a_snooze.add_mutually_exclusive_group(required=True)
    until.add_argument("--hours", type=float, help="for this many hours from now")
    until.add_argument("--until", type=_aware_time, help="until this time (ISO 8601 with zone)")

    tickets = groups.add_parser(
        "tickets", help="tickets of the builtin ticket system"
    ).add_subparsers(dest="tickets_command", required=True, parser_class=Parser)
    t_list = command(tickets, "list")
    t_list.add_argument("--limit", type=positive_int, default=50)
    t_list.add_argument(
        "--status", choices=("open", "in_progress", "pending", "resolved", "closed")
    )
    t_list.add_argument("--service")
    t_list.add_argument("--priority", choices=("Critical", "High", "Medium", "Low"))
    t_list.add_argument("--overdue", action="store_true", help="only unresolved tickets past due")
    t_show = command(tickets, "show")
    t_show.add_argument("ticket_id")
    t_comment = command(tickets, "comment")
    t_comment.add_argument("ticket_id")
    t_comment.add_argument("text")
    t_comment.add_argument("--author", help="recorded author (default: your identity)")
    t_close = command(tickets, "close")
    t_close.add_argument("ticket_id")
    t_close.add_argument("--note", help="closing comment")
    t_close.add_argument("--by", help="who closes it (default: your identity)")

    report = command(
        sub,
        "report",
        help="automation KPIs vs the previous period, quality findings, trend charts (PNG + HTML)",
    )
    period = report.add_mutually_exclusive_group()
    period.add_argument("--days", type=day_count, default=None, help="the last N days (default 7)")
    period.add_argument("--from", dest="date_from", type=iso_day, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", type=iso_day, help="last day (default today)")
    report.add_argument("--service", help="one service's KPIs and trends")
    report.add_argument("--lang", choices=("en", "zh"), default="en", help="labels")
    report.add_argument(
        "--out", default="opslink-report", help="folder for report.html and the PNGs"
    )

    incidents = groups.add_parser(
        "incidents", help="alert correlation: what grouping makes of the alerts"
    ).add_subparsers(dest="incidents_command", required=True, parser_class=Parser)
    replay = command(
        incidents,
        "replay",
        help="replay the stack's recent alerts through the correlation rules: the incidents "
        "they would make and why each alert joins (changes nothing)",
    )
    replay.add_argument("--days", type=day_count, default=7, help="the last N days (default 7)")
    replay.add_argument("--rules", help="correlation rules file (default: the shipped built-ins)")
    replay.add_argument(
        "--service-map", help="service map with depends_on (default: the shipped one)"
    )
    replay.add_argument("--decisions", action="store_true", help="one row per alert, with why")
    i_list = command(
        incidents,
        "list",
        help="the incidents of the newest alerts, open ones first: alerts, how many still "
        "fire, ticket",
    )
    i_list.add_argument("--status", choices=("open", "resolved"))
    i_list.add_argument("--limit", type=positive_int, default=20, help="incidents shown")
    i_list.add_argument(
        "--alerts", type=positive_int, default=200, help="newest alerts looked at (default 200)"
    )
    show = command(
        incidents,
        "show",
        help="one incident: its ticket, its alerts (which still fire) and why each joined",
    )
    show.add_argument(
        "incident_id", help="an incident id (INC-...), or the id of one of its alerts"
    )
    split = command(
        incidents,
        "split",
        help="take an alert out of its incident: a ticket of its own (a grouping correction)",
    )
    split.add_argument("alert_id", help="the alert to split out (one that joined an incident)")
    merge = command(
        incidents,
        "merge",
        help="move one incident's open alerts onto another's ticket and resolve the first "
        "(a grouping correction)",
    )
    merge.add_argument("source", help="the incident merged away (INC-..., or one of its alerts)")
    merge.add_argument("into", help="the incident that stays (INC-..., or one of its alerts)")
    for cmd in (split, merge):
        cmd.add_argument("--by", help="who decides (default: your identity)")
        cmd.add_argument("--reason", default="", help="why (on the tickets and in the audit)")
    audit = command(sub, "audit", help="the audit trail: who did what, when, why, on which alert")
    audit.add_argument("--alert", help="one alert's history")
    audit.add_argument("--since", type=iso_day, help="from this day (YYYY-MM-DD)")
    audit.add_argument("--days", type=day_count, default=7, help="the last N days (default 7)")
    audit.add_argument(
        "--action",
        action="append",
        choices=[k.value for k in EventKind],
        help="only these kinds (repeatable)",
    )
    audit.add_argument(
        "--verify",
        action="store_true",
        help="check the hash chains of the alerts in scope: exit 1 on a changed, removed or "
        "inserted record",
    )

    doctor = command(
        sub,
        "doctor",
        help="check a deployment (or --local, the template) against the security and integration checklist",
    )
    doctor.add_argument(
        "--local", action="store_true", help="review template.yaml as the local stack deploys it"
    )
    doctor.add_argument("--catalog", help="runbook catalog to check (default: runbooks/)")
    doctor.add_argument(
        "--template", help="template.yaml to use with --local (default: the repository's)"
    )
    doctor.add_argument(
        "--no-probes", action="store_true", help="do not call the ticket system or job platform"
    )
    doctor.add_argument(
        "--member-account",
        action="append",
        type=account_id,
        metavar="ID",
        help="also check that the stack can act in this member account (repeatable)",
    )
    doctor.add_argument(
        "--member-region",
        action="append",
        type=region_name,
        metavar="REGION",
        help="regions of the member accounts to check (repeatable; default: --region)",
    )

    faults = groups.add_parser(
        "faults", help="integration faults: what failed, impact, actions, recovery plan"
    ).add_subparsers(dest="faults_command", required=True, parser_class=Parser)
    f_list = command(faults, "list")
    f_list.add_argument("--state", choices=("open", "recovered"))
    f_list.add_argument("--limit", type=positive_int, default=50)
    f_show = command(faults, "show")
    f_show.add_argument("fault_id")

    dlq = groups.add_parser(
        "dlq", help="deliveries parked in the ingest dead-letter queue"
    ).add_subparsers(dest="dlq_command", required=True, parser_class=Parser)
    command(dlq, "list", help="show parked deliveries (without consuming them)")
    redrive = command(dlq, "redrive", help="invoke ingest with parked deliveries again")
    redrive.add_argument("message_ids", nargs="*", metavar="MESSAGE_ID", help="default: all")

    automation = groups.add_parser(
        "automation", help="the kill switch and maintenance windows (an SSM parameter)"
    ).add_subparsers(dest="automation_command", required=True, parser_class=Parser)
    au_status = command(automation, "status", help="is automation running, and why not")
    au_pause = command(automation, "pause", help="stop all automated remediation now")
    au_pause.add_argument("--reason", required=True)
    au_resume = command(automation, "resume", help="let automation run again")
    au_window = command(automation, "maintenance", help="suppress automation for a service")
    au_window.add_argument("service", help="service name, or * for all")
    au_window.add_argument("--hours", type=positive_int, default=2)
    au_window.add_argument("--reason", default="")
    au_mode = command(automation, "mode", help="set a runbook's autonomy (recorded)")
    au_mode.add_argument("runbook")
    au_mode.add_argument("mode", choices=("shadow", "approval", "auto", "catalog"))
    au_mode.add_argument("--reason", default="")
    au_mode.add_argument(
        "--catalog",
        default=str(DEFAULT_CATALOG),
        help="the runbook catalog the names and ceilings come from (default: runbooks/)",
    )
    for cmd in (au_status, au_pause, au_resume, au_window, au_mode):
        cmd.add_argument("--parameter", default="/opslink/automation-control")
    for cmd in (au_pause, au_resume, au_window, au_mode):
        cmd.add_argument("--by", help="who (default: your identity)")

    runbooks = groups.add_parser(
        "runbooks", help="the runbook catalog and each runbook's record"
    ).add_subparsers(dest="runbooks_command", required=True, parser_class=Parser)
    for rb_cmd in (command(runbooks, "list"), command(runbooks, "show")):
        rb_cmd.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG,
                            help="the runbook folder (default: the project's runbooks/)")  # fmt: skip
    runbooks.choices["show"].add_argument("name")
    rb_stats = command(
        runbooks,
        "stats",
        help="what selection believes of each candidate for one context, and why the "
        "top one leads (record, prior, detected breaks)",
    )
    rb_stats.add_argument("--alert-type", required=True, help="e.g. cpu_usage")
    rb_stats.add_argument("--service", required=True)
    rb_stats.add_argument("--environment", default="production")
    rb_stats.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG,
                          help="the runbook folder (default: the project's runbooks/)")  # fmt: skip
    rb_run = command(
        runbooks,
        "run",
        help="run a runbook for an open alert now, with the "
        "checks, targets, approval, budget and audit of an automated run",
    )
    rb_run.add_argument("name", help="the runbook (opslink runbooks list)")
    rb_run.add_argument("--alert", required=True, help="the open alert it runs for")
    rb_run.add_argument(
        "--dry-run", action="store_true", help="print exactly what would run where; change nothing"
    )
    rb_run.add_argument("--reason", default="", help="why (on the ticket and in the audit)")
    rb_run.add_argument("--by", help="who asks (default: your identity)")
    jobs = groups.add_parser("jobs", help="remediation jobs on their platform").add_subparsers(
        dest="jobs_command", required=True, parser_class=Parser
    )
    command(jobs, "output", help="a remediation's job output (stdout, stderr)").add_argument(
        "name", help="the execution name (opslink executions list)"
    )
    j_notify = command(
        jobs, "notify-url", help="where Rundeck, AWX or a job API announce a job's end"
    )
    j_notify.add_argument("platform", choices=["rundeck", "awx", "http"])
    j_notify.add_argument(
        "--webhook-secret",
        required=True,
        help="the WebhookSecretName the stack was deployed with (the token derives from it)",
    )

    executions = groups.add_parser("executions", help="remediation executions").add_subparsers(
        dest="executions_command", required=True, parser_class=Parser
    )
    e_list = command(executions, "list")
    e_list.add_argument("--limit", type=positive_int, default=50)
    e_show = command(executions, "show", help="a readable timeline from the execution history")
    e_show.add_argument("name", help="execution name (remediate-<alert id>) or ARN")
    e_approve = command(executions, "approve", help="let a risk-approval runbook run")
    e_approve.add_argument("name", help="execution name (remediate-<alert id>)")
    e_reject = command(executions, "reject", help="refuse a risk-approval runbook")
    e_reject.add_argument("name", help="execution name (remediate-<alert id>)")
    e_reject.add_argument("--reason", default="not now")
    for cmd in (e_approve, e_reject):
        cmd.add_argument("--by", help="who decides (default: your identity)")
    return p


def _aware_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no zone (add Z or +01:00)")
    return value


def parse_params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param takes NAME=VALUE, not {pair!r}")
        out[name] = value
    return out
