"""Canonical values to the strings HubSpot stores: pure, one rule per Python type.

HubSpot keeps every property value as a string and parses it by the property's type, so the write
side sends exactly what a read answers: numbers as ``"12"``/``"12.5"``, booleans ``"true"``/``"false"``,
dates ``"YYYY-MM-DD"``, datetimes ISO 8601 in UTC with milliseconds and ``Z``, multi-selects
``;``-joined, and ``""`` to clear a property (HubSpot's way of writing "no value"; ``null`` is not).

A value we cannot represent faithfully (a naive datetime, a NaN, a ``;`` inside a multi-select
option, an unknown type) is a programming error upstream: :class:`ValueError`, before any call.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sync_daemon.config.models import PushField

CLEAR = ""
_SEPARATOR = ";"


def number_text(value: float | Decimal) -> str:
    """A finite number as HubSpot renders it: no ``.0`` on whole numbers, never an exponent."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be written to HubSpot")
    exact = Decimal(str(value)) if isinstance(value, float) else value
    if not exact.is_finite():
        raise ValueError(f"{value!r} cannot be written to HubSpot")
    if exact == exact.to_integral_value():
        return str(int(exact))
    return format(exact.normalize(), "f")


def datetime_text(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with milliseconds and ``Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} is ambiguous; pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def options_text(values: list[object] | tuple[object, ...]) -> str:
    """A multi-select as HubSpot's ``;``-separated options (an option holding ``;`` is refused)."""
    parts: list[str] = []
    for item in values:
        if not isinstance(item, str):
            # ValueError, not TypeError: every unwritable value fails one way, before any call
            raise ValueError(f"multi-select options must be strings, not {type(item).__name__}")  # noqa: TRY004
        if _SEPARATOR in item:
            raise ValueError(f"multi-select option {item!r} contains {_SEPARATOR!r}")
        parts.append(item)
    return _SEPARATOR.join(parts)


def _bool_text(value: bool) -> str:  # noqa: FBT001 - a converter of booleans
    return "true" if value else "false"


# Checked in order: bool before int (a bool is an int), datetime before date (a datetime is a date).
_RULES: tuple[tuple[type | tuple[type, ...], Callable[[Any], str]], ...] = (
    (bool, _bool_text),
    (str, str),
    (int, str),
    ((float, Decimal), number_text),
    (datetime, datetime_text),
    (date, date.isoformat),
    ((list, tuple), options_text),
)


def to_wire(value: object) -> str:
    """One canonical value as the string HubSpot stores (``""`` clears the property)."""
    if value is None:
        return CLEAR
    for kinds, convert in _RULES:
        if isinstance(value, kinds):
            return convert(value)
    raise ValueError(f"cannot write a {type(value).__name__} to HubSpot")


def to_properties(fields: Mapping[str, object], push: Mapping[str, PushField], kind: str) -> dict[str, str]:
    """Canonical names and values to HubSpot properties; a name the mapping does not push is refused.

    The daemon writes only what the mapping declares its own, so this is the one gate every write
    passes: an undeclared name is a bug upstream, never silently dropped.
    """
    out: dict[str, str] = {}
    for name, value in fields.items():
        spec = push.get(name)
        if spec is None:
            raise ValueError(f"{name!r} is not a push field of {kind} in the mapping; the daemon writes only those")
        try:
            out[spec.field] = to_wire(value)
        except ValueError as exc:
            raise ValueError(f"{kind} field {name!r}: {exc}") from exc
    return out
