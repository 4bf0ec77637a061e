"""A daemon SIGKILLed mid-intent: after restart the side effect happens exactly once.

A real child process (``outbox_crash_child``) stores an intent, claims it and kills itself with
SIGKILL, before calling the fake CRM or right after the CRM recorded the effect. The parent then
drains as a restarted daemon would, with a clock past the dead worker's lease.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sync_daemon.outbox import drain
from sync_daemon.store import Store
from tests.integration.store.outbox_crash_child import KEY, LEASE, T0
from tests.integration.store.outbox_fakes import FileCrm

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

ROOT = Path(__file__).resolve().parents[3]


def _run_doomed_child(url: str, effects: Path, mode: str) -> None:
    done = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "tests.integration.store.outbox_crash_child", url, str(effects), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def _at(instant: datetime) -> Callable[[], datetime]:
    return lambda: instant


@pytest.mark.parametrize(
    ("mode", "found_existing"),
    [pytest.param("before_call", False, id="killed-before-the-crm-call"),
     pytest.param("after_effect", True, id="killed-after-the-crm-acted")],
)  # fmt: skip
def test_a_killed_worker_s_intent_happens_exactly_once(
    store_url: str, tmp_path: Path, mode: str, found_existing: bool
) -> None:
    """After a SIGKILL at either point, recovery leaves exactly one effect in the CRM."""
    Store.open(store_url).close()
    crm = FileCrm(tmp_path / "crm-effects.txt")
    _run_doomed_child(store_url, crm.path, mode)
    assert crm.items() == ([KEY] if found_existing else [])
    store = Store(store_url)
    try:
        assert store.backlog()["in_flight"] == 1
        early = drain(store, {"note": crm}, worker="restarted", now=_at(T0 + LEASE / 2))
        assert early.claimed == 0
        stats = drain(store, {"note": crm}, worker="restarted", now=_at(T0 + LEASE))
        assert (stats.done, stats.found_existing) == (1, int(found_existing))
        intent = store.intent(KEY)
        assert intent is not None
        assert (intent.status, intent.attempts, intent.claimed_by) == ("done", 2, "restarted")
        drain(store, {"note": crm}, worker="again", now=_at(T0 + LEASE * 100))
    finally:
        store.close()
    assert crm.items() == [KEY]
