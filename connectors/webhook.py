"""The ``webhook`` assessment channel: an HMAC-signed JSON POST to a survey tool, delivered at most once per key.

The scheme, for the survey tool's admin who verifies what arrives::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <key>              one per (contact, kind, cycle); identical on every retry
    X-Sync-Timestamp: <unix seconds>    when this attempt was signed (a retry is signed afresh)
    X-Sync-Signature: sha256=<hex>      lowercase hex of HMAC-SHA256(secret, "<timestamp>.<body>")

    <body>                              compact JSON: keys sorted, no spaces, UTF-8, non-ASCII unescaped

To verify a delivery: take the body's raw bytes as received (never re-serialise them), prepend the
``X-Sync-Timestamp`` header's text and a dot, compute HMAC-SHA256 with the shared secret, and compare
``sha256=<hex>`` with the header in constant time; refuse a timestamp more than five minutes away from your
clock, so a captured request cannot be replayed later. Then deduplicate on ``Idempotency-Key``: answer 409
(or a 2xx) for a key you already hold, so a retry after a lost reply never surveys anyone twice.
:func:`verify` is that check, shared by the tests' receiver.

What each answer means to the sender (and, through ``connectors.base``, to the outbox)::

    2xx                              delivered: a receipt with the JSON body's ``id`` when it has one
    409                              delivered before under this key: a receipt with ``duplicate=True``
    401, 403                         WebhookAuthError (an AuthError): signature or secret refused; every send
                                     would meet the same refusal, so the outbox stops and counts no attempt
    408, 429, 5xx, network, timeout  WebhookUnavailableError (a RetriableError): retried under the one retry
                                     policy, ``Retry-After`` honoured, with the same key and body
    other 4xx                        WebhookRejectedError (a RecordError): this delivery is refused; code
                                     ``HTTP <status>`` and the receiver's short message
    3xx, TLS failure, bad URL        ProtocolError: configuration (the final URL, the CA bundle)

The secret lives in the sender only: no message, log line or ``repr`` carries it, nor the URL's path or query
(some tools put a token there), so messages name the host alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
import structlog

from connectors.base import AuthError, ProtocolError, RecordError, RetriableError
from connectors.http import PinnedSession, parse_retry_after

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from connectors.retry import RetryPolicy
    from sync_daemon.config.assessment_models import WebhookChannel

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookAuthError",
    "WebhookReceipt",
    "WebhookRejectedError",
    "WebhookSender",
    "WebhookUnavailableError",
    "canonical_body",
    "signature",
    "verify",
]

log = structlog.get_logger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
TIMESTAMP_HEADER = "X-Sync-Timestamp"
SIGNATURE_HEADER = "X-Sync-Signature"
DEFAULT_TOLERANCE_S = 300.0
_ALREADY_HELD = 409
_AUTH_REFUSED = frozenset({401, 403})
_TRANSIENT = frozenset({408, 429})
_MAX_MESSAGE = 200
_KEY = re.compile(r"[!-~]{1,255}")  # printable ASCII: a header value that cannot smuggle a line break
_TIMESTAMP = re.compile(r"\d{1,15}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def canonical_body(payload: Mapping[str, object]) -> bytes:
    """The bytes that are signed and sent: compact JSON, keys sorted, UTF-8; dates as ISO 8601.

    One canonical form makes a retry byte-identical and lets a receiver that re-serialises still match.
    """
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_jsonable
    )
    return text.encode("utf-8")


def _jsonable(value: object) -> object:
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    raise TypeError(f"a webhook payload cannot carry a {type(value).__name__}")


def _timestamp_text(timestamp: int | str) -> str | None:
    """The timestamp as signed: decimal digits only, so ``" 12"`` or ``"-5"`` never verify."""
    text = str(timestamp) if isinstance(timestamp, int) and not isinstance(timestamp, bool) else timestamp
    return text if isinstance(text, str) and _TIMESTAMP.fullmatch(text) else None


def signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The ``X-Sync-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    text = _timestamp_text(timestamp)
    if text is None:
        raise ValueError("a webhook timestamp is a non-negative number of unix seconds")
    raw = body.encode("utf-8") if isinstance(body, str) else body
    mac = hmac.new(secret.encode("utf-8"), text.encode("ascii") + b"." + raw, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: int | str | None,
    body: bytes | str,
    header: str | None,
    *,
    now: datetime,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` with ``secret``, within ``tolerance_s`` of ``now``.

    The comparison is constant-time; a missing, malformed or stale timestamp is refused before any HMAC.
    """
    text = None if timestamp is None else _timestamp_text(timestamp)
    if text is None or header is None or abs(now.timestamp() - int(text)) > tolerance_s:
        return False
    expected = signature(secret, text, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """A delivery the survey tool acknowledged.

    ``duplicate`` says it already held the key (409): delivered before, typically by an attempt whose reply
    was lost. ``response_id`` is the ``id`` of the JSON answer when there is one; ``attempts`` counts the
    POSTs this send made.
    """

    status: int
    response_id: str | None
    duplicate: bool = False
    attempts: int = 1


class WebhookAuthError(AuthError):
    """The survey tool refused the signature (401/403): the shared secret or the clock is wrong."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class WebhookRejectedError(RecordError):
    """The survey tool refused this delivery for good (a 4xx other than 401/403/408/409/429)."""

    def __init__(self, key: str, status: int, message: str) -> None:
        super().__init__(key, f"HTTP {status}", message or "no reason given")
        self.status = status


class WebhookUnavailableError(RetriableError):
    """The survey tool could not take the delivery now; ``status`` is ``None`` for network trouble."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status


class WebhookSender:
    """Signs and POSTs assessment deliveries to one survey-tool URL, retrying transient failures.

    ``timeout`` bounds connecting and each read of one attempt; ``retry`` is the project's retry policy;
    ``ca_bundle`` pins the CA that signs the tool's certificate; ``clock`` gives the signing time.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float,
        retry: RetryPolicy,
        ca_bundle: str | Path | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.host = _host(url)
        if not secret.strip():
            raise ValueError("the webhook secret is empty")
        if timeout <= 0:
            raise ValueError(f"the webhook timeout must be positive, got {timeout}")
        self._url = url
        self._secret = secret
        self._timeout = timeout
        self._retry = retry
        self._clock = clock
        self._session = PinnedSession(None if ca_bundle is None else str(ca_bundle))

    @classmethod
    def from_channel(
        cls,
        channel: WebhookChannel,
        *,
        environ: Mapping[str, str],
        retry: RetryPolicy,
        ca_bundle: str | Path | None = None,
        on_secret: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> WebhookSender:
        """A sender for the policy's channel, its secret read from ``environ[channel.secret_env]``.

        ``on_secret`` is told the secret (``sync_daemon.logs.register_secret``) so log redaction hides it.
        """
        secret = environ.get(channel.secret_env, "")
        if not secret.strip():
            raise ValueError(f"the webhook channel needs its secret in the environment variable {channel.secret_env}")
        if on_secret is not None:
            on_secret(secret)
        return cls(channel.url, secret, timeout=channel.timeout_seconds, retry=retry, ca_bundle=ca_bundle, clock=clock)

    def __repr__(self) -> str:
        """Names the host only: the secret and the URL's path and query stay out of any output."""
        return f"WebhookSender(host={self.host!r})"

    def send(self, idempotency_key: str, payload: Mapping[str, object]) -> WebhookReceipt:
        """Deliver ``payload`` under ``idempotency_key``; retries resend the same key and body, re-signed.

        Raises ``WebhookAuthError``, ``WebhookRejectedError``, ``ProtocolError``, or the last
        ``WebhookUnavailableError`` once the retry budget is spent.
        """
        if not _KEY.fullmatch(idempotency_key):
            raise ValueError("an idempotency key is 1 to 255 printable ASCII characters without spaces")
        body = canonical_body(payload)
        attempts = 0

        def attempt() -> requests.Response:
            nonlocal attempts
            attempts += 1
            return self._post(idempotency_key, body)

        response = self._retry.call(attempt)
        receipt = WebhookReceipt(
            status=response.status_code,
            response_id=_response_id(response),
            duplicate=response.status_code == _ALREADY_HELD,
            attempts=attempts,
        )
        log.info("webhook.delivered", host=self.host, key=idempotency_key, status=receipt.status,
                 duplicate=receipt.duplicate, attempts=attempts)  # fmt: skip
        return receipt

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def _post(self, key: str, body: bytes) -> requests.Response:
        """One signed attempt; an answer that is not a delivery raises the matching error."""
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
        }
        try:
            response = self._session.post(
                self._url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            # ``from None``: requests' messages quote the full URL, whose path or query may hold a token.
            raise _network_error(exc, self.host) from None
        self._check(response, key)
        return response

    def _check(self, response: requests.Response, key: str) -> None:
        """Raise what a non-delivery answer means; 2xx and 409 pass."""
        status = response.status_code
        if 200 <= status < 300 or status == _ALREADY_HELD:  # noqa: PLR2004 - the 2xx range
            return
        reason = _receiver_message(response, self._secret)
        text = f"the survey tool at {self.host} answered HTTP {status}" + (f": {reason}" if reason else "")
        if status in _AUTH_REFUSED:
            raise WebhookAuthError(f"{text} (check the shared secret and the clocks)", status=status)
        if status in _TRANSIENT or 500 <= status < 600:  # noqa: PLR2004 - the 5xx range
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            raise WebhookUnavailableError(text, status=status, retry_after=retry_after)
        if 400 <= status < 500:  # noqa: PLR2004 - the 4xx range
            raise WebhookRejectedError(key, status, reason)
        raise ProtocolError(f"{text} (not a delivery answer: configure the final URL, redirects are not followed)")


def _host(url: str) -> str:
    """``host[:port]`` of an http(s) URL (no credentials, path or query); the URL itself is never quoted."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
        host = None
    else:
        host = parts.hostname
    if parts.scheme not in {"http", "https"} or not host:
        raise ValueError("the webhook URL must be an absolute http:// or https:// URL")
    return f"{host}:{port}" if port is not None else host


def _network_error(exc: requests.RequestException, host: str) -> Exception:
    if isinstance(exc, requests.exceptions.SSLError):
        return ProtocolError(
            f"TLS verification of the survey tool at {host} failed: configure the CA bundle that signs its certificate"
        )
    transient = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    )
    if isinstance(exc, transient):
        return WebhookUnavailableError(f"network trouble talking to the survey tool at {host}: {type(exc).__name__}")
    return ProtocolError(f"the request to the survey tool at {host} failed: {type(exc).__name__}")


def _receiver_message(response: requests.Response, secret: str) -> str:
    """The ``message``/``error``/``detail`` of a JSON answer, one line, truncated; HTML is never quoted.

    The secret is replaced before truncating (no prefix of it survives), should a receiver echo it.
    """
    try:
        data = response.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    for name in ("message", "error", "detail"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return " ".join(value.replace(secret, "[REDACTED]").split())[:_MAX_MESSAGE]
    return ""


def _response_id(response: requests.Response) -> str | None:
    """The ``id`` of a JSON answer (a string or a number), else ``None``."""
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)[:_MAX_MESSAGE] or None
