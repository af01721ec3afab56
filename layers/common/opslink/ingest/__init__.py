"""Ingest: from a Lambda event to alerts, tickets and remediation executions.

`ingest_event` (records) is the one call the ingest handler makes; `handle_alarm` (alarm)
acts on one alarm state change; opening, clearing and flapping hold the rest.

Idempotency: the alert id derives from the alarm and its ALARM transition, the dedup lock
is a conditional write, builtin ticket ids derive from the alert id and the execution name
from the alert id. A delivery that died half-way leaves a lease on the lock; the next
delivery of the same transition finishes the work once the lease has run out.
"""

from opslink.ingest.alarm import handle_alarm
from opslink.ingest.deps import IngestDeps, IngestPolicy
from opslink.ingest.records import ingest_event

__all__ = ["IngestDeps", "IngestPolicy", "handle_alarm", "ingest_event"]
