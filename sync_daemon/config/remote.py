"""``validate --remote``: check a mapping against the CRM's own schema (describe / properties).

A mapping can be well-formed and still name a field the org does not have, a text field where a
date is needed, or a formula the daemon cannot write. Each problem points at the YAML value that
names the field. Pure: the caller fetches the schemas (``Connector.describe``) and the positions
(``load_mapping_with_positions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.base import OBJECT_KINDS
from sync_daemon.config.canonical import ACCOUNT_PULL, ACCOUNT_PUSH, CONTACT_PULL, CONTACT_PUSH
from sync_daemon.config.errors import Problem, closest, one_of, sort_problems
from sync_daemon.config.models import LinkBySalesforceField, PushField
from sync_daemon.config.yaml_positions import dotted
from sync_daemon.domain.handoff_fields import DEFAULT_NOTE_FIELD_LENGTH

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from connectors.base import FieldInfo, FieldType, ObjectKind, ObjectSchema
    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.yaml_positions import PositionIndex, YamlPath

TRIMMED_FIELDS = frozenset({"handoff_note_text"})  # long text the daemon fits to the field (default length below)
KPI_TYPES: tuple[FieldType, ...] = (
    "number", "integer", "currency", "percent", "boolean", "date", "datetime", "string", "text",
    "picklist",
)  # fmt: skip
LINK_TYPES: tuple[FieldType, ...] = ("reference", "id")
_VOCAB = {
    ("accounts", "pull"): ACCOUNT_PULL,
    ("accounts", "push"): ACCOUNT_PUSH,
    ("contacts", "pull"): CONTACT_PULL,
    ("contacts", "push"): CONTACT_PUSH,
}


@dataclass(frozen=True, slots=True)
class _FieldUse:
    """One place the mapping names a CRM field, and what that place needs of it."""

    path: YamlPath
    name: str
    accepted: tuple[FieldType, ...] | None  # None: any type will do (scope fields)
    written: bool = False
    trimmed_to: int | None = None  # long text the daemon trims to this many characters


def check_remote(
    mapping: MappingFile,
    schemas: Mapping[ObjectKind, ObjectSchema],
    mapping_path: str,
    positions: PositionIndex | None = None,
) -> list[Problem]:
    """Problems of ``mapping`` against the CRM ``schemas`` (keyed ``accounts``/``contacts``).

    Pass ``positions`` from :func:`load_mapping_with_positions` to place each problem on its
    YAML line; without them the problems carry the file name only.
    """
    problems: list[Problem] = []
    for kind in OBJECT_KINDS:
        schema = schemas.get(kind)
        if schema is None:
            continue
        for use in _field_uses(mapping, kind):
            for message, hint in _check(use, schema, case_insensitive=mapping.crm == "salesforce"):
                line, col = positions.at(use.path) if positions else (None, None)
                problems.append(Problem(mapping_path, line, col, message, hint))
    return sort_problems(problems)


def _field_uses(mapping: MappingFile, kind: ObjectKind) -> Iterator[_FieldUse]:
    """Every CRM field the mapping names for ``kind``: pull, kpis, push, scope and link."""
    obj = mapping.accounts if kind == "accounts" else mapping.contacts
    for name, crm_field in obj.pull.items():
        yield _FieldUse((kind, "pull", name), crm_field, _VOCAB[(kind, "pull")].get(name))
    for name, crm_field in obj.kpis.items():
        yield _FieldUse((kind, "kpis", name), crm_field, KPI_TYPES)
    for name, value in obj.push.items():
        path = (kind, "push", name, "field") if isinstance(value, PushField) else (kind, "push", name)
        crm_field = value.field if isinstance(value, PushField) else value
        limit = value.max_length if isinstance(value, PushField) else None
        trimmed_to = limit or (DEFAULT_NOTE_FIELD_LENGTH if name in TRIMMED_FIELDS else None)
        yield _FieldUse(path, crm_field, _VOCAB[(kind, "push")].get(name), written=True, trimmed_to=trimmed_to)
    for i, clause in enumerate(obj.scope):
        yield _FieldUse((kind, "scope", i, "field"), clause.field, None)
    link = getattr(obj, "link", None)
    if isinstance(link, LinkBySalesforceField):
        yield _FieldUse((kind, "link", "field"), link.field, LINK_TYPES)


def _check(use: _FieldUse, schema: ObjectSchema, *, case_insensitive: bool) -> Iterator[tuple[str, str | None]]:
    """(message, hint) for each thing wrong with one field use."""
    label = dotted(use.path[:3])
    info = schema.fields.get(use.name) or _by_case(use.name, schema, case_insensitive=case_insensitive)
    if info is None:
        near = closest(use.name, schema.fields)
        hint = f"did you mean '{near}'?" if near else None
        yield f"{label}: {schema.object_name} has no field '{use.name}'", hint
        return
    if info.name != use.name:
        message = f"{label}: '{use.name}' is spelt '{info.name}' in {schema.object_name}"
        yield message, f"write '{info.name}': records come back with that spelling"
    if use.accepted is not None and info.type not in use.accepted:
        verb = "writes" if use.written else "reads"
        message = (
            f"{label} {verb} '{info.name}', a {info.crm_type} field ({info.type}), "
            f"which does not fit: it needs one of: {one_of(use.accepted)}"
        )
        yield message, None
    if use.trimmed_to is not None and info.length and use.trimmed_to > info.length:
        message = (
            f"{label} trims '{info.name}' to {use.trimmed_to:,} characters, but the field holds {info.length:,}: "
            "the CRM would refuse the longer texts"
        )
        yield message, f"set max_length: {info.length} on this push field"
    if use.written and not info.updateable:
        message = f"{label} writes '{info.name}', which the integration user cannot update"
        yield message, "grant edit access to the field, or map a writable one (not a formula)"


def _by_case(name: str, schema: ObjectSchema, *, case_insensitive: bool) -> FieldInfo | None:
    """Salesforce API names ignore case: find the field whatever case the admin wrote."""
    if not case_insensitive:
        return None
    folded = name.casefold()
    return next((f for n, f in schema.fields.items() if n.casefold() == folded), None)
