"""The metrics function on the emulator, after the demo's run: the KPIs it publishes (read
back from its EMF output) match what the run left behind, counted independently from
alerts, tickets and job links; publishing the day again writes the same figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opslink_cli.demo import scenario
from opslink_cli.emulator import LocalStack


def _emf(log: Path) -> list[dict[str, Any]]:
    docs = []
    for line in log.read_text(encoding="utf-8").splitlines():
        start = line.find('{"_aws"')
        if start >= 0:
            docs.append(json.loads(line[start:]))
    return docs


def _values(doc: dict[str, Any]) -> dict[str, Any]:
    """A document's metric values (EMF writes each as a list of one) and dimensions."""
    return {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in doc.items()}


def _overall(docs: list[dict[str, Any]]) -> dict[str, Any]:
    [doc] = [d for d in docs if "Service" not in d and "Runbook" not in d]
    return _values(doc)


def test_published_kpis_match_the_run(tmp_path: Path) -> None:
    log = tmp_path / "lambda.log"
    with LocalStack(mirror_alarms=True, log_path=log) as stack:
        scenario(stack, lambda text: None)  # the demo: eight alarms, their remediation
        stack.wait_for_executions(timeout=120, settle=True)  # every remediation has ended
        store = stack.alert_store()
        alerts = store.list_alerts(limit=100)  # read now, after every step was journaled
        tickets = {a.ticket_id for a in alerts if a.ticket_id}
        day = alerts[0].triggered_at.date().isoformat()
        before = len(_emf(log))
        payload, error = stack.invoke("MetricsFunction", {"day": day})
        assert error is None, payload
        first = _emf(log)[before:]
        again, error = stack.invoke("MetricsFunction", {"day": day})
        second = _emf(log)[before + len(first) :]
        automated = [a for a in alerts if store.launched_jobs(a.alert_id)]

    overall = _overall(first)
    assert overall["Alerts"] == len(alerts)
    assert overall["TicketsCreated"] == len(tickets)
    assert overall["AutomatedAlerts"] == len(automated)
    assert overall["AutomationRate"] == round(100 * len(automated) / len(alerts), 2)
    # payments-db joins checkout's incident (the service map's depends_on): on its ticket.
    assert overall["TicketCreationRate"] == round(100 * len(tickets) / len(alerts), 2)
    joined = [a for a in alerts if a.incident_role == "joined"]
    assert len(joined) == 1 and overall["Incidents"] == len(alerts) - 1 == len(tickets)
    assert overall["AlertsPerIncident"] == round(len(alerts) / (len(alerts) - 1), 2)
    assert overall["GroupingCorrections"] == 0
    assert overall["service"] == "opslink"
    namespaces = {m["Namespace"] for d in first for m in d["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"OpsLink"}
    services = {d["Service"] for d in first if "Service" in d}
    assert {a.service for a in alerts} <= services
    runbooks = {d["Runbook"]: _values(d) for d in first if "Runbook" in d}
    assert sum(d["Runs"] for d in runbooks.values()) == overall["Runs"]
    # The same figures again (the demo's day is today: stamped now, until its noon).
    assert payload == again

    def figures(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k != "_aws"} for d in docs]

    assert figures(second) == figures(first)


def test_a_finished_day_is_stamped_the_same_on_every_publication() -> None:
    from datetime import UTC, date, datetime

    from opslink.adapters.metrics.emf import emit
    from opslink.metrics_service import Datapoint

    points = [Datapoint("AutomationRate", "Percent", 62.5), Datapoint("Alerts", "Count", 8)]
    runs: list[list[str]] = [[], []]
    for i, now in enumerate(
        (datetime(2026, 11, 28, 0, 10, tzinfo=UTC), datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    ):
        emit(points, date(2026, 11, 27), now, "OpsLink", write=runs[i].append)
    assert runs[0] == runs[1]
    stamp = json.loads(runs[0][0])["_aws"]["Timestamp"]
    assert stamp == int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp() * 1000)
