"""Remediation: the tasks of the state machine (statemachine/remediation.asl.json).

select    choose a runbook (selection: tiers, learning, modes), or none: left to humans
launch    check parameters, claim the budget, start the job, link alert <-> job (jobs)
poll      job status and the next wait (policy: adaptive backoff, never past the timeout)
cancel    stop a job that ran past its runbook's timeout
verify    read the alarm's state: only an alarm back to OK is a verified fix (outcome)
resolve   resolve alert and tickets with the resolution; the runbook scores a fix
escalate  hand over to a human with the job's output; the runbook scores a miss
note / record_failure   notes on the alert and its ticket (tasks)

Payloads between tasks are typed (payloads); the circuit breaker per job platform is in
circuit; the runbook catalog in catalog.
"""

from opslink.remediation.deps import RemediateDeps
from opslink.remediation.tasks import TASKS, run_task

__all__ = ["TASKS", "RemediateDeps", "run_task"]
