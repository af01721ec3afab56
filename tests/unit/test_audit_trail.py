"""The audit trail's configuration changes: a runbook catalog going live is recorded once
per version, and `opslink audit` says which runbooks changed since the one before."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.tickets.builtin import BuiltinTicketSystem
from opslink.remediation.catalog import load_catalog
from opslink.remediation.catalog_audit import record_catalog
from opslink_cli import audit_commands, connection
from tests.conftest import ROOT


def _audit(store: DynamoAlertStore, ddb: Any) -> list[dict[str, Any]]:
    conn = connection.Connection(store, BuiltinTicketSystem("TicketsTable", ddb), None, "")
    out = io.StringIO()
    ns = argparse.Namespace(
        output="json", alert=None, since=None, days=2, action=["catalog_loaded"]
    )
    audit_commands.audit(conn, ns, out)
    return list(json.loads(out.getvalue()))


def test_a_catalog_change_shows_up_in_the_audit_trail(ddb: Any, tmp_path: Path) -> None:
    store = DynamoAlertStore("AlertsTable", ddb, journal_table="JournalTable")
    # In the past, so that `later` (5 minutes on) is too: near midnight a change dated in
    # the future fell on a day the audit's window had not reached.
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    shipped = tmp_path / "v1"
    shutil.copytree(ROOT / "runbooks", shipped)
    assert record_catalog(store.journal, load_catalog(str(shipped)), now, "deployment (remediate)")
    # Every other container loading the same catalog records nothing.
    assert not record_catalog(
        store.journal, load_catalog(str(shipped)), now, "deployment (remediate)"
    )
    changed = tmp_path / "v2"
    shutil.copytree(shipped, changed)
    script = changed / "scripts" / "restart_service.sh"
    script.write_text(script.read_text() + "\necho one more line\n")
    (changed / "scale_up.yaml").unlink()
    later = now + timedelta(minutes=5)
    assert record_catalog(
        store.journal, load_catalog(str(changed)), later, "deployment (remediate)"
    )

    first, second = _audit(store, ddb)
    assert first["by"] == "deployment (remediate)" and "runbooks" in first["why"]
    assert second["why"].endswith("(removed: scale_up; changed: restart_service)")
    # Journal records are in the journal table only.
    alerts = ddb.scan(TableName="AlertsTable")["Items"]
    assert not [i for i in alerts if i["sk"]["S"].startswith("EVENT#")]
    journal = ddb.scan(TableName="JournalTable")["Items"]
    assert len([i for i in journal if i["sk"]["S"].startswith("EVENT#")]) == 2
