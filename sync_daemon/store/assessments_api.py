"""The store's assessment API: sends recorded once with their outbox intent, left-out reasons, responses.

A mixin of :class:`~sync_daemon.store.store.Store`. ``record_send`` takes the caller's connection so that the
send row and its outbox intent (``Store.enqueue``) commit together, or not at all. The rules are in
:mod:`sync_daemon.store.assessments`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from sync_daemon.store import assessments
from sync_daemon.store.engine import joined_or_new, read_connection, write_transaction
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import date, datetime

    from sqlalchemy import Connection, Engine

    from sync_daemon.store.assessments import LeftRow, ResponseRow, SendRow

log = structlog.get_logger(__name__)


class AssessmentStoreMixin:
    """Assessment sends, the reasons due contacts were left out, and the answers pulled."""

    _engine: Engine
    _clock: Callable[[], datetime]

    def handed_off_accounts(self, crm: str) -> dict[str, date]:
        """Every account handed off, with its handoff day (assessments are anchored on it)."""
        with read_connection(self._engine) as conn:
            return assessments.handed_off(conn, crm)

    def sends_of(self, crm: str, contact_ids: Iterable[str]) -> list[SendRow]:
        """Every send to these contacts."""
        with read_connection(self._engine) as conn:
            return assessments.sends_of(conn, crm, contact_ids)

    def sent_summary(self, crm: str, contact_ids: Iterable[str]) -> tuple[set[tuple[str, str, int]], dict[str, date]]:
        """Every (contact, kind, cycle) sent to these contacts, and each one's last send day."""
        with read_connection(self._engine) as conn:
            return assessments.sent_summary(conn, crm, contact_ids)

    def sends_on(self, crm: str, day: date) -> dict[str, int]:
        """Sends counted on ``day`` by account (the caps)."""
        with read_connection(self._engine) as conn:
            return assessments.sends_on(conn, crm, day)

    def record_send(self, conn: Connection | None, crm: str, row: SendRow) -> bool:
        """Record a send in ``conn``'s transaction; False (nothing stored) when it was sent already."""
        with joined_or_new(self._engine, conn) as active:
            won = assessments.record_send(active, crm, row)
            if won:
                assessments.clear_left(active, crm, [(row.contact_id, row.kind, row.cycle)])
        return won

    def record_left(self, crm: str, rows: Iterable[LeftRow]) -> int:
        """Keep the reasons of the latest look: each due (contact, kind, cycle) left out, and no older ones."""
        with write_transaction(self._engine) as conn:
            return assessments.replace_left(conn, crm, rows)

    def left_of(self, crm: str, contact_id: str) -> list[LeftRow]:
        """Why a contact's due assessments were left out, at the latest look."""
        with read_connection(self._engine) as conn:
            return assessments.left_of(conn, crm, contact_id)

    def record_responses(self, crm: str, rows: Iterable[ResponseRow], now: datetime) -> int:
        """Keep the answers not yet on record."""
        with write_transaction(self._engine) as conn:
            given = assessments.record_responses(conn, crm, rows, to_utc(now))
        log.debug("assessments.responses_recorded", crm=crm, given=given)
        return given

    def responses_of(self, crm: str, account_ids: Iterable[str]) -> dict[str, list[ResponseRow]]:
        """Every answer of these accounts' contacts, by account, oldest first."""
        with read_connection(self._engine) as conn:
            return assessments.responses_of(conn, crm, account_ids)

    def responses_of_contact(self, crm: str, contact_id: str) -> list[ResponseRow]:
        """One contact's answers, oldest first."""
        with read_connection(self._engine) as conn:
            return assessments.responses_of_contact(conn, crm, contact_id)
