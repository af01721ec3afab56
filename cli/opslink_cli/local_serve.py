"""`opslink local serve|publish|sweep`: a local stack on 127.0.0.1 that the AWS CLI (or
`opslink local publish`) can feed alarms into, and its track sweep on demand."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, TextIO

from opslink import json_input
from opslink_cli.cli_args import parse_params
from opslink_cli.connection import OperatorError

DEFAULT_URL = "http://127.0.0.1:5055"
ACCOUNT, REGION = "123456789012", "us-east-1"


def _port_free(address: str, port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OperatorError(
                    f"port {port} on {address} is in use (another `opslink local serve`?); "
                    "choose another with --port"
                ) from None
            raise OperatorError(f"cannot listen on {address}:{port}: {exc.strerror}") from None


def serve(args: argparse.Namespace, out: TextIO) -> int:
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    from opslink_cli.emulator import LocalStack, check_parameters

    params = parse_params(args.param)
    check_parameters(params)
    _port_free(args.bind, args.port)
    default_user_config["stepfunctions"] = {"execute_state_machine": True}  # run the real ASL
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log on the terminal
    server = ThreadedMotoServer(ip_address=args.bind, port=args.port)
    server.start()
    url = f"http://127.0.0.1:{args.port}"
    os.environ["MOTO_PORT"] = str(args.port)  # Step Functions calls Lambda back on it
    stack = LocalStack(endpoint_url=url, parameters=params, mirror_alarms=True)
    try:
        stack.start()
        restored = None
        if getattr(args, "state", None) is not None:
            from opslink_cli.kept_state import restore

            restored = restore(stack, args.state)
    except FileNotFoundError as exc:
        stack.stop()
        server.stop()
        raise OperatorError(str(exc)) from None
    except BaseException:
        stack.stop()
        server.stop()
        raise
    if restored is not None:
        out.write(f"Reopened the kept state in {args.state}: {json.dumps(restored)}\n")
    out.write(
        f"OpsLink local stack on {url}\n"
        f"  alarm topic:   {stack.arns['AlarmTopic']}\n"
        f"  state machine: {stack.arns['RemediationStateMachine']}\n"
        f"Feed it:  opslink local publish events/sns-metric-alarm.json --endpoint-url {url}\n"
        f"Watch it: opslink alerts list --endpoint-url {url}\n"
        "Ctrl-C stops it.\n"
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


def _client(args: argparse.Namespace, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=args.endpoint_url or DEFAULT_URL,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (the local emulator's dummy keys)
    )


def messages_of(path: Path) -> list[tuple[str, str]]:
    """(subject, message) pairs to publish from an event file: each SNS record's Message
    of a Lambda event, or the file itself when it is an alarm message or EventBridge event."""
    try:
        doc = json_input.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise OperatorError(f"cannot read event file {path}: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        pairs = []
        for rec in doc["Records"]:
            sns = rec.get("Sns") if isinstance(rec, dict) else None
            if isinstance(sns, dict) and isinstance(sns.get("Message"), str):
                pairs.append((str(sns.get("Subject") or "ALARM")[:100], sns["Message"]))
        if not pairs:
            raise OperatorError(f"{path}: no SNS records with a Message to publish")
        return pairs
    if isinstance(doc, dict):
        return [("ALARM", json.dumps(doc))]
    raise OperatorError(f"{path}: not an alarm message, EventBridge event or SNS event")


def publish(args: argparse.Namespace, out: TextIO) -> int:
    topic = args.topic_arn or f"arn:aws:sns:{REGION}:{ACCOUNT}:{args.stack_name}-AlarmTopic"
    batches = [(path, messages_of(path)) for path in args.events]  # all readable first
    sns = _client(args, "sns")
    for path, pairs in batches:
        for subject, message in pairs:
            msg_id = sns.publish(TopicArn=topic, Message=message, Subject=subject)["MessageId"]
            out.write(f"{path.name}: published {msg_id}\n")
    return 0


def sweep(args: argparse.Namespace, out: TextIO) -> int:
    from opslink_cli.emulator import schedule_event

    name = f"{args.stack_name}-{args.function}"
    reply = _client(args, "lambda").invoke(
        FunctionName=name, Payload=json.dumps(schedule_event(name)).encode()
    )
    payload = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError"):
        raise OperatorError(f"track sweep failed: {json.dumps(payload)[:500]}")
    out.write(json.dumps(payload, indent=2, default=str) + "\n")
    return 0
