"""Texts of a remediation's outcome on its ticket: the hand-over (what ran, on which
hosts, how it ended, the end of its output) and the resolution comment."""

from __future__ import annotations

from dataclasses import dataclass

from opslink.inert import code, fenced, md_cell, title_text
from opslink.text_fit import fit
from opslink.ticket_policy import TITLE_MAX

HANDOVER_EXCERPT = 2_000  # characters of stdout/stderr shown on a hand-over


@dataclass(frozen=True)
class HandOverFacts:
    alert_id: str
    service: str
    environment: str
    alarm_name: str
    region: str
    runbook: str | None
    job: str | None  # "<platform> <job id>"
    ticket_id: str | None
    hosts: tuple[str, ...] = ()  # every host a job of this run was launched on


def excerpt(text: str, limit: int = HANDOVER_EXCERPT) -> str:
    """The end of a job's output (where the error usually is), cut to `limit`."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def handover_note(
    facts: HandOverFacts,
    why: str,
    detail: str,
    stdout: str | None,
    stderr: str | None,
    earlier: list[tuple[str, str, str]] | None = None,
) -> str:
    """The hand-over a human reads: what was tried, on what, and the job's output; with
    `earlier` (runbook, how it ended, output) the ladder's previous attempts, in order."""
    lines = [
        f"OpsLink could not fix alert {facts.alert_id} automatically: {why}.",
        "",
        "| Field | Value |",
        "| --- | --- |",
        f"| Service | {md_cell(facts.service)} ({facts.environment}) |",
        f"| Alarm | {md_cell(facts.alarm_name)} ({facts.region}) |",
        f"| Runbook | {facts.runbook or 'no runbook'} |",
        f"| Job | {facts.job or '- -'} |",
        f"| Hosts touched | {', '.join(facts.hosts) if facts.hosts else 'none'} |",
        f"| Alert ticket | {facts.ticket_id or '-'} |",
    ]
    if detail:
        lines += ["", f"**Detail:** {code(excerpt(detail, 1000))}"]
    if stdout is not None or stderr is not None:
        # Job output is kept as printed (a fence is literal); only the fence is ours.
        lines += ["", "### stdout", *fenced(excerpt(stdout or "") or "(empty)", strip=False)]
        lines += ["### stderr", *fenced(excerpt(stderr or "") or "(empty)", strip=False)]
    if earlier:
        lines += ["", f"### Earlier attempts in this episode ({len(earlier)})"]
        for n, (runbook, ended, output) in enumerate(earlier, 1):
            lines += [
                f"{n}. **{runbook}**: {ended}",
                *fenced(excerpt(output, 600) or "(empty)", strip=False),
            ]
    return "\n".join(lines) + "\n"


def handover_title(service: str, what: str, why: str) -> str:
    return fit(f"[FAILED_AUTO] {service} - {title_text(what)}: {why}", TITLE_MAX)


def resolution_comment(runbook: str, job: str, alarm_name: str, stdout: str) -> str:
    return (
        f"Resolved by OpsLink: runbook {runbook} ({job}) fixed the problem; alarm "
        f"{code(alarm_name)} is back to OK.\n\nOutput:\n"
        + "\n".join(fenced(excerpt(stdout), strip=False))
    )
