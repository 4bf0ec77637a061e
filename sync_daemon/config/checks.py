"""Cross-field rules of a mapping file: what the models alone cannot say.

They run on the raw YAML data (not on the validated model) so that they still report their findings
when pydantic found something else wrong in the same file: the admin gets every problem at once.
Anything of the wrong shape is skipped here, since the model validation already reports it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sync_daemon.config.canonical import (
    ACCOUNT_PULL,
    ACCOUNT_PUSH,
    CONTACT_PULL,
    CONTACT_PUSH,
    DEFAULT_PERSONAS,
)
from sync_daemon.config.errors import Problem, did_you_mean, one_of
from sync_daemon.config.yaml_positions import YamlDocument, YamlPath, dotted

if TYPE_CHECKING:
    from collections.abc import Iterator

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_CRM_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
_HUBSPOT_NAME = re.compile(r"[a-z0-9_]+")
_VOCAB: dict[tuple[str, str], dict[str, object]] = {
    ("accounts", "pull"): dict(ACCOUNT_PULL),
    ("contacts", "pull"): dict(CONTACT_PULL),
    ("accounts", "push"): dict(ACCOUNT_PUSH),
    ("contacts", "push"): dict(CONTACT_PUSH),
}
_KINDS = ("accounts", "contacts")
_LIST_OPS = frozenset({"in", "not_in"})
_NO_VALUE_OPS = frozenset({"is_set", "is_not_set"})
_SCALAR_OPS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})


def check_mapping(doc: YamlDocument) -> list[Problem]:
    """Every cross-field problem of a mapping file, each at the YAML node it is about."""
    checker = _Checker(doc)
    checker.canonical_names()
    checker.kpi_names()
    checker.crm_field_use()
    checker.link_kind()
    checker.hubspot_names()
    checker.scope_clauses()
    checker.persona_names()
    checker.title_patterns()
    checker.role_field()
    checker.title_field()
    return checker.problems


def _get(data: object, *keys: object) -> object:
    """The value at ``keys`` below ``data``; ``None`` when a step is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _dict(data: object, *keys: object) -> dict[object, object]:
    found = _get(data, *keys)
    return found if isinstance(found, dict) else {}


def _list(data: object, *keys: object) -> list[object]:
    found = _get(data, *keys)
    return found if isinstance(found, list) else []


class _Checker:
    """Collects problems; one method per rule."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.data = doc.data
        crm = _get(doc.data, "crm")
        self.crm = crm if crm in ("salesforce", "hubspot") else None
        self.problems: list[Problem] = []

    def _at(self, path: YamlPath, message: str, hint: str | None = None, *, key: bool = False) -> None:
        pos = self.doc.positions
        line, col = pos.key_at(path) if key else pos.at(path)
        self.problems.append(Problem(self.doc.file, line, col, message, hint))

    def _line(self, path: YamlPath) -> int:
        return self.doc.positions.at(path)[0]

    def canonical_names(self) -> None:
        """Names in pull/push must be the daemon's canonical ones for that object."""
        for (kind, section), vocab in _VOCAB.items():
            for name in _dict(self.data, kind, section):
                if isinstance(name, str) and _IDENTIFIER.fullmatch(name) and name not in vocab:
                    where = f"{kind}.{section}"
                    homes = [f"{k}.{s}" for (k, s), v in _VOCAB.items() if name in v]
                    hint = did_you_mean(name, vocab) or (
                        f"it belongs in {homes[0]}" if homes else f"valid names: {one_of(vocab)}"
                    )
                    message = f"unknown canonical name '{name}' in {where}"
                    self._at((kind, section, name), message, hint, key=True)

    def kpi_names(self) -> None:
        """KPI names are the admin's, but must not shadow a canonical field of the same object."""
        for kind in _KINDS:
            canonical = {**_VOCAB[(kind, "pull")], **_VOCAB[(kind, "push")]}
            for name in _dict(self.data, kind, "kpis"):
                if name in canonical:
                    message = f"KPI name '{name}' in {kind}.kpis clashes with the canonical field"
                    self._at((kind, "kpis", name), message, "give the KPI another name", key=True)

    def crm_field_use(self) -> None:
        """A pushed field must be no input, and no two push names may write the same field."""
        for kind in _KINDS:
            inputs = self._inputs(kind)
            written: dict[str, YamlPath] = {}
            for path, value in _crm_fields(self.data, kind, ("push",)):
                folded = self._fold(value)
                label = dotted(path[:3])
                if folded in inputs:
                    reader = inputs[folded]
                    message = (
                        f"{label} writes '{value}', which {dotted(reader)} (line "
                        f"{self._line(reader)}) reads as input: the daemon would overwrite it"
                    )
                    self._at(path, message, "push to a field of its own")
                if folded in written:
                    first = written[folded]
                    message = (
                        f"{label} writes '{value}', as {dotted(first[:3])} (line {self._line(first)}) already does"
                    )
                    self._at(path, message, "each daemon-owned value needs its own CRM field")
                written.setdefault(folded, path)

    def _inputs(self, kind: str) -> dict[str, YamlPath]:
        """CRM fields read as input for ``kind`` (pull, kpis, the link), by folded name."""
        inputs: dict[str, YamlPath] = {}
        for path, value in _crm_fields(self.data, kind, ("pull", "kpis")):
            inputs.setdefault(self._fold(value), path)
        link = _get(self.data, kind, "link", "field")
        if isinstance(link, str):
            inputs.setdefault(self._fold(link), (kind, "link", "field"))
        return inputs

    def _fold(self, name: str) -> str:
        """Salesforce API names ignore case; HubSpot internal names do not."""
        return name.casefold() if self.crm == "salesforce" else name

    def link_kind(self) -> None:
        """Salesforce links contacts by a lookup field, HubSpot by association."""
        link = _dict(self.data, "contacts", "link")
        if self.crm == "salesforce" and "association" in link:
            message = "contacts.link uses an association, which is HubSpot's way"
            self._at(
                ("contacts", "link", "association"),
                message,
                "write link: {field: AccountId}",
                key=True,
            )
        if self.crm == "hubspot" and "field" in link:
            message = "contacts.link uses a lookup field, which is Salesforce's way"
            self._at(
                ("contacts", "link", "field"),
                message,
                "write link: {association: companies}",
                key=True,
            )

    def hubspot_names(self) -> None:
        """HubSpot property internal names are lowercase ``a-z0-9_``."""
        if self.crm != "hubspot":
            return
        for kind in _KINDS:
            for path, value in _crm_fields(self.data, kind, ("pull", "kpis", "push", "scope")):
                if not _HUBSPOT_NAME.fullmatch(value):
                    fixed = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
                    message = (
                        f"HubSpot property '{value}' in {dotted(path[:3])} is not an internal "
                        "name: use lowercase letters, digits and _"
                    )
                    self._at(path, message, f"did you mean '{fixed}'?")

    def scope_clauses(self) -> None:
        """in/not_in take a list, is_set/is_not_set nothing, the other operators one value."""
        for kind in _KINDS:
            for i, clause in enumerate(_list(self.data, kind, "scope")):
                if isinstance(clause, dict):
                    self._scope_clause((kind, "scope", i), clause)

    def _scope_clause(self, path: YamlPath, clause: dict[object, object]) -> None:
        op, value = clause.get("op"), clause.get("value")
        where = (*path, "value") if "value" in clause else path
        if op in _LIST_OPS and not isinstance(value, list):
            self._at(where, f"scope op '{op}' needs a list of values", "e.g. value: [A, B]")
        elif op in _LIST_OPS and isinstance(value, list) and not value:
            self._at(where, f"scope op '{op}' has an empty list, which matches nothing")
        elif op in _NO_VALUE_OPS and value is not None:
            self._at(where, f"scope op '{op}' takes no value", "remove value")
        elif op in _SCALAR_OPS and value is None:
            self._at(where, f"scope op '{op}' needs a value")
        elif op in _SCALAR_OPS and isinstance(value, list):
            self._at(where, f"scope op '{op}' takes one value, not a list", "use op: in for a list")

    def _persona_names(self) -> list[str]:
        names = _get(self.data, "personas", "names")
        if isinstance(names, list):
            return [n for n in names if isinstance(n, str)]
        return list(DEFAULT_PERSONAS) if names is None else []

    def persona_names(self) -> None:
        """Personas used in roles and titles must be declared in personas.names."""
        names = self._persona_names()
        if not names:
            return
        for persona in _dict(self.data, "personas", "roles"):
            if isinstance(persona, str) and persona not in names:
                message = f"unknown persona '{persona}' in personas.roles"
                hint = _persona_hint(persona, names)
                self._at(("personas", "roles", persona), message, hint, key=True)
        for i, rule in enumerate(_list(self.data, "personas", "titles")):
            persona = _get(rule, "persona")
            if isinstance(persona, str) and persona not in names:
                message = f"unknown persona '{persona}' in personas.titles"
                hint = _persona_hint(persona, names)
                self._at(("personas", "titles", i, "persona"), message, hint)

    def title_patterns(self) -> None:
        """Title patterns must compile as Python regular expressions."""
        for i, rule in enumerate(_list(self.data, "personas", "titles")):
            for j, pattern in enumerate(_list(rule, "patterns")):
                if not isinstance(pattern, str):
                    continue
                try:
                    re.compile(pattern, re.IGNORECASE)
                except re.error as exc:
                    message = f"title pattern '{pattern}' does not compile: {exc.msg} at position {exc.pos}"
                    self._at(("personas", "titles", i, "patterns", j), message)

    def role_field(self) -> None:
        """The role field must be a canonical contact field that the mapping pulls."""
        personas = _dict(self.data, "personas")
        explicit = "role_field" in personas
        role = personas.get("role_field", "role")
        if not isinstance(role, str) or not _IDENTIFIER.fullmatch(role):
            return  # the model validation reports a malformed name
        path: YamlPath = ("personas", "role_field") if explicit else ("personas",)
        if role not in CONTACT_PULL:
            message = f"personas.role_field '{role}' is not a canonical contact field"
            self._at(path, message, did_you_mean(role, CONTACT_PULL))
        elif isinstance(pull := _get(self.data, "contacts", "pull"), dict) and role not in pull:
            said = "" if explicit else " (the default)"
            message = f"personas.role_field '{role}'{said} is not pulled in contacts.pull"
            self._at(path, message, f"map {role} in contacts.pull, or set role_field: null")

    def title_field(self) -> None:
        """Title rules need the contact title pulled, or they can never match."""
        pull = _get(self.data, "contacts", "pull")
        if _list(self.data, "personas", "titles") and isinstance(pull, dict) and "title" not in pull:
            message = "personas.titles has rules, but contacts.pull does not map title"
            self._at(("personas", "titles"), message, "map title in contacts.pull", key=True)


def _persona_hint(persona: str, names: list[str]) -> str:
    return did_you_mean(persona, names) or "add it to personas.names"


def _crm_fields(data: object, kind: str, sections: tuple[str, ...]) -> Iterator[tuple[YamlPath, str]]:
    """Every well-formed CRM field name in ``sections`` of ``kind``, with its path."""
    for section in sections:
        if section == "scope":
            for i, clause in enumerate(_list(data, kind, "scope")):
                yield from _named((kind, "scope", i, "field"), _get(clause, "field"))
            continue
        for name, value in _dict(data, kind, section).items():
            if isinstance(value, dict):
                yield from _named((kind, section, name, "field"), value.get("field"))
            else:
                yield from _named((kind, section, name), value)


def _named(path: YamlPath, value: object) -> Iterator[tuple[YamlPath, str]]:
    if isinstance(value, str) and _CRM_FIELD.fullmatch(value):
        yield path, value
