"""The handoff note: what the CSM reads when an account leaves onboarding, rendered from an admin's template.

The cycle builds a :class:`HandoffContext` from the store (pure data, frozen) and :func:`render` turns it into
plain text through a Jinja2 template the admin may edit. Plain text, not HTML: each connector escapes the text
and turns paragraphs and ``- `` bullets into the markup its CRM shows, so the template never has to know which
CRM it writes to.

The Jinja2 environment is sandboxed (no ``__class__`` walks from an admin's template), strict (a misspelt name
is an error, never an empty string) and has autoescape off (the output is text; the connectors escape it).
Values coming from the CRM are *data*: Jinja2 prints an expression's value and never evaluates it again, so an
account named ``{{ 7*7 }}`` is printed as exactly that. ``None`` prints as an empty string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import partial
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

from sync_daemon.domain.personas import UNKNOWN

if TYPE_CHECKING:
    from datetime import date, datetime
    from types import TracebackType

    from jinja2 import Template

    from sync_daemon.config.plan_models import Side

__all__ = [
    "TEMPLATE_FILENAME",
    "TRIM_MARKER",
    "Account",
    "Adoption",
    "AssessmentScore",
    "Csm",
    "DoneTask",
    "HandoffContext",
    "Kpi",
    "Member",
    "NoteRenderError",
    "NoteTemplate",
    "OpenTask",
    "PersonaGroup",
    "Risks",
    "Timing",
    "UnknownNameError",
    "note_environment",
    "render",
    "template_line",
    "tidy",
    "trimmed",
]

TEMPLATE_FILENAME = "<template>"  # what Jinja2 names a from_string template's frames in a traceback
TRIM_MARKER = "… (full note on the account)"


@dataclass(frozen=True, slots=True)
class Account:
    """The account being handed off."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Csm:
    """The new point of contact and how to reach them; email and phone may be unknown in the CRM."""

    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class DoneTask:
    """A finished plan task: what, by which side, by whom, when."""

    title: str
    side: Side
    owner: str
    done_on: date


@dataclass(frozen=True, slots=True)
class OpenTask:
    """A task still open at handoff and who owns it (the owner is a role, e.g. ``implementation lead``)."""

    title: str
    side: Side
    owner_role: str
    due: date | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class Kpi:
    """One usage KPI as the mapping names it, with its value (``None`` when the CRM has none)."""

    name: str
    value: str | int | float | bool | date | datetime | None


@dataclass(frozen=True, slots=True)
class Adoption:
    """The adoption status, since when the account has held it, and the KPIs it was decided on."""

    status: str
    since: date | None
    adopted: bool
    kpis: tuple[Kpi, ...] = ()


@dataclass(frozen=True, slots=True)
class AssessmentScore:
    """An onboarding assessment answer low enough to be a risk (filled in once assessments exist)."""

    score: float
    out_of: float
    answered_on: date | None = None


@dataclass(frozen=True, slots=True)
class Risks:
    """What could go wrong after the handoff: overdue work, slip, personas nobody covers, a low assessment."""

    overdue: tuple[OpenTask, ...] = ()
    slip_days: int = 0
    missing_personas: tuple[str, ...] = ()
    low_assessment: AssessmentScore | None = None

    @property
    def recorded(self) -> bool:
        """Whether there is any risk to write down (so the template can say "No risks recorded.")."""
        return bool(self.overdue or self.slip_days > 0 or self.missing_personas or self.low_assessment)


@dataclass(frozen=True, slots=True)
class Timing:
    """Days from sale to handoff against the target; the sale date may be missing from the CRM."""

    sale_date: date | None
    handoff_date: date
    target_days: int

    @property
    def days(self) -> int | None:
        """Days from sale to handoff, computed so it can never disagree with the two dates."""
        return None if self.sale_date is None else (self.handoff_date - self.sale_date).days

    @property
    def over_target(self) -> int | None:
        """Days past the target (negative: ahead of it), or ``None`` without a sale date."""
        days = self.days
        return None if days is None else days - self.target_days


@dataclass(frozen=True, slots=True)
class Member:
    """A buying-committee contact."""

    name: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class PersonaGroup:
    """The contacts of one persona (``unknown`` included: the CSM must know whom nobody has placed)."""

    persona: str
    members: tuple[Member, ...] = ()

    @property
    def label(self) -> str:
        """A reader's name for the persona: ``decision_maker`` -> ``Decision maker``."""
        if self.persona == UNKNOWN:
            return "Role not known"
        return self.persona.replace("_", " ").strip().capitalize()


@dataclass(frozen=True, slots=True)
class HandoffContext:
    """Everything the note may say; the top-level names a template sees are these fields."""

    account: Account
    csm: Csm | None
    goals: str  # free text agreed with the customer; empty when none were recorded
    done: tuple[DoneTask, ...]
    open: tuple[OpenTask, ...]
    adoption: Adoption
    risks: Risks
    timing: Timing
    committee: tuple[PersonaGroup, ...]

    def variables(self) -> dict[str, object]:
        """The template's top-level variables (shallow: nested objects keep their properties)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class UnknownNameError(UndefinedError):
    """A template read a name that is not there: a variable (``owner`` is ``MISSING``) or an attribute of ``owner``."""

    def __init__(self, message: str | None = None, *, owner: object = missing, name: object = None) -> None:
        super().__init__(message)
        self.owner = owner
        self.name = name

    @property
    def is_variable(self) -> bool:
        """Whether a top-level variable is missing (rather than an attribute of some value)."""
        return self.owner is missing


class NoteRenderError(ValueError):
    """Rendering the note failed at run time; ``line`` is the template line when Jinja2 tells it."""

    def __init__(self, origin: str, line: int | None, message: str) -> None:
        self.origin, self.line, self.reason = origin, line, message
        where = f"{origin}:{line}" if line else origin
        super().__init__(f"{where}: the handoff note cannot be rendered: {message}")


class _StrictNames(StrictUndefined):
    """StrictUndefined that says *which* name on *which* object was missing, for a precise hint."""

    __slots__ = ()

    def __init__(
        self, hint: str | None = None, obj: Any = missing, name: str | None = None, exc: Any = UndefinedError
    ) -> None:
        if exc is UndefinedError:  # sandbox refusals keep their SecurityError
            exc = partial(UnknownNameError, owner=obj, name=name)
        super().__init__(hint, obj, name, exc)


def _finalize(value: object) -> object:
    """Print ``None`` (a value the CRM does not have) as nothing rather than the word ``None``."""
    return "" if value is None else value


def note_environment() -> SandboxedEnvironment:
    """The one Jinja2 environment notes are compiled in: sandboxed, strict, plain text, no loader."""
    return SandboxedEnvironment(
        undefined=_StrictNames,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
        loader=None,  # include / import / extends have nothing to load: the template is one file
    )


@dataclass(frozen=True)
class NoteTemplate:
    """A validated note template (build it with ``sync_daemon.config.note_template.load_note_template``)."""

    origin: str  # the file it came from, for messages
    source: str
    compiled: Template

    @classmethod
    def compile(cls, source: str, origin: str) -> NoteTemplate:
        """Compile ``source`` (raises Jinja2's ``TemplateSyntaxError``); no validation beyond syntax."""
        return cls(origin, source, note_environment().from_string(source))


def render(template: NoteTemplate, context: HandoffContext) -> str:
    """The note's text for ``context``, tidied; raise :class:`NoteRenderError` when the template fails."""
    try:
        text = template.compiled.render(context.variables())
    except Exception as exc:  # a template can raise anything; the cycle needs one error with a line
        raise NoteRenderError(template.origin, template_line(exc), str(exc)) from exc
    return tidy(text)


def template_line(exc: BaseException) -> int | None:
    """The template line an exception raised while rendering was raised at (Jinja2 rewrites tracebacks)."""
    line = getattr(exc, "lineno", None)  # syntax errors carry it
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line if isinstance(line, int) else None


_BLANK_RUN = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one final newline: forgiving to admins' edits."""
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_RUN.sub("\n\n", lines).strip("\n") + "\n"


def trimmed(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its leading lines and :data:`TRIM_MARKER`.

    The cut falls at a line boundary (a long first line is cut at a space, else anywhere), so a list view
    never shows half a bullet; the result is always a prefix of ``text`` followed by the marker.
    """
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    if len(text) <= limit:
        return text
    room = limit - len(TRIM_MARKER)
    if room <= 0:
        return text[:limit]
    head = text[:room]
    cut = head.rfind("\n")
    if cut >= 0:
        kept = head[: cut + 1]
        kept = kept.rstrip("\n") + "\n" if kept.strip() else ""
    else:
        space = head.rfind(" ")
        kept = head[: space + 1] if space > 0 else head
    return kept + TRIM_MARKER
