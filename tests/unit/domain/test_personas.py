"""Persona classification: role first (multi-valued), then title patterns, else unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_daemon.config.loader import load_mapping
from sync_daemon.config.models import PersonaRules, TitleRule
from sync_daemon.domain.personas import UNKNOWN, PersonaClassifier

ROOT = Path(__file__).resolve().parents[3]
RULES = PersonaRules(
    names=["decision_maker", "champion", "end_user", "business_influencer"],
    role_field="role",
    roles={
        "champion": ["Champion", "Coach"],
        "decision_maker": ["Decision Maker", "Economic Buyer"],
        "end_user": ["End User"],
    },
    titles=[
        TitleRule(persona="decision_maker", patterns=[r"\b(chief|vp|vice president)\b"]),
        TitleRule(persona="champion", patterns=[r"\b(head of|director)\b", r"\bmanager\b"]),
    ],
)
CLASSIFIER = PersonaClassifier.from_rules(RULES)


@pytest.mark.parametrize(
    ("fields", "persona"),
    [
        ({"role": "Champion"}, "champion"),
        ({"role": "  economic buyer "}, "decision_maker"),
        ({"role": "End User;Champion"}, "champion"),
        ({"role": "End User; Decision Maker"}, "decision_maker"),
        ({"role": ["End User", "Coach"]}, "champion"),
        ({"role": "Champion", "title": "VP Sales"}, "champion"),
        ({"role": "Astronaut", "title": "VP Sales"}, "decision_maker"),
        ({"title": "Director of Operations"}, "champion"),
        ({"title": "Regional Manager"}, "champion"),
        ({"title": "Software Engineer"}, UNKNOWN),
        ({}, UNKNOWN),
        ({"role": None, "title": None}, UNKNOWN),
    ],
)
def test_classify(fields: dict[str, object], persona: str) -> None:
    """Role values decide in names order, titles are the fallback, and nothing means unknown."""
    assert CLASSIFIER.classify(fields) == persona


def test_first_persona_in_names_order_wins_whatever_the_role_order() -> None:
    """With several roles set, the persona listed first in names wins, not the first role."""
    assert CLASSIFIER.classify({"role": "End User;Champion;Economic Buyer"}) == "decision_maker"


@pytest.mark.parametrize(
    ("title", "persona"),
    [
        ("Vice President, Ventes Europe", "decision_maker"),
        ("Produkt-Manager für Österreich", "champion"),
        ("\uff24\uff49\uff52\uff45\uff43\uff54\uff4f\uff52", "champion"),  # full-width "Director"
        ("Managerin Vertrieb", UNKNOWN),  # \b does not split inside a longer word
        ("Директор по продажам", UNKNOWN),
        ("CHIEF Revenue Officer", "decision_maker"),
    ],
)
def test_unicode_titles(title: str, persona: str) -> None:
    """Titles in any script are matched case-insensitively with Unicode word boundaries."""
    assert CLASSIFIER.classify({"title": title}) == persona


def test_explain_names_the_rule_that_decided() -> None:
    """The explanation says which role or title pattern decided, or why nothing did."""
    assert CLASSIFIER.explain({"role": "Coach"}) == ("champion", "role 'Coach'")
    assert CLASSIFIER.explain({"title": "VP Sales"}) == (
        "decision_maker",
        r"title 'VP Sales' matched '\b(chief|vp|vice president)\b'",
    )
    assert CLASSIFIER.explain({"title": "Regional Manager"})[1] == (r"title 'Regional Manager' matched '\bmanager\b'")
    assert CLASSIFIER.explain({"title": "Intern"}) == (
        UNKNOWN,
        "no role, title 'Intern' matched nothing",
    )
    assert CLASSIFIER.explain({"role": "Astronaut"}) == (
        UNKNOWN,
        "role 'Astronaut' matched no persona, no title",
    )


def test_role_field_none_uses_titles_only() -> None:
    """With role_field null, roles are ignored and titles decide."""
    rules = RULES.model_copy(update={"role_field": None})
    classifier = PersonaClassifier.from_rules(rules)
    assert classifier.classify({"role": "Champion", "title": "Chief of Staff"}) == "decision_maker"


def test_roles_of_undeclared_personas_are_ignored() -> None:
    """Only personas listed in names take part, in that order."""
    rules = RULES.model_copy(update={"names": ["end_user"]})
    classifier = PersonaClassifier.from_rules(rules)
    assert classifier.classify({"role": "Champion;End User"}) == "end_user"
    assert classifier.classify({"role": "Champion"}) == UNKNOWN


@pytest.mark.parametrize(
    ("crm", "role", "persona"),
    [
        ("hubspot", "CHAMPION;END_USER", "champion"),
        ("hubspot", "LEGAL_AND_COMPLIANCE", "business_influencer"),
        ("salesforce", "Technical Evaluator;Executive Sponsor", "decision_maker"),
    ],
)
def test_shipped_rules(crm: str, role: str, persona: str) -> None:
    """The shipped mapping files' persona rules classify the CRMs' own role values."""
    rules = load_mapping(ROOT / "mappings" / f"{crm}.yaml").personas
    assert PersonaClassifier.from_rules(rules).classify({"role": role}) == persona
