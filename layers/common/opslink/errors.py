"""Typed domain exceptions. Handlers map them to outcomes in one place (ingest_service)."""


class OpsLinkError(Exception):
    """Base class for every error OpsLink raises on purpose."""


class InvalidAlarm(OpsLinkError):
    """The input is not a CloudWatch alarm OpsLink can act on. Never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TestNotification(InvalidAlarm):
    """A console or documentation test message (placeholder ARN, account or region):
    answered `ignored`, never a ticket, never recorded as a rejection."""


class RetryableError(OpsLinkError):
    """A dependency failed or is busy; the same delivery must be retried later.
    `retry_after`: seconds the dependency asked to be left alone, when it said; `status`:
    the HTTP status it answered, when it answered one."""

    retry_after: float | None = None
    status: int | None = None
    answer: str = ""  # the refusal's body (scrubbed, cut), for adapters that read its fields


class Throttled(RetryableError):
    """A dependency's rate limit was hit (429, or a vendor's rate-limit 403): never an
    authentication problem. The work is left for later, after `retry_after` seconds."""


class TicketSystemError(RetryableError):
    """The ticket system refused or failed a call."""


class TicketSystemThrottled(TicketSystemError, Throttled):
    """The ticket system's rate limit was hit."""


class TicketSystemRejected(TicketSystemError):
    """The ticket system refused the request or answered something unusable (bad
    credentials, unknown ticket, a response of the wrong shape). Still retryable at the
    delivery level: the alarm is kept (retries, then the dead-letter queue), not lost."""


class TicketClosedForGood(TicketSystemRejected):
    """The ticket can no longer be changed (Zendesk `closed`, a locked GitHub issue, a
    Jira issue in a final status without a way back): a follow-up ticket takes its place."""


class StoreError(RetryableError):
    """The alert store failed a call."""


class ConfigurationError(OpsLinkError):
    """Configuration is missing or invalid; raised at cold start."""


class IngestIncomplete(OpsLinkError):
    """Some records of a delivery failed for a retryable reason. Raised after every
    record was handled, so Lambda retries the delivery (idempotently) and finally sends
    it to the dead-letter queue. The message is the JSON summary of all records."""


class JobPlatformError(RetryableError):
    """The job platform failed or is busy; the call may be retried."""


class JobPlatformThrottled(JobPlatformError, Throttled):
    """The job platform's rate limit was hit."""


class JobPlatformRejected(OpsLinkError):
    """The job platform refused the request or answered something unusable (bad
    credentials, unknown job, a response of the wrong shape). Not retried: escalated."""


class InvalidTaskInput(OpsLinkError):
    """A remediation task was called with input it cannot use (a malformed state-machine
    payload, an unknown action). A defect, not an alarm: the execution records it."""


class ParameterRejectedError(OpsLinkError):
    """A runbook parameter failed its pattern: the run is stopped, a human takes over."""

    def __init__(
        self, runbook: str, name: str, value: str, pattern: str, *, reason: str = ""
    ) -> None:
        shown = value if len(value) <= 80 else value[:80] + "…"
        if reason:  # a bound other than a pattern: the catalog, the deny list, the host count
            super().__init__(f"runbook {runbook}: {name}={shown!r} {reason}; not run")
            return
        super().__init__(
            f"runbook {runbook}: parameter {name}={shown!r} does not match {pattern!r}; not run"
        )


class AutomationSuppressed(OpsLinkError):
    """Automation may not run now (a job platform's circuit is open); a human takes over."""


class AutomationBudgetExhausted(OpsLinkError):
    """Runaway protection: a service had its hourly share of automated runs; humans take over."""
