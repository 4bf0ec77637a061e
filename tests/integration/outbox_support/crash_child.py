"""A daemon that dies by SIGKILL mid-intent, with a real connector to the parent test's sandbox.

``python -m tests.integration.outbox_support.crash_child JOB`` where ``JOB`` is the JSON of a
:class:`CrashJob`. The child opens the store, stores a note intent (in its own transaction, as a
decision would), claims it at :data:`T0`, builds its own connector to the sandbox, and then kills
itself with SIGKILL, either ``before_call`` (the CRM was never called) or ``after_effect`` (the note
was created in the sandbox, but the intent never completed).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import asdict, dataclass

from sync_daemon.intents import NOTE, handlers, note_payload
from sync_daemon.store import Store
from tests.integration.outbox_support.dying import KILL_MODES
from tests.integration.outbox_support.sandboxes import LEASE, T0, SandboxAddress, connected

WORKER = "doomed"


@dataclass(frozen=True)
class CrashJob:
    """What the child is told: where the store and the sandbox are, which note, and when to die."""

    store_url: str
    sandbox: str
    key: str
    account_id: str
    mode: str

    def to_json(self) -> str:
        """The job as one command-line argument (``sandbox`` is a :class:`SandboxAddress`'s JSON)."""
        return json.dumps(asdict(self))


def main(raw: str) -> None:
    """Enqueue, claim, maybe create the note, then die without completing."""
    job = CrashJob(**json.loads(raw))
    if job.mode not in KILL_MODES:
        raise SystemExit(f"mode must be one of {KILL_MODES}")
    address = SandboxAddress.from_json(job.sandbox)
    store = Store(job.store_url)
    with store.transaction() as conn:
        payload = note_payload(job.account_id, "Handoff to Customer Success", "Ready for CS.\n\n- kickoff done")
        store.enqueue(conn, key=job.key, crm=address.crm, kind=NOTE, payload=payload, priority=30, now=T0)
    [intent] = store.claim(worker=WORKER, limit=1, now=T0, lease=LEASE)
    with connected(address, attempts=1) as writer:
        if job.mode == "after_effect":
            handlers(writer)[NOTE].perform(intent)
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1])
