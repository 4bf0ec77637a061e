"""The webhook channel against a loopback survey tool that checks signatures and keeps each key once.

The receiver speaks TLS with a throwaway CA, so every send also proves the sender trusts the configured CA
bundle. Retries sleep through a fake clock (the waits are recorded, never slept); the one slow-receiver case
uses a small client timeout and a receiver parked on an Event, not a sleep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import traceback
from datetime import timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import certifi
import pytest
import requests
from structlog.testing import capture_logs

from connectors.base import AuthError, ProtocolError, RecordError, RetriableError
from connectors.retry import RetryPolicy, RetrySettings
from connectors.webhook import (
    WebhookAuthError,
    WebhookRejectedError,
    WebhookSender,
    WebhookUnavailableError,
    canonical_body,
    signature,
)
from sync_daemon.config.assessment_models import WebhookChannel
from sync_daemon.sandbox.server import SandboxServer
from tests.conftest import KNOWN_TOKEN
from tests.faketime import FakeTime
from tests.integration.webhook_receiver import PATH, WebhookReceiver

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = KNOWN_TOKEN  # the suite's guard fails any test whose output or traceback carries it
KEY = "assessment:003A000001:relationship:2"
PAYLOAD: dict[str, object] = {
    "contact_id": "003A000001",
    "kind": "relationship",
    "cycle": 2,
    "persona": "champion",
    "name": "Zoë Ångström",
}


class Rig:
    """A running receiver, its server, a fake clock, and senders built against them (closed at teardown)."""

    def __init__(self, receiver: WebhookReceiver, server: SandboxServer, time: FakeTime) -> None:
        self.receiver = receiver
        self.server = server
        self.time = time
        self._senders: list[WebhookSender] = []

    @property
    def url(self) -> str:
        """The receiver's endpoint."""
        return f"{self.server.url}{PATH}"

    def sender(self, *, secret: str = SECRET, timeout: float = 5.0, attempts: int = 4, **kwargs: Any) -> WebhookSender:
        """A sender trusting the receiver's CA, signing with the fake clock, retrying through fake sleeps."""
        kwargs.setdefault("ca_bundle", self.server.ca_file)
        sender = WebhookSender(
            kwargs.pop("url", self.url),
            secret,
            timeout=timeout,
            retry=RetryPolicy(RetrySettings(attempts=attempts), sleep=self.time.sleep),
            clock=self.time.now,
            **kwargs,
        )
        self._senders.append(sender)
        return sender

    def close(self) -> None:
        """Release every hold and close every sender."""
        self.receiver.release_all()
        for sender in self._senders:
            sender.close()


@pytest.fixture
def rig() -> Iterator[Rig]:
    time = FakeTime()
    receiver = WebhookReceiver(SECRET, now=time.now)
    with SandboxServer(receiver, tls=True) as server:
        built = Rig(receiver, server, time)
        try:
            yield built
        finally:
            built.close()


def test_signed_delivery_is_accepted_and_recorded(rig: Rig) -> None:
    """A send POSTs the canonical body with its key, timestamp and a signature the receiver verifies."""
    receipt = rig.sender().send(KEY, PAYLOAD)

    assert (receipt.status, receipt.response_id, receipt.duplicate, receipt.attempts) == (200, "dlv-0001", False, 1)
    [arrival] = rig.receiver.arrivals
    [delivery] = rig.receiver.deliveries
    assert (delivery.key, delivery.payload, delivery.body) == (KEY, PAYLOAD, canonical_body(PAYLOAD))
    assert arrival.timestamp == str(int(rig.time.now().timestamp()))
    signed = arrival.timestamp.encode() + b"." + arrival.body
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert arrival.signature == f"sha256={expected}"


def _raw_post(rig: Rig, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(rig.url, data=body, headers=headers, verify=str(rig.server.ca_file), timeout=5)


@pytest.mark.parametrize(
    ("case", "sign_secret", "sign_age_s", "tamper"),
    [
        ("tampered body", SECRET, 0, True),
        ("wrong secret", "not-the-shared-secret", 0, False),
        ("stale timestamp", SECRET, 301, False),
    ],
)
def test_receiver_refuses_what_the_secret_did_not_sign_now(
    rig: Rig, case: str, sign_secret: str, sign_age_s: int, tamper: bool
) -> None:
    """A body changed after signing, a signature by another secret, or an old timestamp gets 401 and no delivery."""
    body = canonical_body(PAYLOAD)
    timestamp = str(int(rig.time.now().timestamp()) - sign_age_s)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": KEY,
        "X-Sync-Timestamp": timestamp,
        "X-Sync-Signature": signature(sign_secret, timestamp, body),
    }
    sent = body.replace(b'"cycle":2', b'"cycle":3') if tamper else body

    answer = _raw_post(rig, sent, headers)

    assert answer.status_code == 401, case
    assert rig.receiver.deliveries == []


def test_wrong_secret_is_a_permanent_auth_error_without_retry(rig: Rig) -> None:
    """The receiver's 401 to a sender with the wrong secret raises an AuthError at once: one POST, no wait."""
    with pytest.raises(WebhookAuthError) as info:
        rig.sender(secret=SECRET + "-rotated").send(KEY, PAYLOAD)

    assert isinstance(info.value, AuthError)
    assert info.value.status == 401
    assert "HTTP 401" in str(info.value)
    assert rig.receiver.count("POST") == 1
    assert rig.time.sleeps == []
    assert rig.receiver.deliveries == []


def test_503s_are_retried_with_the_same_key_and_body_and_delivered_once(rig: Rig) -> None:
    """Two 503s are retried after recorded backoff waits; every attempt carries one key and body; one delivery."""
    rig.receiver.fail_next(2)

    receipt = rig.sender().send(KEY, PAYLOAD)

    assert (receipt.status, receipt.attempts, receipt.duplicate) == (200, 3, False)
    assert [a.status for a in rig.receiver.arrivals] == [503, 503, 200]
    assert {(a.key, a.body) for a in rig.receiver.arrivals} == {(KEY, canonical_body(PAYLOAD))}
    assert rig.receiver.delivered(KEY) == 1
    first, second = rig.time.sleeps  # jittered exponential backoff: 1 s then 2 s, plus up to 1 s each
    assert 1.0 <= first <= 2.0
    assert 2.0 <= second <= 3.0


def test_retry_signs_each_attempt_with_its_own_time(rig: Rig) -> None:
    """A retry after a wait is signed at the new time (the receiver's freshness check keeps passing)."""
    rig.receiver.fail_next(1)

    rig.sender().send(KEY, PAYLOAD)

    first, second = rig.receiver.arrivals
    assert int(second.timestamp or 0) - int(first.timestamp or 0) == int(rig.time.sleeps[0])
    assert first.signature != second.signature


def test_429_retry_after_is_honoured(rig: Rig) -> None:
    """A 429 with Retry-After: 7 waits exactly 7 s (recorded, not slept) before the retry."""
    rig.receiver.fail_next(1, status=429, retry_after="7")

    receipt = rig.sender().send(KEY, PAYLOAD)

    assert receipt.attempts == 2
    assert rig.time.sleeps == [7.0]
    assert rig.receiver.delivered(KEY) == 1


def test_429_retry_after_as_an_http_date_is_measured_on_the_senders_clock(rig: Rig) -> None:
    """A Retry-After given as an HTTP date 12 s ahead of the (fake) clock waits 12 s."""
    rig.receiver.fail_next(
        1, status=429, retry_after=format_datetime(rig.time.now() + timedelta(seconds=12), usegmt=True)
    )

    rig.sender().send(KEY, PAYLOAD)

    assert rig.time.sleeps == [12.0]


def test_spent_retry_budget_raises_the_last_retriable_error(rig: Rig) -> None:
    """When every attempt meets a 503, the last WebhookUnavailableError surfaces after exactly ``attempts`` POSTs."""
    rig.receiver.fail_next(10)

    with pytest.raises(WebhookUnavailableError) as info:
        rig.sender(attempts=3).send(KEY, PAYLOAD)

    assert isinstance(info.value, RetriableError)
    assert info.value.status == 503
    assert rig.receiver.count("POST") == 3
    assert len(rig.time.sleeps) == 2
    assert rig.receiver.deliveries == []


def test_lost_reply_then_retry_is_a_duplicate_success_delivered_once(rig: Rig) -> None:
    """The receiver records, the reply is lost; the retry gets 409 with the same id and ``send`` succeeds."""
    rig.receiver.drop_next_reply()

    receipt = rig.sender().send(KEY, PAYLOAD)

    assert (receipt.status, receipt.duplicate, receipt.response_id, receipt.attempts) == (409, True, "dlv-0001", 2)
    assert rig.receiver.delivered(KEY) == 1
    assert [a.status for a in rig.receiver.arrivals] == [200, 409]
    assert len(rig.time.sleeps) == 1


def test_sending_a_key_again_is_a_duplicate_not_a_second_delivery(rig: Rig) -> None:
    """A second send of a delivered key (an outbox re-run) returns the first id as a duplicate."""
    sender = rig.sender()
    first = sender.send(KEY, PAYLOAD)
    again = sender.send(KEY, PAYLOAD)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.response_id == first.response_id
    assert rig.receiver.delivered(KEY) == 1


@pytest.mark.parametrize("after_record", [False, True], ids=["held-before-recording", "held-after-recording"])
def test_timeout_is_retried_and_the_late_request_does_not_deliver_twice(rig: Rig, after_record: bool) -> None:
    """A receiver slower than the timeout is retried; released late, the first request still counts once."""
    hold = rig.receiver.hold_next(after_record=after_record)

    receipt = rig.sender(timeout=0.5).send(KEY, PAYLOAD)
    hold.release()
    assert hold.done.wait(10), "the held request never finished"

    assert receipt.attempts == 2
    assert len(rig.time.sleeps) == 1
    assert receipt.duplicate is after_record  # recorded before the hold: the retry meets the key
    assert hold.status == (200 if after_record else 409)
    assert rig.receiver.delivered(KEY) == 1


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_other_4xx_is_a_permanent_record_error_without_retry(rig: Rig, status: int) -> None:
    """A 4xx other than 401/403/408/409/429 raises a RecordError with the status and the receiver's reason."""
    rig.receiver.fail_next(1, status=status, body={"message": "unknown   survey\nid"})

    with pytest.raises(WebhookRejectedError) as info:
        rig.sender().send(KEY, PAYLOAD)

    assert isinstance(info.value, RecordError)
    assert (info.value.status, info.value.code, info.value.record_id) == (status, f"HTTP {status}", KEY)
    assert info.value.message == "unknown survey id"
    assert rig.receiver.count("POST") == 1
    assert rig.time.sleeps == []


def test_redirect_is_a_protocol_error_and_not_followed(rig: Rig) -> None:
    """A 307 is not followed (the signature would go elsewhere): ProtocolError, one request, no retry."""
    rig.receiver.fail_next(1, status=307, body={}, headers={"Location": PATH})  # followed, it would deliver

    with pytest.raises(ProtocolError, match="HTTP 307"):
        rig.sender().send(KEY, PAYLOAD)

    assert rig.receiver.count("POST") == 1
    assert rig.time.sleeps == []


def test_secret_never_reaches_exceptions_reprs_or_logs(rig: Rig) -> None:
    """Through retries, a refused secret and a receiver echoing the secret, no text carries the secret."""
    texts: list[str] = []
    with capture_logs() as events:
        sender = rig.sender()
        rig.receiver.fail_next(1)
        sender.send(KEY, PAYLOAD)
        with pytest.raises(WebhookAuthError) as refused:
            rig.sender(secret=SECRET + "-old").send("key-2", PAYLOAD)
        rig.receiver.fail_next(1, status=400, body={"message": f"secret {SECRET} is not ours"})
        with pytest.raises(WebhookRejectedError) as echoed:
            sender.send("key-3", PAYLOAD)
        texts += [repr(sender), str(refused.value), repr(refused.value), str(echoed.value), repr(echoed.value)]

    assert {e["event"] for e in events} >= {"crm.retry", "webhook.delivered"}
    assert "[REDACTED]" in echoed.value.message
    assert all(SECRET not in text for text in [*texts, json.dumps(events, default=str)])


def test_network_errors_are_retried_and_never_quote_the_url(rig: Rig) -> None:
    """A refused connection is retried to the budget; message, traceback and logs name the host, never the URL."""
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/path-token-abc123?sig=query-token-xyz"

    with capture_logs() as events, pytest.raises(WebhookUnavailableError) as info:
        rig.sender(url=url, attempts=2, ca_bundle=None).send(KEY, PAYLOAD)

    text = "".join(traceback.format_exception(info.value)) + str(events)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "path-token-abc123" not in text
    assert "query-token-xyz" not in text
    assert len(rig.time.sleeps) == 1


def test_configured_ca_bundle_beats_requests_ca_bundle(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """REQUESTS_CA_BUNDLE naming another CA does not replace the configured bundle: the send still succeeds."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())

    assert rig.sender().send(KEY, PAYLOAD).status == 200


def test_untrusted_certificate_is_a_protocol_error_without_retry(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the receiver's CA, TLS verification fails: a configuration ProtocolError, not retried."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())

    with pytest.raises(ProtocolError, match="CA bundle"):
        rig.sender(ca_bundle=None).send(KEY, PAYLOAD)

    assert rig.time.sleeps == []
    assert rig.receiver.deliveries == []


def test_from_channel_reads_the_secret_from_the_environment_and_registers_it(rig: Rig) -> None:
    """A sender built from the policy's channel signs with the named variable's value and reports it for redaction."""
    channel = WebhookChannel(type="webhook", url=rig.url, secret_env="SURVEY_HOOK_SECRET", timeout_seconds=3)
    registered: list[str] = []
    sender = WebhookSender.from_channel(
        channel,
        environ={"SURVEY_HOOK_SECRET": SECRET},
        retry=RetryPolicy(sleep=rig.time.sleep),
        ca_bundle=rig.server.ca_file,
        on_secret=registered.append,
        clock=rig.time.now,
    )
    try:
        assert sender.send(KEY, PAYLOAD).status == 200
    finally:
        sender.close()

    assert registered == [SECRET]
    assert rig.receiver.delivered(KEY) == 1


def test_from_channel_without_the_secret_names_the_variable() -> None:
    """A missing secret is a configuration error that names the environment variable to set."""
    channel = WebhookChannel(type="webhook", url="https://survey.example/hooks", secret_env="SURVEY_HOOK_SECRET")

    with pytest.raises(ValueError, match="SURVEY_HOOK_SECRET"):
        WebhookSender.from_channel(channel, environ={}, retry=RetryPolicy())
