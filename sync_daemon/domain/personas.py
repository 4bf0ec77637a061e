"""Which persona a contact is: decision maker, champion, end user, business influencer, or unknown.

Feedback is only ever read per persona, so this decision must be predictable and explainable to an
admin: the buying role the CRM holds decides first (several roles may be set, ';'-separated, as
Salesforce multi-picklists and HubSpot multiple checkboxes send them; the first persona in
``names`` order that matches wins), then the title patterns in file order, else ``unknown``.
Pure: no I/O; patterns are compiled once, when the classifier is built.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sync_daemon.config.models import PersonaRules

UNKNOWN = "unknown"
TITLE_FIELD = "title"


@dataclass(frozen=True, slots=True)
class _TitlePattern:
    persona: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class PersonaClassifier:
    """Classifies contacts by role field, then title; build it with :meth:`from_rules`."""

    role_field: str | None
    roles: tuple[tuple[str, frozenset[str]], ...]
    titles: tuple[_TitlePattern, ...]

    @classmethod
    def from_rules(cls, rules: PersonaRules) -> PersonaClassifier:
        """Compile the mapping file's persona rules (validated already, so patterns compile)."""
        roles = tuple(
            (name, frozenset(_normal(v) for v in rules.roles[name])) for name in rules.names if name in rules.roles
        )
        titles = tuple(
            _TitlePattern(rule.persona, re.compile(_text(p), re.IGNORECASE))
            for rule in rules.titles
            for p in rule.patterns
        )
        return cls(rules.role_field, roles, titles)

    def classify(self, fields: Mapping[str, object]) -> str:
        """The persona name for a contact's canonical fields, or ``"unknown"``."""
        return self.explain(fields)[0]

    def explain(self, fields: Mapping[str, object]) -> tuple[str, str]:
        """The persona and which rule decided it, e.g. ``("champion", "role 'Champion'")``."""
        values = self._role_values(fields)
        for persona, accepted in self.roles:
            for value in values:
                if _normal(value) in accepted:
                    return persona, f"role '{value}'"
        title = fields.get(TITLE_FIELD)
        title = title.strip() if isinstance(title, str) else ""
        for rule in self.titles if title else ():
            if rule.pattern.search(_text(title)):
                return rule.persona, f"title '{title}' matched '{rule.pattern.pattern}'"
        return UNKNOWN, _why_unknown(values, title)

    def _role_values(self, fields: Mapping[str, object]) -> list[str]:
        """The role values set on the contact, trimmed, from a ';'-separated string or a list."""
        raw = fields.get(self.role_field) if self.role_field else None
        if raw is None:
            return []
        items = raw if isinstance(raw, list | tuple) else [raw]
        parts = (part.strip() for item in items for part in str(item).split(";"))
        return [part for part in parts if part]


def _why_unknown(roles: list[str], title: str) -> str:
    role_part = f"role '{'; '.join(roles)}' matched no persona" if roles else "no role"
    title_part = f"title '{title}' matched nothing" if title else "no title"
    return f"{role_part}, {title_part}"


def _text(value: str) -> str:
    """Unicode-normalised text, so a full-width or composed title matches like its plain form."""
    return unicodedata.normalize("NFKC", value)


def _normal(value: str) -> str:
    """Role values compare trimmed and case-insensitively (``END_USER`` is ``end_user``)."""
    return _text(value).strip().casefold()
