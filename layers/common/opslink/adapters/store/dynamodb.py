"""The alert store on one DynamoDB table (single-table design; every item kind is listed
in keys.py). One class per concern, each implementing its port. DynamoAlertStore is still
several of them on one table and one client; the ports that stand alone are objects of
their own, composed in wiring.py on the same client: JobWaits (job_waits.py), FaultRecords
(faults.py), IncidentKeys (incident_keys.py), ReliabilityRecords (reliability.py: flap
history, circuits, automation budgets), Bookkeeping (bookkeeping.py: rejections, applied
deliveries, chat threads, checkpoints), JobDurationRecords (durations.py); the journal (journal.py: events, chains, the KPI
counters of kpi_counters.py) and the comment outbox (outbox.py) are composed, reached as
`store.journal` and `store.outbox` and handed to the services as such."""

from __future__ import annotations

from opslink.adapters.store.ledger import RemediationLedger
from opslink.adapters.store.locks import DedupLocks
from opslink.adapters.store.outbox import CommentOutbox


class DynamoAlertStore(DedupLocks, RemediationLedger):
    """AlertStore, TrackStore and RemediationStore on one table."""

    _outbox: CommentOutbox | None = None

    @property
    def outbox(self) -> CommentOutbox:
        """The comment outbox on this table (comments it cannot deliver are kept as notes
        on their alerts, here)."""
        if self._outbox is None:
            self._outbox = CommentOutbox(self.table, self.client, notes=self)
        return self._outbox
