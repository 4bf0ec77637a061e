"""Normalise field values by canonical type, so that equal values compare equal across CRMs.

The diff compares what the domain wants (canonical Python values) with what a connector pulled
(Salesforce JSON types, HubSpot strings). Without normalising, ``12`` and ``"12.0"``, a date and the
same date sent as midnight UTC, or ``"a;b"`` and ``["b", "a"]`` would look different and be
rewritten on every cycle, spending API budget and bumping modification stamps for nothing.

Rules of thumb: ``None`` and ``""`` mean "unset" for every type; numbers become exact
:class:`~decimal.Decimal` values (floats through ``repr``, so binary noise never shows); dates become
:class:`~datetime.date`; datetimes become aware UTC datetimes truncated to whole seconds (CRMs keep
different sub-second precision). A value that cannot be read as its type (CRM garbage) is returned
as it came, so it compares unequal to any proper value and gets rewritten; only programming errors
(a naive datetime, an unknown type) raise.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from connectors.base import FieldType

_EPOCH_MS = re.compile(r"-?\d+")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_MAX_EPOCH_MS = 10**15  # about year 33,000: anything larger is not a timestamp, keep the raw value


def normalize(value: object, ftype: FieldType) -> object:
    """The comparable form of ``value`` for a field of canonical type ``ftype``.

    Idempotent (``normalize(normalize(x, t), t) == normalize(x, t)``) and total over CRM values:
    garbage is returned unchanged rather than raising, so it differs from the desired value.

    Raises:
        ValueError: ``value`` is a naive datetime (the daemon only handles aware ones), or
            ``ftype`` is not a known field type.
    """
    try:
        normalizer = _NORMALIZERS[ftype]
    except KeyError:
        raise ValueError(f"unknown field type {ftype!r}") from None
    _reject_naive(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return normalizer(value)


def same(left: object, right: object) -> bool:
    """Whether two *normalised* values are the same: equal and of the same type.

    Type-strict because Python equates ``True == Decimal(1)`` and ``date == datetime`` subclasses;
    a CRM holding a checkbox-ish ``True`` in a number field must still be rewritten. Never raises:
    a raw value whose comparison fails (a signalling NaN) is simply not the same.
    """
    if left is right:
        return True
    try:
        return type(left) is type(right) and bool(left == right)
    except ArithmeticError:
        return False


def equivalent(left: object, right: object, ftype: FieldType) -> bool:
    """Whether two raw values hold the same thing for a field of type ``ftype``."""
    return same(normalize(left, ftype), normalize(right, ftype))


def _reject_naive(value: object) -> None:
    """A naive datetime is ambiguous by hours; the domain must say which zone it means."""
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; pass an aware datetime")


def _number(value: object) -> object:
    """An exact, trailing-zero-free Decimal; ``12``, ``12.0``, ``"12.00"`` are all ``Decimal("12")``."""
    if isinstance(value, bool):
        return value  # True is an int in Python, but never a number in a CRM
    if isinstance(value, Decimal | int):
        parsed = Decimal(value)
    elif isinstance(value, float | str):
        text = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            parsed = Decimal(text)
        except InvalidOperation:
            return value.strip() if isinstance(value, str) else value
    else:
        return value
    if not parsed.is_finite():
        return str(value).strip()  # NaN never equals itself; its text does
    # Precision equal to the digit count and unbounded exponents: strip trailing zeros, never round.
    context = Context(prec=max(len(parsed.as_tuple().digits), 1), Emax=MAX_EMAX, Emin=MIN_EMIN)
    return parsed.normalize(context)


def _boolean(value: object) -> object:
    """``True``/``"true"``/``"1"``/``1`` are true; their opposites false; anything else stays raw."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return value


def _from_epoch_ms(value: object) -> datetime | None:
    """An aware UTC datetime from epoch milliseconds (int or digit string, as HubSpot sends them)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _EPOCH_MS.fullmatch(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or abs(value) >= _MAX_EPOCH_MS:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_moment(value: object) -> datetime | date | None:
    """A datetime (aware, UTC) or date read from any wire form; ``None`` when unreadable."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return value
    moment = _from_epoch_ms(value)
    if moment is not None or not isinstance(value, str):
        return moment
    text = value.strip()
    try:
        if len(text) == len("2026-01-05"):
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # A CRM datetime without an offset is UTC (both CRMs store UTC); unlike a naive Python value,
    # it is data we must read, not a programming error.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _date(value: object) -> object:
    """A date; a datetime (e.g. a date-only value sent as midnight UTC) counts by its UTC day."""
    moment = _parse_moment(value)
    if moment is None:
        return value.strip() if isinstance(value, str) else value
    return moment.date() if isinstance(moment, datetime) else moment


def _datetime(value: object) -> object:
    """An aware UTC datetime truncated to whole seconds; a bare date means midnight UTC."""
    moment = _parse_moment(value)
    if moment is None:
        return value.strip() if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.replace(microsecond=0)


def _as_text(value: object) -> object:
    """Scalars as the text a CRM would show; other shapes (lists, dicts) stay raw, so they differ."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


def _string(value: object) -> object:
    """Surrounding whitespace trimmed, CRLF and CR read as LF; inner whitespace is kept."""
    value = _as_text(value)
    if not isinstance(value, str):
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


def _multi(value: object) -> object:
    """A sorted tuple of distinct, trimmed, non-empty options from a list or a ';'-separated string."""
    if isinstance(value, str):
        items: Iterable[object] = [value]
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return value
    options = {part.strip() for item in items if item is not None for part in str(_as_text(item)).split(";")}
    options.discard("")
    return tuple(sorted(options)) or None


def _other(value: object) -> object:
    """Unknown shapes compare as they are (``""`` already counts as unset)."""
    return value


_NORMALIZERS: dict[str, Callable[[object], object]] = {
    **dict.fromkeys(("number", "integer", "currency", "percent"), _number),
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    **dict.fromkeys(("id", "string", "text", "email", "phone", "url", "picklist", "reference"), _string),
    "multipicklist": _multi,
    "other": _other,
}
