"""A real daemon cycle in a child process that SIGKILLs itself inside one outbox intent.

The handoff and assessment acceptance tests both need it: the child runs a whole cycle and dies in the first
intent of one kind, either ``before_call`` (the CRM was never called) or ``after_effect`` (the CRM acted, the
intent never completed). :func:`die_in` swaps the engine's handlers in this process only.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from sync_daemon import engine
from sync_daemon.intents import handlers

if TYPE_CHECKING:
    from connectors.base import Writer
    from sync_daemon.intents import WebhookSenders
    from sync_daemon.outbox import IntentHandler
    from sync_daemon.store import Intent

KILL_MODES = ("before_call", "after_effect")


@dataclass(frozen=True)
class KilledCycle:
    """What the child is told: the store, the sandbox, the daemon's clock (ISO), and when in the intent to die."""

    store_url: str
    sandbox: str
    now: str
    mode: str

    def to_json(self) -> str:
        """The job as one command-line argument."""
        return json.dumps(asdict(self))

    @classmethod
    def parse(cls, raw: str) -> KilledCycle:
        """The job from its argument; ``SystemExit`` for a mode that is not one of :data:`KILL_MODES`."""
        job = cls(**json.loads(raw))
        if job.mode not in KILL_MODES:
            raise SystemExit(f"mode must be one of {KILL_MODES}")
        return job


class DyingHandler:
    """The real handler, but the process dies before its CRM call or right after it."""

    def __init__(self, real: IntentHandler, mode: str) -> None:
        self._real, self._mode = real, mode

    def find(self, intent: Intent) -> dict[str, object] | None:
        """As the real handler."""
        return self._real.find(intent)

    def perform(self, intent: Intent) -> dict[str, object]:
        """Die, after the CRM call in ``after_effect`` mode."""
        if self._mode == "after_effect":
            self._real.perform(intent)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable: the process is dead")  # pragma: no cover


def die_in(kind: str, mode: str) -> None:
    """Make this process's drains die in the first intent of ``kind`` (it dies, so nothing is restored)."""

    def dying(writer: Writer, webhooks: WebhookSenders | None = None) -> dict[str, IntentHandler]:
        found = handlers(writer, webhooks)
        return found | {kind: DyingHandler(found[kind], mode)}

    engine.handlers = dying  # type: ignore[attr-defined]
