"""Assessment bookkeeping in the store: sends, why due contacts were left out, and the responses pulled.

The rules:

- **A send happens once.** :func:`record_send` inserts the (contact, kind, cycle) row with ``ON CONFLICT DO
  NOTHING`` in the caller's transaction, and the caller stores the send's outbox intent only when the insert
  won: a second process, a re-run or a policy edit finds the row and sends nothing.
- **Left-out reasons are the latest look.** :func:`replace_left` replaces them with one row per due (contact,
  kind, cycle): ``skipped`` (opted out, no email, persona not asked) or ``waiting`` (gap, window, caps); a
  reason no longer true (the cycle lapsed, the contact was sent) is gone.
- **Responses are kept as first pulled.** One row per contact and answer time; re-pulling an answer changes
  nothing, a new answer (a later time) is a new row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime  # noqa: TC003 - dataclass field types are read at runtime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select

from sync_daemon.store.models import ASSESSMENT_RESPONSES, ASSESSMENT_SENDS, ASSESSMENT_SKIPS, HANDOFFS
from sync_daemon.store.sql import chunks, dialect_insert

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Connection, Row

_T = TypeVar("_T")
_S = ASSESSMENT_SENDS
_K = ASSESSMENT_SKIPS
_R = ASSESSMENT_RESPONSES
_H = HANDOFFS


@dataclass(frozen=True, slots=True)
class SendRow:
    """One send, as stored."""

    contact_id: str
    kind: str
    cycle: int
    account_id: str
    persona: str
    channel: str
    due_on: date
    sent_on: date
    requested_at: datetime
    intent_key: str
    policy_revision: int


@dataclass(frozen=True, slots=True)
class LeftRow:
    """The latest reason a due (contact, kind, cycle) was not sent."""

    contact_id: str
    kind: str
    cycle: int
    account_id: str
    status: str
    reason: str
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """An answer as pulled, with the kind and cycle of the send it answers (None when no send precedes it)."""

    contact_id: str
    answered_at: datetime
    account_id: str
    persona: str
    kind: str | None
    cycle: int | None
    score: int | None
    change: str | None


def handed_off(conn: Connection, crm: str) -> dict[str, date]:
    """Every account handed off, with its (latest) handoff day: the anchor of its assessments."""
    query = (
        select(_H.c.account_id, func.max(_H.c.handed_off_on))
        .where(_H.c.crm == crm, _H.c.handed_off_on.is_not(None))
        .group_by(_H.c.account_id)
    )
    return {account_id: day for account_id, day in conn.execute(query)}  # noqa: C416 - rows, not pairs, to mypy


def sends_of(conn: Connection, crm: str, contact_ids: Iterable[str]) -> list[SendRow]:
    """Every send to these contacts, one SELECT per 500 ids."""
    rows: list[SendRow] = []
    for chunk in chunks(sorted(set(contact_ids))):
        query = select(_S).where(_S.c.crm == crm, _S.c.contact_id.in_(chunk))
        rows += [_as(SendRow, row) for row in conn.execute(query)]
    return rows


def sent_summary(
    conn: Connection, crm: str, contact_ids: Iterable[str]
) -> tuple[set[tuple[str, str, int]], dict[str, date]]:
    """Every (contact, kind, cycle) sent to these contacts, and each one's last send day: lean, for the planner."""
    keys: set[tuple[str, str, int]] = set()
    last: dict[str, date] = {}
    for chunk in chunks(sorted(set(contact_ids))):
        query = select(_S.c.contact_id, _S.c.kind, _S.c.cycle, _S.c.sent_on).where(
            _S.c.crm == crm, _S.c.contact_id.in_(chunk)
        )
        for contact_id, kind, cycle, sent_on in conn.execute(query):
            keys.add((contact_id, kind, cycle))
            if contact_id not in last or sent_on > last[contact_id]:
                last[contact_id] = sent_on
    return keys, last


def sends_on(conn: Connection, crm: str, day: date) -> dict[str, int]:
    """Sends counted on ``day`` (the caps' calendar), by account."""
    query = select(_S.c.account_id, func.count()).where(_S.c.crm == crm, _S.c.sent_on == day).group_by(_S.c.account_id)
    return {account_id: int(n) for account_id, n in conn.execute(query)}


def record_send(conn: Connection, crm: str, row: SendRow) -> bool:
    """Insert the send unless that (contact, kind, cycle) was sent already; True when this call inserted it.

    RETURNING, not rowcount: on PostgreSQL SQLAlchemy adds its own RETURNING to an INSERT and the rowcount then
    reads -1 whether or not a row went in (see :func:`sync_daemon.store.outbox.insert_intent`).
    """
    values = {name: getattr(row, name) for name in SendRow.__slots__} | {"crm": crm}
    stmt = dialect_insert(conn, _S).values(values).on_conflict_do_nothing().returning(_S.c.contact_id)
    return conn.execute(stmt).first() is not None


def replace_left(conn: Connection, crm: str, rows: Iterable[LeftRow]) -> int:
    """The latest look replaces the previous one: a reason no longer true (a cycle that lapsed) is gone."""
    conn.execute(_K.delete().where(_K.c.crm == crm))
    return record_left(conn, crm, rows)


def record_left(conn: Connection, crm: str, rows: Iterable[LeftRow]) -> int:
    """Upsert the latest reason per due (contact, kind, cycle); returns how many rows were given."""
    params = [{name: getattr(r, name) for name in LeftRow.__slots__} | {"crm": crm} for r in rows]
    if not params:
        return 0
    stmt = dialect_insert(conn, _K)
    keys = [column.name for column in _K.primary_key.columns]
    set_ = {name: stmt.excluded[name] for name in ("account_id", "status", "reason", "seen_at")}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=set_), params)
    return len(params)


def clear_left(conn: Connection, crm: str, keys: Iterable[tuple[str, str, int]]) -> None:
    """Forget the left-out reasons of what was sent now."""
    for contact_id, kind, cycle in keys:
        conn.execute(
            _K.delete().where(_K.c.crm == crm, _K.c.contact_id == contact_id, _K.c.kind == kind, _K.c.cycle == cycle)
        )


def left_of(conn: Connection, crm: str, contact_id: str) -> list[LeftRow]:
    """The left-out reasons of one contact, by kind and cycle."""
    query = select(_K).where(_K.c.crm == crm, _K.c.contact_id == contact_id).order_by(_K.c.kind, _K.c.cycle)
    return [_as(LeftRow, row) for row in conn.execute(query)]


def record_responses(conn: Connection, crm: str, rows: Iterable[ResponseRow], now: datetime) -> int:
    """Insert the answers not yet on record (one executemany); returns how many were given."""
    params = [{name: getattr(r, name) for name in ResponseRow.__slots__} | {"crm": crm, "recorded_at": now}
              for r in rows]  # fmt: skip
    if params:
        conn.execute(dialect_insert(conn, _R).on_conflict_do_nothing(), params)
    return len(params)


def responses_of(conn: Connection, crm: str, account_ids: Iterable[str]) -> dict[str, list[ResponseRow]]:
    """Every answer of these accounts' contacts, by account, oldest first."""
    found: dict[str, list[ResponseRow]] = {}
    for chunk in chunks(sorted(set(account_ids))):
        query = select(_R).where(_R.c.crm == crm, _R.c.account_id.in_(chunk)).order_by(_R.c.answered_at)
        for row in conn.execute(query):
            found.setdefault(row.account_id, []).append(_as(ResponseRow, row))
    return found


def responses_of_contact(conn: Connection, crm: str, contact_id: str) -> list[ResponseRow]:
    """One contact's answers, oldest first."""
    query = select(_R).where(_R.c.crm == crm, _R.c.contact_id == contact_id).order_by(_R.c.answered_at)
    return [_as(ResponseRow, row) for row in conn.execute(query)]


def _as(cls: type[_T], row: Row[Any]) -> _T:
    return cls(**{name: getattr(row, name) for name in cls.__slots__})  # type: ignore[attr-defined]


__all__: Sequence[str] = ["LeftRow", "ResponseRow", "SendRow"]
