"""A circuit breaker per job platform, its state shared by every execution (in the
store): after a failed call the platform is tried by one execution at a time (so
simultaneous alerts do not all hit a dead platform), after CIRCUIT_THRESHOLD failed
launches automation pauses for it, alerts go straight to a human, and after
CIRCUIT_COOLDOWN one execution probes it (half-open)."""

from __future__ import annotations

from datetime import datetime, timedelta

from opslink.errors import AutomationSuppressed, JobPlatformError
from opslink.journal import EventKind, about
from opslink.remediation.deps import RemediateDeps
from opslink.remediation_input import RemediationInput

CIRCUIT_THRESHOLD = 3  # failed launches before automation pauses for a platform
CIRCUIT_COOLDOWN = timedelta(minutes=5)  # then one execution probes it (half-open)
# After a failure, calls go one at a time until the platform answers again; a trial's
# slot is freed when it fails, or after this long if its run died.
TRIAL_LEASE = timedelta(seconds=60)


def circuit_allows(deps: RemediateDeps, platform: str, alert: RemediationInput) -> None:
    """Refuse to call a platform known to be down (the circuit is open), except for the
    one probe the half-open state allows after the cooldown."""
    state = deps.circuits.circuit(platform)
    now = deps.clock()
    if state.get("state") not in ("open", "half_open"):
        if int(state.get("failures", 0) or 0) == 0:
            return  # healthy: no gate
        if deps.circuits.circuit_claim_trial(platform, now, now + TRIAL_LEASE):
            return  # this call is the platform's trial
        raise JobPlatformError(
            f"job platform {platform} failed recently and another run is trying it now: "
            "one call at a time until it answers (this launch is retried, then handed over)"
        )
    opened = datetime.fromisoformat(str(state.get("opened_at", now.isoformat())))
    if now - opened >= CIRCUIT_COOLDOWN and deps.circuits.circuit_claim_probe(
        platform, now, now + CIRCUIT_COOLDOWN
    ):
        return  # the probe: its outcome closes or reopens the circuit
    since = state.get("since") or state.get("opened_at") or "?"
    text = (
        f"automation paused: job platform {platform} unreachable since {since} "
        f"({state.get('failures', '?')} failed calls); handled by a human"
    )
    suppressed = about(alert, EventKind.AUTOMATION_SUPPRESSED, now, why=text, key="circuit_open")
    deps.store.add_note(
        alert.alert_id, f"Runbook not launched: {text}.", now, kind="circuit_open", event=suppressed
    )
    raise AutomationSuppressed(text)


def circuit_failed(deps: RemediateDeps, platform: str, exc: Exception) -> None:
    now = deps.clock()
    opened = deps.circuits.circuit_failure(platform, now, CIRCUIT_THRESHOLD)
    if deps.faults is not None:
        deps.faults.failed(
            "job_platform", platform, exc, {"circuit": "open" if opened else "counting"}, now
        )
    if opened and deps.notifier:
        deps.notifier.notify(
            f"[OpsLink] automation paused: {platform} unreachable"[:100],
            f"Job platform {platform} failed {CIRCUIT_THRESHOLD} launches in a row ({exc}). "
            "Automated remediation is paused for it: new alerts go straight to a human "
            f"hand-over. OpsLink probes it again after {CIRCUIT_COOLDOWN} and announces the "
            "recovery.",
            {"service": "opslink", "team": "operators", "priority": "High", "kind": "circuit_open"},
        )


def circuit_succeeded(deps: RemediateDeps, platform: str) -> None:
    old = deps.circuits.circuit_success(platform)
    if old and deps.faults is not None:
        deps.faults.recovered("job_platform", platform, deps.clock())
    if old and deps.notifier:
        deps.notifier.notify(
            f"[OpsLink] {platform} recovered: automation resumes"[:100],
            f"Job platform {platform} answered again (unreachable since {old.get('since', '?')}). "
            "Automated remediation resumes.",
            {
                "service": "opslink",
                "team": "operators",
                "priority": "Medium",
                "kind": "circuit_closed",
            },
        )
