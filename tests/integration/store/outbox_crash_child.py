"""A daemon that dies by SIGKILL mid-intent, run as a child process by the crash tests.

``python -m tests.integration.store.outbox_crash_child URL EFFECTS_FILE MODE``: stores an intent (in
its own transaction, as a decision would), claims it, then kills itself with SIGKILL, either
``before_call`` (the fake CRM was never called) or ``after_effect`` (the CRM recorded the effect but
the intent was never completed).
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sync_daemon.store import Store
from tests.integration.store.outbox_fakes import FileCrm

KEY = "note:acct-001:handoff:v1"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
MODES = ("before_call", "after_effect")


def main(url: str, effects: str, mode: str) -> None:
    """Enqueue, claim, maybe act, then die without completing."""
    if mode not in MODES:
        raise SystemExit(f"mode must be one of {MODES}")
    store = Store(url)
    with store.transaction() as conn:
        store.enqueue(conn, key=KEY, crm="hubspot", kind="note", payload={"account": "acct-001"},
                      priority=30, now=T0)  # fmt: skip
    [intent] = store.claim(worker="doomed", limit=1, now=T0, lease=LEASE)
    if mode == "after_effect":
        FileCrm(Path(effects)).perform(intent)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(*sys.argv[1:4])
