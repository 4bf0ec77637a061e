"""A loopback survey tool for the webhook channel: checks signatures, keeps each idempotency key once, fails on cue.

Run it in :class:`~sync_daemon.sandbox.server.SandboxServer` (threaded, TLS with a throwaway CA). Every POST to
its path goes through, in order:

1. a *hold* queued with :meth:`WebhookReceiver.hold_next`: the request blocks until the test releases it, before
   or after it is recorded (a slow tool; the client's small timeout fires, and nothing in the test sleeps); its
   answer is then dropped, the client being gone;
2. an *arrival* is logged (key, timestamp, signature, body), whatever happens next;
3. a failure queued with :meth:`WebhookReceiver.fail_next` answers instead (503 by default, ``Retry-After``
   optional), so a test sees that every retry carried the same key and body;
4. a bad, missing or stale signature answers 401 ``{"message": "bad signature"}`` and records nothing;
5. a new key is recorded and answers 200 ``{"id": "dlv-0001"}``; a key seen before answers **409**
   ``{"id": <its first id>, "message": "already delivered"}``: the survey goes out once, and the sender learns
   that an earlier attempt (whose reply it lost) got through.

A lost reply is SandboxServer's own ``drop_reply`` fault (:meth:`WebhookReceiver.drop_next_reply`): the receiver
records the delivery, then the connection is reset before the answer is written.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from sync_daemon.sandbox.server import Clock, Fault, Request, Response, SandboxApp

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

PATH = "/hooks/assessments"
# A held request gives up after this long, so a failing test cannot hang the suite.
HOLD_LIMIT_S = 30.0


@dataclass(frozen=True)
class Arrival:
    """One request as it reached the receiver, and what it answered."""

    key: str | None
    timestamp: str | None
    signature: str | None
    body: bytes
    status: int


@dataclass(frozen=True)
class Delivery:
    """A delivery the receiver accepted: the first request under its key."""

    key: str
    id: str
    payload: Any
    body: bytes


class Hold:
    """A request parked until :meth:`release`; ``reached`` and ``done`` let a test follow it without sleeping."""

    def __init__(self, *, after_record: bool) -> None:
        self.after_record = after_record
        self.reached = threading.Event()
        self.done = threading.Event()
        self._released = threading.Event()
        self.status: int | None = None

    def release(self) -> None:
        """Let the parked request go on."""
        self._released.set()

    def block(self) -> None:
        """Park the calling server thread until released (or the safety limit passes)."""
        self.reached.set()
        self._released.wait(HOLD_LIMIT_S)


def _header(request: Request, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in request.headers.items() if key.lower() == wanted), None)


class WebhookReceiver(SandboxApp):
    """The survey tool: ``secret`` verifies signatures against ``now`` within ``tolerance_s``."""

    def __init__(
        self, secret: str, *, now: Callable[[], datetime], path: str = PATH, tolerance_s: float = 300.0
    ) -> None:
        super().__init__(Clock(now))
        self.secret = secret
        self.path = path
        self.tolerance_s = tolerance_s
        self.arrivals: list[Arrival] = []
        self.deliveries: list[Delivery] = []
        self._ids: dict[str, str] = {}
        self._failures: list[Response] = []
        self._holds: list[Hold] = []
        self._every_hold: list[Hold] = []
        self.router.add("POST", re.escape(path), self._receive)

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int = 503,
        retry_after: str | None = None,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (after logging their arrival)."""
        extra = dict(headers or {}) | ({"Retry-After": retry_after} if retry_after is not None else {})
        answer = Response(status, body if body is not None else {"message": "try again later"}, extra)
        with self.lock:
            self._failures.extend([answer] * times)

    def drop_next_reply(self) -> None:
        """Record the next delivery, then reset the connection: the sender never reads the answer."""
        self.inject(Fault("drop_reply", "POST", re.escape(self.path)))

    def hold_next(self, *, after_record: bool) -> Hold:
        """Park the next request before it is recorded, or after (its answer then waits).

        Its answer is never written: by the time the test releases it the client has given up, and writing to
        the closed socket would only print a server-side traceback; the connection is reset instead.
        """
        hold = Hold(after_record=after_record)
        self.inject(Fault("drop_reply", "POST", re.escape(self.path)))
        with self.lock:
            self._holds.append(hold)
            self._every_hold.append(hold)
        return hold

    def release_all(self) -> None:
        """Release every hold, used or not (teardown: no server thread stays parked)."""
        with self.lock:
            holds = list(self._every_hold)
        for hold in holds:
            hold.release()

    def delivered(self, key: str) -> int:
        """How many deliveries the receiver accepted under ``key`` (the point of it all: at most one)."""
        with self.lock:
            return sum(1 for delivery in self.deliveries if delivery.key == key)

    def handle(self, request: Request) -> Response:
        """Serve one request, parked first when a hold is queued."""
        with self.lock:
            hold = self._holds.pop(0) if self._holds else None
        if hold is not None and not hold.after_record:
            hold.block()
        response = super().handle(request)
        if hold is not None:
            if hold.after_record:
                hold.block()
            hold.status = response.status
            hold.done.set()
        return response

    def _receive(self, request: Request) -> Response:
        key = _header(request, IDEMPOTENCY_HEADER)
        timestamp, sig = _header(request, TIMESTAMP_HEADER), _header(request, SIGNATURE_HEADER)
        response = self._answer(request, key, timestamp, sig)
        with self.lock:
            self.arrivals.append(Arrival(key, timestamp, sig, request.body, response.status))
        return response

    def _answer(self, request: Request, key: str | None, timestamp: str | None, sig: str | None) -> Response:
        with self.lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return failure
        now = self.clock.now()
        if not verify(self.secret, timestamp, request.body, sig, now=now, tolerance_s=self.tolerance_s):
            return Response(401, {"message": "bad signature"})
        content_type = _header(request, "Content-Type") or ""
        if not key or not content_type.startswith("application/json"):
            return Response(400, {"message": "an Idempotency-Key and a JSON body are required"})
        try:
            payload = json.loads(request.body)
        except ValueError:
            return Response(400, {"message": "the body is not JSON"})
        return self._record(key, payload, request.body)

    def _record(self, key: str, payload: Any, body: bytes) -> Response:
        with self.lock:
            known = self._ids.get(key)
            if known is not None:
                return Response(409, {"id": known, "message": "already delivered"})
            new_id = f"dlv-{len(self._ids) + 1:04d}"
            self._ids[key] = new_id
            self.deliveries.append(Delivery(key, new_id, payload, body))
        return Response(200, {"id": new_id})
