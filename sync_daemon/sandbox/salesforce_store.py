"""The Salesforce sandbox's records: tables of typed rows, validated writes, soft deletes, rollback.

Every write goes through describe-driven validation (unknown field, read-only field, type, picklist,
length, required, cross-reference) and bumps ``SystemModstamp``, even when no value changed, as an
org does. Timestamps are whole seconds, so many records share one, as they do in real orgs. An undo
log lets ``allOrNone`` requests roll back what they already applied.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox import salesforce_rules as rules
from sync_daemon.sandbox.salesforce_schema import OBJECTS, OWNER, ObjectDef, find_object
from sync_daemon.sandbox.salesforce_values import (
    RecordError,
    check_value,
    from_json,
    make_id,
    normalize_id,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sync_daemon.sandbox.server import Clock

Row = dict[str, Any]


class Store:
    """All tables of the sandbox org, keyed by object name then 18-character id."""

    def __init__(self, clock: Clock, user_id: str) -> None:
        """Empty tables; ``user_id`` owns what the integration user creates."""
        self.clock = clock
        self.user_id = user_id
        self.tables: dict[str, dict[str, Row]] = {o.name: {} for o in OBJECTS.values()}
        self.locks: dict[str, int] = {}
        self.validation_rules: dict[str, str] = {}  # record id -> the rule's error message
        self._counters: dict[str, int] = {}
        self._undo: list[tuple[str, str, Row | None]] | None = None
        self._open = 0

    # -- time, ids, lookup -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The org's now, in whole seconds (SystemModstamp has no finer grain here)."""
        return self.clock.now().astimezone(UTC).replace(microsecond=0)

    def new_id(self, obj: ObjectDef) -> str:
        """The next deterministic id for ``obj``."""
        number = self._counters.get(obj.key_prefix, 0) + 1
        self._counters[obj.key_prefix] = number
        return make_id(obj.key_prefix, number)

    def get(self, obj: ObjectDef, record_id: str) -> Row | None:
        """The stored row (deleted or not) for a 15- or 18-character id, or ``None``."""
        ident = normalize_id(record_id)
        return self.tables[obj.name].get(ident) if ident else None

    def live(self, sobject: str, record_id: str) -> Row | None:
        """A row that exists and is not deleted (for cross-reference checks)."""
        obj = find_object(sobject)
        row = self.get(obj, record_id) if obj else None
        return row if row is not None and not row["IsDeleted"] else None

    # -- transactions ----------------------------------------------------------------------------

    def savepoint(self) -> int:
        """Open a savepoint (for ``allOrNone`` requests, which may nest); return its mark."""
        if self._open == 0:
            self._undo = []
        self._open += 1
        return len(self._undo or [])

    def rollback_to(self, mark: int) -> None:
        """Undo everything done since ``mark``, newest first (the savepoint stays open)."""
        undo = self._undo or []
        for table, ident, before in reversed(undo[mark:]):
            if before is None:
                self.tables[table].pop(ident, None)
            else:
                self.tables[table][ident] = before
        del undo[mark:]

    def release(self) -> None:
        """Close the innermost savepoint; the undo log goes when the last one closes."""
        self._open -= 1
        if self._open == 0:
            self._undo = None

    def _remember(self, obj: ObjectDef, ident: str) -> None:
        if self._undo is not None:
            before = self.tables[obj.name].get(ident)
            self._undo.append((obj.name, ident, dict(before) if before is not None else None))

    # -- validated writes (the REST API) ---------------------------------------------------------

    def _convert(self, obj: ObjectDef, body: Mapping[str, Any], *, creating: bool) -> Row:
        values: Row = {}
        for key, raw in body.items():
            if key == "attributes":
                continue
            fdef = obj.field(key)
            if fdef is None:
                raise RecordError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key])
            if not (fdef.createable if creating else fdef.updateable):
                raise RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {fdef.name}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile or "
                    "permission set.",
                    [fdef.name],
                )
            value = from_json(fdef, raw)
            check_value(fdef, value)
            if value is not None and fdef.type == "reference":
                rules.check_reference(self, fdef, value)
            values[fdef.name] = value
        return values

    def create(self, obj: ObjectDef, body: Mapping[str, Any]) -> str:
        """Insert a client's record; raise :class:`RecordError` where an org would refuse it."""
        values = self._convert(obj, body, creating=True)
        missing = [f.name for f in obj.fields if f.required and values.get(f.name) is None]
        if missing:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        rules.before_insert(self, obj, values)
        return self.insert_row(obj, values)

    def modify(self, obj: ObjectDef, record_id: str, body: Mapping[str, Any]) -> None:
        """Update a client's record, with an org's lock, existence and field checks."""
        row = self.get(obj, record_id)
        if row is None:
            raise RecordError("NOT_FOUND", "The requested resource does not exist")
        if row["IsDeleted"]:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        if self.locks.get(row["Id"], 0) > 0:
            self.locks[row["Id"]] -= 1
            raise RecordError(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: {row['Id']}",
            )
        values = self._convert(obj, body, creating=False)
        rule = self.validation_rules.get(row["Id"])
        if rule is not None:  # validation rules run after the field checks, as in an org
            raise RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule)
        self.update_row(obj, row["Id"], values)

    def remove(self, obj: ObjectDef, record_id: str) -> None:
        """Soft-delete: the row stays for ``queryAll`` with ``IsDeleted`` true."""
        row = self.get(obj, record_id)
        if row is None:
            raise RecordError("NOT_FOUND", "The requested resource does not exist")
        if row["IsDeleted"]:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        self._remember(obj, row["Id"])
        row["IsDeleted"] = True
        row["SystemModstamp"] = self.now()

    # -- raw writes (seed and test hooks: no permission or picklist checks) ----------------------

    def insert_row(self, obj: ObjectDef, values: Mapping[str, Any], modstamp: datetime | None = None) -> str:
        """Store a new row with its system fields and defaults; return its id."""
        ident = self.new_id(obj)
        stamp = modstamp or self.now()
        row: Row = dict(obj.blank_row)
        row.update({"Id": ident, "IsDeleted": False, "SystemModstamp": stamp})
        if "CreatedDate" in row:
            row.update(CreatedDate=stamp, LastModifiedDate=stamp)
        if row.get("OwnerId") == OWNER:
            row["OwnerId"] = self.user_id
        row.update(values)
        rules.derive(obj, row)
        self._remember(obj, ident)
        self.tables[obj.name][ident] = row
        rules.after_insert(self, obj, row)
        return ident

    def update_row(
        self,
        obj: ObjectDef,
        ident: str,
        values: Mapping[str, Any],
        modstamp: datetime | None = None,
    ) -> None:
        """Change fields of an existing row and bump its modstamps."""
        self._remember(obj, ident)
        row = self.tables[obj.name][ident]
        row.update(values)
        stamp = modstamp or self.now()
        row["SystemModstamp"] = stamp
        if "LastModifiedDate" in row:
            row["LastModifiedDate"] = stamp
        rules.derive(obj, row)

    def coerce(self, obj: ObjectDef, fields: Mapping[str, Any]) -> Row:
        """Convert hook-supplied values by field type (names in any case); unknown is a bug."""
        values: Row = {}
        for key, raw in fields.items():
            fdef = obj.field(key)
            if fdef is None:
                raise KeyError(f"{obj.name} has no field {key!r}")
            values[fdef.name] = from_json(fdef, raw)
        return values
