"""Normalisation by canonical type: both CRMs' wire forms and the domain's values compare equal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import FieldType
from sync_daemon.domain.values import equivalent, normalize, same

if TYPE_CHECKING:
    from collections.abc import Sequence

ALL_TYPES: tuple[FieldType, ...] = get_args(FieldType)
NUMERIC: tuple[FieldType, ...] = ("number", "integer", "currency", "percent")
STRINGY: tuple[FieldType, ...] = ("id", "string", "text", "email", "phone", "url", "picklist", "reference")
DAY = date(2026, 1, 5)
NINE = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
DAY_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z
NINE_MS = DAY_MS + 9 * 3_600_000


def _all_equal(values: Sequence[object], ftype: FieldType) -> bool:
    first = normalize(values[0], ftype)
    return all(same(normalize(v, ftype), first) for v in values)


@pytest.mark.parametrize("ftype", NUMERIC)
@pytest.mark.parametrize(
    "forms",
    [
        (12, 12.0, "12", "12.00", " 12 ", Decimal("12.000"), "1.2e1"),  # domain, Salesforce double, HubSpot text
        (0.1, "0.1", "0.10", Decimal("0.1")),
        (0.1 + 0.2, "0.30000000000000004"),  # a float compares by its repr: no binary noise either way
        (-3, -3.0, "-3", "-3.000"),
        (0, 0.0, "0", "-0", "0.00"),
        (2**53, float(2**53), "9007199254740992", "9007199254740992.0"),
    ],
)
def test_equal_numbers_in_every_form_compare_equal(ftype: FieldType, forms: tuple[object, ...]) -> None:
    """Ints, floats, Decimals and numeric text of the same value normalise to the same Decimal."""
    assert _all_equal(forms, ftype)
    assert isinstance(normalize(forms[0], ftype), Decimal)


@pytest.mark.parametrize(
    ("left", "right"), [(12, 12.5), ("12", "12.01"), (0.1, 0.2), (12, "twelve"), (1, True), (0, None), (0, "")]
)
def test_different_numbers_compare_unequal(left: object, right: object) -> None:
    """Different values, text that is no number, a boolean and unset never match a number."""
    assert not equivalent(left, right, "number")


@pytest.mark.parametrize("raw", ["twelve", " n/a ", [1, 2], {"a": 1}, True])
def test_unparsable_numbers_stay_raw(raw: object) -> None:
    """CRM garbage in a number field comes back as it was (text trimmed), never raising."""
    expected = raw.strip() if isinstance(raw, str) else raw
    assert normalize(raw, "number") == expected


def test_huge_and_tiny_numbers_never_round() -> None:
    """Normalising keeps every digit, so numbers differing in the 30th digit still differ."""
    big = 10**30
    assert not equivalent(big, big + 1, "integer")
    assert equivalent("1e1000000", "10e999999", "number")
    assert normalize(float("nan"), "number") == normalize(float("nan"), "number")


@pytest.mark.parametrize(
    ("forms", "expected"),
    [
        ((True, "true", "True", " TRUE ", "1", 1), True),
        ((False, "false", "False", "0", 0), False),
        ((None, "", "  "), None),
    ],
)
def test_booleans_in_every_form(forms: tuple[object, ...], expected: bool | None) -> None:
    """Salesforce booleans, HubSpot's "true"/"false" and 1/0 all normalise to a bool; blank is unset."""
    assert all(normalize(v, "boolean") is expected for v in forms)


@pytest.mark.parametrize("raw", ["yes", 2, "maybe", 1.5])
def test_unreadable_booleans_stay_raw(raw: object) -> None:
    """Anything else in a checkbox is returned as is, so it differs from True and False."""
    assert normalize(raw, "boolean") == raw
    assert not equivalent(raw, right=True, ftype="boolean")
    assert not equivalent(raw, right=False, ftype="boolean")


def test_dates_in_every_form() -> None:
    """A date, ISO text, midnight UTC as text or datetime, and epoch ms (int or text) are one date."""
    forms = [
        DAY,
        "2026-01-05",
        " 2026-01-05 ",
        "2026-01-05T00:00:00Z",
        "2026-01-05T00:00:00.000+0000",
        datetime(2026, 1, 5, tzinfo=UTC),
        DAY_MS,
        str(DAY_MS),
    ]
    assert all(normalize(v, "date") == DAY for v in forms)
    assert all(type(normalize(v, "date")) is date for v in forms)


def test_a_date_counts_by_its_utc_day() -> None:
    """A datetime in a date field counts by its UTC calendar day, whatever zone it was given in."""
    late_in_new_york = datetime(2026, 1, 4, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert normalize(late_in_new_york, "date") == DAY


@pytest.mark.parametrize("raw", ["05/01/2026", "2026-13-01", "soon", 10**20, True])
def test_unreadable_dates_stay_raw(raw: object) -> None:
    """Text that is no date, out-of-range epochs and booleans are returned as they came."""
    assert normalize(raw, "date") == raw
    assert not equivalent(raw, DAY, "date")


def test_datetimes_in_every_form() -> None:
    """Salesforce, HubSpot, ISO variants and epoch ms of one instant normalise to one aware UTC datetime."""
    forms = [
        NINE,
        datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        "2026-01-05T09:00:00.000+0000",  # Salesforce
        "2026-01-05T09:00:00.000Z",  # HubSpot
        "2026-01-05T09:00:00Z",
        "2026-01-05T09:00:00+00:00",
        "2026-01-05T04:00:00-05:00",
        "2026-01-05T09:00:00.123456Z",  # sub-second precision differs between CRMs: truncated
        datetime(2026, 1, 5, 9, 0, 0, 999_999, tzinfo=UTC),
        NINE_MS,
        str(NINE_MS + 999),
    ]
    assert all(normalize(v, "datetime") == NINE for v in forms)
    assert all(normalize(v, "datetime").tzinfo is UTC for v in forms)  # type: ignore[attr-defined]


def test_a_date_in_a_datetime_field_is_midnight_utc() -> None:
    """A bare date (object or text) in a datetime field means midnight UTC."""
    midnight = datetime(2026, 1, 5, tzinfo=UTC)
    assert normalize(DAY, "datetime") == midnight
    assert normalize("2026-01-05", "datetime") == midnight


def test_crm_datetime_text_without_offset_is_utc() -> None:
    """Offset-less datetime text from a CRM is read as UTC (data, not a programming error)."""
    assert normalize("2026-01-05T09:00:00", "datetime") == NINE


@pytest.mark.parametrize("ftype", ["datetime", "date"])
def test_naive_datetime_is_a_programming_error(ftype: FieldType) -> None:
    """A naive Python datetime raises: the daemon never guesses a zone for its own values."""
    with pytest.raises(ValueError, match="naive datetime"):
        normalize(datetime(2026, 1, 5, 9), ftype)  # noqa: DTZ001 - the point of the test


def test_unknown_type_is_a_programming_error() -> None:
    """A field type outside the vocabulary raises, naming it."""
    with pytest.raises(ValueError, match="'money'"):
        normalize(1, "money")  # type: ignore[arg-type]


@pytest.mark.parametrize("ftype", STRINGY)
def test_strings_are_trimmed_and_blank_is_unset(ftype: FieldType) -> None:
    """Surrounding whitespace is trimmed, CRLF becomes LF, and "" equals None."""
    assert normalize("  On track \n", ftype) == "On track"
    assert normalize("a\r\nb", ftype) == "a\nb"
    assert normalize("", ftype) is None
    assert normalize(None, ftype) is None
    assert equivalent("", None, ftype)


def test_text_keeps_inner_whitespace() -> None:
    """Long text keeps its inner spacing and blank lines: they are content."""
    body = "Line one\n\n  - indented  bullet\r\nend"
    assert normalize(f"\n{body}\n", "text") == "Line one\n\n  - indented  bullet\nend"


def test_case_matters_in_strings() -> None:
    """Picklist values and text differ by case: a CRM may hold either, and the daemon must fix it."""
    assert not equivalent("On Track", "on track", "picklist")


@pytest.mark.parametrize(("raw", "text"), [(5, "5"), (5.0, "5"), (2.5, "2.5"), (True, "true"), (False, "false")])
def test_scalars_in_string_fields_compare_as_text(raw: object, text: str) -> None:
    """A number or boolean in a text field equals the text HubSpot would store for it."""
    assert equivalent(raw, text, "string")


@pytest.mark.parametrize(
    "forms",
    [
        (["Kickoff", "Training"], ("Training", "Kickoff"), {"Kickoff", "Training"}, "Training;Kickoff"),
        ("Kickoff ; Training;", [" Training", "Kickoff", ""], ["Kickoff;Training"], "Kickoff;Training;Kickoff"),
    ],
)
def test_multipicklists_are_sorted_tuples(forms: tuple[object, ...]) -> None:
    """Lists, tuples, sets and ';'-separated text with the same options are one sorted tuple."""
    assert all(normalize(v, "multipicklist") == ("Kickoff", "Training") for v in forms)


@pytest.mark.parametrize("raw", [[], (), "", ";", " ; ", [" ", None], None])
def test_empty_multipicklist_is_unset(raw: object) -> None:
    """No option selected, in any form, is the same as unset."""
    assert normalize(raw, "multipicklist") is None


def test_other_compares_as_is() -> None:
    """Type ``other`` keeps values unchanged, with "" as unset."""
    assert normalize(" x ", "other") == " x "
    assert normalize("", "other") is None
    assert normalize({"a": 1}, "other") == {"a": 1}


def test_same_is_type_strict() -> None:
    """``same`` refuses Python's cross-type equalities (True == 1, date vs datetime)."""
    assert not same(left=True, right=Decimal(1))
    assert not same(DAY, datetime(2026, 1, 5, tzinfo=UTC))
    assert same(Decimal(1), Decimal("1.0"))


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text()
    | st.dates()
    | st.datetimes(
        min_value=datetime(1900, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive by contract
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
    )
)
_values = _scalars | st.lists(st.text() | st.none(), max_size=4) | st.frozensets(st.text(), max_size=4)
_wire_text = st.from_regex(
    r"\s*(-?\d{1,20}(\.\d{0,6})?|true|false|[01]|2026-01-05(T09:00:00(\.\d{1,6})?(Z|\+0000|[+-]\d\d:\d\d)?)?|a;b)\s*",
    fullmatch=True,
)


@given(value=_values | _wire_text, ftype=st.sampled_from(ALL_TYPES))
def test_normalize_is_idempotent(value: object, ftype: FieldType) -> None:
    """Normalising a normalised value changes nothing, for any value and type (property)."""
    once = normalize(value, ftype)
    assert same(normalize(once, ftype), once)
