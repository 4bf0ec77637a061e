"""A realistic, deterministic data set for the sandbox CRMs, in CRM-neutral terms.

Each emulator translates these records into its own field names and value vocabularies (the ones the
shipped mapping files name). Same ``seed`` and sizes, same data: tests can rely on exact figures.
Accounts span segments (SMB, mid-market, enterprise) with usage KPIs; contacts span every persona,
some opted out, some without email, many with non-ASCII names.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

FIRST_NAMES = (
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Émile",
    "Fatima",
    "Günther",
    "Hiroshi",
    "Ingrid",
    "José",
    "Kateřina",
    "Łukasz",
    "Mónica",
    "Nuño",
    "Øyvind",
    "Priya",
    "Qiang",
    "Renée",
    "Søren",
    "Thảo",
    "Uğur",
    "Valérie",
    "Wojciech",
    "Xiùlán",
    "Yusuf",
    "Zoë",
    "James",
    "Mary",
    "Robert",
    "Linda",
    "Michael",
    "Sarah",
    "David",
    "Emma",
    "Daniel",
    "Olivia",
    "李",
    "Ахмед",
    "Αλέξανδρος",
    "O'Brien",
)
LAST_NAMES = (
    "Müller",
    "García",
    "Dubois",
    "Nowak",
    "Kowalski",
    "Jørgensen",
    "Østergaard",
    "Ferreira",
    "Smith",
    "Johnson",
    "Nguyễn",
    "Tanaka",
    "Öztürk",
    "Šimek",
    "Brown",
    "Wilson",
    "Martínez",
    "Rossi",
    "Kim",
    "Patel",
    "O'Connor",
    "van der Berg",
    "Lefèvre",
    "Andersson",
    "王",
    "Иванов",
    "Παπαδόπουλος",
    "Chen",
)
COMPANY_WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Aperture",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Oscorp",
    "Pied Piper",
    "Sirius",
    "Zorg",
    "Bluth",
    "Dunder",
    "Massive",
    "Prestige",
    "Rekall",
    "Nordström",
    "Café Über",
)
COMPANY_SUFFIXES = ("Inc", "GmbH", "Ltd", "SA", "BV", "AB", "KK", "LLC", "Group", "Labs")
INDUSTRIES = ("Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education", "Media")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
STEPS = ("kickoff", "sso_configured", "data_imported", "integration_live", "admins_trained", "first_value")

# Persona-revealing titles; some titles reveal nothing (the persona is then unknown).
TITLES = {
    "decision_maker": ("CEO", "Chief Operating Officer", "VP Sales", "Vice President, Customer Success", "CFO"),
    "champion": ("Head of Sales Operations", "Director of Marketing", "RevOps Manager", "Team Lead, Support"),
    "end_user": ("Sales Representative", "Support Agent", "Marketing Specialist", "Account Coordinator"),
    "business_influencer": ("Solutions Architect", "Procurement Analyst", "Security Consultant", "Finance Analyst"),
    None: ("Ninja", "Employee", "", "Team member"),
}
PERSONAS: tuple[str | None, ...] = ("decision_maker", "champion", "end_user", "business_influencer", None)


@dataclass
class SeedAccount:
    """An account in CRM-neutral terms; ``customer`` is false for prospects (out of scope)."""

    key: int
    name: str
    customer: bool
    segment: str
    owner: str
    csm_name: str | None
    csm_email: str | None
    csm_phone: str | None
    close_date: date
    onboarding_start: date | None
    contract_value: float
    employees: int
    region: str
    industry: str
    website: str
    onboarding_steps: list[str]
    goals: str
    active_users: int
    licensed_seats: int
    mrr: float
    integration_connected: bool
    last_login_at: datetime | None
    daily_active_pct: float
    modified_at: datetime
    handoff_override: str | None = None


@dataclass
class SeedContact:
    """A contact; ``role`` is the buying role in neutral terms (each CRM has its own picklist values)."""

    key: int
    account_key: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    title: str
    role: str | None
    opted_out: bool
    modified_at: datetime
    extra: dict[str, object] = field(default_factory=dict)


def _segment(rng: random.Random) -> tuple[str, float, int, int]:
    roll = rng.random()
    if roll < 0.6:
        return "SMB", round(rng.uniform(3_000, 25_000), 2), rng.randint(5, 200), rng.randint(3, 25)
    if roll < 0.9:
        return "Mid-Market", round(rng.uniform(25_000, 150_000), 2), rng.randint(200, 2_000), rng.randint(25, 250)
    return "Enterprise", round(rng.uniform(150_000, 1_200_000), 2), rng.randint(2_000, 90_000), rng.randint(250, 5_000)


def _account(key: int, rng: random.Random) -> SeedAccount:
    segment, value, employees, seats = _segment(rng)
    close = (BASE_TIME - timedelta(days=rng.randint(0, 400))).date()
    started = close + timedelta(days=rng.randint(0, 14)) if rng.random() < 0.9 else None
    active = int(seats * rng.choice((0.0, 0.1, 0.35, 0.6, 0.85, 1.0)))
    has_csm = rng.random() < 0.7
    csm_first, csm_last = rng.choice(FIRST_NAMES[26:36]), rng.choice(LAST_NAMES[8:18])
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)} {key:05d}"
    steps = [s for i, s in enumerate(STEPS) if rng.random() < 0.75 - i * 0.1]
    return SeedAccount(
        key=key,
        name=name,
        customer=rng.random() < 0.92,
        segment=segment,
        owner=f"owner-{rng.randint(1, 25):02d}",
        csm_name=f"{csm_first} {csm_last}" if has_csm else None,
        csm_email=f"{csm_first.lower()}.{key}@vendor.example" if has_csm else None,
        csm_phone=f"+1 555 01{rng.randint(0, 99):02d}" if has_csm else None,
        close_date=close,
        onboarding_start=started,
        contract_value=value,
        employees=employees,
        region=rng.choice(REGIONS),
        industry=rng.choice(INDUSTRIES),
        website=f"https://www.account{key}.example",
        onboarding_steps=steps,
        goals=rng.choice(("Cut ticket backlog by 30%", "Consolidate three tools into one", "Launch in EMEA by Q3")),
        active_users=active,
        licensed_seats=seats,
        mrr=round(value / 12, 2),
        integration_connected=rng.random() < 0.5,
        last_login_at=(BASE_TIME - timedelta(hours=rng.randint(1, 2_000))) if active else None,
        daily_active_pct=round(100 * active / seats * rng.uniform(0.3, 0.9), 1) if seats else 0.0,
        modified_at=BASE_TIME - timedelta(seconds=rng.randint(0, 30 * 86_400)),
    )


def _contact(key: int, account_key: int, rng: random.Random) -> SeedContact:
    persona = rng.choice(PERSONAS)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    has_email = rng.random() > 0.06
    ascii_local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "."))
    ascii_local = re.sub(r"\.+", ".", ascii_local).strip(".")
    role_known = persona is not None and rng.random() < 0.55
    return SeedContact(
        key=key,
        account_key=account_key,
        first_name=first,
        last_name=last,
        email=f"{ascii_local or 'contact'}.{key}@customer{account_key}.example" if has_email else None,
        phone=f"+44 20 7946 {rng.randint(0, 9999):04d}" if rng.random() < 0.5 else None,
        title=rng.choice(TITLES[persona]),
        role=persona if role_known else None,
        opted_out=rng.random() < 0.08,
        modified_at=BASE_TIME - timedelta(seconds=rng.randint(0, 30 * 86_400)),
    )


def accounts(count: int, seed: int = 7) -> Iterator[SeedAccount]:
    """``count`` accounts, deterministic for a given seed."""
    rng = random.Random(seed)
    for key in range(1, count + 1):
        yield _account(key, rng)


def contacts(count: int, account_count: int, seed: int = 7) -> Iterator[SeedContact]:
    """``count`` contacts spread over ``account_count`` accounts (every account gets some)."""
    rng = random.Random(seed + 1)
    for key in range(1, count + 1):
        account_key = key if key <= account_count else rng.randint(1, account_count)
        yield _contact(key, account_key, rng)
