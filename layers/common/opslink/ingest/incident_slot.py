"""An incident's comment slot: its members share one ticket, so the automatic comments
about their alarms' own state changes (a re-fire, a pass through INSUFFICIENT_DATA) take
one slot per comment period for the whole incident, on its item — not one per member:
fifty flapping members made fifty comments an hour. The opener keeps its alert's slot."""

from __future__ import annotations

from opslink.ingest.deps import IngestDeps, IngestPolicy


def take_incident_slot(incident_id: str, deps: IngestDeps, policy: IngestPolicy) -> bool:
    """Whether this member's comment may be made now (the slot taken by this call). A
    slot this container saw taken inside the period is not tried (comment_slots.py);
    with no comment period every one may."""
    if not policy.refire_comment_period:
        return True
    if deps.incidents is None:
        return False
    now = deps.clock()
    due_before = now - policy.refire_comment_period
    if deps.recent_comments.taken_since(incident_id, due_before):
        return False
    claimed, stored = deps.incidents.claim_comment_slot(incident_id, now, due_before)
    deps.recent_comments.saw(incident_id, stored)
    return claimed
