"""The alert store on one DynamoDB table (single-table design; every item kind is listed
in keys.py). One object per port, composed in wiring.py on one client: JobWaits
(job_waits.py), FaultRecords (faults.py), IncidentKeys (incident_keys.py),
ReliabilityRecords (reliability.py: flap history, circuits, automation budgets),
Bookkeeping (bookkeeping.py: rejections, applied deliveries, chat threads, checkpoints),
JobDurationRecords (durations.py). The journal (journal.py: events, chains, the KPI
counters of kpi_counters.py) and the comment outbox (outbox.py) are composed into the
store, reached as `store.journal` and `store.outbox`, and handed to the services as such.
DynamoAlertStore itself is the alerts with their locks, links and approvals, and the
remediation ledger: their writes share transactions, and the journal's chain-head cache
(one per store) saves a read on every journaled step."""

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
