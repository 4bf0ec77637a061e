"""Real ``sync-daemon run`` processes for the daemon acceptance tests: start, watch, scrape, stop.

A daemon is a child process we cannot step, so the tests poll what it exposes (its health server, its JSON log,
the store, the sandbox's state) with :func:`wait_until`: short polls under a generous deadline, so a slow machine
only makes a test slower, never wrong. Each child logs to its own file (a pipe nobody reads would fill and block
it), and the log is parsed line by line for the events the tests attribute to a process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from collections.abc import Callable

    from sync_daemon.demo import SandboxHandle
    from sync_daemon.store import Store
    from sync_daemon.store.values import RunRow

REPO = Path(__file__).resolve().parents[2]
POLL_SECONDS = 0.05
DEADLINE_SECONDS = 60.0
INTERVAL_SECONDS = 1
OUTBOX_LEASE_SECONDS = 3  # a killed replica's claimed sends go to the next one after this long
TTL_SECONDS = 3
GRACE_SECONDS = 5
HS_KEY = "sync_daemon_key"
T = TypeVar("T")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def wait_until(predicate: Callable[[], T], what: str, deadline: float = DEADLINE_SECONDS) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that; fail naming ``what`` at the deadline.

    Polling is the only way to wait on another process; the deadline is generous because it bounds a failure,
    not a measurement.
    """
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline} s waiting until {what}")
        time.sleep(POLL_SECONDS)


def free_port() -> int:
    """A loopback port nobody listens on now (the daemon binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daemon_env(handle: SandboxHandle, database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a daemon against the sandbox: nothing inherited from ours but the basics."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("SYNC_", "HUBSPOT_", "SALESFORCE_"))}
    return (
        inherited
        | handle.env()
        | {
            "SYNC_DATABASE_URL": database_url,
            "SYNC_CONFIG_DIR": str(REPO / "config"),
            "SYNC_MAPPING_FILE": str(REPO / "mappings" / f"{handle.crm}.yaml"),
            "SYNC_DATA_DIR": str(data_dir),
            "SYNC_LOG_FORMAT": "json",
            "SYNC_SCHEDULE_INTERVAL_SECONDS": str(INTERVAL_SECONDS),
            "SYNC_LEASE_TTL_SECONDS": str(TTL_SECONDS),
            "SYNC_OUTBOX_LEASE_SECONDS": str(OUTBOX_LEASE_SECONDS),
            "SYNC_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
            "SYNC_HEALTH_HOST": "127.0.0.1",
        }
    )


def cli(*args: str) -> list[str]:
    """The ``sync-daemon`` command line, run by this interpreter."""
    return [sys.executable, "-m", "sync_daemon", *args]


def force_sync(env: dict[str, str], cwd: Path) -> None:
    """The first backfill with ``--force``: the safety valve stops a fresh store's first cycle otherwise."""
    done = subprocess.run(cli("sync", "--force"), env=env, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@dataclass
class Daemon:
    """One ``sync-daemon run`` child, its health port and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        """The health server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (a half-written last line is skipped)."""
        out: list[dict[str, Any]] = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                out.append(event)
        return out

    def run_ids(self) -> set[str]:
        """The runs this process started (every cycle logs its run id)."""
        return {str(e["run_id"]) for e in self.events() if e.get("event") == "sync.cycle_finished" and "run_id" in e}

    def get(self, path: str) -> requests.Response | None:
        """One request to the health server; None while it does not answer (starting, or gone)."""
        with requests.Session() as session:
            session.trust_env = False  # loopback only: no proxy from the environment
            try:
                return session.get(self.url + path, timeout=5)
            except requests.RequestException:
                return None

    def metrics(self) -> Samples | None:
        """``/metrics`` parsed with the Prometheus client's parser; None while the server does not answer."""
        reply = self.get("/metrics")
        if reply is None:
            return None
        assert reply.status_code == 200, reply.text
        out: Samples = {}
        for family in text_string_to_metric_families(reply.text):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    def role(self) -> str | None:
        """The role ``sync_daemon_role`` reports as 1, or None when the server does not answer."""
        samples = self.metrics()
        if samples is None:
            return None
        roles = [dict(labels)["role"] for (name, labels), v in samples.items() if name == "sync_daemon_role" and v]
        assert len(roles) == 1, roles
        return roles[0]

    def ready_status(self) -> int | None:
        """The HTTP status of ``/readyz`` (200 or 503), or None when the server does not answer."""
        reply = self.get("/readyz")
        return None if reply is None else reply.status_code

    def stop(self) -> None:
        """SIGKILL it if it still runs (the cleanup of a failed test), then reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def start_daemon(env: dict[str, str], workdir: Path, name: str) -> Daemon:
    """Start ``sync-daemon run`` with its own health port and log file."""
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            cli("run"), env=env | {"SYNC_HEALTH_PORT": str(port)}, cwd=workdir, stdout=sink, stderr=subprocess.STDOUT
        )
    return Daemon(name, proc, port, log)


def daemon_runs(store: Store) -> list[RunRow]:
    """The runs ``sync-daemon run`` made, oldest first."""
    return sorted((r for r in store.recent_runs(limit=10_000) if r.command == "run"), key=lambda r: r.started_at)


def hubspot_note_keys(handle: SandboxHandle) -> Counter[str]:
    """How many notes in the HubSpot sandbox carry each key (its own state, not through a connector)."""
    app: Any = handle.app
    return Counter(str(app.get("notes", i).get(HS_KEY)) for i in app.ids("notes"))


def outbox_rows(store: Store) -> list[tuple[str, str, str]]:
    """Every outbox intent as (key, kind, status)."""
    from sqlalchemy import text  # noqa: PLC0415

    with store.engine.connect() as conn:
        return [(str(k), str(kd), str(s)) for k, kd, s in conn.execute(text("SELECT key, kind, status FROM outbox"))]
