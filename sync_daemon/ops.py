"""What an operator's tooling asks a running daemon: is it alive, is it ready, what are its numbers.

Three parts, wired together by ``sync-daemon run``:

- :class:`DaemonState`: what this process knows and the store does not (its role, when its last cycle ended and
  how, whether the CRM took its credentials, its next runs). The scheduler updates it from its own threads; the
  HTTP threads read a consistent :class:`DaemonSnapshot` of it, so every change and read holds one lock.
- :func:`readiness`: a pure judgement of a snapshot and a store ping at an explicit ``now``. The active replica is
  ready when the store answers, the CRM has not refused the credentials and a cycle finished within ``max_age``
  (a fresh process gets ``max_age`` from its start as grace); a standby only needs the store, since that is all it
  needs to take over. A starting or stopping process is not ready.
- :class:`HealthServer`: ``/healthz``, ``/readyz`` and ``/metrics`` on the standard library's threading HTTP
  server in a daemon thread: three fixed answers do not need a framework, and the container stays small.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, get_args

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from prometheus_client import CollectorRegistry

    from connectors.base import ApiUsage
    from sync_daemon.engine import CycleResult
    from sync_daemon.settings.models import SyncSettings

log = structlog.get_logger(__name__)

__all__ = [
    "ROLES",
    "Check",
    "DaemonSnapshot",
    "DaemonState",
    "HealthServer",
    "Pingable",
    "Readiness",
    "Role",
    "error_class",
    "readiness",
    "ready_max_age",
]

Role = Literal["starting", "active", "standby", "stopping"]
ROLES: tuple[Role, ...] = get_args(Role)
# Statuses that prove the CRM took the credentials: the cycle got through its pull.
_PROVEN = frozenset({"ok", "stopped"})
# Failures that say nothing about the credentials (the CRM was unreachable or answered garbage).
_NEUTRAL = frozenset({"RetriableError", "ProtocolError", "ConnectorError"})
CRON_READY_MAX_AGE = timedelta(days=1)
READY_INTERVALS = 3


def _utc_now() -> datetime:
    return datetime.now(UTC)


def error_class(error: str | None) -> str | None:
    """The exception class a cycle's error text starts with (``"AuthError: ..."``), else None."""
    if not error:
        return None
    head = error.split(":", 1)[0].strip()
    return head if head.isidentifier() else None


def _credentials_after(result: CycleResult, *, current: bool | None) -> bool | None:
    """What a cycle says about the credentials: refused, proven, or nothing new."""
    cls = error_class(result.error)
    if cls == "AuthError":
        return False
    if result.status in _PROVEN:
        return True
    if result.api_calls == 0 or cls in _NEUTRAL or (result.status == "failed" and cls != "AccessDeniedError"):
        return current
    return True  # a spent budget, denied access, an interrupted or partial run: the CRM knew who we are


@dataclass(frozen=True, slots=True)
class DaemonSnapshot:
    """A consistent copy of :class:`DaemonState` at one moment."""

    started_at: datetime
    role: Role
    last_finished_at: datetime | None
    last_status: str | None
    last_duration_s: float | None
    last_error: str | None
    credentials_ok: bool | None
    next_runs: dict[str, datetime]
    usage: dict[str, ApiUsage]


@dataclass
class DaemonState:
    """What this process knows about itself; safe to update and read from any thread.

    ``credentials_ok`` is None until a cycle says something about the credentials, False after a cycle the CRM
    refused them (``AuthError``), True after one it took them. ``clock`` stamps a cycle's end when the caller
    does not pass it. ``usage`` holds the API usage the connector last reported, per CRM (the runs table does not
    keep it), for the budget gauge.
    """

    started_at: datetime
    clock: Callable[[], datetime] = field(default=_utc_now, repr=False, compare=False)
    role: Role = "starting"
    last_finished_at: datetime | None = None
    last_status: str | None = None
    last_duration_s: float | None = None
    last_error: str | None = None
    credentials_ok: bool | None = None
    next_runs: dict[str, datetime] = field(default_factory=dict)
    usage: dict[str, ApiUsage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def set_role(self, role: str) -> None:
        """This process is now ``starting``, ``active``, ``standby`` or ``stopping``."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
        with self._lock:
            self.role = role

    def set_next_runs(self, runs: Mapping[str, datetime | None]) -> None:
        """Each scheduled job's next run (a paused job, None, is left out)."""
        with self._lock:
            self.next_runs = {job: at for job, at in runs.items() if at is not None}

    def record_cycle(self, result: CycleResult, *, finished_at: datetime | None = None) -> None:
        """A cycle of this process ended: its status, duration and what it says about the credentials."""
        finished = finished_at if finished_at is not None else self.clock()
        with self._lock:
            self.last_finished_at = finished
            self.last_status = result.status
            self.last_duration_s = result.duration_s
            self.last_error = result.error
            self.credentials_ok = _credentials_after(result, current=self.credentials_ok)

    def record_usage(self, crm: str, usage: ApiUsage) -> None:
        """The API usage the connector reported after a cycle (for ``sync_api_budget_remaining``)."""
        with self._lock:
            self.usage[crm] = usage

    def snapshot(self) -> DaemonSnapshot:
        """A frozen copy, read under the lock."""
        with self._lock:
            return DaemonSnapshot(self.started_at, self.role, self.last_finished_at, self.last_status,
                                  self.last_duration_s, self.last_error, self.credentials_ok, dict(self.next_runs),
                                  dict(self.usage))  # fmt: skip


def ready_max_age(settings: SyncSettings) -> timedelta:
    """``SYNC_READY_MAX_AGE_SECONDS``, else three sync intervals, else a day with a crontab line."""
    if settings.ready_max_age_seconds is not None:
        return timedelta(seconds=settings.ready_max_age_seconds)
    if settings.schedule_cron:
        return CRON_READY_MAX_AGE
    return timedelta(seconds=READY_INTERVALS * settings.schedule_interval_seconds)


# -- readiness ------------------------------------------------------------------------------------------


class Pingable(Protocol):
    """What readiness needs of the store: an answer to a trivial query, or an exception."""

    def ping(self) -> None:
        """Raise unless the database answers."""
        ...


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check: passed or not, and why in words an operator can act on."""

    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Readiness:
    """The verdict and every check behind it."""

    role: Role
    checks: dict[str, Check]

    @property
    def ready(self) -> bool:
        """Every check passed."""
        return all(c.ok for c in self.checks.values())

    @property
    def failed(self) -> dict[str, str]:
        """The failed checks with their reasons."""
        return {name: c.detail for name, c in self.checks.items() if not c.ok}

    def as_json(self) -> dict[str, Any]:
        """The ``/readyz`` body."""
        checks = {name: {"ok": c.ok, "detail": c.detail} for name, c in self.checks.items()}
        body: dict[str, Any] = {"ready": self.ready, "role": self.role, "checks": checks}
        if not self.ready:
            body["failed"] = sorted(self.failed)
        return body


def _store_check(store: Pingable) -> Check:
    try:
        store.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding itself
        log.warning("health.store_unreachable", error=f"{type(exc).__name__}: {exc}")
        return Check(ok=False, detail=f"the store did not answer ({type(exc).__name__}; see the log)")
    return Check(ok=True, detail="the store answered")


def _role_check(role: Role) -> Check:
    if role == "starting":
        return Check(ok=False, detail="the daemon is starting")
    if role == "stopping":
        return Check(ok=False, detail="the daemon is stopping")
    return Check(ok=True, detail=f"{role}")


def _credentials_check(s: DaemonSnapshot) -> Check:
    if s.credentials_ok is False:
        when = s.last_finished_at.isoformat() if s.last_finished_at else "the last cycle"
        return Check(ok=False, detail=f"the CRM refused the credentials (cycle ended {when}): {s.last_error}")
    if s.credentials_ok is None:
        return Check(ok=True, detail="not known yet: no cycle has reached the CRM")
    return Check(ok=True, detail="the CRM accepted the credentials at the last cycle that reached it")


def _age(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} s"


def _last_cycle_check(s: DaemonSnapshot, now: datetime, max_age: timedelta) -> Check:
    limit = _age(max_age)
    if s.last_finished_at is None:
        waited = now - s.started_at
        if waited <= max_age:
            return Check(ok=True, detail=f"no cycle yet; started {_age(waited)} ago (grace {limit})")
        return Check(ok=False, detail=f"no cycle has finished since the start {_age(waited)} ago (limit {limit})")
    age = now - s.last_finished_at
    text = f"the last cycle ({s.last_status}) finished {_age(age)} ago"
    if age <= max_age:
        return Check(ok=True, detail=f"{text} (limit {limit})")
    return Check(ok=False, detail=f"{text}, more than {limit}: is the scheduler stuck?")


def readiness(state: DaemonState | DaemonSnapshot, store: Pingable, *, now: datetime, max_age: timedelta) -> Readiness:
    """Judge readiness at ``now``; the store ping is the only I/O."""
    s = state.snapshot() if isinstance(state, DaemonState) else state
    checks = {"role": _role_check(s.role), "store": _store_check(store)}
    if s.role == "active":
        checks["credentials"] = _credentials_check(s)
        checks["last_cycle"] = _last_cycle_check(s, now, max_age)
    return Readiness(s.role, checks)


# -- the HTTP server ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    status: int
    content_type: str
    body: bytes


_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Answer one of the three paths, 404 for anything else."""
        self._send(self.server.owner.reply(self.path.split("?", 1)[0]), head=False)

    def do_HEAD(self) -> None:
        """As GET, without the body."""
        self._send(self.server.owner.reply(self.path.split("?", 1)[0]), head=True)

    def _send(self, reply: _Reply, *, head: bool) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's signature
        """Access lines go to the structured log at debug, not to stderr: probes hit every few seconds."""
        log.debug("health.request", client=self.client_address[0], line=format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: HealthServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.owner = owner
        super().__init__(address, _Handler)


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port`` (port 0: an ephemeral port, see :attr:`port`).

    ``now`` is the clock readiness is judged by; ``registry`` is what ``/metrics`` renders (see
    :func:`sync_daemon.metrics.registry_for`). ``start`` binds and serves from a daemon thread, so a stuck
    request never keeps the process alive; ``stop`` closes the socket and joins the thread.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        state: DaemonState,
        store: Pingable,
        now: Callable[[], datetime],
        max_age: timedelta,
        registry: CollectorRegistry,
    ) -> None:
        self._address = (host, port)
        self._state, self._store, self._now, self._max_age = state, store, now, max_age
        self._registry = registry
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the ephemeral one when 0 was asked for); only after :meth:`start`."""
        if self._server is None:
            raise RuntimeError("the health server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, for tests and the log."""
        host = self._address[0]
        shown = "127.0.0.1" if host in {"", "0.0.0.0"} else host  # noqa: S104 - only naming the address
        return f"http://[{shown}]:{self.port}" if ":" in shown else f"http://{shown}:{self.port}"

    def start(self) -> Self:
        """Bind (``OSError`` when the port is taken) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the health server is already started")
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-server", daemon=True)
        self._thread.start()
        log.info("health.listening", host=self._address[0], port=self.port)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (a no-op when not started)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Self:
        """Start; stop on exit."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    def reply(self, path: str) -> _Reply:
        """The answer to ``GET path``."""
        if path == "/healthz":
            return _Reply(200, _TEXT, b"ok\n")
        if path == "/readyz":
            verdict = readiness(self._state, self._store, now=self._now(), max_age=self._max_age)
            body = json.dumps(verdict.as_json(), sort_keys=True).encode()
            return _Reply(200 if verdict.ready else 503, _JSON, body)
        if path == "/metrics":
            return self._metrics()
        return _Reply(404, _TEXT, b"not found: try /healthz, /readyz or /metrics\n")

    def _metrics(self) -> _Reply:
        try:
            body = generate_latest(self._registry)
        except Exception as exc:  # noqa: BLE001 - a scrape must get an answer, and the log the cause
            log.warning("health.metrics_failed", error=f"{type(exc).__name__}: {exc}")
            return _Reply(500, _TEXT, f"metrics unavailable ({type(exc).__name__}; see the log)\n".encode())
        return _Reply(200, CONTENT_TYPE_LATEST, body)
