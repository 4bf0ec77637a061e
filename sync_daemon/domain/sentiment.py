"""One account's assessment answers rolled up by persona: NPS, its change since the last cycle, better/same/worse.

Feedback is read by the respondent's role in the buying committee and is never pooled across roles, so every
figure here is per persona, and every persona is listed even when nobody in it answered (an empty row is news:
nobody in that role spoke). Pure: the caller pulls the answers, groups them by account and passes them in; no
I/O and no clock.

The rules, as a CSM would state them:

- **Current cycle**: the relationship assessment's latest cycle with at least one answer. It is compared with
  the cycle number before it (``cycle - 1``), whether or not anyone answered then. Cycle 1 has nothing to compare
  with: the onboarding assessment (cycle 0) asks a different question.
- **One voice per contact per cycle**: a contact who answered twice in a cycle counts once, with their latest
  answer (the whole answer: score, change and persona). Equal timestamps are broken by the answer's content, so
  the result never depends on the order answers arrive in.
- **Promoters** score 9-10, **passives** 7-8, **detractors** 0-6. ``nps`` = 100 x (promoters - detractors) /
  scored answers, rounded half away from zero (12.5 -> 13, -12.5 -> -13; not Python's half-to-even), None when
  nobody scored. ``nps_change`` is the difference of the two rounded figures, so it matches what the CSM saw
  last cycle.
- **Shares** of better / same / worse are over the change answers of the cycle (an answer with a change but no
  score counts here only). They are whole percents by the largest-remainder method: each share is floored, and
  the points left to reach 100 go to the largest remainders (ties: better, then same, then worse). So they
  always sum to 100 (one third each is 34 / 33 / 33), and each is within one point of the exact share.
- **Last response**: the latest answer date (UTC) of the persona over every relationship cycle.
- **Detractor alert**: a decision maker or champion (the persona on the answer) scored 0-6 in the current cycle.
  Only the relationship assessment raises it: the current cycle is what the field reports.
- **Onboarding**: the onboarding assessment (cycle 0) is rolled up in the same call, into
  :attr:`AccountSentiment.onboarding`, with the same per-persona figures and no change.
- **Personas listed**: the caller's personas in its order (the mapping's names), then any other persona that
  answered (sorted), with ``unknown`` last; so nobody's answer is dropped or pooled into another row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final

from sync_daemon.domain.personas import UNKNOWN

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "ALERT_PERSONAS",
    "CHAMPION",
    "CHANGES",
    "DECISION_MAKER",
    "KINDS",
    "ONBOARDING",
    "RELATIONSHIP",
    "TEXT_LIMIT",
    "AccountSentiment",
    "PersonaSentiment",
    "Response",
    "category",
    "rollup",
]

DECISION_MAKER: Final = "decision_maker"
CHAMPION: Final = "champion"
ALERT_PERSONAS: Final = frozenset({DECISION_MAKER, CHAMPION})
ONBOARDING: Final = "onboarding"
RELATIONSHIP: Final = "relationship"
KINDS: Final = (ONBOARDING, RELATIONSHIP)
CHANGES: Final = ("better", "same", "worse")
PROMOTER_MIN: Final = 9
PASSIVE_MIN: Final = 7
SCORE_MAX: Final = 10
TEXT_LIMIT: Final = 4000


@dataclass(frozen=True, slots=True)
class Response:
    """One contact's answer to one assessment, as pulled from the contact's fields.

    ``persona`` is what the respondent said when asked, else the contact's classified persona (maybe
    ``unknown``). ``cycle`` is 0 for the onboarding assessment, 1, 2, ... for the relationship one. ``score`` (0-10)
    and ``change`` (better / same / worse) are None when not answered. Raises ValueError on anything else, so
    the puller must set malformed answers aside (and say why) before building one.
    """

    contact_id: str
    account_id: str
    persona: str
    cycle: int
    kind: str
    score: int | None
    change: str | None
    answered_at: datetime

    def __post_init__(self) -> None:
        """Refuse an answer the rollup could not count honestly."""
        problem = _problem(self)
        if problem:
            raise ValueError(f"assessment response of contact {self.contact_id!r}: {problem}")

    @property
    def answered_on(self) -> date:
        """The UTC date of the answer."""
        return self.answered_at.astimezone(UTC).date()


def _problem(r: Response) -> str | None:
    if r.kind not in KINDS:
        return f"kind {r.kind!r} is not one of {', '.join(KINDS)}"
    if (r.kind == ONBOARDING) != (r.cycle == 0) or r.cycle < 0:
        return f"cycle {r.cycle} does not fit kind {r.kind!r} (onboarding is cycle 0, relationship 1, 2, ...)"
    if r.score is not None and not 0 <= r.score <= SCORE_MAX:
        return f"score {r.score} is outside 0-{SCORE_MAX}"
    if r.change is not None and r.change not in CHANGES:
        return f"change {r.change!r} is not one of {', '.join(CHANGES)}"
    if r.answered_at.utcoffset() is None:
        return "answered_at has no time zone"
    return None


def category(score: int) -> str:
    """``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6)."""
    if score >= PROMOTER_MIN:
        return "promoter"
    return "passive" if score >= PASSIVE_MIN else "detractor"


@dataclass(frozen=True, slots=True)
class PersonaSentiment:
    """One persona's figures in one cycle; ``responses`` counts contacts, scored or not."""

    persona: str
    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    nps: int | None = None
    nps_change: int | None = None
    better: int | None = None
    same: int | None = None
    worse: int | None = None
    last_response: date | None = None


@dataclass(frozen=True, slots=True)
class AccountSentiment:
    """An account's rollup: the current relationship cycle (None when nobody answered one) and onboarding."""

    cycle: int | None
    personas: tuple[PersonaSentiment, ...]
    onboarding: tuple[PersonaSentiment, ...]
    detractor_alert: bool

    def persona(self, name: str) -> PersonaSentiment:
        """The current cycle's row of one persona (KeyError when it is not listed)."""
        return _find(self.personas, name)

    def onboarding_persona(self, name: str) -> PersonaSentiment:
        """The onboarding assessment's row of one persona (KeyError when it is not listed)."""
        return _find(self.onboarding, name)

    def text(self) -> str:
        """The ``sentiment_by_persona`` field: a heading, one line per persona, then onboarding if answered.

        Deterministic for a given rollup; at most :data:`TEXT_LIMIT` characters (cut with "…" beyond).
        """
        lines = [_heading(self), *(_line(p, self.cycle) for p in self.personas)]
        if any(p.responses for p in self.onboarding):
            lines += ["Onboarding assessment", *(_line(p, None) for p in self.onboarding)]
        text = "\n".join(lines)
        return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _find(rows: tuple[PersonaSentiment, ...], name: str) -> PersonaSentiment:
    for row in rows:
        if row.persona == name:
            return row
    raise KeyError(name)


def rollup(responses: Iterable[Response], personas: Sequence[str]) -> AccountSentiment:
    """Roll one account's answers up by persona (ValueError when they come from several accounts)."""
    answers = _latest_per_contact(_one_account(tuple(responses)))
    names = _persona_order(personas, answers)
    relationship = [r for r in answers if r.kind == RELATIONSHIP]
    onboarding = [r for r in answers if r.kind == ONBOARDING]
    cycle = max((r.cycle for r in relationship), default=None)
    current = [r for r in relationship if r.cycle == cycle]
    previous = [r for r in relationship if cycle is not None and r.cycle == cycle - 1]
    return AccountSentiment(
        cycle=cycle,
        personas=tuple(_row(name, current, previous, relationship) for name in names),
        onboarding=tuple(_row(name, onboarding, [], onboarding) for name in names),
        detractor_alert=any(r.persona in ALERT_PERSONAS and _is_detractor(r.score) for r in current),
    )


def _one_account(responses: tuple[Response, ...]) -> tuple[Response, ...]:
    accounts = sorted({r.account_id for r in responses})
    if len(accounts) > 1:
        raise ValueError(f"a rollup is for one account; got responses of accounts {', '.join(accounts)}")
    return responses


def _latest_per_contact(responses: tuple[Response, ...]) -> list[Response]:
    """Each contact's latest answer per kind and cycle, in a fixed order."""
    latest: dict[tuple[str, int, str], Response] = {}
    for r in responses:
        key = (r.kind, r.cycle, r.contact_id)
        if key not in latest or _recency(r) > _recency(latest[key]):
            latest[key] = r
    return [latest[key] for key in sorted(latest)]


def _recency(r: Response) -> tuple[datetime, str, int, str]:
    """Order of two answers of one contact in one cycle: time, then content, so ties never depend on input order."""
    return (r.answered_at, r.persona, -1 if r.score is None else r.score, r.change or "")


def _persona_order(personas: Sequence[str], answers: list[Response]) -> list[str]:
    listed = list(dict.fromkeys(personas))
    others = sorted({r.persona for r in answers} - set(listed), key=lambda p: (p == UNKNOWN, p))
    return listed + others


def _row(name: str, current: list[Response], previous: list[Response], history: list[Response]) -> PersonaSentiment:
    mine = [r for r in current if r.persona == name]
    scores = [r.score for r in mine if r.score is not None]
    nps = _nps(scores)
    before = _nps([r.score for r in previous if r.persona == name and r.score is not None])
    better, same, worse = _shares([r.change for r in mine if r.change is not None])
    return PersonaSentiment(
        persona=name,
        responses=len(mine),
        promoters=sum(1 for s in scores if s >= PROMOTER_MIN),
        passives=sum(1 for s in scores if PASSIVE_MIN <= s < PROMOTER_MIN),
        detractors=sum(1 for s in scores if s < PASSIVE_MIN),
        nps=nps,
        nps_change=None if nps is None or before is None else nps - before,
        better=better,
        same=same,
        worse=worse,
        last_response=max((r.answered_on for r in history if r.persona == name), default=None),
    )


def _is_detractor(score: int | None) -> bool:
    return score is not None and score < PASSIVE_MIN


def _nps(scores: list[int]) -> int | None:
    if not scores:
        return None
    net = sum(1 for s in scores if s >= PROMOTER_MIN) - sum(1 for s in scores if s < PASSIVE_MIN)
    return _round_half_away(100 * net, len(scores))


def _round_half_away(numerator: int, denominator: int) -> int:
    """The nearest integer to numerator / denominator (> 0), halves away from zero, in exact integer arithmetic."""
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def _shares(changes: list[str]) -> tuple[int | None, int | None, int | None]:
    """Whole percents of better / same / worse by largest remainder, summing to 100; all None without answers."""
    if not changes:
        return None, None, None
    total = len(changes)
    counts = [changes.count(c) for c in CHANGES]
    shares = [100 * n // total for n in counts]
    by_remainder = sorted(range(len(CHANGES)), key=lambda i: (-(100 * counts[i] % total), i))
    for i in by_remainder[: 100 - sum(shares)]:
        shares[i] += 1
    return shares[0], shares[1], shares[2]


def _heading(s: AccountSentiment) -> str:
    if s.cycle is not None:
        return f"Cycle {s.cycle}"
    if any(p.responses for p in s.onboarding):
        return "No relationship assessment responses yet"
    return "No assessment responses yet"


def _line(p: PersonaSentiment, cycle: int | None) -> str:
    """One persona's line; ``cycle`` is the relationship cycle, None for the onboarding assessment."""
    if not p.responses:
        since = f" in cycle {cycle} · last {p.last_response.isoformat()}" if cycle and p.last_response else ""
        return f"{p.persona}: no responses{since}"
    nps = "n/a" if p.nps is None else _signed(p.nps)
    counts = f"{_n(p.promoters, 'promoter')}, {_n(p.passives, 'passive')}, {_n(p.detractors, 'detractor')}"
    change = "" if p.nps_change is None or cycle is None else f"; {_signed(p.nps_change)} vs cycle {cycle - 1}"
    parts = [f"{p.persona}: NPS {nps} ({counts}{change})"]
    if p.better is not None:
        parts.append(f"better {p.better}% / same {p.same}% / worse {p.worse}%")
    elif cycle is not None:
        parts.append("no change answers")
    if p.last_response is not None:
        parts.append(f"last {p.last_response.isoformat()}")
    return " · ".join(parts)


def _signed(value: int) -> str:
    return f"{value:+d}" if value else "0"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
