"""The HTTP(S) plumbing both emulators share.

A threaded loopback server, a tiny router, a call log, fault injection, and an injectable clock.

Faults are queued by tests (or the demo) and consumed by matching requests, so a test can say "the next
two searches answer 429 without Retry-After" or "commit this write, then drop the reply".
"""

from __future__ import annotations

import json
import re
import socket
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

FaultKind = Literal["status", "reset", "drop_reply", "delay"]


@dataclass
class Request:
    """A parsed request as the emulators see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; ``None`` when empty."""
        return json.loads(self.body) if self.body else None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """What a handler returns; ``body`` is serialised as JSON unless it is bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"

    def encoded(self) -> bytes:
        """The body as bytes."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass
class Fault:
    """One injected fault, matched by method and path pattern, consumed ``times`` times."""

    kind: FaultKind
    method: str = "*"
    path: str = ".*"
    times: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to the request."""
        return (self.method in ("*", method)) and re.search(self.path, path) is not None


@dataclass(frozen=True)
class Call:
    """One request as the sandbox saw it, for tests to count."""

    method: str
    path: str
    status: int
    at: float
    fault: str | None = None


class Clock:
    """The sandbox's notion of now; tests replace ``now`` to travel in time."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))


Handler = "Callable[[Request], Response]"


class Router:
    """Regex routes to handlers; ``(?P<name>...)`` groups land in ``Request.params``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Callable[[Request], Response]]] = []

    def add(self, method: str, pattern: str, handler: Callable[[Request], Response]) -> None:
        """Register ``handler`` for ``method`` and a full-match path pattern."""
        self._routes.append((method, re.compile(pattern), handler))

    def dispatch(self, request: Request) -> Response:
        """Find the handler; 404 or 405 as a real API would."""
        allowed = False
        for method, pattern, handler in self._routes:
            m = pattern.fullmatch(request.path)
            if m is None:
                continue
            allowed = True
            if method == request.method:
                request.params = {k: v for k, v in m.groupdict().items() if v is not None}
                return handler(request)
        return Response(405 if allowed else 404, {"message": f"no route for {request.method} {request.path}"})


class SandboxApp:
    """Base of an emulator: routes, faults, call log and clock; subclasses add the CRM's routes."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.router = Router()
        self.clock = clock or Clock()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()

    def inject(self, fault: Fault) -> None:
        """Queue a fault for the next matching request(s)."""
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching the request."""
        with self.lock:
            for f in self.faults:
                if f.matches(method, path):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def record(self, call: Call) -> None:
        """Append to the call log."""
        with self.lock:
            self.calls.append(call)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Calls seen, optionally filtered by method and a path regex."""
        with self.lock:
            return sum(
                1
                for c in self.calls
                if (method is None or c.method == method) and (path is None or re.search(path, c.path))
            )

    def reset_calls(self) -> None:
        """Forget the call log (not the data)."""
        with self.lock:
            self.calls.clear()

    def handle(self, request: Request) -> Response:
        """Serve one request (after faults). Subclasses may wrap this for auth and rate limits."""
        return self.router.dispatch(request)


def _abort_with_reset(sock: socket.socket) -> None:
    """Close the connection with a TCP RST, as a flaky load balancer would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Disable Nagle: headers and body go out in separate writes, which would cost ~40 ms a request."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Silence the stdlib's stderr access log; the call log is the record."""

    def _serve(self) -> None:
        app = self.server.app
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
        fault = app.take_fault(req.method, req.path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "reset":
            app.record(Call(req.method, req.path, 0, time.monotonic(), "reset"))
            _abort_with_reset(self.connection)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            resp = Response(fault.status, fault.body, dict(fault.headers))
        else:
            resp = app.handle(req)
        if fault is not None and fault.kind == "drop_reply":
            app.record(Call(req.method, req.path, resp.status, time.monotonic(), "drop_reply"))
            _abort_with_reset(self.connection)
            self.close_connection = True
            return
        app.record(Call(req.method, req.path, resp.status, time.monotonic(), fault.kind if fault else None))
        self._write(resp)

    def _write(self, resp: Response) -> None:
        data = resp.encoded()
        self.send_response(resp.status)
        if data:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, app: SandboxApp, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.app = app
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)


class SandboxServer:
    """Runs an app on a loopback port, over TLS with a throwaway CA when ``tls`` is true.

    Use as a context manager. ``url`` is the base URL; ``ca_file`` is the PEM of the throwaway CA
    that clients must trust (``None`` without TLS).
    """

    def __init__(self, app: SandboxApp, *, tls: bool) -> None:
        self.app = app
        self._tls = tls
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_file: Path | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _context(self) -> ssl.SSLContext | None:
        if not self._tls:
            return None
        import ssl  # noqa: PLC0415 - only needed with TLS

        import trustme  # noqa: PLC0415 - only needed with TLS

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._tmp = tempfile.TemporaryDirectory(prefix="sync-sandbox-")
        self.ca_file = Path(self._tmp.name) / "sandbox-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        return ctx

    def start(self) -> SandboxServer:
        """Bind and serve in a background thread."""
        self._server = _Server(self.app, self._context())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "server not started"  # noqa: S101 - programming error
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:54321``."""
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving and remove the throwaway CA."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        """Start serving."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.stop()


def iso_now(clock: Clock) -> str:
    """The clock's now in Salesforce's datetime format."""
    return clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
