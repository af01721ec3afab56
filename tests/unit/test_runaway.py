"""Runaway protection in the remediation tasks, against a fake job platform: the
per-resource budget beside the per-service one, and budget consumed only by launches
that really happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from opslink.errors import AutomationBudgetExhausted, JobPlatformError
from opslink.ingest import IngestDeps, IngestPolicy, ingest_event
from opslink.remediation import RemediateDeps, run_task
from opslink.remediation.catalog import load_catalog
from opslink.remediation_models import JobRef, JobRequest
from opslink.service_map import load_service_map
from opslink_cli import samples
from tests.conftest import ROOT
from tests.unit.fakes import FakeAlarms, remediation_on


class FakePlatform:
    name = "fake"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.launched: list[JobRequest] = []
        self.calls = 0  # every launch that reached the platform, failed ones included

    def launch(self, request: JobRequest) -> JobRef:
        self.calls += 1
        if self.fail:
            raise JobPlatformError("fake: connection refused")
        self.launched.append(request)
        return JobRef(
            platform=self.name, job_id=f"j{len(self.launched)}", launched_at=datetime.now(UTC)
        )


def _alert(deps: IngestDeps, name: str, instance: str) -> dict[str, Any]:
    [r] = ingest_event(
        samples.sns_event(
            samples.metric_alarm(name, samples.T0, dimensions={"InstanceId": instance})
        ),
        deps,
        IngestPolicy(),
    )
    return dict(deps.workflow.started[r.execution_name])  # type: ignore[attr-defined]


def _launch(rdeps: RemediateDeps, payload: dict[str, Any]) -> dict[str, Any]:
    selection = {
        "runbook": {"name": "restart_service", "tier": "alert_type", "timeout_seconds": 300}
    }
    return run_task({"action": "launch", "alert": payload, "selection": selection}, rdeps)


def _deps(deps: IngestDeps, platform: FakePlatform, per_resource: int = 3) -> RemediateDeps:
    return remediation_on(
        deps,
        jobs=platform,
        catalog=load_catalog(str(ROOT / "runbooks")),
        service_map=load_service_map(),
        runs_per_service_hour=100,
        runs_per_resource_hour=per_resource,
        alarms=FakeAlarms(),
        clock=lambda: datetime.now(UTC),
    )


def test_per_resource_budget_caps_one_host(deps: IngestDeps) -> None:
    platform = FakePlatform()
    rdeps = _deps(deps, platform, per_resource=3)
    same_host = [
        _alert(deps, f"prod-checkout-api-cpu-high-{i}", "i-04ce7679d71d0d051") for i in range(4)
    ]
    for payload in same_host[:3]:
        _launch(rdeps, payload)
    with pytest.raises(AutomationBudgetExhausted, match="InstanceId=i-04ce7679d71d0d051") as hit:
        _launch(rdeps, same_host[3])
    # The hand-over names the limit that was hit: the resource's, not the service's.
    assert "the per-resource limit" in str(hit.value)
    assert "hourly limit" not in str(hit.value)
    other_host = _alert(deps, "prod-checkout-api-cpu-high-x", "i-0b4c09ef2d4d96b52")
    _launch(rdeps, other_host)  # another resource of the same service still runs
    assert len(platform.launched) == 4


def test_the_service_budget_is_named_when_it_is_the_one_hit(deps: IngestDeps) -> None:
    platform = FakePlatform()
    rdeps = _deps(deps, platform, per_resource=50)
    rdeps.runs_per_service_hour = 2
    hosts = [f"i-0{i}4ce7679d71d0d05" for i in range(3)]
    payloads = [_alert(deps, f"prod-checkout-api-cpu-high-s{i}", h) for i, h in enumerate(hosts)]
    for payload in payloads[:2]:
        _launch(rdeps, payload)
    with pytest.raises(AutomationBudgetExhausted, match="the service's hourly limit"):
        _launch(rdeps, payloads[2])


def test_failed_launches_do_not_consume_budget(deps: IngestDeps) -> None:
    down = FakePlatform(fail=True)
    rdeps = _deps(deps, down, per_resource=1)
    payload = _alert(deps, "prod-checkout-api-cpu-high", "i-0989a109c071c36fe")
    for _ in range(2):  # a launch and its retry while the platform is down
        with pytest.raises(JobPlatformError):
            _launch(rdeps, payload)
    up = FakePlatform()
    _launch(_deps(deps, up, per_resource=1), payload)  # the budget of 1 is intact
    assert len(up.launched) == 1


def test_after_a_failure_the_platform_is_tried_one_call_at_a_time(deps: IngestDeps) -> None:
    """Simultaneous alerts do not all reach a platform that just failed: while one run
    tries it, the others are refused before calling (retried, then handed over)."""
    down = FakePlatform(fail=True)
    rdeps = _deps(deps, down)
    first = _alert(deps, "prod-checkout-api-cpu-high-1", "i-0989a109c071c36f1")
    with pytest.raises(JobPlatformError, match="connection refused"):
        _launch(rdeps, first)
    now = datetime.now(UTC)
    assert rdeps.circuits.circuit_claim_trial(
        "fake", now, now + timedelta(seconds=60)
    )  # a trial runs
    others = [_alert(deps, f"prod-checkout-api-cpu-high-{i}", f"i-0989a109c071c36e{i}")
              for i in range(2, 7)]  # fmt: skip
    for payload in others:
        with pytest.raises(JobPlatformError, match="another run is trying it now"):
            _launch(rdeps, payload)
    assert down.calls == 1  # only the first failure reached the platform
    assert not rdeps.circuits.circuit_claim_trial("fake", now, now)  # still held
    up = FakePlatform()
    rdeps.jobs = up  # type: ignore[assignment]
    later = now + timedelta(seconds=61)
    rdeps.clock = lambda: later
    _launch(rdeps, others[0])  # the trial's slot expired: the next run tries, and it answers
    _launch(rdeps, others[1])  # healthy again: no gate
    assert len(up.launched) == 2


def test_a_poll_during_a_platform_blip_waits_and_a_dead_platform_is_handed_over(
    deps: IngestDeps,
) -> None:
    from tests.unit.fakes import FakePlatform as Platform

    clock = [datetime.now(UTC)]
    platform = Platform(lambda: clock[0])  # type: ignore[arg-type]
    rdeps = _deps(deps, platform)  # type: ignore[arg-type]
    rdeps.clock = lambda: clock[0]
    payload = _alert(deps, "prod-checkout-api-cpu-high-poll", "i-0989a109c071c36aa")
    launched = _launch(rdeps, payload)

    def unreachable(ref: Any) -> Any:
        raise JobPlatformError("fake: 503 after retries")

    platform.status = unreachable  # type: ignore[method-assign]
    clock[0] += timedelta(seconds=30)
    polled = run_task({"action": "poll", "alert": payload, **launched}, rdeps)["poll"]
    assert polled["state"] == "running" and not polled["timed_out"]
    assert "unreachable" in polled["detail"] and "polled again" in polled["detail"]
    clock[0] += timedelta(seconds=400)  # past the runbook's 300 s timeout, still away
    late = run_task({"action": "poll", "alert": payload, **launched}, rdeps)["poll"]
    assert late["timed_out"]  # the state machine cancels, then hands over

    def cancel_fails(ref: Any) -> None:
        raise JobPlatformError("fake: connection refused")

    platform.cancel = cancel_fails  # type: ignore[method-assign]
    out = run_task({"action": "cancel", "alert": payload, "job": launched["job"]}, rdeps)
    assert out == {"cancelled": False}
    note = deps.store.get(payload["alert_id"]).notes[-1]  # type: ignore[union-attr]
    assert note["kind"] == "job_not_cancelled" and "check the job by hand" in note["text"]


# -- flapping, kill switch, maintenance windows ---------------------------------------------

from datetime import timedelta  # noqa: E402

from opslink.automation_control import Control, MaintenanceWindow  # noqa: E402
from opslink.models import AlertStatus, TicketStatus  # noqa: E402
from tests.unit.conftest import Clock  # noqa: E402

CPU = "prod-checkout-api-cpu-high"


def _change(deps: IngestDeps, state: str, minute: float) -> Any:
    [r] = ingest_event(
        samples.sns_event(
            samples.metric_alarm(
                CPU,
                samples.T0 + timedelta(minutes=minute),
                state=state,
                old="OK" if state == "ALARM" else "ALARM",
                dimensions={"InstanceId": "i-04f0c64bba9809e64"},
            )
        ),
        deps,
        IngestPolicy(),
    )
    return r


def test_a_flapping_alarm_keeps_one_ticket_open_and_suppresses_automation(
    deps: IngestDeps, clock: Clock
) -> None:
    for i in range(20):  # 20 changes in 10 minutes
        _change(deps, "ALARM" if i % 2 == 0 else "OK", i * 0.5)
    tickets = deps.tickets.list(limit=50)  # type: ignore[attr-defined]
    assert len(tickets) == 1 and tickets[0].status is TicketStatus.OPEN
    assert sum("is flapping" in c["text"] for c in tickets[0].comments) == 1
    alerts = deps.store.list_alerts()
    open_alerts = [a for a in alerts if a.status is AlertStatus.OPEN]
    assert len(open_alerts) == 1 and open_alerts[0].flapping_since is not None
    assert len(deps.workflow.started) <= 4  # type: ignore[attr-defined]  # before it was seen
    # Automation for it is suppressed: select leaves it to humans, with the reason.
    payload = deps.workflow.started[open_alerts[0].execution_name]  # type: ignore[attr-defined]
    rdeps = _deps(deps, FakePlatform())
    chosen = run_task({"action": "select", "alert": payload}, rdeps)
    assert chosen["runbook"] is None and "flapping" in chosen["reason"]
    # Stable again: OK for the whole window, the reconciler resolves alert and ticket once.
    clock.now = samples.T0 + timedelta(minutes=9.5 + 11)
    from opslink import reconciler

    done = reconciler.reconcile(deps, IngestPolicy())
    assert done["stable"] == [open_alerts[0].alert_id]
    assert deps.tickets.get(tickets[0].id).status is TicketStatus.RESOLVED  # type: ignore[union-attr]
    assert deps.store.get(open_alerts[0].alert_id).status is AlertStatus.RESOLVED  # type: ignore[union-attr]


class StaticControl:
    def __init__(self, control: Control) -> None:
        self.control = control

    def current(self, fresh: bool = False) -> Control:
        return self.control


def test_kill_switch_and_maintenance_windows_suppress_selection(deps: IngestDeps) -> None:
    payload = _alert(deps, CPU, "i-05eca583de3797c33")
    rdeps = _deps(deps, FakePlatform())
    rdeps.control = StaticControl(Control(paused=True, by="dana", reason="incident 4711"))
    chosen = run_task({"action": "select", "alert": payload}, rdeps)
    assert chosen["runbook"] is None and chosen["suppressed"]
    assert "kill switch by dana: incident 4711" in chosen["reason"]
    now = datetime.now(UTC)
    window = MaintenanceWindow(
        service="checkout", start=now - timedelta(hours=1), end=now + timedelta(hours=1)
    )
    rdeps.control = StaticControl(Control(maintenance=[window]))
    assert (
        "maintenance window for checkout"
        in run_task({"action": "select", "alert": payload}, rdeps)["reason"]
    )
    rdeps.control = StaticControl(
        Control(maintenance=[window.model_copy(update={"service": "search"})])
    )
    assert run_task({"action": "select", "alert": payload}, rdeps)["runbook"] is not None


def test_an_alert_resolved_before_its_runbook_is_chosen_runs_nothing(deps: IngestDeps) -> None:
    """Its alarm went back to OK while the execution started or gathered diagnostics:
    nothing to fix, and a run now would be credited with a fix it did not make. An
    operator's own run of a runbook is still theirs to make."""
    payload = _alert(deps, CPU, "i-05eca583de3797c33")
    rdeps = _deps(deps, FakePlatform())
    assert run_task({"action": "select", "alert": payload}, rdeps)["runbook"] is not None
    ok = samples.metric_alarm(CPU, samples.T0 + timedelta(minutes=2), state="OK", old="ALARM",
                              dimensions={"InstanceId": "i-05eca583de3797c33"})  # fmt: skip
    [r] = ingest_event(samples.sns_event(ok), deps, IngestPolicy())
    assert r.outcome.value == "resolved"
    chosen = run_task({"action": "select", "alert": payload}, rdeps)
    assert chosen["runbook"] is None and not chosen["suppressed"]
    assert chosen["reason"] == (
        "The alert was resolved (by alarm) before a runbook ran: nothing was run."
    )


# -- job platform down: the circuit breaker -------------------------------------------------


class Notes:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None:
        self.sent.append((subject, attributes["kind"]))


def test_circuit_opens_pauses_automation_probes_and_announces_recovery(
    deps: IngestDeps,
) -> None:
    from opslink.errors import AutomationSuppressed

    now = [datetime.now(UTC)]
    down = FakePlatform(fail=True)
    notes = Notes()
    rdeps = _deps(deps, down, per_resource=10)
    rdeps.notifier, rdeps.clock = notes, lambda: now[0]
    alerts = [
        _alert(deps, f"prod-checkout-api-cpu-high-{i}", f"i-055d0ebca1ca748a{i}") for i in range(5)
    ]
    for payload in alerts[:3]:
        with pytest.raises(JobPlatformError):
            _launch(rdeps, payload)
    assert notes.sent == [("[OpsLink] automation paused: fake unreachable", "circuit_open")]
    calls = len(down.launched)
    with pytest.raises(AutomationSuppressed, match="job platform fake unreachable since"):
        _launch(rdeps, alerts[3])  # the platform is not even called
    assert len(down.launched) == calls
    note = deps.store.get(alerts[3]["alert_id"]).notes[-1]  # type: ignore[union-attr]
    assert note["kind"] == "circuit_open"
    # After the cooldown one execution probes; the platform is back: closed, announced.
    now[0] += timedelta(minutes=6)
    rdeps.jobs = FakePlatform()
    _launch(rdeps, alerts[4])
    assert notes.sent[-1] == ("[OpsLink] fake recovered: automation resumes", "circuit_closed")
    _launch(rdeps, alerts[3])  # and automation runs again for everyone


def test_failed_launch_ends_in_an_honest_handover(deps: IngestDeps) -> None:
    payload = _alert(deps, "prod-checkout-api-cpu-high", "i-0bc53f2a398a12ce1")
    rdeps = _deps(deps, FakePlatform())
    out = run_task(
        {
            "action": "escalate",
            "alert": payload,
            "escalation": {
                "kind": "platform_down",
                "detail": "automation paused: job platform fake unreachable since X",
            },
        },
        rdeps,
    )
    assert out["handed_over"] and out["ticket_id"] == payload["ticket_id"]
    ticket = deps.tickets.get(payload["ticket_id"])
    assert ticket and ticket.title.startswith("[FAILED_AUTO]")
    assert "job platform is unreachable" in ticket.comments[-1]["text"]
    assert "unreachable since X" in ticket.comments[-1]["text"]


def test_shadow_mode_records_what_would_run_and_runs_nothing(deps: IngestDeps) -> None:
    payload = _alert(deps, CPU, "i-000dc3a6d232cdcb0")
    platform = FakePlatform()
    rdeps = _deps(deps, platform)
    modes = {"restart_service": "shadow", "scale_up": "shadow"}
    rdeps.control = StaticControl(Control(runbook_modes=modes))
    chosen = run_task({"action": "select", "alert": payload}, rdeps)
    assert chosen["runbook"] is None and chosen["shadow"]["name"] in modes
    assert "would have run" in chosen["reason"] and "nothing was run" in chosen["reason"]
    note = deps.store.get(payload["alert_id"]).notes[-1]  # type: ignore[union-attr]
    assert note["kind"] == "shadow"
    assert platform.launched == []
    # Promoted back to auto without a redeploy: it is selected to run.
    rdeps.control = StaticControl(Control(runbook_modes={"restart_service": "auto"}))
    assert run_task({"action": "select", "alert": payload}, rdeps)["runbook"] is not None


def test_a_shadow_runbook_in_the_catalog_never_runs(deps: IngestDeps, tmp_path: Any) -> None:
    import shutil

    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "runbooks", catalog)
    for name in ("restart_service.yaml", "scale_up.yaml"):
        path = catalog / name
        path.write_text(path.read_text().replace("risk: auto", "risk: shadow"))
    payload = _alert(deps, CPU, "i-023d6053f6164e554")
    rdeps = _deps(deps, FakePlatform())
    rdeps.catalog = load_catalog(str(catalog))
    chosen = run_task({"action": "select", "alert": payload}, rdeps)
    assert chosen["runbook"] is None and chosen["shadow"]
