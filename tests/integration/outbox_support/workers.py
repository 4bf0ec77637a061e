"""Worker processes draining one PostgreSQL outbox into one sandbox (started with multiprocessing 'spawn').

Each pool process keeps the round's barrier. Each task opens its own store, builds its own real
connector to the parent's sandbox, waits at the barrier so that every worker starts draining at the
same moment, and drains with a small claim size so that the workers contend all the way. A process
blocked at the barrier cannot take a second task, so the N tasks of a round run in N processes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from sync_daemon.intents import handlers
from sync_daemon.outbox import drain
from sync_daemon.store import Store
from tests.integration.outbox_support.sandboxes import LEASE, SandboxAddress, connected

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier

_BARRIER: list[Barrier] = []
BARRIER_TIMEOUT = 30.0


def init_worker(barrier: Barrier) -> None:
    """Keep the round's barrier for this process's tasks; log only warnings (hundreds of lines otherwise)."""
    _BARRIER[:] = [barrier]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def drain_worker(url: str, sandbox: str, worker: str, limit: int, now: str) -> dict[str, Any]:
    """Drain the outbox as ``worker`` into the sandbox at ``now`` (ISO); return the drain's stats."""
    at = datetime.fromisoformat(now)
    store = Store(url)
    try:
        store.backlog()  # connect before the barrier: the race starts at the first claim
        with connected(SandboxAddress.from_json(sandbox)) as writer:
            _BARRIER[0].wait(BARRIER_TIMEOUT)
            stats = drain(store, handlers(writer), worker=worker, now=lambda: at, limit=limit, lease=LEASE)
        return {"worker": worker, **asdict(stats)}
    finally:
        store.close()
