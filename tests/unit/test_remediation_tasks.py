"""Every remediation task on its own, against a fake job platform and a fake alarm reader:
a regression in launch, poll, cancel, verify, resolve, escalate or approval shows here in
seconds, before the end-to-end tier runs the whole state machine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from opslink.errors import (
    ConfigurationError,
    InvalidTaskInput,
    JobPlatformError,
    ParameterRejectedError,
)
from opslink.ingest import IngestDeps
from opslink.models import AlertStatus, Priority, TicketStatus
from opslink.remediation import run_task
from opslink.remediation_models import JobState
from tests.unit.conftest import Clock
from tests.unit.fakes import (
    Callbacks,
    FakePlatform,
    LostLaunchAnswers,
    opened_alert,
    remediate_deps,
)

SELECTION = {
    "runbook": {"name": "restart_service", "tier": "alert_type", "timeout_seconds": 300},
    "approval": False,
    "reason": "test",
}


@pytest.fixture
def world(deps: IngestDeps, clock: Clock) -> dict[str, Any]:
    platform = FakePlatform(clock)
    rdeps = remediate_deps(deps, platform, clock)
    return {"alert": opened_alert(deps), "platform": platform, "rdeps": rdeps, "deps": deps}


def _launch(w: dict[str, Any]) -> dict[str, Any]:
    return run_task({"action": "launch", "alert": w["alert"], "selection": SELECTION}, w["rdeps"])


def test_launch_starts_once_links_and_comments(world: dict[str, Any]) -> None:
    out = _launch(world)
    again = _launch(world)  # a Step Functions retry of the same task
    assert len(world["platform"].launched) == 1
    assert again["job"] == out["job"]
    request = world["platform"].launched[0]
    assert request.targets == {"InstanceId": ("i-0123456789abcdef0",)}
    assert request.environment["SERVICE"] == "checkout"
    assert out["job"]["runbook"] == "restart_service" and out["poll"]["state"] == "queued"
    assert 1 <= out["poll"]["wait_seconds"] <= 300
    alert_id = world["alert"]["alert_id"]
    store = world["deps"].store
    assert [j.job_id for j in store.launched_jobs(alert_id)] == ["job-1"]
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    assert sum("Launched runbook restart_service" in c["text"] for c in ticket.comments) == 1


def test_launch_refuses_a_hostile_parameter(world: dict[str, Any]) -> None:
    world["alert"]["service"] = "checkout; rm -rf /"
    with pytest.raises(ParameterRejectedError, match="SERVICE"):
        _launch(world)
    assert world["platform"].launched == []
    alert = world["deps"].store.get(world["alert"]["alert_id"])
    assert alert.notes[-1]["kind"] == "parameter_rejected"


def test_poll_reports_progress_then_the_end(world: dict[str, Any], clock: Clock) -> None:
    launched = _launch(world)
    clock.advance(seconds=20)
    first = run_task({"action": "poll", "alert": world["alert"], **launched}, world["rdeps"])[
        "poll"
    ]
    assert first["state"] == "running" and first["attempt"] == 1 and not first["timed_out"]
    assert first["elapsed_seconds"] == 20 and first["wait_seconds"] >= 1
    world["platform"].state, world["platform"].exit_code = JobState.SUCCEEDED, 0
    clock.advance(seconds=40)
    done = run_task(
        {"action": "poll", "alert": world["alert"], "job": launched["job"], "poll": first},
        world["rdeps"],
    )["poll"]
    assert done["state"] == "succeeded" and done["exit_code"] == 0 and done["attempt"] == 2


def test_poll_past_the_timeout_then_cancel(world: dict[str, Any], clock: Clock) -> None:
    launched = _launch(world)
    clock.advance(seconds=301)
    late = run_task({"action": "poll", "alert": world["alert"], **launched}, world["rdeps"])["poll"]
    assert late["timed_out"] is True
    out = run_task(
        {"action": "cancel", "alert": world["alert"], "job": launched["job"]}, world["rdeps"]
    )
    assert out == {"cancelled": True} and world["platform"].cancelled == ["job-1"]
    alert = world["deps"].store.get(world["alert"]["alert_id"])
    assert "ran past its 300s timeout" in alert.notes[-1]["text"]


def test_verify_reads_the_alarm(world: dict[str, Any]) -> None:
    assert run_task({"action": "verify", "alert": world["alert"]}, world["rdeps"]) == {
        "alarm_state": "OK",
        "reason": "",
        "resolution": None,  # no job: nothing of ours to credit
    }
    # After a job, an OK resolves the alert and its ticket in the same task, once.
    job = _launch(world)["job"]
    fixed = run_task({"action": "verify", "alert": world["alert"], "job": job}, world["rdeps"])
    again = run_task({"action": "verify", "alert": world["alert"], "job": job}, world["rdeps"])
    assert fixed["resolution"]["alert_was_open"] and not again["resolution"]["alert_was_open"]
    alert = world["deps"].store.get(world["alert"]["alert_id"])
    assert alert.status is AlertStatus.RESOLVED and alert.resolution["by"] == "automation"
    world["rdeps"].alarms.value = "ALARM"
    assert run_task({"action": "verify", "alert": world["alert"], "job": job},
                    world["rdeps"])["resolution"] is None  # fmt: skip
    world["rdeps"].alarms.value = None
    missing = run_task({"action": "verify", "alert": world["alert"]}, world["rdeps"])
    assert missing["alarm_state"] == "UNKNOWN" and "not found" in missing["reason"]


def test_verify_with_a_token_answers_the_execution_itself(world: dict[str, Any]) -> None:
    """VerifyFix ends the execution on a fix and raises AlarmStillFiring otherwise by
    answering its own task token: never a function error (the Errors metric stays quiet)."""
    rdeps = world["rdeps"]
    rdeps.callbacks = Callbacks()
    job = _launch(world)["job"]
    rdeps.alarms.value = "ALARM"
    still = run_task({"action": "verify", "alert": world["alert"], "job": job, "token": "t1"},
                     rdeps)  # fmt: skip
    assert still["resolution"] is None and rdeps.callbacks.failed == [("t1", "AlarmStillFiring")]
    assert world["deps"].store.get(world["alert"]["alert_id"]).status is AlertStatus.OPEN
    rdeps.alarms.value = "OK"
    fixed = run_task({"action": "verify", "alert": world["alert"], "job": job, "token": "t2"},
                     rdeps)  # fmt: skip
    [(token, output)] = rdeps.callbacks.succeeded
    assert token == "t2" and output == fixed and output["resolution"]["alert_was_open"]
    rdeps.callbacks = None  # a token but no way to answer it: a configuration error, named
    with pytest.raises(ConfigurationError, match="callbacks"):
        run_task({"action": "verify", "alert": world["alert"], "job": job, "token": "t3"}, rdeps)


def test_resolve_closes_alert_and_ticket_once_and_scores_a_fix(world: dict[str, Any]) -> None:
    launched = _launch(world)
    task = {"action": "resolve", "alert": world["alert"], "job": launched["job"]}
    assert run_task(task, world["rdeps"]) == {"resolved": True, "alert_was_open": True}
    assert run_task(task, world["rdeps"])["alert_was_open"] is False  # retried: no change
    alert = world["deps"].store.get(world["alert"]["alert_id"])
    assert alert.status is AlertStatus.RESOLVED and alert.resolution["by"] == "automation"
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    assert ticket.status is TicketStatus.RESOLVED
    assert sum("Resolved by OpsLink" in c["text"] for c in ticket.comments) == 1
    stats = world["deps"].store.runbook_stats(
        ["restart_service"], "cpu_usage", "checkout", "production"
    )
    assert stats["restart_service"][0] >= 1


def test_escalate_hands_over_on_the_alerts_own_ticket(world: dict[str, Any], clock: Clock) -> None:
    launched = _launch(world)
    world["platform"].stderr = "systemctl: unit checkout not found"
    out = run_task(
        {
            "action": "escalate",
            "alert": world["alert"],
            "job": launched["job"],
            "selection": SELECTION,
            "escalation": {"kind": "failed", "detail": "exit 5"},
        },
        world["rdeps"],
    )
    assert out["handed_over"] is True and out["ticket_id"] == world["alert"]["ticket_id"]
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    assert ticket.priority in (Priority.HIGH, Priority.CRITICAL)
    assert ticket.assignee == "carol@example.com"
    assert ticket.due_at <= clock().replace(microsecond=0) + timedelta(hours=2)
    note = ticket.comments[-1]["text"]
    assert "the runbook failed" in note and "unit checkout not found" in note
    assert "restart_service" in note and "exit 5" in note
    stats = world["deps"].store.runbook_stats(
        ["restart_service"], "cpu_usage", "checkout", "production"
    )
    assert stats["restart_service"][1] >= 1  # a miss


def test_escalate_never_hands_over_a_resolved_alert(world: dict[str, Any]) -> None:
    launched = _launch(world)
    run_task({"action": "resolve", "alert": world["alert"], "job": launched["job"]}, world["rdeps"])
    out = run_task(
        {
            "action": "escalate",
            "alert": world["alert"],
            "escalation": {"kind": "not_fixed", "detail": "ALARM"},
        },
        world["rdeps"],
    )
    assert out["handed_over"] is False and out["reason"] == "alert already resolved"


def test_a_handover_ticket_made_while_an_ok_resolves_the_alert_is_resolved_too(
    world: dict[str, Any],
) -> None:
    """The OK resolves the alert and looks up its tickets while the hand-over ticket is
    being created, before it is linked: the hand-over reads the alert after its link and
    resolves its own ticket — one alert, no open ticket left behind."""
    from opslink.ticket_lockstep import resolve_other_tickets

    deps, rdeps, alert = world["deps"], world["rdeps"], world["alert"]
    launched = _launch(world)
    rdeps.escalation_ticket = "separate"
    inner_create = deps.tickets.create

    def create_while_the_ok_lands(draft: Any) -> Any:
        current = deps.store.get(alert["alert_id"])
        resolution = {"by": "alarm", "how": "alarm returned to OK", "at": "x", "reason": "OK"}
        assert deps.store.resolve(current, resolution, deps.clock())
        assert resolve_other_tickets(deps.store, deps.tickets, alert["alert_id"],
                                     current.ticket_id, "OK", outbox=deps.outbox) == []  # fmt: skip
        return inner_create(draft)

    rdeps.tickets = type("Racing", (), {
        "create": staticmethod(create_while_the_ok_lands),
        "__getattr__": lambda self, name: getattr(deps.tickets, name),
    })()  # fmt: skip
    out = run_task(
        {
            "action": "escalate",
            "alert": alert,
            "job": launched["job"],
            "selection": SELECTION,
            "escalation": {"kind": "failed", "detail": "exit 5"},
        },
        rdeps,
    )
    handover = deps.tickets.get(out["ticket_id"])
    assert out["ticket_id"] != alert["ticket_id"]
    assert handover.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    assert any("while this hand-over ticket was being opened" in c["text"]
               for c in handover.comments)  # fmt: skip


def test_a_verified_fix_looks_up_other_tickets_only_when_a_handover_was_linked(
    world: dict[str, Any],
) -> None:
    """No hand-over counted on the alert: resolved without the lookup; one linked while the
    fix is being resolved fails the resolution's condition, and the lookup resolves it."""
    from datetime import UTC, datetime

    from opslink.models import TicketDraft, TicketType

    deps, rdeps, alert = world["deps"], world["rdeps"], world["alert"]
    job = _launch(world)["job"]
    queried: list[str] = []
    inner_links, inner_resolve = rdeps.store.links, rdeps.store.resolve
    rdeps.store.links = lambda alert_id: queried.append(alert_id) or inner_links(alert_id)
    handover: list[str] = []

    def resolve_after_a_handover(*args: Any, **kwargs: Any) -> bool:
        if world.get("race") and not handover:
            draft = TicketDraft(alert_id=f"{alert['alert_id']}:manual", title="[FAILED_AUTO]",
                                description="hand-over", ticket_type=TicketType.INCIDENT,
                                priority=Priority.HIGH, due_at=datetime.now(UTC))  # fmt: skip
            ticket = deps.tickets.create(draft)
            deps.store.link_followup_ticket(alert["alert_id"], "builtin", ticket.id, "manual")
            handover.append(ticket.id)
        return bool(inner_resolve(*args, **kwargs))

    rdeps.store.resolve = resolve_after_a_handover
    world["race"] = True
    run_task({"action": "resolve", "alert": alert, "job": job}, rdeps)
    assert queried == [alert["alert_id"]]
    assert deps.tickets.get(handover[0]).status is TicketStatus.RESOLVED
    assert deps.store.get(alert["alert_id"]).status is AlertStatus.RESOLVED


def test_a_verified_fix_without_handover_does_not_look_up_other_tickets(
    world: dict[str, Any],
) -> None:
    rdeps, alert = world["rdeps"], world["alert"]
    job = _launch(world)["job"]
    queried: list[str] = []
    inner_links = rdeps.store.links
    rdeps.store.links = lambda alert_id: queried.append(alert_id) or inner_links(alert_id)
    for _ in range(2):  # the task, then a Step Functions retry of it
        out = run_task({"action": "resolve", "alert": alert, "job": job}, rdeps)
        assert out["resolved"] is True
    assert queried == []
    assert world["deps"].store.get(alert["alert_id"]).status is AlertStatus.RESOLVED
    ticket = world["deps"].tickets.get(alert["ticket_id"])
    assert ticket.status is TicketStatus.RESOLVED


def test_approval_parks_the_token_and_tells_the_ticket(world: dict[str, Any]) -> None:
    selection = {**SELECTION, "approval": True}
    out = run_task(
        {
            "action": "request_approval",
            "alert": world["alert"],
            "selection": selection,
            "token": "tok-123",
        },
        world["rdeps"],
    )
    assert out == {"requested": True}
    store = world["deps"].store
    assert store.approval_token(world["alert"]["alert_id"]) == "tok-123"
    ticket = world["deps"].tickets.get(world["alert"]["ticket_id"])
    assert "opslink executions approve remediate-" in ticket.comments[-1]["text"]
    with pytest.raises(InvalidTaskInput, match="token"):
        run_task(
            {"action": "request_approval", "alert": world["alert"], "selection": selection},
            world["rdeps"],
        )


def test_malformed_payloads_are_named(world: dict[str, Any]) -> None:
    with pytest.raises(InvalidTaskInput, match="job"):
        run_task({"action": "poll", "alert": world["alert"]}, world["rdeps"])
    with pytest.raises(InvalidTaskInput, match="launched_at"):
        run_task(
            {"action": "poll", "alert": world["alert"], "job": {"platform": "x", "job_id": "1"}},
            world["rdeps"],
        )


def _manual(w: dict[str, Any], run_id: str = "r1") -> dict[str, Any]:
    manual = {"runbook": "restart_service", "by": "dana", "run_id": run_id, "reason": "test"}
    return w["alert"] | {"manual": manual}


def test_an_operators_run_is_its_own_launch_and_no_ladder(world: dict[str, Any]) -> None:
    from opslink.identity import alert_of_execution, execution_name

    automated = _launch(world)
    alert = _manual(world)
    manual = run_task({"action": "launch", "alert": alert, "selection": SELECTION}, world["rdeps"])
    again = run_task({"action": "launch", "alert": alert, "selection": SELECTION}, world["rdeps"])
    assert manual["job"]["job_id"] != automated["job"]["job_id"] == "job-1"
    assert again["job"] == manual["job"] and len(world["platform"].launched) == 2
    world["rdeps"].alarms.value = "ALARM"  # not fixed: an automated run would try another
    ladder = run_task({"action": "next_attempt", "alert": alert, "job": manual["job"],
                       "escalation": {"kind": "not_fixed"}, "ladder": {"attempts": []}},
                      world["rdeps"])  # fmt: skip
    assert not ladder["next"] and "restart_service only" in ladder["reason"]
    name = execution_name(world["alert"]["alert_id"], "r1")
    assert alert_of_execution(name) == world["alert"]["alert_id"] != name


def test_the_dry_run_names_the_budget_limit_and_changes_nothing(world: dict[str, Any]) -> None:
    rdeps = world["rdeps"]
    for i in range(rdeps.runs_per_resource_hour):  # earlier runs on this resource this hour
        run_task({"action": "launch", "alert": _manual(world, f"r{i}"), "selection": SELECTION},
                 rdeps)  # fmt: skip
    launched = len(world["platform"].launched)
    plan = run_task({"action": "plan", "alert": _manual(world, "next")}, rdeps)
    assert not plan["runnable"] and "per-resource limit" in plan["refused"]
    assert (
        plan["hosts"] == ["i-0123456789abcdef0"] and plan["budget"]["resource_runs_this_hour"] == 3
    )
    assert len(world["platform"].launched) == launched
    with pytest.raises(InvalidTaskInput, match="manual"):
        run_task({"action": "plan", "alert": world["alert"]}, rdeps)


def test_the_alert_is_announced_once_even_when_diagnose_is_retried(world: dict[str, Any]) -> None:
    class Recording:
        def __init__(self, fail: bool = False) -> None:
            self.sent: list[tuple[str, str, dict[str, str]]] = []
            self.fail = fail

        def notify(self, subject: str, message: str, attributes: dict[str, str]) -> None:
            if self.fail:
                raise RuntimeError("SNS is away")
            self.sent.append((subject, message, attributes))

    alert = world["alert"] | {"notification": {
        "subject": "[High] checkout: prod-checkout-api-cpu-high", "message": "CPU high",
        "attributes": {"service": "checkout", "priority": "High", "team": "payments",
                       "recipients": "alice@example.com"}}}  # fmt: skip
    world["rdeps"].notifier = notifier = Recording()
    for attempt in (0, 1, 2):  # Step Functions retries the task: one announcement
        run_task({"action": "diagnose", "alert": alert, "retry_count": attempt}, world["rdeps"])
    assert notifier.sent == [("[High] checkout: prod-checkout-api-cpu-high", "CPU high",
                              {"service": "checkout", "priority": "High", "team": "payments"})]  # fmt: skip
    world["rdeps"].notifier = Recording(fail=True)  # a failed publish never stops the run
    assert (
        run_task({"action": "diagnose", "alert": alert}, world["rdeps"])["diagnostics"] is not None
    )


def test_an_operators_run_of_an_approval_runbook_waits_for_a_human(world: dict[str, Any]) -> None:
    """`opslink runbooks run` takes the runbook's approval like an automated run; the
    approval request names the operator's execution, and the kill switch holds too."""
    from opslink.automation_control import Control
    from opslink.identity import execution_name

    class Static:
        def __init__(self, control: Control) -> None:
            self.control = control

        def current(self, fresh: bool = False) -> Control:
            return self.control

    rdeps = world["rdeps"]
    rdeps.control = Static(Control(runbook_modes={"restart_service": "approval"}))
    alert = _manual(world)
    chosen = run_task({"action": "select", "alert": alert}, rdeps)
    assert chosen["runbook"]["name"] == "restart_service" and chosen["approval"]
    assert "requested by dana (test)" in chosen["reason"]
    run_task({"action": "request_approval", "alert": alert, "selection": chosen,
              "token": "tok-1"}, rdeps)  # fmt: skip
    note = world["deps"].store.get(world["alert"]["alert_id"]).notes[-1]["text"]
    assert f"opslink executions approve {execution_name(world['alert']['alert_id'], 'r1')}" in note
    rdeps.control = Static(Control(paused=True, by="lee", reason="incident 9"))
    held = run_task({"action": "select", "alert": _manual(world, "r2")}, rdeps)
    assert held["runbook"] is None and "kill switch by lee: incident 9" in held["reason"]
    assert world["platform"].launched == []


def test_a_fix_resolves_every_linked_ticket_whatever_one_of_them_answers(
    world: dict[str, Any],
) -> None:
    """One alert, one open ticket: a hand-over ticket the system refuses to read is passed
    over with a note for a human; one it cannot reach now gets its change through the
    outbox — the fix itself never fails after the alert was resolved."""
    from datetime import UTC, datetime

    from opslink.errors import TicketSystemError, TicketSystemRejected
    from opslink.models import TicketDraft, TicketType

    deps, rdeps, alert = world["deps"], world["rdeps"], world["alert"]
    others = []
    for n in (1, 2):
        draft = TicketDraft(alert_id=f"{alert['alert_id']}-handover-{n}", title=f"[FAILED_AUTO] {n}",
                            description="hand-over", ticket_type=TicketType.INCIDENT,
                            priority=Priority.HIGH, due_at=datetime.now(UTC))  # fmt: skip
        ticket = deps.tickets.create(draft)
        deps.store.link_followup_ticket(alert["alert_id"], deps.tickets.name, ticket.id, "handover")
        others.append(ticket.id)

    class Flaky:
        def __init__(self, inner: Any) -> None:
            self.inner, self.name = inner, inner.name

        def get(self, ticket_id: str) -> Any:
            if ticket_id == others[0]:
                raise TicketSystemRejected("custom state 'Awaiting vendor' has no mapping")
            if ticket_id == others[1]:
                raise TicketSystemError("503 Service Unavailable")
            return self.inner.get(ticket_id)

        def set_status(self, ticket_id: str, *args: Any, **kwargs: Any) -> Any:
            if ticket_id == others[1]:  # unreachable for every call, not just reads
                raise TicketSystemError("503 Service Unavailable")
            return self.inner.set_status(ticket_id, *args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    rdeps.tickets = Flaky(deps.tickets)
    job = _launch(world)["job"]
    done = run_task({"action": "verify", "alert": alert, "job": job}, rdeps)
    assert done["resolution"]["alert_was_open"]
    stored = deps.store.get(alert["alert_id"])
    assert stored.status is AlertStatus.RESOLVED
    assert any(n["kind"] == "ticket_passed_over" and others[0] in n["text"] for n in stored.notes)
    queued = deps.outbox.queued_comments(others[1])
    assert [q.get("status") for q in queued] == ["resolved"]  # delivered by the reconciler


def test_a_job_that_ended_at_its_timeout_is_not_cancelled_and_the_run_goes_on(
    deps: IngestDeps, clock: Clock
) -> None:
    """AWX refuses to cancel a job that is no longer running (405). The cancel task
    failed, and the execution skipped its next runbook straight to a hand-over (its
    failure path); it now notes why on the alert and the timeout's own path follows."""
    from opslink.adapters.http_client import HttpClient
    from opslink.adapters.jobs.awx import AwxPlatform
    from tests.integration.contract_servers import AwxApi, serve

    app = AwxApi()
    with serve(app) as url:
        client = HttpClient("AWX", url, {"Authorization": "Bearer secret-token"}, retries=0)
        awx = AwxPlatform(url, "secret-token", {"restart_service": 7}, client)
        w = {"alert": opened_alert(deps), "rdeps": remediate_deps(deps, awx, clock)}  # type: ignore[arg-type]
        launched = _launch(w)
        app.jobs[int(launched["job"]["job_id"])]["status"] = "successful"  # ended just now
        out = run_task({"action": "cancel", "alert": w["alert"], "job": launched["job"]},
                       w["rdeps"])  # fmt: skip
    assert out == {"cancelled": False}
    note = deps.store.get(w["alert"]["alert_id"]).notes[-1]
    assert note["kind"] == "job_not_cancelled"
    assert "refused it" in note["text"] and "405" in note["text"]


def test_a_retried_launch_finds_the_job_its_lost_answer_started(
    deps: IngestDeps, clock: Clock
) -> None:
    platform = LostLaunchAnswers(clock, lose={":restart_service"})
    rdeps = remediate_deps(deps, platform, clock)
    task = {"action": "launch", "alert": opened_alert(deps), "selection": SELECTION}
    with pytest.raises(JobPlatformError):
        run_task(task, rdeps)
    out = run_task(task | {"retry_count": 1}, rdeps)  # the state machine's retry
    assert len(platform.launched) == 1 and out["job"]["job_id"] == "job-1"
    # A first attempt never looks (a new alert's launch costs no lookup).
    assert run_task(task, rdeps)["job"]["job_id"] == "job-1"  # the stored job, as before


def test_a_found_job_is_counted_never_refused_by_a_budget_taken_meanwhile(
    deps: IngestDeps, clock: Clock
) -> None:
    """The lost answer gave the claim back; before the retry, another alert of the service
    took the hour's last run. The retry finds the job running: it goes on, counted (a
    refusal would hand the alert over saying the runbook did not run while it does)."""
    platform = LostLaunchAnswers(clock, lose={":restart_service"})
    rdeps = remediate_deps(deps, platform, clock)
    rdeps.runs_per_service_hour = 1
    alert = opened_alert(deps)
    task = {"action": "launch", "alert": alert, "selection": SELECTION}
    with pytest.raises(JobPlatformError):
        run_task(task, rdeps)
    assert rdeps.budgets.claim_automation_budget(alert["service"], clock(), 1)  # meanwhile
    out = run_task(task | {"retry_count": 1}, rdeps)
    assert out["job"]["job_id"] == "job-1" and len(platform.launched) == 1
    assert rdeps.budgets.automation_budget_used(alert["service"], clock())[0] == 2  # both ran
    kinds = [n["kind"] for n in deps.store.get(alert["alert_id"]).notes]
    assert "budget_exhausted" not in kinds and "job_launched" in kinds
