"""The alert store on one DynamoDB table (single-table design; every item kind is listed
in keys.py). One class per concern, each implementing its port. DynamoAlertStore is still
most of them on one table and one client; the ports that stand alone are objects of their
own, composed in wiring.py: JobWaits (job_waits.py), FaultRecords (faults.py) and
IncidentKeys (incident_keys.py)."""

from __future__ import annotations

from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.adapters.store.ledger import RemediationLedger
from opslink.adapters.store.locks import DedupLocks
from opslink.adapters.store.reliability import ReliabilityRecords


class DynamoAlertStore(DedupLocks, RemediationLedger, Bookkeeping, ReliabilityRecords):
    """AlertStore, RemediationStore and the bookkeeping ports on one table."""
