"""The `opslink` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from opslink.errors import OpsLinkError
from opslink_cli import operator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="opslink", description="OpsLink: CloudWatch alarms to tickets and remediation."
    )
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("demo", help="run OpsLink end to end on the local emulator and print a summary")

    local = sub.add_parser("local", help="the local emulator").add_subparsers(
        dest="local_command", required=True
    )
    run = local.add_parser(
        "run", help="invoke ingest with Lambda event files on a fresh local stack"
    )
    run.add_argument("events", nargs="+", type=Path, metavar="EVENT.json")
    run.add_argument("--json", action="store_true", help="one JSON object per record and line")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override",
    )
    serve = local.add_parser("serve", help="serve a local stack on 127.0.0.1 until interrupted")
    serve.add_argument("--port", type=int, default=5055)
    serve.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")

    alerts = sub.add_parser("alerts", help="OpsLink alerts").add_subparsers(
        dest="alerts_command", required=True
    )
    a_list = alerts.add_parser("list")
    a_list.add_argument("--status", choices=("open", "resolved"))
    a_list.add_argument("--limit", type=int, default=50)
    a_show = alerts.add_parser("show")
    a_show.add_argument("alert_id")
    for parser in (a_list, a_show):
        operator.add_connection_options(parser)

    tickets = sub.add_parser("tickets", help="tickets of the builtin ticket system").add_subparsers(
        dest="tickets_command", required=True
    )
    t_list = tickets.add_parser("list")
    t_list.add_argument("--limit", type=int, default=50)
    t_show = tickets.add_parser("show")
    t_show.add_argument("ticket_id")
    t_comment = tickets.add_parser("comment")
    t_comment.add_argument("ticket_id")
    t_comment.add_argument("text")
    t_comment.add_argument("--author", default="operator")
    t_close = tickets.add_parser("close")
    t_close.add_argument("ticket_id")
    t_close.add_argument("--note", help="closing comment")
    for parser in (t_list, t_show, t_comment, t_close):
        operator.add_connection_options(parser)

    executions = sub.add_parser("executions", help="remediation executions").add_subparsers(
        dest="executions_command", required=True
    )
    e_list = executions.add_parser("list")
    e_list.add_argument("--limit", type=int, default=50)
    e_show = executions.add_parser("show", help="a readable timeline from the execution history")
    e_show.add_argument("name", help="execution name (remediate-<alert id>) or ARN")
    e_approve = executions.add_parser("approve", help="let a risk-approval runbook run")
    e_approve.add_argument("name", help="execution name (remediate-<alert id>)")
    e_reject = executions.add_parser("reject", help="refuse a risk-approval runbook")
    e_reject.add_argument("name", help="execution name (remediate-<alert id>)")
    e_reject.add_argument("--reason", default="not now")
    for parser in (e_approve, e_reject):
        parser.add_argument(
            "--by", default=os.environ.get("USER", "operator"), help="who decides (recorded)"
        )
    for parser in (e_list, e_show, e_approve, e_reject):
        operator.add_connection_options(parser)
    return p


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise operator.OperatorError(f"--param takes NAME=VALUE, not {pair!r}")
        out[name] = value
    return out


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    import logging
    import os

    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    from opslink_cli.local_stack import LocalStack

    default_user_config["stepfunctions"] = {"execute_state_machine": True}  # run the real ASL
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log on the terminal
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port)
    server.start()
    url = f"http://127.0.0.1:{args.port}"
    os.environ["MOTO_PORT"] = str(args.port)  # Step Functions calls Lambda back on it
    os.environ["AWS_ENDPOINT_URL"] = url  # in-process handlers talk to the server
    stack = LocalStack(endpoint_url=url, parameters=_params(args.param))
    stack.start()
    out.write(
        f"OpsLink local stack on {url}\n"
        f"  alarm topic:   {stack.arns['AlarmTopic']}\n"
        f"  state machine: {stack.arns['RemediationStateMachine']}\n"
        f"Try: opslink alerts list --endpoint-url {url}\nCtrl-C stops it.\n"
    )
    out.flush()

    def _stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)  # stop cleanly: local jobs and the sandbox go too
    last = time.monotonic()
    try:
        while True:
            time.sleep(1)
            now = time.monotonic()
            stack.advance(now - last)
            last = now
    except KeyboardInterrupt:
        out.write("stopping\n")
    finally:
        stack.stop()
        server.stop()
    return 0


def dispatch(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "demo":
        from opslink_cli.demo import run_demo

        return run_demo(out)
    if args.command == "local":
        if args.local_command == "serve":
            return _serve(args, out)
        from opslink_cli.local_run import print_rows, run_files
        from opslink_cli.local_stack import LocalStack

        missing = [str(p) for p in args.events if not p.is_file()]
        if missing:
            raise operator.OperatorError(f"no such event file: {', '.join(missing)}")
        with LocalStack(parameters=_params(args.param)) as stack:
            rows = run_files(stack, args.events)
        print_rows(rows, args.json, out)
        return 0
    conn = operator.connect(args)
    if args.command == "alerts":
        handler = {"list": operator.alerts_list, "show": operator.alerts_show}[args.alerts_command]
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return dispatch(args, sys.stdout)
    except operator.OperatorError as exc:
        print(f"opslink: error: {exc}", file=sys.stderr)
        return 2
    except (OpsLinkError, ClientError, BotoCoreError, OSError) as exc:
        print(f"opslink: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
