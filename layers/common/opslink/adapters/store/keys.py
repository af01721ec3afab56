"""Every item kind of the OpsLink table, built here and nowhere else (single-table design).

| kind        | pk                          | sk                              | what                                            | module       |
|-------------|-----------------------------|---------------------------------|-------------------------------------------------|--------------|
| ALERT       | ALERT#<alert id>            | ALERT                           | the alert (gsi1: STATUS#<status> / <at>#<id>)   | alerts, alert_reads |
| LOCK        | FP#<fingerprint>            | LOCK                            | dedup lock: the alarm's alert, lease, ticket    | locks        |
| LINK        | ALERT#<id> / TICKET#<p>#<t> | TICKET#<p>#<t> / ALERT#<id>     | alert <-> ticket, both ways                     | locks/alerts |
| LINK        | ALERT#<id> / EXECUTION#<n>  | EXECUTION#<n> / ALERT#<id>      | alert <-> remediation execution                 | locks        |
| LAUNCH      | ALERT#<id>                  | LAUNCH#<idempotency key>        | a launched job, by its launch key               | ledger       |
| JOB         | ALERT#<id> / JOB#<pf>#<id>  | JOB#<pf>#<id> / ALERT#<id>      | alert <-> job                                   | ledger       |
| WAIT        | JOB#<pf>#<id>               | WAIT                            | the execution waiting for the job (task token, 2-day TTL) | job_waits |
| STATS       | STATS#<runbook>             | <alert type>#<service>#<env>    | verified fixes / misses of a runbook (+ weekly f<week>/m<week>) | ledger |
| DURATION    | DURATION#<platform>#<runbook> | <at>#<job id>                 | a successful run's duration (180-day TTL)       | ledger       |
| BUDGET      | BUDGET#<service> or BUDGET#resource#<r> | <hour>              | automated runs this hour (runaway brake)        | reliability  |
| CIRCUIT     | CIRCUIT#<platform>          | CIRCUIT                         | circuit breaker of a job platform               | reliability  |
| FLAP        | FLAP#<fingerprint>          | FLAP                            | the alarm's recent ALARM/OK transitions         | reliability  |
| FAULT       | FAULTS                      | <component>#<integration>#<at>  | an integration fault and its recovery           | reliability  |
| REJECTED    | REJECTED#<day>              | <time>#<n>                      | rejected input with its reason (30-day TTL)     | bookkeeping  |
| DELIVERY    | DELIVERY#<sha256>           | DELIVERY                        | an applied webhook delivery (1-day TTL)         | bookkeeping  |
| CHAT        | CHAT#<channel>/<ts>         | MESSAGE                         | a posted chat message -> its alert (30-day TTL) | bookkeeping  |
| CHECKPOINT  | CHECKPOINT                  | <name>                          | a sweep's high-water mark                       | bookkeeping  |
| OUTBOX      | OUTBOX#<ticket id>          | <comment key>                   | a comment not yet known to be on its ticket (gsi1: OUTBOX) | bookkeeping |
| QUEUED      | QUEUED#<ticket id>          | QUEUED                          | how many of the ticket's comments wait in the outbox | bookkeeping |
| DRAIN       | QUEUED#<ticket id>          | DRAIN                           | who delivers the ticket's queue now, until when (TTL) | outbox |
| EVENT       | ALERT#<id> (or OPSLINK)     | EVENT#<kind>#<key>              | a lifecycle event (gsi1: JOURNAL#<day> / <at>#…) | journal      |
| KPI         | KPI#<day>                   | all, service#…, type#…, runbook#… | pre-aggregated KPI counters (cohort day)      | journal      |
| INCKEY      | INCKEY#<sha256 of the key>  | KEY                             | the incident open under a grouping key (TTL)    | incident_keys |
| INCIDENT    | INCIDENT#<incident id>      | INCIDENT                        | an incident: members, firing ones, its ticket   | incidents    |
| ALARMLINK   | ALARMLINK#<sha256 of name>  | LINK                            | the incident an alarm (or a composite's child) is in (TTL) | incident_keys |
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

Key = dict[str, Any]
LEFT_INCIDENT = "left_incident"  # a LINK's kind: the alert no longer shares that ticket


def day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def incident_key(grouping_key: str) -> Key:
    digest = hashlib.sha256(grouping_key.encode()).hexdigest()[:40]
    return {"pk": f"INCKEY#{digest}", "sk": "KEY"}


def alarm_link(alarm_name: str) -> Key:
    digest = hashlib.sha256(alarm_name.encode()).hexdigest()[:40]
    return {"pk": f"ALARMLINK#{digest}", "sk": "LINK"}


def incident(incident_id: str) -> Key:
    return {"pk": f"INCIDENT#{incident_id}", "sk": "INCIDENT"}


def alert_pk(alert_id: str) -> str:
    return f"ALERT#{alert_id}"


def alert(alert_id: str) -> Key:
    return {"pk": alert_pk(alert_id), "sk": "ALERT"}


def status_partition(status: str) -> str:
    """gsi1 partition of the alerts with this status."""
    return f"STATUS#{status}"


def lock(fingerprint: str) -> Key:
    return {"pk": f"FP#{fingerprint}", "sk": "LOCK"}


def ticket_ref(provider: str, ticket_id: str) -> str:
    return f"TICKET#{provider}#{ticket_id}"


def execution_ref(name: str) -> str:
    return f"EXECUTION#{name}"


def job_ref(platform: str, job_id: str) -> str:
    return f"JOB#{platform}#{job_id}"


def job_wait(platform: str, job_id: str) -> Key:
    return {"pk": job_ref(platform, job_id), "sk": "WAIT"}


def launch(alert_id: str, idempotency_key: str) -> Key:
    return {"pk": alert_pk(alert_id), "sk": f"{LAUNCH_PREFIX}{idempotency_key}"}


LAUNCH_PREFIX = "LAUNCH#"
STATS_PREFIX = "STATS#"


def runbook_stats(runbook: str, alert_type: str, service: str, environment: str) -> Key:
    return {"pk": f"{STATS_PREFIX}{runbook}", "sk": f"{alert_type}#{service}#{environment}"}


def duration_partition(platform: str, runbook: str) -> str:
    return f"DURATION#{platform}#{runbook}"


def duration(platform: str, runbook: str, at: datetime, job_id: str) -> Key:
    return {"pk": duration_partition(platform, runbook), "sk": f"{at.isoformat()}#{job_id}"}


def budget_partitions(service: str, resource: str | None) -> list[str]:
    return [f"BUDGET#{service}", *([f"BUDGET#resource#{resource}"] if resource else [])]


def circuit(platform: str) -> Key:
    return {"pk": f"CIRCUIT#{platform}", "sk": "CIRCUIT"}


def flap(fingerprint: str) -> Key:
    return {"pk": f"FLAP#{fingerprint}", "sk": "FLAP"}


FAULTS_PARTITION = "FAULTS"


def rejections_partition(at: datetime) -> str:
    return f"REJECTED#{day(at)}"


def delivery(delivery_id: str) -> Key:
    digest = hashlib.sha256(delivery_id.encode()).hexdigest()
    return {"pk": f"DELIVERY#{digest}", "sk": "DELIVERY"}


def chat_message(message: str) -> Key:
    """A posted chat message ("<channel>/<ts>") -> the alert it is about (thread notes)."""
    return {"pk": f"CHAT#{message}", "sk": "MESSAGE"}


def checkpoint(name: str) -> Key:
    return {"pk": "CHECKPOINT", "sk": name}


def event(alert_id: str, kind: str, key: str) -> Key:
    return {"pk": alert_pk(alert_id) if alert_id else "OPSLINK", "sk": f"EVENT#{kind}#{key}"}


def journal_partition(at: datetime) -> str:
    """gsi1 partition of a day's lifecycle events (the audit trail reads it)."""
    return f"JOURNAL#{day(at)}"


def kpi_day(at: datetime) -> str:
    return f"KPI#{day(at)}"


OUTBOX_INDEX = "OUTBOX"


def outbox(ticket_id: str, key: str) -> Key:
    return {"pk": f"OUTBOX#{ticket_id}", "sk": key}


def outbox_count(ticket_id: str) -> Key:
    """Its own partition: a ticket's outbox Query never sees it."""
    return {"pk": f"QUEUED#{ticket_id}", "sk": "QUEUED"}


def outbox_drain(ticket_id: str) -> Key:
    """Beside the count, an item of its own: holding the delivery never conflicts with the
    transactions that move the count."""
    return {"pk": f"QUEUED#{ticket_id}", "sk": "DRAIN"}
