"""From a Lambda event to alarm records, each handled on its own: a bad record is
rejected with a specific reason and recorded, a failing dependency marks the record
retryable, and neither stops its siblings."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from opslink.alarm_parsing import is_alarm_action, parse_alarm_document, parse_sns_message
from opslink.errors import InvalidAlarm, RetryableError, TestNotification
from opslink.ingest.alarm import handle_alarm
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.models import Alarm, Outcome, RecordResult
from opslink.scrub import scrub_excerpt

logger = Logger(child=True)


@dataclass(frozen=True)
class _Record:
    index: int
    source: str
    parse: Callable[[], Alarm]
    excerpt: str


def _records(event: Any) -> Iterator[_Record]:
    """Split a Lambda event into alarm records, whatever form it came in."""
    raw = json.dumps(event, default=str)[:2000] if not isinstance(event, str) else event[:2000]

    def reject(reason: str) -> Callable[[], Alarm]:
        def _raise() -> Alarm:
            raise InvalidAlarm(reason)

        return _raise

    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        if not event["Records"]:
            yield _Record(0, "event", reject("event has an empty Records list"), raw)
        for i, rec in enumerate(event["Records"]):
            excerpt = json.dumps(rec, default=str)[:2000]  # scrubbed to 1,000 if rejected
            if not isinstance(rec, dict):
                yield _Record(i, f"record {i}", reject("record is not a JSON object"), excerpt)
                continue
            source = rec.get("EventSource") or rec.get("eventSource") or "unknown"
            if source != "aws:sns":
                yield _Record(
                    i,
                    f"record {i}",
                    reject(
                        f"unsupported event source {str(source)[:60]!r}: ingest takes SNS records"
                    ),
                    excerpt,
                )
                continue
            sns_field = rec.get("Sns")
            sns: dict[str, Any] = sns_field if isinstance(sns_field, dict) else {}
            message = sns.get("Message")
            label = f"sns:{sns.get('MessageId', i)}"
            if not isinstance(message, str):
                yield _Record(i, label, reject("SNS record has no Message string"), excerpt)
                continue
            topic = sns.get("TopicArn")
            yield _Record(
                i,
                label,
                functools.partial(
                    parse_sns_message, message, topic if isinstance(topic, str) else None
                ),
                message[:1000],
            )
    elif isinstance(event, dict) and (event.get("detail-type") or is_alarm_action(event)):
        label = "eventbridge" if event.get("detail-type") else "alarm-action"
        yield _Record(0, label, lambda: parse_alarm_document(event), raw)
    else:
        kind = type(event).__name__
        yield _Record(
            0,
            "event",
            reject(
                f"unrecognised event ({kind}): expected SNS Records, an EventBridge alarm event or an alarm-action payload"
            ),
            raw,
        )


def ingest_event(event: Any, deps: IngestDeps, policy: IngestPolicy) -> list[RecordResult]:
    results: list[RecordResult] = []
    for record in _records(event):
        results.append(_handle_record(record, deps, policy))
    return results


def _handle_record(record: _Record, deps: IngestDeps, policy: IngestPolicy) -> RecordResult:
    try:
        try:
            alarm = record.parse()
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            # Whatever a mutated message breaks in parsing is bad input, never a retry.
            raise InvalidAlarm(
                f"malformed alarm message ({type(exc).__name__}: {scrub_excerpt(str(exc), 200)})"
            ) from None
        result = handle_alarm(alarm, deps, policy)
        return result.model_copy(update={"index": record.index})
    except TestNotification as exc:
        logger.info("test notification ignored", extra={"source": record.source})
        return RecordResult(index=record.index, outcome=Outcome.IGNORED, reason=exc.reason)
    except InvalidAlarm as exc:
        logger.warning("record rejected", extra={"source": record.source, "reason": exc.reason})
        try:
            deps.rejections.record_rejection(  # bad input may carry a secret: never kept
                record.source, exc.reason, scrub_excerpt(record.excerpt, 1000), deps.clock()
            )
        except RetryableError as store_exc:
            # Not recorded: fail the delivery so it is retried, then lands in the DLQ.
            return RecordResult(
                index=record.index,
                outcome=Outcome.REJECTED,
                reason=f"{exc.reason} (and recording it failed: {store_exc})",
                retryable=True,
            )
        return RecordResult(index=record.index, outcome=Outcome.REJECTED, reason=exc.reason)
    except RetryableError as exc:
        logger.warning(
            "record failed, will be retried", extra={"source": record.source, "error": str(exc)}
        )
        return RecordResult(
            index=record.index, outcome=Outcome.REJECTED, reason=f"retryable: {exc}", retryable=True
        )
    except Exception as exc:  # a bug must not lose sibling records
        logger.exception("unexpected error on record", extra={"source": record.source})
        return RecordResult(
            index=record.index,
            outcome=Outcome.REJECTED,
            reason=f"retryable: internal error {type(exc).__name__}: {exc}",
            retryable=True,
        )
