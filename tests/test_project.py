"""The project's own promises: the README's two commands, CI running exactly the test command, lint and types."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n\s*```", text, flags=re.DOTALL)


def test_readme_opens_with_the_two_commands() -> None:
    """The README's first command installs and runs the demo, its second runs the tests."""
    first, second = (c.strip() for c in readme_commands()[:2])
    assert first.endswith("sync-daemon demo")
    assert "pip install" in first
    assert second.endswith("python -m pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """`.ci/run` runs the README's test command verbatim, after making sure PostgreSQL is up."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    second = readme_commands()[1].strip()
    assert second in script.splitlines()
    assert script.index("pg_isready") < script.index(second)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_is_clean() -> None:
    """The whole tree passes ruff's lint rules and formatting."""
    lint = _run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_is_clean() -> None:
    """The packages type-check under mypy's strict mode."""
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
