"""Configuration problems, reported the way a compiler reports them.

Admins edit the YAML files by hand and are not Python programmers, so every problem names the file,
the line and column (1-based, as editors count), what is wrong and, when we can tell, what would be
right. Validation collects *every* problem before failing: fixing one typo per run is miserable.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file, at a place in it when known."""

    file: str
    line: int | None
    column: int | None
    message: str
    hint: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order by file, then position (problems without one first), then message."""
        return (self.file, self.line or 0, self.column or 0, self.message)

    def render(self) -> str:
        """Render as ``file:line:col: message; hint`` (line and column left out when unknown)."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


class ConfigError(ValueError):
    """A configuration file is wrong; ``problems`` lists everything found, sorted by position."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        """Keep the problems sorted; the exception's text is the rendered list."""
        self.problems: tuple[Problem, ...] = tuple(sort_problems(problems))
        super().__init__(self.render())

    def render(self) -> str:
        """One compiler-style line per problem, sorted by file and line."""
        return "\n".join(p.render() for p in self.problems)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Sort by file and position, dropping exact duplicates (two checks may see one mistake)."""
    return sorted(set(problems), key=Problem.sort_key)


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The valid choice nearest to ``word`` (case-insensitive); ``None`` when nothing is close."""
    by_folded: dict[str, str] = {}
    for choice in choices:
        by_folded.setdefault(choice.casefold(), choice)
    match = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[match[0]] if match else None


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint for a near miss, or ``None``."""
    match = closest(word, choices)
    return f"did you mean '{match}'?" if match else None


def one_of(choices: Iterable[object]) -> str:
    """Render valid choices for a message: ``a, b, c``."""
    return ", ".join(str(c) for c in choices)
