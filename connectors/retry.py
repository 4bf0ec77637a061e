"""The one retry policy for transient CRM failures, built once from settings.

Connectors translate their client's exceptions into :class:`~connectors.base.RetriableError` (with the
CRM's ``Retry-After`` when it sent one) inside the function they retry; everything else propagates at
once. Waits are jittered and exponential, a ``Retry-After`` is honoured, attempts and total time are
bounded, and the original error is re-raised when the budget is spent. The sleep is injected, so no
test ever waits (tenacity's own design: the decision is pure, sleeping is the only side effect).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from connectors.base import RetriableError

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Bounds of the retry policy (from ``SYNC_RETRY_*`` settings)."""

    attempts: int = 6
    max_total_seconds: float = 300.0
    initial_wait: float = 1.0
    max_wait: float = 60.0
    max_retry_after: float = 120.0


def _jittered(first: float, cap: float) -> wait_exponential_jitter:
    """Jittered exponential backoff from ``first`` seconds up to ``cap``.

    tenacity 9.2 renamed the first wait ``initial`` to ``multiplier`` (and warns on the old name); the project allows
    any 9.x, so the name is chosen from the installed signature.
    """
    if "multiplier" in inspect.signature(wait_exponential_jitter).parameters:
        return wait_exponential_jitter(multiplier=first, max=cap)
    return wait_exponential_jitter(initial=first, max=cap)


class _WaitRetryAfterOrBackoff:
    """Wait what the CRM asked for (``Retry-After``, capped), else jittered exponential backoff."""

    def __init__(self, settings: RetrySettings) -> None:
        self._backoff = _jittered(settings.initial_wait, settings.max_wait)
        self._cap = settings.max_retry_after

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RetriableError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self._cap)
        return float(self._backoff(state))


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning(
        "crm.retry",
        attempt=state.attempt_number,
        wait_s=round(wait, 3),
        error=type(exc).__name__,
        reason=str(exc),
    )


class RetryPolicy:
    """Runs a call under the policy; ``sleep`` is injectable and ``attempts`` counts every try."""

    def __init__(self, settings: RetrySettings | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings or RetrySettings()
        self._sleep = sleep
        self.retries = 0

    def _retrying(self) -> Retrying:
        s = self.settings
        return Retrying(
            retry=retry_if_exception_type(RetriableError),
            wait=_WaitRetryAfterOrBackoff(s),
            stop=stop_after_attempt(s.attempts) | stop_after_delay(s.max_total_seconds),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1
        _log_retry(state)

    def call(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` until it succeeds, raises a non-retriable error, or the budget is spent."""
        return self._retrying()(fn)
