"""`opslink dlq list|redrive`: deliveries the ingest function gave up on, parked in its
dead-letter queue. `list` shows them without consuming them; `redrive` invokes ingest
with each parked event again (ingest is idempotent: a delivery whose work was finished in
the meantime is answered `duplicate`) and removes it from the queue only once ingest
accepted every record.

Both say where each message's alarms come from (`origin`): an alarm of an account the
stack does not serve, or one CloudWatch does not know, is `unverified`. Redriven, such
a message still gets its ticket (marked unverified) and never a job: the remediation's
provenance gate checks again (opslink/provenance.py). Only the stack's own functions may
write to the queue (its queue policy), so a forged message should never be here."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from opslink import json_input
from opslink_cli.connection import OperatorError, _stack_outputs
from opslink_cli.render import emit, style_from

COLUMNS = ("message_id", "sent_at", "receives", "records", "alarms", "origin", "error")


class _SessionAlarms:
    """DescribeAlarms through the CLI's session (its profile, or the local endpoint)."""

    def __init__(self, session: Any, endpoint_url: str | None) -> None:
        self.session, self.endpoint_url = session, endpoint_url
        self._clients: dict[str, Any] = {}

    def state(self, alarm_name: str, region: str, account: str = "") -> str | None:
        found = self.describe(alarm_name, region, account)
        return found[1] if found else None

    def describe(self, alarm_name: str, region: str, account: str = "") -> tuple[str, str] | None:
        """In the CLI session's own account (a member account's alarm is not found there:
        the message stays parked, as an unproven one)."""
        if region not in self._clients:
            self._clients[region] = self.session.client(
                "cloudwatch", region_name=region or None, endpoint_url=self.endpoint_url
            )
        try:
            out = self._clients[region].describe_alarms(
                AlarmNames=[alarm_name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
        except (ClientError, BotoCoreError) as exc:
            from opslink.errors import ConfigurationError

            raise ConfigurationError(f"DescribeAlarms {alarm_name} in {region}: {exc}") from None
        alarms = out.get("MetricAlarms", []) + out.get("CompositeAlarms", [])
        return (
            (str(alarms[0].get("AlarmArn", "")), str(alarms[0]["StateValue"])) if alarms else None
        )


def _allowed_accounts(lam: Any, function: str) -> frozenset[str]:
    """The ingest function's ALLOWED_ACCOUNT_IDS (empty when it cannot be read)."""
    from opslink.config import account_set

    try:
        env = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
        return account_set(str(env.get("ALLOWED_ACCOUNT_IDS", "")))
    except (ClientError, BotoCoreError, KeyError, ValueError):
        return frozenset()


def _origin(event: Any, alarms: Any, allowed: frozenset[str]) -> str:
    """`verified` when every alarm of the parked event is a real alarm of an account the
    stack serves; else `unverified: why` (the first reason)."""
    from opslink.alarm_parsing import parse_alarm_document, parse_sns_message
    from opslink.errors import InvalidAlarm
    from opslink.provenance import origin_problem

    records = event.get("Records") if isinstance(event, dict) else None
    found = []
    for rec in records or ([event] if isinstance(event, dict) else []):
        sns = rec.get("Sns") if isinstance(rec, dict) else None
        try:
            if isinstance(sns, dict) and isinstance(sns.get("Message"), str):
                found.append(parse_sns_message(sns["Message"], sns.get("TopicArn")))
            elif isinstance(rec, dict):
                found.append(parse_alarm_document(rec))
        except InvalidAlarm:
            continue
    if not found:
        return "no alarm"
    for alarm in found:
        why = origin_problem(alarm.name, alarm.arn, alarm.account_id, alarm.region, alarms, allowed)
        if why:
            return why
    return "verified"


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


def _summary(message: dict[str, Any], check: Any = None) -> dict[str, Any]:
    attrs = message.get("MessageAttributes") or {}
    sys_attrs = message.get("Attributes") or {}
    try:
        event = json_input.loads(message.get("Body") or "null")
    except ValueError:
        event = None
    records = event.get("Records") if isinstance(event, dict) else None
    alarms = []
    for rec in records or ([event] if isinstance(event, dict) else []):
        body = ((rec or {}).get("Sns") or {}).get("Message") if isinstance(rec, dict) else None
        try:
            doc = json_input.loads(body) if isinstance(body, str) else rec
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
        "origin": check(event) if check is not None else "",
        "error": (attrs.get("ErrorMessage") or {}).get("StringValue", ""),
    }


def _checker(conn: Any, lam: Any, function: str) -> Any:
    alarms, allowed = (
        _SessionAlarms(conn.session, conn.endpoint_url),
        _allowed_accounts(lam, function),
    )
    return lambda event: _origin(event, alarms, allowed)


PAGE_VISIBILITY = 60  # seconds a received message stays hidden while the queue is paged
MAX_PAGES = 1000  # 10,000 messages: far past any outage, and bounded


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every parked message: each page stays hidden while the next is read (SQS answers
    a sample per call, and an empty answer can be a sample too: two in a row end it)."""
    seen: dict[str, dict[str, Any]] = {}
    empty = 0
    for _ in range(MAX_PAGES):
        out = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=PAGE_VISIBILITY,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        fresh = [m for m in out.get("Messages", []) if m["MessageId"] not in seen]
        if not fresh:
            empty += 1
            if empty >= 2:
                break
            continue
        empty = 0
        seen.update({m["MessageId"]: m for m in fresh})
    return list(seen.values())


def _release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make listed messages visible again at once: listing never hides them from redrive."""
    for i in range(0, len(messages), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for n, m in enumerate(messages[i : i + 10])
            ],
        )


def dlq_list(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    sqs, url, lam, function = _names(conn, args)
    check = _checker(conn, lam, function)
    messages = _receive(sqs, url)
    try:
        rows = [_summary(m, check) for m in messages]
    finally:
        _release(sqs, url, messages)
    emit(rows, style_from(args, out), out, COLUMNS)
    sys.stderr.write(f"{len(rows)} parked message(s) in {url.rsplit('/', 1)[-1]}\n")
    return 0


def dlq_redrive(conn: Any, args: argparse.Namespace, out: TextIO) -> int:
    sqs, url, lam, function = _names(conn, args)
    messages = _receive(sqs, url)
    check = _checker(conn, lam, function)
    wanted = set(args.message_ids)
    rows = []
    for message in messages:
        if wanted and message["MessageId"] not in wanted:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            continue
        origin = _summary(message, check)["origin"]
        reply = lam.invoke(FunctionName=function, Payload=(message.get("Body") or "null").encode())
        payload = json.loads(reply["Payload"].read() or b"null")
        if reply.get("FunctionError"):
            rows.append(
                {"message_id": message["MessageId"], "result": "kept", "origin": origin,
                 "detail": str(payload)[:300]}
            )  # fmt: skip
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        outcomes = [r.get("outcome") for r in (payload or {}).get("results", [])]
        rows.append(
            {
                "message_id": message["MessageId"],
                "result": "redriven",
                "origin": origin,
                "detail": ", ".join(map(str, outcomes)),
            }
        )
    missing = sorted(wanted - {r["message_id"] for r in rows})
    rows += [{"message_id": m, "result": "not found", "origin": "", "detail":
              "no such message in the dead-letter queue (already redriven, or expired)"}
             for m in missing]  # fmt: skip
    emit(rows, style_from(args, out), out, ("message_id", "result", "origin", "detail"))
    return 1 if missing or any(r["result"] == "kept" for r in rows) else 0
