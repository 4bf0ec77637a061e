r"""The SOQL tokenizer: literals decoded as Salesforce reads them.

Strings take the backslash escapes of the SOQL reference (the ones ``format_soql`` produces); inside
a LIKE pattern ``\%`` and ``\_`` stay literal, so each string token also carries its LIKE regex.
Dates (``2026-01-05``) and dateTimes (``2026-01-05T09:00:00Z``, ``+00:00``, ``.000Z``) are bare
tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
    |(?P<number>[+-]?\d+(?:\.\d+)?(?![\w.]))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])
    |(?P<quote>')""",
    re.VERBOSE,
)


class SoqlError(Exception):
    """A query Salesforce would refuse; ``code`` is its errorCode (MALFORMED_QUERY...)."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the errorCode beside the message, as Salesforce reports both."""
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    """One lexeme; ``value`` is decoded (strings unescaped, numbers and dates parsed)."""

    kind: str
    text: str
    pos: int
    value: Any = None
    like: str | None = None  # strings only: the LIKE regex, where escaped % and _ stay literal


def _read_string(text: str, start: int) -> tuple[str, str, int]:
    """Decode a string starting after its quote; return the value, its LIKE regex, the end."""
    value: list[str] = []
    regex: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return "".join(value), "".join(regex), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in ("%", "_"):
                value.append(nxt)
                regex.append(re.escape(nxt))
            elif nxt in _ESCAPES:
                value.append(_ESCAPES[nxt])
                regex.append(re.escape(_ESCAPES[nxt]))
            else:
                raise SoqlError("MALFORMED_QUERY", f"Illegal character sequence '\\{nxt}' in string literal")
            i += 2
            continue
        value.append(ch)
        regex.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    raise SoqlError("MALFORMED_QUERY", f"unterminated string literal at column {start}")


def _parse_datetime(text: str) -> datetime:
    """Parse a SOQL dateTime literal; an offset is required, as in SOQL."""
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise SoqlError("MALFORMED_QUERY", f"invalid dateTime literal: {text}") from exc


def tokenize(text: str) -> list[Token]:
    """Split SOQL into tokens, ending with an ``eof`` token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = m.lastgroup or ""
        lexeme = m.group()
        if kind == "quote":
            value, like, end = _read_string(text, m.end())
            tokens.append(Token("string", text[pos:end], pos, value, like))
            pos = end
            continue
        if kind == "date":
            try:
                tokens.append(Token(kind, lexeme, pos, date.fromisoformat(lexeme)))
            except ValueError as exc:
                raise SoqlError("MALFORMED_QUERY", f"invalid date literal: {lexeme}") from exc
        elif kind == "datetime":
            tokens.append(Token(kind, lexeme, pos, _parse_datetime(lexeme)))
        elif kind == "number":
            number = float(lexeme) if "." in lexeme else int(lexeme)
            tokens.append(Token(kind, lexeme, pos, number))
        elif kind != "ws":
            tokens.append(Token(kind, lexeme, pos, lexeme))
        pos = m.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens
