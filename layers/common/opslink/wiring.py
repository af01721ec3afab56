"""Composition root: build each function's ports from its settings, lazily, once per
container (clients are created on first use, never at import time). Each builder
imports only what its function needs, so no function pays for another's modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opslink.adapters.store.bookkeeping import Bookkeeping
from opslink.adapters.store.dynamodb import DynamoAlertStore
from opslink.adapters.store.faults import FaultRecords
from opslink.adapters.store.reliability import ReliabilityRecords
from opslink.adapters.tickets.registry import ticket_system
from opslink.errors import ConfigurationError
from opslink.faults import FaultReporter
from opslink.secrets import read_secret

if TYPE_CHECKING:
    from opslink.adapters.workflow.remediate_tasks import RemediateJobEvents
    from opslink.config import (
        CommonSettings,
        IngestSettings,
        MetricsSettings,
        RemediateSettings,
        TrackSettings,
    )
    from opslink.ingest import IngestDeps
    from opslink.metrics_service import MetricsDeps
    from opslink.ports import EventRecorder
    from opslink.remediation import RemediateDeps
    from opslink.track_service import TrackDeps


def ingest_deps(settings: IngestSettings) -> IngestDeps:
    from opslink.adapters.directory.alarm_tags import CloudWatchAlarmTags, NoAlarmTags
    from opslink.adapters.directory.service_map_directory import ServiceMapDirectory
    from opslink.adapters.store.incident_keys import IncidentKeys
    from opslink.adapters.workflow.stepfunctions import StepFunctionsWorkflow
    from opslink.ingest import IngestDeps
    from opslink.ingest.grouping import load_correlator
    from opslink.service_map import load_service_map

    smap = load_service_map(settings.service_map_path)
    store = _store(settings)
    notifier = _notifier(settings.notification_topic_arn)
    grouping = settings.correlation
    return IngestDeps(
        store=store,
        tickets=ticket_system(settings),
        directory=ServiceMapDirectory(smap),
        tags=CloudWatchAlarmTags() if settings.read_alarm_tags else NoAlarmTags(),
        workflow=StepFunctionsWorkflow(settings.state_machine_arn),
        service_map=smap,
        flaps=ReliabilityRecords(store.table, store.client),
        outbox=store.outbox,
        rejections=Bookkeeping(store.table, store.client),
        notifier=notifier,
        faults=FaultReporter(FaultRecords(store.table, store.client), notifier),
        # Off: no alert is placed; those placed before still resolve by their incident.
        incidents=IncidentKeys(store.table, store.client),
        correlator=load_correlator(settings.correlation_rules_path, smap.depends_on())
        if grouping
        else None,
    )


def _store(settings: CommonSettings) -> DynamoAlertStore:
    """The alert store on the function's tables (the stack's account: KPIs by place)."""
    return DynamoAlertStore(
        settings.alerts_table,
        journal_table=settings.journal_table,
        home_account=settings.stack_account_id,
    )


def _notifier(topic_arn: str) -> Any:
    from opslink.adapters.notify.sns import SnsNotifier

    return SnsNotifier(topic_arn) if topic_arn else None


def job_events(settings: TrackSettings) -> RemediateJobEvents:
    """Where the webhook URL passes job platforms' notifications on to."""
    from opslink.adapters.workflow.remediate_tasks import RemediateJobEvents

    return RemediateJobEvents(settings.remediate_function_name)


def remediate_deps(settings: RemediateSettings) -> RemediateDeps:
    from opslink.adapters.directory.alarm_state import CloudWatchAlarmState
    from opslink.adapters.directory.ec2_hosts import Ec2HostDirectory
    from opslink.adapters.directory.service_map_directory import ServiceMapDirectory
    from opslink.adapters.jobs.registry import job_platform
    from opslink.adapters.store.durations import JobDurationRecords
    from opslink.adapters.store.incident_keys import IncidentKeys
    from opslink.adapters.store.job_waits import JobWaits
    from opslink.adapters.workflow.task_callbacks import StepFunctionsCallbacks
    from opslink.automation_control import SsmAutomationControl
    from opslink.chat_wiring import chat_messages
    from opslink.remediation import RemediateDeps
    from opslink.remediation.catalog import load_catalog
    from opslink.service_map import load_service_map

    store = _store(settings)
    notifier = _notifier(settings.notification_topic_arn)
    smap = load_service_map(settings.service_map_path)
    chat = chat_messages(settings, smap)
    books = Bookkeeping(store.table, store.client)  # chat threads; faults told once
    faults = FaultReporter(FaultRecords(store.table, store.client), notifier, chat, books)
    catalog = load_catalog(settings.runbook_catalog_path)
    _audit_catalog(store.journal, catalog)
    members = _member_sessions(settings, faults)
    brakes = ReliabilityRecords(store.table, store.client)  # circuits and budgets
    return RemediateDeps(
        store=store,
        tickets=ticket_system(settings),
        circuits=brakes,
        budgets=brakes,
        journal=store.journal,
        outbox=store.outbox,
        durations=JobDurationRecords(store.table, store.client),
        chat_threads=books,
        jobs=job_platform(settings, members),
        job_events=settings.job_events,
        waits=JobWaits(settings.alerts_table, client=store.client),  # one DynamoDB client
        callbacks=StepFunctionsCallbacks(),
        catalog=catalog,
        alarms=CloudWatchAlarmState(members=members),
        directory=ServiceMapDirectory(smap),
        hosts=Ec2HostDirectory(members=members, home_account=settings.stack_account_id),
        service_map=smap,
        allowed_accounts=settings.allowed_account_ids,
        reach=_reach(settings),
        members=members,
        alarm_bus_arn=settings.alarm_bus_arn,
        poll_base_seconds=settings.poll_base_seconds,
        poll_max_seconds=settings.poll_max_seconds,
        runs_per_service_hour=settings.runs_per_service_hour,
        runs_per_resource_hour=settings.runs_per_resource_hour,
        escalation_ticket=settings.escalation_ticket,
        max_attempts_per_episode=settings.max_attempts_per_episode,
        verify_grace_seconds=settings.verify_grace_seconds,
        approval_timeout_seconds=settings.approval_timeout_seconds,
        control=SsmAutomationControl(settings.automation_control_parameter),
        notifier=notifier,
        faults=faults,
        incidents=IncidentKeys(store.table, store.client),
        chat=chat,
    )


def _reach(settings: RemediateSettings) -> Any:
    """Where jobs may run: member accounts only through their role, on a platform that
    acts in AWS (SSM) or emulates it (local)."""
    from opslink.provenance import Reach

    members = ""
    if not settings.member_role_name:
        members = "MemberRoleName is not set: this stack runs jobs in its own account only"
    elif settings.job_platform not in ("ssm", "local"):
        members = (
            f"the {settings.job_platform} job platform runs jobs in this stack's own account; "
            "member accounts' alarms are remediated through SSM Run Command only"
        )
    return Reach(settings.stack_account_id, settings.alarm_regions, members)


def _member_sessions(settings: RemediateSettings, faults: FaultReporter) -> Any:
    """Member accounts entered through their member role; None when none is configured."""
    if not settings.member_role_name:
        return None
    from opslink.adapters.member_accounts import MemberSessions
    from opslink.clock import utcnow

    def denied(account: str, error: Exception) -> None:
        faults.record("member_account", account, error,
                      {"role": settings.member_role_name}, utcnow())  # fmt: skip

    return MemberSessions(settings.member_role_name, settings.member_external_id,
                          settings.stack_account_id, on_denied=denied)  # fmt: skip


def _audit_catalog(journal: EventRecorder, catalog: Any) -> None:
    """Record a catalog not seen before (once per container; a store hiccup is logged,
    never a failed cold start: the next container records it)."""
    import os

    from opslink.clock import utcnow
    from opslink.errors import StoreError
    from opslink.observability import logger
    from opslink.remediation.catalog_audit import record_catalog

    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "remediate")
    try:
        record_catalog(journal, catalog, utcnow(), f"deployment ({function})")
    except StoreError as exc:
        logger().warning("runbook catalog not recorded in the audit trail: %s", exc)


def track_deps(settings: TrackSettings) -> TrackDeps:
    from datetime import timedelta

    from opslink.adapters.notify.sns import SnsNotifier
    from opslink.adapters.store.incident_keys import IncidentKeys
    from opslink.adapters.workflow.remediate_tasks import RemediateTaskCanceller
    from opslink.adapters.workflow.stepfunctions import StepFunctionsWorkflow
    from opslink.track_service import TrackDeps

    store = _store(settings)
    tickets = ticket_system(settings)
    notifier = (
        SnsNotifier(settings.notification_topic_arn) if settings.notification_topic_arn else None
    )
    if not hasattr(tickets, "changed_since"):
        raise ConfigurationError(f"ticket provider {tickets.name} cannot be swept for changes")
    return TrackDeps(
        store=store,
        tickets=tickets,  # type: ignore[arg-type]
        journal=store.journal,
        outbox=store.outbox,
        bookkeeping=Bookkeeping(store.table, store.client),
        workflow=StepFunctionsWorkflow(settings.state_machine_arn)
        if settings.state_machine_arn
        else None,
        notifier=notifier,
        faults=FaultReporter(FaultRecords(store.table, store.client), notifier),
        reminder_after=timedelta(seconds=settings.pending_reminder_seconds),
        jobs=RemediateTaskCanceller(settings.remediate_function_name, store)
        if settings.remediate_function_name
        else None,
        incidents=IncidentKeys(store.table, store.client),
        courier=_courier(settings),
    )


def _courier(settings: TrackSettings) -> Any:
    """A ticket's queued comments delivered by the remediate function, asynchronously
    (a chat request is answered at once); None without one: posted in the request."""
    if not settings.remediate_function_name:
        return None
    events = job_events(settings)
    return lambda ticket_id: events.forward({"action": "deliver_comments", "ticket_id": ticket_id})


def metrics_deps(settings: MetricsSettings) -> MetricsDeps:
    from opslink.metrics_service import MetricsDeps
    from opslink.quality import Thresholds

    return MetricsDeps(
        journal=_store(settings).journal,
        notifier=_notifier(settings.notification_topic_arn),
        top_n=settings.top_n,
        thresholds=Thresholds(
            automation_rate=settings.automation_rate_target,
            success_rate=settings.success_rate_target,
            mtta_minutes=settings.mtta_minutes_target,
        ),
    )


def webhook_secret(settings: TrackSettings) -> str | None:
    """The shared webhook secret from Secrets Manager (cached); None when not configured."""
    if not settings.webhook_secret_name:
        return None
    return read_secret(settings.webhook_secret_name, "the webhook receiver")
