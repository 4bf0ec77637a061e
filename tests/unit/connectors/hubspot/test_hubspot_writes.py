"""The HubSpot write side without a server: value conversion, batch verdicts, bisection, notes, lists."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import urllib3.exceptions
from hubspot.crm.companies.exceptions import ApiException
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from connectors.base import Note, NoteRef, RecordUpdate, RetriableError
from connectors.hubspot.audience import member_ids, next_after, passed
from connectors.hubspot.client import Transport
from connectors.hubspot.errors import RejectedError
from connectors.hubspot.notes import KEY_PROPERTY, matching_note, note_html, note_request
from connectors.hubspot.ratelimit import RateLimiter
from connectors.hubspot.wire import to_properties, to_wire
from connectors.hubspot.writes import BatchWriter, rejected_properties, verdicts
from connectors.retry import RetryPolicy, RetrySettings
from sync_daemon.config.models import MappingFile

MAPPING = MappingFile.model_validate(YAML(typ="safe").load(Path(__file__).parents[4] / "mappings" / "hubspot.yaml"))
PUSH = MAPPING.push_fields("accounts")


# -- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (42, "42"),
        (42.0, "42"),
        (42.5, "42.5"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "0.00000015"),
        (Decimal("12.50"), "12.5"),
        ("on track", "on track"),
        ("", ""),
        (date(2026, 3, 1), "2026-03-01"),
        (datetime(2026, 3, 1, 9, 30, 5, 123456, tzinfo=UTC), "2026-03-01T09:30:05.123Z"),
        (datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))), "2026-03-01T08:00:00.000Z"),
        (["a", "b c"], "a;b c"),
        ([], ""),
    ],
)
def test_canonical_values_become_hubspot_strings(value: object, wire: str) -> None:
    """Each canonical type has exactly one HubSpot rendering; None clears."""
    assert to_wire(value) == wire


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (datetime(2026, 3, 1, 9, 0), "naive datetime"),  # noqa: DTZ001 - the point of the test
        (math.nan, "cannot be written"),
        (math.inf, "cannot be written"),
        (["a;b"], "contains ';'"),
        ([1, 2], "must be strings"),
        ({"a": 1}, "cannot write a dict"),
    ],
)
def test_values_hubspot_cannot_hold_faithfully_are_refused(value: object, match: str) -> None:
    """Naive datetimes, NaN, ';' inside an option and unknown types raise ValueError."""
    with pytest.raises(ValueError, match=match):
        to_wire(value)


def test_canonical_names_map_to_the_push_properties() -> None:
    """Canonical push names become the mapping's CRM property names."""
    props = to_properties({"overdue_tasks": 2, "handoff_status": None}, PUSH, "accounts")
    assert props == {"onboarding_overdue_tasks": "2", "handoff_status": ""}


def test_a_name_that_is_not_a_push_field_is_refused() -> None:
    """A pulled-only or unknown canonical name is a ValueError naming it."""
    with pytest.raises(ValueError, match="'tier' is not a push field of accounts"):
        to_properties({"tier": "SMB"}, PUSH, "accounts")


# -- batch verdicts ------------------------------------------------------------------------------


def test_a_200_means_every_record_landed() -> None:
    """Without errors every id is ok."""
    data = {"status": "COMPLETE", "results": [{"id": "1"}, {"id": "2"}]}
    assert [(r.id, r.ok) for r in verdicts(data, ["1", "2"])] == [("1", True), ("2", True)]


def test_a_207_fails_the_ids_its_errors_name_with_their_category() -> None:
    """Ids in errors[].context.ids fail with that error's category and message; the rest landed."""
    data = {
        "results": [{"id": "1"}],
        "errors": [{"category": "OBJECT_NOT_FOUND", "message": "gone", "context": {"ids": ["2", "3"]}}],
    }
    out = {r.id: r for r in verdicts(data, ["1", "2", "3", "4"])}
    assert out["1"].ok
    assert out["4"].ok  # e.g. merged: it answers under its survivor's id
    assert (out["2"].ok, out["2"].code, out["2"].message) == (False, "OBJECT_NOT_FOUND", "gone")
    assert not out["3"].ok


def test_an_error_naming_no_record_fails_the_records_not_written() -> None:
    """An error without ids applies to the ids HubSpot did not report as written."""
    data = {"results": [{"id": "1"}], "errors": [{"category": "WEIRD", "message": "?"}]}
    out = {r.id: r for r in verdicts(data, ["1", "2"])}
    assert out["1"].ok
    assert (out["2"].ok, out["2"].code) == (False, "WEIRD")


def test_rejected_property_names_are_read_from_the_400_message() -> None:
    """The JSON list inside HubSpot's validation message names the bad properties; garbage names none."""
    details = [{"isValid": False, "name": "onboarding_progress", "error": "INVALID_FLOAT"}]
    body = {"message": f"Property values were not valid: {json.dumps(details)}"}
    assert rejected_properties(body) == ["onboarding_progress"]
    assert rejected_properties({"message": "Property values were not valid: [oops"}) == []
    assert rejected_properties({}) == []


# -- bisection, against a fake batch API -----------------------------------------------------------


class FakeRaw:
    """A urllib3-like raw response."""

    def __init__(self, body: dict[str, Any]) -> None:
        """Hold ``body`` as JSON bytes."""
        self.data = json.dumps(body).encode()
        self.headers: dict[str, str] = {}

    def release_conn(self) -> None:
        """Nothing to release."""


def rejection(names: list[str]) -> ApiException:
    details = [{"isValid": False, "name": n, "error": "INVALID_OPTION", "message": "bad"} for n in names]
    message = f"Property values were not valid: {json.dumps(details)}"
    exc = ApiException(status=400, reason="Bad Request")
    exc.body = json.dumps({"status": "error", "category": "VALIDATION_ERROR", "message": message})
    exc.headers = {}
    return exc


class FakeBatchApi:
    """Rejects a whole batch with 400 when it holds a bad id, else answers 200; logs each batch's ids."""

    def __init__(self, bad: set[str]) -> None:
        """Ids in ``bad`` poison any batch they are in."""
        self.bad = bad
        self.calls: list[list[str]] = []

    def update(self, body: dict[str, Any], **_kw: Any) -> FakeRaw:
        """One batch/update call."""
        ids = [str(i["id"]) for i in body["inputs"]]
        self.calls.append(ids)
        if self.bad & set(ids):
            raise rejection(["onboarding_health"])
        return FakeRaw({"status": "COMPLETE", "results": [{"id": i} for i in ids]})


class FakeApis:
    """Just the batch APIs."""

    def __init__(self, api: FakeBatchApi) -> None:
        """Both kinds share ``api``."""
        self.batch = {"accounts": api, "contacts": api}


def transport(sleeps: list[float] | None = None) -> Transport:
    t = [0.0]
    return Transport(
        timeout=5.0,
        retry=RetryPolicy(RetrySettings(attempts=4), sleep=(sleeps if sleeps is not None else []).append),
        limiter=RateLimiter(10_000, 1_000, clock=lambda: t[0], sleep=lambda _s: None),
        tz=ZoneInfo("UTC"),
    )


def write_with(bad: set[int], n: int) -> tuple[dict[str, Any], FakeBatchApi, list[int]]:
    ids = [str(1000 + i) for i in range(n)]
    api = FakeBatchApi({ids[b] for b in bad})
    writer = BatchWriter(FakeApis(api), transport(), MAPPING)  # type: ignore[arg-type]
    batches = list(writer.write("accounts", [RecordUpdate(i, {"health": "on track"}) for i in ids]))
    return {r.id: r for b in batches for r in b}, api, [len(b) for b in batches]


def model_calls(size: int, bad: set[int], offset: int = 0) -> int:
    if size == 1 or not any(offset <= b < offset + size for b in bad):
        return 1
    half = (size + 1) // 2
    return 1 + model_calls(half, bad, offset) + model_calls(size - half, bad, offset + half)


def test_a_single_rejected_record_keeps_hubspots_category_message_and_fields() -> None:
    """The record isolated by bisection fails with VALIDATION_ERROR, the message, and the canonical field."""
    results, api, sizes = write_with({0}, 100)
    bad = results["1000"]
    assert (bad.ok, bad.code, bad.fields) == (False, "VALIDATION_ERROR", ("health",))
    assert "Property values were not valid" in (bad.message or "")
    assert sizes == [100]
    assert len(api.calls) == 1 + 2 * math.ceil(math.log2(100))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=350).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_bisection_isolates_exactly_the_bad_records_with_only_their_splits(case: tuple[int, set[int]]) -> None:
    """For any N and bad set: bad records fail, all others land once, calls match the bisection count."""
    n, bad = case
    results, api, sizes = write_with(bad, n)
    assert len(results) == n
    assert {i for i, r in results.items() if not r.ok} == {str(1000 + b) for b in bad}
    expected = sum(model_calls(min(100, n - s), {b - s for b in bad if s <= b < s + 100}) for s in range(0, n, 100))
    assert len(api.calls) == expected
    assert sizes == [min(100, n - s) for s in range(0, n, 100)]
    landed = [i for call in api.calls if not api.bad & set(call) for i in call]
    assert sorted(landed) == sorted(str(1000 + i) for i in range(n) if i not in bad)


def test_a_400_that_is_not_about_values_is_split_but_other_errors_are_raised() -> None:
    """Only 400 triggers splitting; a 404 on the batch endpoint propagates as a RejectedError."""

    class NotFoundApi(FakeBatchApi):
        def update(self, body: dict[str, Any], **_kw: Any) -> FakeRaw:  # noqa: ARG002 - the API's signature
            exc = ApiException(status=404, reason="Not Found")
            exc.body = '{"category": "OBJECT_NOT_FOUND", "message": "no such object type"}'
            exc.headers = {}
            raise exc

    writer = BatchWriter(FakeApis(NotFoundApi(set())), transport(), MAPPING)  # type: ignore[arg-type]
    with pytest.raises(RejectedError) as caught:
        list(writer.write("accounts", [RecordUpdate("1", {"health": "x"})]))
    assert (caught.value.status, caught.value.category) == (404, "OBJECT_NOT_FOUND")


def test_duplicate_ids_in_one_write_are_refused_before_any_call() -> None:
    """Two updates of one record in a write are a ValueError (HubSpot rejects duplicates whole)."""
    api = FakeBatchApi(set())
    writer = BatchWriter(FakeApis(api), transport(), MAPPING)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="appears twice"):
        writer.write("accounts", [RecordUpdate("1", {"health": "a"}), RecordUpdate("1", {"health": "b"})])
    assert api.calls == []


# -- the transport for calls that must not be repeated blindly -------------------------------------


def scripted(*outcomes: object) -> tuple[Any, list[int]]:
    count = [0]
    queue = list(outcomes)

    def fn(**_kw: Any) -> Any:
        count[0] += 1
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return fn, count


def api_error(status: int, body: str = "{}") -> ApiException:
    exc = ApiException(status=status, reason="x")
    exc.body = body
    exc.headers = {}
    return exc


def test_a_non_idempotent_call_is_not_retried_after_a_5xx_or_a_reset() -> None:
    """After a 503 or a dropped connection the write may have landed: one attempt, RetriableError."""
    for failure in (api_error(503), urllib3.exceptions.ProtocolError("Connection aborted.")):
        fn, count = scripted(failure, FakeRaw({"id": "1"}))
        with pytest.raises(RetriableError):
            transport().call(fn, idempotent=False)
        assert count == [1]


def test_a_non_idempotent_call_is_retried_when_hubspot_surely_did_nothing() -> None:
    """A 429 or a connection never made is retried even for a create."""
    never = urllib3.exceptions.MaxRetryError(
        None,  # type: ignore[arg-type]
        "/x",
        urllib3.exceptions.NewConnectionError(None, "refused"),  # type: ignore[arg-type]
    )
    fn, count = scripted(api_error(429, '{"policyName": "TEN_SECONDLY_ROLLING"}'), never, FakeRaw({"id": "7"}))
    sleeps: list[float] = []
    assert transport(sleeps).call(fn, idempotent=False) == {"id": "7"}
    assert count == [3]
    assert len(sleeps) == 2


def test_idempotent_calls_keep_retrying_5xx() -> None:
    """The default stays as before: a 5xx is retried."""
    fn, count = scripted(api_error(503), FakeRaw({"ok": True}))
    assert transport().call(fn) == {"ok": True}
    assert count == [2]


# -- notes ---------------------------------------------------------------------------------------


def test_note_html_escapes_everything_typed() -> None:
    """Tags, ampersands and quotes in the title and body come out as text, never markup."""
    out = note_html('<i>Title</i> & "co"', "a <b>bold</b> claim\n- <script>x</script>")
    assert out == (
        "<p><strong>&lt;i&gt;Title&lt;/i&gt; &amp; &quot;co&quot;</strong></p>"
        "<p>a &lt;b&gt;bold&lt;/b&gt; claim</p><ul><li>&lt;script&gt;x&lt;/script&gt;</li></ul>"
    )


def test_note_html_makes_paragraphs_bullets_and_line_breaks() -> None:
    """Blank lines split paragraphs, '- ' lines group into one list, other lines break with <br>."""
    body = "First line\r\nsecond line\r\n\r\n- one\n- two\nafter\n\n\n  - indented"
    assert note_html("", body) == (
        "<p>First line<br>second line</p><ul><li>one</li><li>two</li></ul><p>after</p><ul><li>indented</li></ul>"
    )


def test_a_note_request_carries_timestamp_body_key_and_the_company_association() -> None:
    """One create call holds everything: hs_timestamp, the HTML body, our key and association type 190."""
    req = note_request(Note("k", "900", "T", "b"), datetime(2026, 2, 2, 15, 0, tzinfo=UTC))
    assert req["properties"] == {
        "hs_timestamp": "2026-02-02T15:00:00.000Z",
        "hs_note_body": "<p><strong>T</strong></p><p>b</p>",
        KEY_PROPERTY: "k",
    }
    assert req["associations"] == [
        {"to": {"id": "900"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}]}
    ]


def test_the_matching_note_is_the_one_whose_key_equals() -> None:
    """Only an exact key match counts; notes without the property are skipped."""
    data = {
        "results": [
            {"id": "1", "properties": {KEY_PROPERTY: "k-10"}},
            {"id": "2", "properties": {}},
            {"id": "3", "properties": {KEY_PROPERTY: "k-1"}},
        ]
    }
    assert matching_note(data, "k-1") == NoteRef(id="3", key="k-1")
    assert matching_note(data, "k") is None


# -- lists ---------------------------------------------------------------------------------------


def test_membership_pages_are_read_and_walks_stop_past_the_contact() -> None:
    """Record ids and the next token are read; an ascending page past the id ends the search."""
    data = {"results": [{"recordId": "5"}, {"recordId": "9"}, {"bad": 1}], "paging": {"next": {"after": "abc"}}}
    assert member_ids(data) == ["5", "9"]
    assert next_after(data) == "abc"
    assert next_after({"results": []}) is None
    assert passed(["5", "9"], "7")
    assert not passed(["5", "9"], "10")
    assert not passed([], "7")
    assert not passed(["5", "x9"], "7")
