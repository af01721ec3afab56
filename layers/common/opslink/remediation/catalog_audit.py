"""A runbook catalog going live is a configuration change: the first remediate container
that loads a catalog not seen before records it in the audit trail, once (the event's
identity is the catalog's digest), with each runbook's content hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from opslink.journal import EventKind, LifecycleEvent
from opslink.ports import EventRecorder
from opslink.remediation.catalog import Runbook, fingerprint


def catalog_event(catalog: tuple[Runbook, ...], at: datetime, by: str) -> LifecycleEvent:
    hashes = fingerprint(catalog)
    digest = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]
    return LifecycleEvent(
        alert_id="",
        kind=EventKind.CATALOG_LOADED,
        at=at,
        by=by,
        why=f"runbook catalog {digest} went live: {len(hashes)} runbooks",
        key=digest,
        counted=False,
        detail=hashes,
    )


def record_catalog(
    journal: EventRecorder, catalog: tuple[Runbook, ...], at: datetime, by: str
) -> bool:
    """True when this catalog was recorded now, False when it was known already."""
    return journal.record_event(catalog_event(catalog, at, by))
