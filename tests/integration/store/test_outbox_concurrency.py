"""Several real processes draining one PostgreSQL outbox never perform an intent twice.

Each round enqueues 300 intents, releases 2 (or 3) spawned worker processes at once through a
barrier, and lets them drain in small claims so that they contend all the way. The fake CRM is a
table without a UNIQUE constraint: a duplicate perform would be a second row. Five rounds per
worker count.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from tests.integration.store.outbox_fakes import PG_LOG_DDL
from tests.integration.store.outbox_workers import drain_worker, init_worker

if TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.pool import Pool

    from sync_daemon.store import Store

INTENTS = 300
ROUNDS = 5
CLAIM_SIZE = 5
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=[2, 3], ids=["2-processes", "3-processes"])
def pool(request: pytest.FixtureRequest) -> Iterator[tuple[Pool, int]]:
    """A pool of spawned worker processes sharing a start barrier, and its size."""
    size: int = request.param
    context = multiprocessing.get_context("spawn")
    with context.Pool(size, initializer=init_worker, initargs=(context.Barrier(size),)) as workers:
        yield workers, size
        workers.close()
        workers.join()


def _fill(store: Store, round_no: int) -> None:
    """Start a round: empty outbox and CRM log, then 300 intents in one transaction."""
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(text("DELETE FROM fake_crm_log"))
        for n in range(INTENTS):
            store.enqueue(conn, key=f"r{round_no}:note:{n:04d}", crm="hubspot", kind="note",
                          payload={"n": n}, priority=n % 3, now=T0)  # fmt: skip


def _crm_log(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [(row.key, row.worker) for row in conn.execute(text("SELECT key, worker FROM fake_crm_log"))]


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_concurrent_workers_perform_every_intent_exactly_once(store: Store, pool: tuple[Pool, int]) -> None:
    """Across five rounds of 300 intents, each is performed once, and every worker takes a share."""
    workers, size = pool
    with store.engine.begin() as conn:
        conn.execute(text(PG_LOG_DDL))
    for round_no in range(ROUNDS):
        _fill(store, round_no)
        tasks = [(store.engine.url.render_as_string(hide_password=False), f"r{round_no}w{i}", CLAIM_SIZE)
                 for i in range(size)]  # fmt: skip
        stats: list[dict[str, Any]] = workers.starmap(drain_worker, tasks)
        log = _crm_log(store)
        per_key = Counter(key for key, _ in log)
        assert [key for key, n in per_key.items() if n > 1] == [], f"round {round_no}: duplicates"
        assert len(per_key) == INTENTS
        assert store.backlog() == {"pending": 0, "in_flight": 0, "done": INTENTS, "dead": 0}
        assert sum(s["performed"] for s in stats) == INTENTS
        assert sum(s["lost"] + s["found_existing"] for s in stats) == 0
        per_worker = Counter(worker for _, worker in log)
        assert len(per_worker) == size, f"round {round_no}: not every worker drained: {per_worker}"
