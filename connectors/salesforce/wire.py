"""Canonical Python values as Salesforce's REST API takes them in a JSON body.

The push side hands the connector canonical values (``RecordUpdate``); Salesforce wants JSON:
dates as ``YYYY-MM-DD``, datetimes as ``YYYY-MM-DDTHH:MM:SS.000+0000`` in UTC, multi-select
picklists as one string joined by ``;``, ``null`` to clear. Anything the daemon cannot state
unambiguously (a naive datetime, NaN, a multi-select value that itself contains ``;``) is refused
here, before a request is built: a wrong value written to the CRM costs more than a failed cycle.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TypeAlias

WireValue: TypeAlias = str | int | float | bool | None

_MULTI_SEPARATOR = ";"


def format_datetime(value: datetime) -> str:
    """An aware datetime in Salesforce's dateTime form, converted to UTC, milliseconds kept."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a datetime written to Salesforce must be timezone-aware: {value.isoformat()}")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def _multi(values: list[object] | tuple[object, ...]) -> str:
    """A multi-select value: Salesforce stores the options joined by ``;``."""
    parts: list[str] = []
    for item in values:
        if not isinstance(item, str):
            raise TypeError(f"multi-select options must be strings, not {type(item).__name__}")
        if _MULTI_SEPARATOR in item:
            raise ValueError(f"a multi-select option cannot contain {_MULTI_SEPARATOR!r}: {item!r}")
        parts.append(item)
    return _MULTI_SEPARATOR.join(parts)


def to_wire(value: object) -> WireValue:
    """The JSON value Salesforce expects for a canonical value.

    ``datetime`` is tested before ``date`` (it is a subclass) and ``bool`` passes as itself (it is an
    ``int`` subclass, and JSON keeps them apart).
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to Salesforce (JSON has no such number)")
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return _multi(value)
    raise TypeError(f"no Salesforce form for a {type(value).__name__} value")
