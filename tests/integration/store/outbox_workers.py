"""Worker processes for the concurrent-drain tests (started with multiprocessing's 'spawn').

Each pool process gets a barrier at start-up; each task opens its own Store, warms its connection,
waits at the barrier so that every worker starts draining at the same moment, and drains the shared
outbox into :class:`PgLogCrm`. A process blocked at the barrier cannot take a second task, so the N
tasks of a round run in N distinct processes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from sync_daemon.outbox import drain
from sync_daemon.store import Store
from sync_daemon.store.store import utc_now
from tests.integration.store.outbox_fakes import PgLogCrm

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier

_BARRIER: list[Barrier] = []
BARRIER_TIMEOUT = 30.0


def init_worker(barrier: Barrier) -> None:
    """Keep the round's barrier for this process's tasks; log only warnings (300 lines otherwise)."""
    _BARRIER[:] = [barrier]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def drain_worker(url: str, worker: str, limit: int) -> dict[str, Any]:
    """Drain the outbox as ``worker`` and return its stats."""
    store = Store(url)
    try:
        store.backlog()
        _BARRIER[0].wait(BARRIER_TIMEOUT)
        handlers = {"note": PgLogCrm(store.engine, worker)}
        stats = drain(store, handlers, worker=worker, now=utc_now, limit=limit, lease=timedelta(minutes=5))
        return {"worker": worker, **asdict(stats)}
    finally:
        store.close()
