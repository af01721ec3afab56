"""Daily counters → automation KPIs (the ones the foundation can already measure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from opslink.clock import Clock, utcnow
from opslink.ports import CounterStore


@dataclass
class MetricsDeps:
    store: CounterStore
    clock: Clock = field(default=utcnow)


def daily_kpis(counters: dict[str, int]) -> dict[str, float]:
    opened = counters.get("alerts_opened", 0)
    tickets = counters.get("tickets_created", 0)
    kpis: dict[str, float] = {
        "AlertsOpened": float(opened),
        "AlertsResolved": float(counters.get("alerts_resolved", 0)),
        "TicketsCreated": float(tickets),
        "RecordsRejected": float(counters.get("records_rejected", 0)),
    }
    if opened:
        kpis["TicketCreationRate"] = round(100.0 * tickets / opened, 2)
    return kpis
