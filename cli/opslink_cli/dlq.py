"""`opslink dlq list|redrive`: deliveries the ingest function gave up on, parked in its
dead-letter queue. `list` shows them without consuming them; `redrive` invokes ingest
with each parked event again (ingest is idempotent: a delivery whose work was finished in
the meantime is answered `duplicate`) and removes it from the queue only once ingest
accepted every record."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from botocore.exceptions import ClientError

from opslink_cli.operator import OperatorError, _stack_outputs
from opslink_cli.render import emit, style_from

COLUMNS = ("message_id", "sent_at", "receives", "records", "alarms", "error")


def _names(conn: Any, args: argparse.Namespace) -> tuple[Any, str, Any, str]:
    session = conn.session
    sqs = session.client("sqs", endpoint_url=conn.endpoint_url)
    lam = session.client("lambda", endpoint_url=conn.endpoint_url)
    outputs = {} if conn.local else _stack_outputs(session, args.stack_name)
    function = outputs.get("IngestFunctionName") or f"{args.stack_name}-IngestFunction"
    url = outputs.get("IngestDeadLetterQueueUrl")
    if not url:
        try:
            url = sqs.get_queue_url(QueueName=f"{args.stack_name}-IngestDeadLetterQueue")[
                "QueueUrl"
            ]
        except ClientError as exc:
            raise OperatorError(
                f"dead-letter queue of stack {args.stack_name!r}: {exc.response['Error']['Message']}"
            ) from None
    return sqs, str(url), lam, function


def _summary(message: dict[str, Any]) -> dict[str, Any]:
    attrs = message.get("MessageAttributes") or {}
    sys_attrs = message.get("Attributes") or {}
    try:
        event = json.loads(message.get("Body") or "null")
    except ValueError:
        event = None
    records = event.get("Records") if isinstance(event, dict) else None
    alarms = []
    for rec in records or ([event] if isinstance(event, dict) else []):
        body = ((rec or {}).get("Sns") or {}).get("Message") if isinstance(rec, dict) else None
        try:
            doc = json.loads(body) if isinstance(body, str) else rec
        except ValueError:
            doc = {}
        if isinstance(doc, dict):
            name = doc.get("AlarmName") or (doc.get("detail") or {}).get("alarmName")
            if name:
                alarms.append(str(name))
    return {
        "message_id": message["MessageId"],
        "sent_at": sys_attrs.get("SentTimestamp", ""),
        "receives": sys_attrs.get("ApproximateReceiveCount", ""),
        "records": len(records) if isinstance(records, list) else 1,
        "alarms": ", ".join(alarms),
        "error": (attrs.get("ErrorMessage") or {}).get("StringValue", ""),
    }


def _receive(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(10):  # SQS answers a sample per call: read until nothing new comes
        out = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        fresh = [m for m in out.get("Messages", []) if m["MessageId"] not in seen]
        if not fresh:
            break
        seen.update({m["MessageId"]: m for m in fresh})
    return list(seen.values())


def dlq_list(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    sqs, url, _, _ = _names(conn, args)
    rows = [_summary(m) for m in _receive(sqs, url, visibility=0)]
    emit(rows, style_from(args, out), out, COLUMNS)
    return 0


def dlq_redrive(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    sqs, url, lam, function = _names(conn, args)
    messages = _receive(sqs, url, visibility=120)
    wanted = set(args.message_ids)
    rows = []
    for message in messages:
        if wanted and message["MessageId"] not in wanted:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            continue
        reply = lam.invoke(FunctionName=function, Payload=(message.get("Body") or "null").encode())
        payload = json.loads(reply["Payload"].read() or b"null")
        if reply.get("FunctionError"):
            rows.append(
                {"message_id": message["MessageId"], "result": "kept", "detail": str(payload)[:300]}
            )
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        outcomes = [r.get("outcome") for r in (payload or {}).get("results", [])]
        rows.append(
            {
                "message_id": message["MessageId"],
                "result": "redriven",
                "detail": ", ".join(map(str, outcomes)),
            }
        )
    emit(rows, style_from(args, out), out, ("message_id", "result", "detail"))
    return 1 if any(r["result"] == "kept" for r in rows) else 0
