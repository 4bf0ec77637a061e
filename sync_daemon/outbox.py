"""The outbox drain loop: perform stored intents exactly once, whatever crashed in between.

The decision to act (write a note, trigger an assessment) stores an intent under a deterministic key
in the same transaction as the decision; this loop later claims due intents and hands each to the
handler of its kind. It knows nothing about CRMs: a handler can ``find`` an intent's effect in the
CRM by its key and ``perform`` it.

Exactly once rests on one rule: an intent claimed before (a worker crashed, timed out or lost the
reply after the CRM acted) is looked up with ``find`` before anything is done again, and completed
with what was found. Errors map to what to do next (see ``connectors.base``):

- ``RetriableError`` and other ``ConnectorError``: back to pending with exponential backoff; after
  ``max_attempts`` the intent is ``dead`` and waits for an operator.
- ``BudgetExhaustedError``: back to pending without counting the attempt, the CRM parked until the
  budget resets, and the drain stops (every other intent would meet the same refusal).
- ``AuthError``: back to pending uncounted and the drain stops: no intent can succeed.
- An intent of a kind without a handler is released with an error, counted, so it ends ``dead``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

import structlog

from connectors.base import AuthError, BudgetExhaustedError, ConnectorError, RetriableError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from sync_daemon.store import Intent, Store

log = structlog.get_logger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# Without the CRM's reset time, a spent budget parks the CRM for this long.
BUDGET_PARK = timedelta(minutes=30)


class IntentHandler(Protocol):
    """Performs the intents of one kind against the CRM."""

    def find(self, intent: Intent) -> dict[str, object] | None:
        """Look the intent's key up in the CRM: the result to store if it is already done, else None."""
        ...

    def perform(self, intent: Intent) -> dict[str, object]:
        """Do it; returns the result to store (e.g. the CRM's id of what was created)."""
        ...


@dataclass(slots=True)
class DrainStats:
    """What one drain did; ``stopped`` says why it ended early.

    ``budget`` (the CRM's budget ran out), ``auth`` (credentials refused), ``requested``
    (``should_stop``), ``parked`` (the CRM was parked: nothing was claimed).
    """

    claimed: int = 0
    done: int = 0
    performed: int = 0
    found_existing: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    handed_back: int = 0
    stopped: str | None = None


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """The wait before the next try: 30 s doubling per attempt, capped at 1 h; a longer ask wins."""
    wait: timedelta = min(BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 16), BACKOFF_CAP)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return wait


def drain(
    store: Store,
    handlers: Mapping[str, IntentHandler],
    *,
    worker: str,
    now: Callable[[], datetime],
    limit: int = 50,
    lease: timedelta = timedelta(minutes=5),
    max_attempts: int = 8,
    should_stop: Callable[[], bool] = lambda: False,
    crm: str | None = None,
) -> DrainStats:
    """Claim and resolve due intents, ``limit`` at a time, until none is due or the drain must stop.

    With ``crm``, only that CRM's intents are drained, and nothing at all while it is parked.
    """
    if lease <= timedelta(0) or limit < 1:
        raise ValueError(f"drain needs a positive lease and limit, got lease={lease} limit={limit}")
    if crm is not None and _parked(store, crm, now()):
        return DrainStats(stopped="parked")
    run = _Drain(store, handlers, worker=worker, now=now, lease=lease, max_attempts=max_attempts,
                 should_stop=should_stop)  # fmt: skip
    while run.stats.stopped is None:
        if should_stop():
            run.stats.stopped = "requested"
            break
        batch = store.claim(worker=worker, limit=limit, now=now(), lease=lease, crm=crm)
        if not batch:
            break
        run.stats.claimed += len(batch)
        run.resolve(batch)
    log.info("outbox.drained", worker=worker, **asdict(run.stats))
    return run.stats


def _parked(store: Store, crm: str, now: datetime) -> bool:
    """Whether ``crm``'s API budget is parked past ``now`` (a spent daily budget)."""
    until = store.parked_until(crm)
    return until is not None and until > now


class _Drain:
    """One drain's collaborators, settings and running counts."""

    def __init__(
        self,
        store: Store,
        handlers: Mapping[str, IntentHandler],
        *,
        worker: str,
        now: Callable[[], datetime],
        lease: timedelta,
        max_attempts: int,
        should_stop: Callable[[], bool],
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.worker = worker
        self.now = now
        self.lease = lease
        self.max_attempts = max_attempts
        self.should_stop = should_stop
        self.stats = DrainStats()

    def resolve(self, batch: Sequence[Intent]) -> None:
        """Resolve a claimed batch in order; what is left when the drain stops goes back untouched."""
        for position, intent in enumerate(batch):
            if self.stats.stopped is None and self.should_stop():
                self.stats.stopped = "requested"
            if self.stats.stopped is not None or not self._lease_left(intent):
                for untouched in batch[position:]:
                    self._give_back(untouched, None, self.now())
                return
            self._run_one(intent)

    def _lease_left(self, intent: Intent) -> bool:
        """Whether the lease leaves time to act: starting late could overlap the next holder's try."""
        if intent.lease_until is None:
            return False
        return self.now() < intent.lease_until - self.lease / 5

    def _run_one(self, intent: Intent) -> None:
        """Find (when tried before) or perform one intent, and record the outcome."""
        handler = self.handlers.get(intent.kind)
        if handler is None:
            self._fail(intent, f"no handler for intent kind {intent.kind!r}", None)
            return
        try:
            found = handler.find(intent) if intent.tried_before else None
            result = found if found is not None else handler.perform(intent)
        except BudgetExhaustedError as exc:
            self._budget_spent(intent, exc)
        except AuthError as exc:
            self._give_back(intent, f"AuthError: {exc}", self.now())
            self.stats.stopped = "auth"
        except ConnectorError as exc:
            retry_after = exc.retry_after if isinstance(exc, RetriableError) else None
            self._fail(intent, f"{type(exc).__name__}: {exc}", retry_after)
        except Exception as exc:
            self._fail(intent, f"{type(exc).__name__}: {exc}", None)
            raise
        else:
            self._complete(intent, result, found_existing=found is not None)

    def _complete(self, intent: Intent, result: dict[str, object], *, found_existing: bool) -> None:
        """Store the result; an intent whose lease another worker took meanwhile counts as lost."""
        if not self.store.complete(intent.id, self.worker, result, now=self.now()):
            self.stats.lost += 1
            return
        self.stats.done += 1
        self.stats.found_existing += found_existing
        self.stats.performed += not found_existing
        log.info("outbox.intent_done", key=intent.key, kind=intent.kind, attempts=intent.attempts,
                 found_existing=found_existing)  # fmt: skip

    def _fail(self, intent: Intent, error: str, retry_after: float | None) -> None:
        """Release a failed attempt for a later retry, or as dead once attempts are spent."""
        retry_at = self.now() + backoff(intent.attempts, retry_after)
        if not self.store.release(intent.id, self.worker, error, retry_at, self.max_attempts, now=self.now()):
            self.stats.lost += 1
            return
        dead = intent.attempts >= self.max_attempts
        self.stats.dead += dead
        self.stats.retried += not dead
        log.warning("outbox.intent_failed", key=intent.key, kind=intent.kind, attempts=intent.attempts,
                    error=error, dead=dead, retry_at=None if dead else retry_at.isoformat())  # fmt: skip

    def _budget_spent(self, intent: Intent, exc: BudgetExhaustedError) -> None:
        """Give the intent back uncounted, park its CRM until the budget resets, and stop."""
        resume_at = exc.resume_at or self.now() + BUDGET_PARK
        self._give_back(intent, f"BudgetExhaustedError: {exc}", resume_at)
        self.store.park(intent.crm, resume_at, f"API budget spent: {exc}")
        self.stats.stopped = "budget"

    def _give_back(self, intent: Intent, error: str | None, retry_at: datetime) -> None:
        """Release without counting the attempt: the CRM refused before acting, or was never called."""
        held = self.store.release(intent.id, self.worker, error, retry_at, self.max_attempts,
                                  count_attempt=False, now=self.now())  # fmt: skip
        self.stats.handed_back += held
        self.stats.lost += not held
