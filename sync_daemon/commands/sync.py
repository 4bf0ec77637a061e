"""``sync-daemon sync``: one cycle now against the configured CRM (``--dry-run`` shows the plan only)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.engine import make_url

from sync_daemon.assessment_provider import AssessmentProvider
from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.budget import BudgetPolicy
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.domain.safety import SafetyPolicy
from sync_daemon.engine import CycleOptions, CycleResult, PushSetup, run_cycle
from sync_daemon.handoff_provider import HandoffProvider
from sync_daemon.leadership import SqliteLeadership, holder_id, sqlite_file
from sync_daemon.plan_provider import PlanProvider
from sync_daemon.progress import make_progress
from sync_daemon.push import DesiredStateProvider, PersonaProvider, PushOptions
from sync_daemon.render import change_to_json, cycle_table, cycle_to_json, plan_table, plan_totals
from sync_daemon.store import Store
from sync_daemon.wiring import (
    build_connector,
    load_assessment_policy,
    load_handoff_setup,
    load_plan_set,
    plans_directory,
    webhook_senders,
)

if TYPE_CHECKING:
    from rich.console import Console

    from sync_daemon.config.assessment_models import AssessmentPolicy
    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.plan_loader import PlanSet
    from sync_daemon.handoff_provider import HandoffSetup
    from sync_daemon.intents import WebhookSenders
    from sync_daemon.settings import AppSettings


log = structlog.get_logger(__name__)


def push_setup(
    settings: AppSettings,
    mapping: MappingFile,
    *,
    force: bool,
    plans: PlanSet | None = None,
    store: Store | None = None,
    crm: str | None = None,
    now: datetime | None = None,
    handoff: HandoffSetup | None = None,
    dry_run: bool = False,
    assessments: AssessmentPolicy | None = None,
    webhooks: WebhookSenders | None = None,
    send_assessments: bool = True,
) -> PushSetup:
    """The push phase as the settings configure it: plans and handoff (when configured), contacts' personas.

    With a handoff policy the handoff provider runs the plans itself (it decides on the evaluated plan), so
    it replaces the plan provider rather than joining it.
    """
    s = settings.sync
    options = PushOptions(
        force=force,
        safety=SafetyPolicy(max_share=s.safety_max_share, min_records=s.safety_min_records),
        budget=BudgetPolicy(reserve_share=s.api_reserve_share),
    )
    providers: list[DesiredStateProvider] = [PersonaProvider(mapping)]
    if store is not None and crm is not None:
        when = now or datetime.now(UTC)
        planner = PlanProvider(plans, mapping, store, crm=crm, today=when.date(), now=when) if plans else None
        handoffs = None
        if handoff is not None:
            handoffs = HandoffProvider(handoff, planner, mapping, store, crm=crm, today=when.date(), now=when,
                                       dry_run=dry_run)  # fmt: skip
            providers.insert(0, handoffs)
        elif planner is not None:
            providers.insert(0, planner)
        if assessments is not None:  # after the handoff: an account handed off this cycle is asked this cycle
            handing_off = handoffs.handing_off if handoffs is not None else None
            provider = AssessmentProvider(assessments, mapping, store, crm=crm, now=when, dry_run=dry_run,
                                          handing_off=handing_off, send=send_assessments)  # fmt: skip
            providers.insert(len(providers) - 1, provider)
    return PushSetup(mapping, providers, options, webhooks)


def single_instance(database_url: str) -> SqliteLeadership | None:
    """The SQLite store's single-process lock (``AnotherInstanceError`` while a daemon holds it); None on PostgreSQL.

    With PostgreSQL a manual cycle may run beside the daemon: the outbox and the store's keys keep every send once.
    """
    if make_url(database_url).get_backend_name() != "sqlite":
        return None
    return SqliteLeadership(sqlite_file(make_url(database_url)), holder=holder_id())


def show(result: CycleResult, *, output: str, console: Console) -> None:
    """Print the cycle: the plan (dry run or stopped), the counts, and what stopped it."""
    push = result.push
    if output == "json":
        plan = [change_to_json(c) for c in push.changes] if push else []
        console.print_json(data=cycle_to_json(result) | {"plan": plan}, default=str)
        return
    console.print(cycle_table(result))
    if push is not None and (push.dry_run or push.stopped is not None):
        console.print(plan_table(push.changes))
        console.print(plan_totals(push))
    if push is not None and push.dry_run:
        console.print("Dry run: nothing was written to the CRM and no intent was sent.")
    if result.error:
        style = "yellow" if result.status in {"stopped", "parked"} else "red"
        console.print(f"[{style}]{result.status}: {result.error}[/{style}]")


def run_sync(settings: AppSettings, *, dry_run: bool, force: bool, output: str, console: Console) -> bool:
    """Run one cycle; returns whether it completed. Bad config raises before any CRM call."""
    mapping_path = settings.mapping_path()
    log.info("sync.config", mapping=str(mapping_path), plans=str(plans_directory(settings)))
    mapping = load_mapping(mapping_path)
    plans = load_plan_set(settings, mapping)  # a broken template stops here, before any CRM call
    handoff = load_handoff_setup(settings, mapping, plans)  # so does a broken policy or note template
    assessments = load_assessment_policy(settings, mapping, os.environ)  # and a broken assessment policy
    webhooks = webhook_senders(settings, os.environ) if assessments is not None else None
    classifier = PersonaClassifier.from_rules(mapping.personas)
    lock = single_instance(settings.sync.database_url)  # a `run` on this SQLite store: refuse, do not race it
    store = Store.open(settings.sync.database_url)
    connector = build_connector(settings, mapping, sleep=time.sleep)
    is_tty = console.is_terminal and output == "table"
    progress = make_progress(settings.sync.log_format, is_tty, settings.sync.progress_interval_seconds)
    try:
        result = run_cycle(
            connector,
            store,
            options=CycleOptions(
                overlap=timedelta(seconds=settings.sync.overlap_seconds), command="sync", dry_run=dry_run
            ),
            clock=lambda: datetime.now(UTC),
            classifier=classifier,
            progress=progress,
            push_setup=push_setup(
                settings,
                mapping,
                force=force,
                plans=plans,
                store=store,
                crm=mapping.crm,
                handoff=handoff,
                dry_run=dry_run,
                assessments=assessments,
                webhooks=webhooks,
            ),
        )
    finally:
        progress.close()
        connector.close()
        store.close()
        if webhooks is not None:
            webhooks.close()
        if lock is not None:
            lock.release()
    show(result, output=output, console=console)
    return result.ok
