"""The fallback ladder: when a runbook ran and the alarm still fires (or the job failed or
timed out), try the next-best eligible unattended runbook not yet tried in this episode,
up to MaxAttemptsPerEpisode. Each attempt is verified, counted against the runaway budget
(at launch) and recorded as its own outcome for learning. The ladder stops at once when
the alert was resolved (by a human, or by the alarm's OK) or the alarm is back to OK; only
when it runs out is the alert handed to humans, once, with every attempt."""

from __future__ import annotations

from opslink.comment_outbox import post_comment
from opslink.errors import ParameterRejectedError
from opslink.journal import EventKind, about
from opslink.models import AlertStatus
from opslink.remediation.blast_radius import resolve_hosts
from opslink.remediation.catalog import Runbook
from opslink.remediation.deps import RemediateDeps
from opslink.remediation.outcome import score
from opslink.remediation.parameters import resolve_parameters
from opslink.remediation.payloads import Attempt, Ladder, SelectedRunbook, Selection, TaskRequest
from opslink.remediation.select import candidate_stats, mode_of, suppression
from opslink.remediation.selection import eligible, explain, rank, seeded_rng
from opslink.remediation_input import RemediationInput
from opslink.remediation_models import Risk


def next_attempt(deps: RemediateDeps, req: TaskRequest) -> Ladder:
    a = req.alert
    kind = req.escalation.kind if req.escalation else "failed"
    attempts = list(req.ladder.attempts) if req.ladder else []
    if req.job is not None and not any(x.job_id == req.job.job_id for x in attempts):
        score(deps, req, kind)  # this attempt's own outcome, once
        attempts.append(
            Attempt(
                runbook=req.job.runbook,
                outcome=kind,
                platform=req.job.platform,
                job_id=req.job.job_id,
            )
        )
    stop = _stop(deps, req)
    if stop is not None:
        deps.store.add_note(a.alert_id, stop[1], deps.clock(), kind=f"ladder_{stop[0]}")
        return Ladder(attempts=attempts, stop=stop[0], reason=stop[1])
    if a.manual is not None:
        return Ladder(attempts=attempts, reason=f"an operator's run of {a.manual.runbook} only")
    if len(attempts) >= deps.max_attempts_per_episode:
        why = f"{len(attempts)} of {deps.max_attempts_per_episode} attempts used"
        return Ladder(attempts=attempts, reason=why)
    held = suppression(deps, a)
    if held:
        return Ladder(attempts=attempts, reason=f"no further attempt: {held}")
    tried = {x.runbook for x in attempts}
    modes = deps.control.current().runbook_modes if deps.control is not None else {}
    matches = [
        (rb, tier)
        for rb, tier in eligible(deps.catalog, a.alert_type, a.service, a.environment)
        if rb.name not in tried and mode_of(rb, modes) is Risk.AUTO and _runnable(deps, rb, a)
    ]
    if not matches:
        return Ladder(attempts=attempts, reason="no other unattended runbook matches this alert")
    stats = candidate_stats(deps, a, matches)
    ranked = rank(matches, stats, seeded_rng(f"{a.alert_id}:{len(attempts)}"))
    best = ranked[0]
    spec = best.runbook.spec
    last = attempts[-1] if attempts else None
    text = (
        f"Attempt {len(attempts)} ({last.runbook if last else '?'}): {_said(kind)}. "
        f"Trying the next runbook, attempt {len(attempts) + 1} of "
        f"{deps.max_attempts_per_episode}: {explain(best, ranked[1:])}"
    )
    chosen = about(
        a,
        EventKind.RUNBOOK_SELECTED,
        deps.clock(),
        key=spec.name,
        runbook=spec.name,
        why=text,
        counted=False,
        detail={"attempt": str(len(attempts) + 1)},
    )
    deps.store.add_note(a.alert_id, text, deps.clock(), kind="ladder_next", event=chosen)
    if a.ticket_id:
        key = f"{a.alert_id}:ladder:{len(attempts) + 1}:{spec.name}"
        post_comment(deps.outbox, deps.tickets, a.ticket_id, key, text, deps.clock(), a.alert_id)
    picked = SelectedRunbook(name=spec.name, tier=best.tier, timeout_seconds=spec.timeout_seconds)
    return Ladder(
        attempts=attempts, next=True, selection=Selection(runbook=picked, reason=text), reason=text
    )


def _runnable(deps: RemediateDeps, runbook: Runbook, alert: RemediationInput) -> bool:
    """Its parameters and hosts resolve for this alert (else launching it would only
    be refused)."""
    try:
        resolve_parameters(runbook, alert, deps.service_map)
        resolve_hosts(runbook, alert, deps.hosts)
    except ParameterRejectedError:
        return False
    return True


def _said(kind: str) -> str:
    return {
        "not_fixed": "the job succeeded but the alarm still fires",
        "failed": "the job failed",
        "timeout": "the job timed out and was cancelled",
    }.get(kind, kind)


def _stop(deps: RemediateDeps, req: TaskRequest) -> tuple[str, str] | None:
    """("resolved" | "alarm_ok", why) when the episode is over without another attempt."""
    a = req.alert
    current = deps.store.get(a.alert_id)
    if current is not None and current.status is not AlertStatus.OPEN:
        by = current.resolution.get("by", "someone")
        return "resolved", f"The alert was resolved (by {by}) between attempts: no further runbook."
    if deps.alarms is not None and a.alarm_name:
        try:
            state = deps.alarms.state(a.alarm_name, a.region, a.account_id)
        except Exception:
            state = None
        if state == "OK":
            return "alarm_ok", (
                f"Alarm {a.alarm_name} is back to OK between attempts: no further runbook "
                "(the OK transition resolves the alert)."
            )
    return None
