"""The `opslink` command: parse, dispatch, and turn every error into one line on stderr
with a documented exit status (0 success, 1 failure, 2 usage, 3 rejected input in
`local run`). No traceback reaches the user."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from opslink.errors import OpsLinkError
from opslink_cli import audit_commands, automation_commands, connection, operator
from opslink_cli.cli_args import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    build_parser,
    endpoint_url,
)
from opslink_cli.emulator.template import TemplateError
from opslink_cli.render import QueryError


def _environment_defaults(args: argparse.Namespace) -> None:
    """AWS_ENDPOINT_URL and AWS_REGION/AWS_DEFAULT_REGION as the AWS CLI reads them
    (AWS_PROFILE is read by the SDK itself)."""
    if getattr(args, "endpoint_url", None) is None and os.environ.get("AWS_ENDPOINT_URL"):
        try:
            args.endpoint_url = endpoint_url(os.environ["AWS_ENDPOINT_URL"])
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"AWS_ENDPOINT_URL: {exc}") from None
    if getattr(args, "query", None):
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            jmespath.compile(args.query)
        except JMESPathError as exc:
            raise QueryError(f"bad --query {args.query!r}: {exc}") from None
    if getattr(args, "region", None) is None:
        args.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _local(args: argparse.Namespace, out: TextIO) -> int:
    if args.local_command == "serve":
        from opslink_cli.local_serve import serve

        return serve(args, out)
    if args.local_command in ("publish", "sweep"):
        from opslink_cli.local_serve import publish, sweep

        return (publish if args.local_command == "publish" else sweep)(args, out)
    from opslink_cli.local_run import run_command

    return run_command(args, out)


def dispatch(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "demo":
        from opslink_cli.demo import run_demo

        return run_demo(out, keep=not getattr(args, "no_keep", False))
    if args.command == "local":
        return _local(args, out)
    if args.command == "doctor":
        from opslink_cli.doctor import doctor_command

        return doctor_command(args, out)
    if args.command == "runbooks" and args.runbooks_command == "run":
        from opslink_cli.runbook_commands import runbooks_run

        return runbooks_run(connection.connect(args), args, out)
    if args.command == "runbooks" and args.runbooks_command == "stats":
        from opslink_cli.runbook_commands import record_connection
        from opslink_cli.runbook_stats import runbooks_stats

        return runbooks_stats(record_connection(args), args, out)
    if args.command == "runbooks":
        from opslink_cli import runbook_commands

        handler = {"list": runbook_commands.runbooks_list,
                   "show": runbook_commands.runbooks_show}[args.runbooks_command]  # fmt: skip
        return handler(runbook_commands.record_connection(args), args, out)
    conn = connection.connect(args)
    if args.command == "jobs":
        if args.jobs_command == "notify-url":
            from opslink_cli.job_commands import notify_url

            return notify_url(conn, args, out)
        from opslink_cli.runbook_commands import jobs_output

        return jobs_output(conn, args, out)
    if args.command == "audit":
        return audit_commands.audit(conn, args, out)
    if args.command == "incidents":
        if args.incidents_command in ("list", "show", "split", "merge"):
            from opslink_cli.incident_commands import (
                incidents_correct,
                incidents_list,
                incidents_show,
            )

            if args.incidents_command == "list":
                return incidents_list(conn, args, out)
            if args.incidents_command == "show":
                return incidents_show(conn, args, out)
            return incidents_correct(conn, args, out)
        from opslink_cli.incident_replay import incidents_replay

        return incidents_replay(conn, args, out)
    if args.command == "report":
        from opslink_cli.kpi_report import report_command

        return report_command(conn, args, out)
    if args.command == "alerts":
        from opslink_cli.alert_commands import alerts_act

        handler = {"list": operator.alerts_list, "show": operator.alerts_show}.get(
            args.alerts_command, alerts_act
        )
    elif args.command == "faults":
        handler = {
            "list": automation_commands.faults_list,
            "show": automation_commands.faults_show,
        }[args.faults_command]
    elif args.command == "dlq":
        from opslink_cli import dlq

        handler = {"list": dlq.dlq_list, "redrive": dlq.dlq_redrive}[args.dlq_command]
    elif args.command == "automation":
        handler = {
            "status": automation_commands.automation_status,
            "pause": automation_commands.automation_pause,
            "resume": automation_commands.automation_resume,
            "maintenance": automation_commands.automation_maintenance,
            "mode": automation_commands.automation_mode,
        }[args.automation_command]
    elif args.command == "executions":
        handler = {
            "list": operator.executions_list,
            "show": operator.executions_show,
            "approve": operator.executions_approve,
            "reject": operator.executions_reject,
        }[args.executions_command]
    else:
        handler = {
            "list": operator.tickets_list,
            "show": operator.tickets_show,
            "comment": operator.tickets_comment,
            "close": operator.tickets_close,
        }[args.tickets_command]
    return handler(conn, args, out)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _environment_defaults(args)
        return dispatch(args, sys.stdout)
    except (UsageError, TemplateError, QueryError) as exc:
        print(f"opslink: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except connection.OperatorError as exc:
        print(f"opslink: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except (OpsLinkError, ClientError, BotoCoreError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            return _closed_pipe()
        print(f"opslink: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line for the user, the trace in a file
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    import tempfile
    import traceback

    path = os.path.join(tempfile.gettempdir(), "opslink-last-error.txt")
    with contextlib.suppress(OSError), open(path, "w", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    print(
        f"opslink: internal error: {type(exc).__name__}: {_one_line(exc)} (details in {path})",
        file=sys.stderr,
    )
    return EXIT_FAILURE


def _closed_pipe() -> int:
    """The reader went away (`opslink … | head`): stop quietly, as the AWS CLI does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # fd 1: sys.stdout may be a wrapper (the emulator routes logs)
    return EXIT_OK


def entry() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _closed_pipe()
    sys.exit(code)


if __name__ == "__main__":
    entry()
