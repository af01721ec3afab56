"""`opslink incidents replay`: the stack's recent alerts through the correlation rules —
the incidents they would make and why each alert joins — changing nothing."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink_cli import connection, samples
from opslink_cli.incident_replay import incidents_replay

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _fire(deps: IngestDeps, name: str, minute: float, state: str = "ALARM", **dims: str) -> None:
    alarm = samples.metric_alarm(
        name, NOW + timedelta(minutes=minute), state=state,
        old="OK" if state == "ALARM" else "ALARM", dimensions=dims or None,
    )  # fmt: skip
    ingest_event(samples.sns_event(alarm), deps, IngestPolicy())


def _replay(deps: IngestDeps, **kw: Any) -> tuple[int, Any, str]:
    conn = connection.Connection(deps.store, deps.tickets, None, "")  # type: ignore[arg-type]
    args = argparse.Namespace(days=2, rules=None, service_map=None, decisions=False,
                              output="json", query=None, no_truncate=False, color="off")  # fmt: skip
    for k, v in kw.items():
        setattr(args, k, v)
    out = io.StringIO()
    code = incidents_replay(conn, args, out)
    text = out.getvalue()
    return code, (json.loads(text) if args.output == "json" else None), text


def test_a_burst_replays_as_one_incident_with_each_reason(deps: IngestDeps) -> None:
    for n in range(3):  # one alarm family on three instances of one group
        _fire(deps, f"prod-web-cpu-high-i-0abc{n:013x}", n, InstanceId=f"i-0abc{n:013x}",
              AutoScalingGroupName="web-asg")  # fmt: skip
    _fire(deps, "prod-search-disk-full", 1)  # unrelated
    _fire(deps, "prod-search-disk-full", 4, state="OK")
    ticket_count = len(deps.tickets.list(limit=50))  # type: ignore[attr-defined]
    code, doc, _ = _replay(deps)
    assert code == 0
    by_size = sorted(doc["incidents"], key=lambda i: -i["alerts"])
    assert [i["alerts"] for i in by_size] == [3, 1]
    assert by_size[0]["rule"] == "builtin:burst" and by_size[1]["resolved"] != "-"
    joined = [d for d in doc["decisions"] if d["joined"]]
    assert len(joined) == 2 and all("prod-web-cpu-high-* in web-asg" in d["why"] for d in joined)
    assert doc["summary"].startswith("4 alert(s) in the last 2 day(s) would be 2 incident(s)")
    assert len(deps.tickets.list(limit=50)) == ticket_count  # type: ignore[attr-defined]


def test_a_rule_file_changes_the_replay_and_a_bad_one_is_named(
    deps: IngestDeps, tmp_path: Path
) -> None:
    for n in range(2):
        _fire(deps, f"canary-login-{n}", n)
    rules = tmp_path / "correlation.yaml"
    rules.write_text(
        "rules: [{name: canaries-alone, match: {alarm_name: 'canary-*'}, group: false}]"
    )
    _, doc, _ = _replay(deps, rules=str(rules))
    assert len(doc["incidents"]) == 2 and "grouping off" in doc["decisions"][1]["why"]
    _, _, text = _replay(deps, output="table", decisions=True)
    assert "would be 1 incident(s)" in text and "builtin:burst" in text
    rules.write_text("rules: [{name: slow, window: forever}]")
    with pytest.raises(connection.OperatorError, match=r"rule 'slow' field 'window'"):
        _replay(deps, rules=str(rules))
