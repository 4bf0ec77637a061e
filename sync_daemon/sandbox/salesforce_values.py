"""Values as Salesforce reads and writes them: ids, JSON (de)serialisation, checks, errors.

Stored records hold Python values (``date``, aware ``datetime``, ``float``...). On the wire they
take Salesforce's JSON shapes: dates ``YYYY-MM-DD``, datetimes ``YYYY-MM-DDTHH:MM:SS.000+0000``,
Number fields as JSON doubles (``25.0``), even when their scale is 0, which is a trap for clients
that expect ints.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import string
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox.salesforce_schema import NUMBER_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable

    from sync_daemon.sandbox.salesforce_schema import FieldDef

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TYPE_MISMATCH = "INVALID_TYPE_ON_FIELD_IN_RECORD"


class ApiError(Exception):
    """A request-level failure: an HTTP status and Salesforce's ``[{message, errorCode}]`` body."""

    def __init__(self, status: int, code: str, message: str, fields: tuple[str, ...] = ()) -> None:
        """Keep what the error body needs."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        """The JSON error body Salesforce sends."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields:
            item["fields"] = list(self.fields)
        return [item]


class RecordError(Exception):
    """One record refused: the ``{statusCode, message, fields}`` of a per-record result."""

    def __init__(self, code: str, message: str, fields: tuple[str, ...] | list[str] = ()) -> None:
        """Keep what a per-record result needs."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)

    def result(self) -> dict[str, Any]:
        """The error as an item of a collection result's ``errors``."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


def _chunk_char(chunk: str) -> str:
    """One suffix character: a bit per upper-case letter in a 5-character chunk."""
    return _SUFFIX[sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")]


_chunk_cached = functools.lru_cache(maxsize=65536)(_chunk_char)


def id_suffix(core: str) -> str:
    """The 3-character case-safe suffix that turns a 15-character id into its 18-character form."""
    return _chunk_cached(core[0:5]) + _chunk_cached(core[5:10]) + _chunk_cached(core[10:15])


def make_id(prefix: str, number: int) -> str:
    """A deterministic 18-character id: key prefix, pod ``5J``, zero padding, base-62 counter."""
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    core = f"{prefix}5J{''.join(reversed(digits)).rjust(10, '0')}"
    return core + id_suffix(core)


def normalize_id(value: object) -> str | None:
    """The 18-character form of a 15- or 18-character id, or ``None`` if it is not an id."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    return value[:15] + id_suffix(value[:15])


def format_datetime(value: datetime) -> str:
    """Salesforce's dateTime format, always UTC with milliseconds."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def to_json(fdef: FieldDef, value: Any) -> Any:
    """A stored value in Salesforce's JSON shape."""
    if value is None:
        return None
    if fdef.type == "datetime":
        return format_datetime(value)
    if fdef.type == "date":
        return value.isoformat()
    if fdef.type == "int":
        return int(value)
    if fdef.type in NUMBER_TYPES:
        return float(value)
    return value


def _mismatch(fdef: FieldDef, value: Any) -> RecordError:
    return RecordError(TYPE_MISMATCH, f"{fdef.label}: value not of required type: {value}", [fdef.name])


def _parse_datetime(fdef: FieldDef, value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise _mismatch(fdef, value) from exc
    else:
        raise _mismatch(fdef, value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=parsed.microsecond // 1000 * 1000)


def _parse_date(fdef: FieldDef, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise _mismatch(fdef, value) from exc
    raise _mismatch(fdef, value)


def _parse_number(fdef: FieldDef, value: Any) -> float | int:
    if isinstance(value, bool):
        raise _mismatch(fdef, value)
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise _mismatch(fdef, value) from exc
    if not isinstance(number, (int, float)):
        raise _mismatch(fdef, value)
    if fdef.type == "int":
        if number != int(number):
            raise _mismatch(fdef, value)
        return int(number)
    return float(number)


def _parse_boolean(fdef: FieldDef, value: Any) -> bool:
    if value is None:
        return False  # a checkbox cannot be null: Salesforce stores false
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _mismatch(fdef, value)


def _parse_text(fdef: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _mismatch(fdef, value)
    return str(value)


_PARSERS: dict[str, Callable[[FieldDef, Any], Any]] = {
    "datetime": _parse_datetime,
    "date": _parse_date,
    **dict.fromkeys(NUMBER_TYPES, _parse_number),
}


def from_json(fdef: FieldDef, value: Any) -> Any:
    """A JSON (or Python, from test hooks) value converted for storage in ``fdef``."""
    if fdef.type == "boolean":
        return _parse_boolean(fdef, value)
    if value is None or (value == "" and fdef.type not in ("string", "textarea")):
        return None
    parser = _PARSERS.get(fdef.type)
    if parser is not None:
        return parser(fdef, value)
    if fdef.type in ("id", "reference"):
        ident = normalize_id(value)
        if ident is None:
            raise RecordError("MALFORMED_ID", f"{fdef.label}: id value of incorrect type: {value}", [fdef.name])
        return ident
    text = _parse_text(fdef, value)
    if fdef.type == "base64":
        try:
            base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise _mismatch(fdef, "(not base64)") from exc
    return text


def _check_picklist(fdef: FieldDef, value: str) -> None:
    parts = value.split(";") if fdef.type == "multipicklist" else [value]
    for part in parts:
        if part not in fdef.picklist:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{fdef.label}: bad value for restricted picklist field: {part}",
                [fdef.name],
            )


def check_value(fdef: FieldDef, value: Any) -> None:
    """Refuse a value the field cannot hold: too long, not an email, off the picklist..."""
    if value is None:
        if fdef.required:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{fdef.name}]", [fdef.name])
        return
    if isinstance(value, str) and fdef.length and len(value) > fdef.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{fdef.label}: data value too large: {value[:40]} (max length={fdef.length})",
            [fdef.name],
        )
    if fdef.type == "email" and not _EMAIL.fullmatch(value):
        raise RecordError("INVALID_EMAIL_ADDRESS", f"{fdef.label}: invalid email address: {value}", [fdef.name])
    if fdef.restricted and isinstance(value, str):
        _check_picklist(fdef, value)
    if fdef.type in NUMBER_TYPES and fdef.precision and abs(value) >= 10 ** (fdef.precision - fdef.scale):
        raise RecordError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{fdef.label}: value outside of valid range on numeric field: {value}",
            [fdef.name],
        )
