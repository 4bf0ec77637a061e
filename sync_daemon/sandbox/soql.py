"""A small SOQL front end for the Salesforce sandbox: syntax tree and recursive-descent parser.

It covers the subset a sync client sends: ``SELECT f, ... | COUNT() FROM Obj [WHERE cond] [ORDER BY
f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]``. The grammar follows the SOQL
reference, including its trap that AND, OR and NOT may not be mixed at one level without parentheses
(``a AND b OR c`` is a MALFORMED_QUERY, as on a real org). Tokens come from :mod:`soql_lexer`;
evaluation against records lives in :mod:`soql_eval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sync_daemon.sandbox.soql_lexer import SoqlError, Token, tokenize

__all__ = [
    "BoolOp",
    "Compare",
    "Condition",
    "InList",
    "Includes",
    "Like",
    "Lit",
    "Not",
    "OrderItem",
    "Query",
    "SoqlError",
    "parse",
]

LiteralKind = Literal["string", "number", "date", "datetime", "boolean", "null"]
COMPARISON_OPS = frozenset(("=", "!=", "<>", "<=", ">=", "<", ">"))
_LITERAL_TOKENS = {"string": "string", "number": "number", "date": "date", "datetime": "datetime"}
_CLAUSE_ENDS = frozenset(("ORDER", "LIMIT", "OFFSET"))


@dataclass(frozen=True)
class Lit:
    """A literal value in a condition."""

    kind: LiteralKind
    value: Any
    like: str | None = None


@dataclass(frozen=True)
class Compare:
    """``field op literal``."""

    field: str
    op: str
    value: Lit


@dataclass(frozen=True)
class InList:
    """``field [NOT] IN (literals)``."""

    field: str
    values: tuple[Lit, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    """``field LIKE 'pattern'``."""

    field: str
    pattern: Lit


@dataclass(frozen=True)
class Includes:
    """``field INCLUDES|EXCLUDES ('a;b', 'c')``: each string names values that must all be set."""

    field: str
    values: tuple[Lit, ...]
    excludes: bool


@dataclass(frozen=True)
class Not:
    """``NOT condition``."""

    operand: Condition


@dataclass(frozen=True)
class BoolOp:
    """A chain of one operator: ``a AND b AND c`` or ``a OR b``."""

    op: Literal["AND", "OR"]
    operands: tuple[Condition, ...]


Condition = Compare | InList | Like | Includes | Not | BoolOp


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; Salesforce sorts nulls first ascending and last descending unless told."""

    field: str
    descending: bool = False
    nulls_first: bool | None = None


@dataclass(frozen=True)
class Query:
    """A parsed SELECT; ``count`` is true for ``SELECT COUNT()``."""

    sobject: str
    fields: tuple[str, ...]
    count: bool = False
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._i = 0

    def _peek(self) -> Token:
        return self._tokens[self._i]

    def _next(self) -> Token:
        token = self._tokens[self._i]
        self._i += 1
        return token

    def _is_kw(self, *words: str) -> bool:
        token = self._peek()
        return token.kind == "ident" and token.text.upper() in words

    def _unexpected(self, token: Token | None = None) -> SoqlError:
        token = token or self._peek()
        shown = token.text or "<EOF>"
        return SoqlError("MALFORMED_QUERY", f"unexpected token: '{shown}' at column {token.pos + 1}")

    def _expect_kw(self, word: str) -> None:
        if not self._is_kw(word):
            raise self._unexpected()
        self._i += 1

    def _expect_punct(self, char: str) -> None:
        token = self._next()
        if token.kind != "punct" or token.text != char:
            raise self._unexpected(token)

    def _field(self) -> str:
        token = self._next()
        if token.kind != "ident":
            raise self._unexpected(token)
        return token.text

    def _int(self) -> int:
        token = self._next()
        if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
            raise self._unexpected(token)
        return token.value

    def query(self) -> Query:
        """Parse ``SELECT ... FROM obj [WHERE] [ORDER BY] [LIMIT] [OFFSET]`` to the end of input."""
        self._expect_kw("SELECT")
        fields, count = self._select_list()
        self._expect_kw("FROM")
        sobject = self._field()
        where = None
        if self._is_kw("WHERE"):
            self._i += 1
            where = self._condition()
        order = self._order_by() if self._is_kw("ORDER") else ()
        limit = offset = None
        if self._is_kw("LIMIT"):
            self._i += 1
            limit = self._int()
        if self._is_kw("OFFSET"):
            self._i += 1
            offset = self._int()
        if self._peek().kind != "eof":
            raise self._unexpected()
        return Query(sobject, fields, count, where, order, limit, offset)

    def _select_list(self) -> tuple[tuple[str, ...], bool]:
        if self._is_kw("COUNT") and self._tokens[self._i + 1].text == "(":
            self._i += 1
            self._expect_punct("(")
            self._expect_punct(")")
            return (), True
        fields = [self._field()]
        while self._peek().text == ",":
            self._i += 1
            fields.append(self._field())
        seen: set[str] = set()
        for name in fields:
            if name.lower() in seen:
                raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {name}")
            seen.add(name.lower())
        return tuple(fields), False

    def _condition(self) -> Condition:
        """Parse ``NOT p | p (AND p)* | p (OR p)*``: one operator per level, as SOQL demands."""
        if self._is_kw("NOT"):
            self._i += 1
            return Not(self._primary())
        first = self._primary()
        if not self._is_kw("AND", "OR"):
            return first
        op = self._peek().text.upper()
        operands = [first]
        while self._is_kw("AND", "OR"):
            if self._peek().text.upper() != op:
                raise self._unexpected()
            self._i += 1
            if self._is_kw("NOT"):
                raise self._unexpected()
            operands.append(self._primary())
        return BoolOp("AND" if op == "AND" else "OR", tuple(operands))

    def _primary(self) -> Condition:
        if self._peek().text == "(":
            self._i += 1
            inner = self._condition()
            self._expect_punct(")")
            return inner
        return self._field_expression()

    def _field_expression(self) -> Condition:
        field = self._field()
        token = self._next()
        word = token.text.upper() if token.kind == "ident" else ""
        if token.kind == "op":
            op = "!=" if token.text == "<>" else token.text
            return Compare(field, op, self._literal())
        if word == "NOT" and self._is_kw("IN"):
            self._i += 1
            return InList(field, self._literal_list(), negated=True)
        if word == "IN":
            return InList(field, self._literal_list(), negated=False)
        if word == "LIKE":
            pattern = self._literal()
            if pattern.kind != "string":
                raise SoqlError("MALFORMED_QUERY", f"LIKE on {field} needs a string pattern")
            return Like(field, pattern)
        if word in ("INCLUDES", "EXCLUDES"):
            return Includes(field, self._literal_list(), excludes=word == "EXCLUDES")
        raise self._unexpected(token)

    def _literal_list(self) -> tuple[Lit, ...]:
        self._expect_punct("(")
        values = [self._literal()]
        while self._peek().text == ",":
            self._i += 1
            values.append(self._literal())
        self._expect_punct(")")
        return tuple(values)

    def _literal(self) -> Lit:
        token = self._next()
        if token.kind in _LITERAL_TOKENS:
            kind: Any = _LITERAL_TOKENS[token.kind]
            return Lit(kind, token.value, token.like)
        word = token.text.lower() if token.kind == "ident" else ""
        if word in ("true", "false"):
            return Lit("boolean", word == "true")
        if word == "null":
            return Lit("null", None)
        raise self._unexpected(token)

    def _order_by(self) -> tuple[OrderItem, ...]:
        self._expect_kw("ORDER")
        self._expect_kw("BY")
        items = [self._order_item()]
        while self._peek().text == ",":
            self._i += 1
            items.append(self._order_item())
        return tuple(items)

    def _order_item(self) -> OrderItem:
        field = self._field()
        descending = False
        if self._is_kw("ASC", "DESC"):
            descending = self._next().text.upper() == "DESC"
        nulls_first = None
        if self._is_kw("NULLS"):
            self._i += 1
            if not self._is_kw("FIRST", "LAST"):
                raise self._unexpected()
            nulls_first = self._next().text.upper() == "FIRST"
        return OrderItem(field, descending, nulls_first)


def parse(text: str) -> Query:
    """Parse one SOQL query, or raise :class:`SoqlError` (MALFORMED_QUERY) naming the bad token."""
    return _Parser(tokenize(text)).query()
