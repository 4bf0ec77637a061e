"""The webhook signature scheme and canonical body, checked against answers computed without the module."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.webhook import canonical_body, signature, verify

SECRET = "whsec-known-answer"
TIMESTAMP = 1767225600  # 2026-01-01T00:00:00Z
SIGNED_AT = datetime.fromtimestamp(TIMESTAMP, UTC)
BODY = '{"answers":[],"contact":"003Zoë","kind":"relationship"}'.encode()
# ``printf '%s' '1767225600.<BODY>' | openssl dgst -sha256 -hmac whsec-known-answer``
KNOWN_HEX = "de1a4bd24ed06ed58c468780a83de913cd72b81815ba4e5ad092207dd6903c35"


def test_signature_known_answer() -> None:
    """The signature is sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>", as openssl and hmac compute it."""
    independent = hmac.new(SECRET.encode(), f"{TIMESTAMP}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert independent == KNOWN_HEX
    assert signature(SECRET, TIMESTAMP, BODY) == f"sha256={KNOWN_HEX}"
    assert signature(SECRET, str(TIMESTAMP), BODY.decode()) == f"sha256={KNOWN_HEX}"


def test_signature_refuses_a_timestamp_that_is_not_unix_seconds() -> None:
    """A negative or non-numeric timestamp cannot be signed (it could never verify)."""
    for bad in (-1, "12a", " 12", "", True):
        with pytest.raises(ValueError, match="unix seconds"):
            signature(SECRET, bad, BODY)


def test_verify_accepts_its_own_fresh_signature() -> None:
    """A signature verifies at its own time and anywhere within the tolerance, either side of it."""
    header = f"sha256={KNOWN_HEX}"

    assert verify(SECRET, str(TIMESTAMP), BODY, header, now=SIGNED_AT)
    assert verify(SECRET, TIMESTAMP, BODY, header, now=SIGNED_AT + timedelta(seconds=300))
    assert verify(SECRET, TIMESTAMP, BODY, header, now=SIGNED_AT - timedelta(seconds=300))


@pytest.mark.parametrize("offset_s", [301, -301, 86_400])
def test_verify_rejects_a_stale_or_future_timestamp(offset_s: int) -> None:
    """A correctly signed request outside the five-minute tolerance is refused (no replay later)."""
    header = f"sha256={KNOWN_HEX}"

    assert not verify(SECRET, TIMESTAMP, BODY, header, now=SIGNED_AT + timedelta(seconds=offset_s))


def test_verify_honours_a_custom_tolerance() -> None:
    """A narrower tolerance refuses what the default accepts."""
    later = SIGNED_AT + timedelta(seconds=60)

    assert verify(SECRET, TIMESTAMP, BODY, f"sha256={KNOWN_HEX}", now=later)
    assert not verify(SECRET, TIMESTAMP, BODY, f"sha256={KNOWN_HEX}", now=later, tolerance_s=30)


@pytest.mark.parametrize(
    ("case", "secret", "timestamp", "body", "header"),
    [
        ("wrong signature", SECRET, TIMESTAMP, BODY, "sha256=" + "0" * 64),
        ("wrong secret", "another-secret", TIMESTAMP, BODY, f"sha256={KNOWN_HEX}"),
        ("tampered body", SECRET, TIMESTAMP, BODY.replace(b"relationship", b"onboarding"), f"sha256={KNOWN_HEX}"),
        ("timestamp moved", SECRET, TIMESTAMP + 1, BODY, f"sha256={KNOWN_HEX}"),
        ("no scheme", SECRET, TIMESTAMP, BODY, KNOWN_HEX),
        ("other scheme", SECRET, TIMESTAMP, BODY, f"sha1={KNOWN_HEX}"),
        ("upper-case hex", SECRET, TIMESTAMP, BODY, f"sha256={KNOWN_HEX.upper()}"),
        ("missing header", SECRET, TIMESTAMP, BODY, None),
        ("missing timestamp", SECRET, None, BODY, f"sha256={KNOWN_HEX}"),
        ("padded timestamp", SECRET, f"0{TIMESTAMP}", BODY, f"sha256={KNOWN_HEX}"),
        ("non-ASCII header", SECRET, TIMESTAMP, BODY, "sha256=é"),
    ],
)
def test_verify_rejects_what_was_not_signed(
    case: str, secret: str, timestamp: int | str | None, body: bytes, header: str | None
) -> None:
    """Any change to the secret, timestamp, body or header fails verification (and never raises)."""
    assert not verify(secret, timestamp, body, header, now=SIGNED_AT), case


def test_canonical_body_sorts_keys_drops_spaces_and_keeps_utf8() -> None:
    """Keys are sorted at every depth, separators carry no spaces, and non-ASCII stays raw UTF-8."""
    payload = {"z": [{"b": 2, "a": 1}], "name": "Zoë 日本", "a": {"y": None, "x": True}}

    body = canonical_body(payload)

    assert body == '{"a":{"x":true,"y":null},"name":"Zoë 日本","z":[{"a":1,"b":2}]}'.encode()
    assert b"\\u" not in body


def test_canonical_body_writes_dates_as_iso_8601() -> None:
    """Dates and aware datetimes become their ISO 8601 text."""
    payload = {"due": date(2026, 8, 3), "at": datetime(2026, 8, 3, 9, 30, tzinfo=UTC)}

    assert canonical_body(payload) == b'{"at":"2026-08-03T09:30:00+00:00","due":"2026-08-03"}'


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object(), b"raw"])
def test_canonical_body_refuses_what_json_cannot_carry(value: object) -> None:
    """NaN, infinity and arbitrary objects are refused rather than sent as non-standard JSON or a repr."""
    with pytest.raises((ValueError, TypeError)):
        canonical_body({"value": value})


@given(
    secret=st.text(min_size=1, max_size=40),
    timestamp=st.integers(min_value=0, max_value=4_102_444_800),
    body=st.binary(max_size=200),
    flip=st.integers(min_value=0),
)
def test_signature_round_trips_and_any_body_change_breaks_it(
    secret: str, timestamp: int, body: bytes, flip: int
) -> None:
    """Every signature verifies at its own time, and flipping any one bit of the body makes it fail."""
    now = datetime.fromtimestamp(timestamp, UTC)
    header = signature(secret, timestamp, body)

    assert verify(secret, timestamp, body, header, now=now)
    if body:
        position = flip % len(body)
        changed = body[:position] + bytes([body[position] ^ 1]) + body[position + 1 :]
        assert not verify(secret, timestamp, changed, header, now=now)
