"""Real ``sync-daemon run`` processes against a loopback HubSpot sandbox (issue 7's acceptance).

The sandbox runs in this test process (so its state, call log and token can be read and changed); each daemon is
a child process with a 1 s interval, a 3 s lease TTL, its own health port and a JSON log file. A fresh store's
first backfill stops at the safety valve, so every test first runs ``sync --force`` once: that cycle sends the
handoff note and the onboarding assessments the seeded sandbox calls for. Proven:

- three replicas on one PostgreSQL database: exactly one is ``active`` (``sync_daemon_role``), every cycle is
  its, the runs never overlap in time; five accounts are then handed off (a person's ``force``) and the active
  replica is SIGKILLed as soon as it stored the first new note's intent, typically with notes claimed and in
  flight: another takes the lease within TTL + one renewal interval, cycles go on, the dead one's claims lapse
  (``SYNC_OUTBOX_LEASE_SECONDS``), and every note lands exactly once (one POST each in the sandbox's call log,
  one note per key), no outbox intent performed twice;
- SIGTERM while a cycle's page is in flight (a delayed sandbox reply): exit 0 within the shutdown grace, the run
  row finished, and the next start's first cycle is ok with nothing lost (no dead or pending intent) or repeated;
- SQLite: a second ``run`` on the same store exits 2 naming the first one's pid;
- ``/readyz`` turns 503 while the sandbox refuses the token and 200 once it takes it again; ``/metrics`` parses
  with the Prometheus client's parser and its API-call counter equals the sandbox's call log.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from sync_daemon.demo import SandboxHandle, running_sandbox
from sync_daemon.sandbox.server import Fault
from sync_daemon.store import Store
from tests.integration.daemon_support import (
    GRACE_SECONDS,
    TTL_SECONDS,
    Daemon,
    cli,
    daemon_env,
    daemon_runs,
    force_sync,
    free_port,
    hubspot_note_keys,
    outbox_rows,
    start_daemon,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sync_daemon.sandbox.hubspot import HubSpotSandbox

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOTES_PATH = "/crm/v3/objects/notes"
# Room for the takeover's own work (a round trip to PostgreSQL, a process's scheduling) beyond TTL + renewal.
TAKEOVER_MARGIN = timedelta(seconds=1)
EXIT_MARGIN_SECONDS = 3.0


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox("hubspot", accounts=50, contacts=100) as handle:
        yield handle


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test, dropped (with its connections) afterwards."""
    admin_url = make_url(os.environ.get("SYNC_TEST_POSTGRES_URL", DEFAULT_PG_URL))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"sync_daemon_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL unreachable at {admin_url.render_as_string(hide_password=True)}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(f"{reason}: {type(exc).__name__}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """The daemons a test starts; any still running at the end is killed and reaped."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'state.db'}"


def prepared_env(sandbox: SandboxHandle, url: str, tmp_path: Path) -> dict[str, str]:
    """The daemons' environment, after the forced first backfill (which sends the note and assessments)."""
    (tmp_path / "data").mkdir(exist_ok=True)
    env = daemon_env(sandbox, url, tmp_path / "data")
    force_sync(env, tmp_path)
    return env


def done_keys(store: Store) -> set[str]:
    return {key for key, _kind, status in outbox_rows(store) if status == "done"}


def performed(daemons: list[Daemon]) -> Counter[str]:
    """How many times the daemons' logs say each outbox intent was done."""
    return Counter(str(e["key"]) for d in daemons for e in d.events() if e.get("event") == "outbox.intent_done")


def note_posts(sandbox: SandboxHandle, since: int) -> int:
    """Notes created in the sandbox after call number ``since``."""
    calls: list[Any] = list(sandbox.app.calls)[since:]
    return sum(c.method == "POST" and c.path == NOTES_PATH for c in calls)


def assert_sent_once(sandbox: SandboxHandle, store: Store, before: set[str], new: set[str] | None = None) -> None:
    """The outbox holds only done intents (none dead, none waiting) and the sandbox one note per key."""
    rows = outbox_rows(store)
    assert {kind for _key, kind, _status in rows} >= {"note", "assessment"}
    assert Counter(status for _key, _kind, status in rows) == Counter({"done": len(rows)})
    assert {key for key, _kind, _status in rows} == before | (new or set())
    notes = hubspot_note_keys(sandbox)
    assert notes
    assert set(notes.values()) == {1}, notes


def force_handoffs(sandbox: SandboxHandle, store: Store, n: int) -> list[str]:
    """A person sets the override to force on ``n`` accounts in onboarding: the next cycle hands them off."""
    waiting = [r.account_id for r in store.list_handoffs("hubspot", limit=1000) if r.handed_off_on is None][:n]
    assert len(waiting) == n
    app = cast("HubSpotSandbox", sandbox.app)
    for account_id in waiting:
        app.update("companies", account_id, handoff_override="force")
    return waiting


def new_note_intents(store: Store, before: set[str]) -> set[str]:
    """The note intents stored since ``before`` (any status)."""
    return {key for key, kind, _status in outbox_rows(store) if kind == "note" and key not in before}


def finished_ok(store: Store, run_ids: set[str]) -> int:
    return sum(r.id in run_ids and r.status == "ok" for r in daemon_runs(store))


def roles(daemons: list[Daemon]) -> list[str | None]:
    return [d.role() for d in daemons]


def one_active(daemons: list[Daemon]) -> bool:
    """Looked at across cycles: always one replica active, the others standing by (asserted at every look)."""
    assert sorted(roles(daemons), key=str) == ["active"] + ["standby"] * (len(daemons) - 1)
    return True


def assert_no_overlap(store: Store, killed_at: datetime) -> None:
    """Each run starts after the previous one finished; a run left open by the SIGKILL counts as ended then."""
    runs = daemon_runs(store)
    for prev, nxt in itertools.pairwise(runs):
        end = prev.finished_at
        if end is None:
            assert prev.started_at < killed_at, f"run {prev.id} is still open and was not the killed one's"
            end = killed_at
        assert nxt.started_at >= end, f"run {nxt.id} started at {nxt.started_at}, before {prev.id} ended at {end}"


@pytest.mark.postgres
def test_three_replicas_one_active_and_a_takeover_within_the_ttl(
    sandbox: SandboxHandle, pg_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    """One of three replicas runs every cycle; SIGKILL of it hands the lease on within TTL + a renewal."""
    env = prepared_env(sandbox, pg_url, tmp_path)
    store = Store(pg_url)
    try:
        before = done_keys(store)
        calls_before = len(sandbox.app.calls)
        daemons.extend(start_daemon(env, tmp_path, f"replica{i}") for i in range(3))
        wait_until(lambda: sum(r.status == "ok" for r in daemon_runs(store)) >= 3, "three cycles ran")
        wait_until(lambda: None not in roles(daemons), "every replica answers /metrics")
        seen = len(daemon_runs(store))
        wait_until(lambda: one_active(daemons) and len(daemon_runs(store)) >= seen + 2, "two more cycles ran")
        (active,) = (d for d in daemons if d.role() == "active")
        ran = {r.id for r in daemon_runs(store) if r.finished_at is not None}
        wait_until(lambda: ran <= active.run_ids(), "the active replica logged every finished cycle")

        # Hand off five more accounts now, so notes are being sent when the active replica dies.
        staged = force_handoffs(sandbox, store, 5)
        wait_until(lambda: new_note_intents(store, before), "the active replica stored a new note's intent")
        killed_at = datetime.now(UTC)
        active.proc.send_signal(signal.SIGKILL)
        active.proc.wait(timeout=30)
        rest = [d for d in daemons if d is not active]
        new = wait_until(lambda: next((d for d in rest if d.role() == "active"), None), "a standby took over")
        assert new is not None
        lease = store.lease("sync")
        assert lease is not None
        assert f":{new.proc.pid}:" in lease.holder
        assert lease.acquired_at - killed_at <= timedelta(seconds=TTL_SECONDS * 4 / 3) + TAKEOVER_MARGIN
        wait_until(lambda: finished_ok(store, new.run_ids()) >= 2, "the new active replica ran two cycles")
        wait_until(lambda: len(new_note_intents(store, before)) == len(staged), "every staged account's note intent")
        notes = new_note_intents(store, before)
        # The killed replica's claims lapse after SYNC_OUTBOX_LEASE_SECONDS; the new leader resolves them by key.
        wait_until(lambda: {k for k, _kind, st in outbox_rows(store) if st == "done"} >= notes, "every note sent")

        assert one_active(rest)
        assert not active.run_ids() & new.run_ids()
        assert_no_overlap(store, killed_at)
        assert_sent_once(sandbox, store, before, notes)
        assert all(n == 1 for n in performed(daemons).values())
        assert not set(performed(daemons)) & before
        assert note_posts(sandbox, calls_before) == len(staged)  # each new note created once, across the switch
    finally:
        store.close()


def test_sigterm_during_a_cycle_exits_0_and_the_next_start_continues(
    sandbox: SandboxHandle, tmp_path: Path, daemons: list[Daemon]
) -> None:
    """SIGTERM while a page is in flight: exit 0 within the grace, the run closed; the next start's cycle is ok."""
    url = sqlite_url(tmp_path)
    env = prepared_env(sandbox, url, tmp_path)
    store = Store(url)
    try:
        before = done_keys(store)
        sandbox.app.inject(Fault("delay", method="POST", path=r"/objects/companies/search$", seconds=2.5))
        first = start_daemon(env, tmp_path, "first")
        daemons.append(first)
        wait_until(lambda: any(r.status == "running" for r in daemon_runs(store)), "a daemon cycle is in flight")
        wait_until(lambda: not sandbox.app.faults, "the cycle's first page is in flight (the delay taken)")
        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(timeout=GRACE_SECONDS + EXIT_MARGIN_SECONDS) == 0
        (stopped,) = daemon_runs(store)
        assert stopped.status in {"ok", "interrupted"}
        assert stopped.finished_at is not None

        second = start_daemon(env, tmp_path, "second")
        daemons.append(second)
        again = wait_until(lambda: [r for r in daemon_runs(store)[1:] if r.finished_at is not None], "a new cycle")
        assert again[0].status == "ok", again[0].error_summary
        assert again[0].id in second.run_ids()
        assert_sent_once(sandbox, store, before)
        assert all(n == 1 for n in performed(daemons).values())
    finally:
        store.close()


def test_a_second_process_on_the_same_sqlite_store_exits_2_naming_the_first(
    sandbox: SandboxHandle, tmp_path: Path, daemons: list[Daemon]
) -> None:
    """SQLite allows one process: a second ``run`` is refused with exit 2 and the holder's pid."""
    env = prepared_env(sandbox, sqlite_url(tmp_path), tmp_path)
    first = start_daemon(env, tmp_path, "first")
    daemons.append(first)
    wait_until(lambda: first.role() == "active", "the first process is active")
    second = subprocess.run(  # noqa: S603 - our own CLI
        cli("run"), env=env | {"SYNC_HEALTH_PORT": str(free_port()), "COLUMNS": "200"}, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    message = " ".join((second.stdout + second.stderr).split())
    assert second.returncode == 2, message[-2000:]
    assert f"pid {first.proc.pid}" in message
    assert first.proc.poll() is None
    assert first.role() == "active"


def api_calls_total(daemon: Daemon) -> float | None:
    samples = daemon.metrics()
    return None if samples is None else samples[("sync_api_calls_total", (("crm", "hubspot"),))]


def test_readyz_follows_the_credentials_and_metrics_match_the_call_log(
    sandbox: SandboxHandle, tmp_path: Path, daemons: list[Daemon]
) -> None:
    """``/readyz``: 503 while the token is refused, 200 again after; ``/metrics`` counts the sandbox's calls."""
    env = prepared_env(sandbox, sqlite_url(tmp_path), tmp_path)
    daemon = start_daemon(env, tmp_path, "daemon")
    daemons.append(daemon)
    wait_until(lambda: daemon.ready_status() == 200, "the daemon is ready")
    app: Any = sandbox.app
    app.expire_token()
    try:
        wait_until(lambda: daemon.ready_status() == 503, "the daemon is unready once the token is refused")
        reply = daemon.get("/readyz")
        assert reply is not None
        assert reply.json()["checks"]["credentials"]["ok"] is False
    finally:
        app.restore_token()
    wait_until(lambda: daemon.ready_status() == 200, "the daemon is ready again once the token works")

    samples = daemon.metrics()
    assert samples is not None
    assert samples[("sync_daemon_role", (("role", "active"),))] == 1
    assert samples[("sync_cycles_total", (("crm", "hubspot"), ("status", "failed")))] >= 1
    # Between two cycles (most of each interval) the stored runs account for every request the sandbox saw.
    wait_until(lambda: api_calls_total(daemon) == len(app.calls), "the API-call counter equals the call log")
