"""The README's deployment table of environment variables cannot drift from the settings models.

Each setting's variable has one row, its default column shows the model's default (where the default is a value;
a computed default is described in words), and the "file" column marks exactly the settings that also read
``NAME_FILE``. No row names a variable that nothing reads.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync_daemon.settings import HubSpotSettings, SalesforceSettings, SyncSettings

if TYPE_CHECKING:
    from sync_daemon.settings.models import _EnvSettings

README = Path(__file__).resolve().parents[2] / "README.md"
GROUPS: tuple[type[_EnvSettings], ...] = (SyncSettings, SalesforceSettings, HubSpotSettings)
# Variables read outside the models: the .env file the loader reads first, and the webhook channel's secret (a
# channel names its variable; this is the default name), which resolve_secret also reads from NAME_FILE.
OUTSIDE_MODELS = {"SYNC_ENV_FILE": False, "SYNC_WEBHOOK_SECRET": True}
MISSING = ["(no row)", "(no row)", ""]  # the first test names the missing rows; the others report them too


def deployment_rows() -> dict[str, list[str]]:
    """The rows of the table under "### Environment variables" in "## Deployment", by variable."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("\n### Environment variables\n", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        name = cells[0].strip("`")
        assert name not in rows, f"{name} has two rows"
        rows[name] = cells[1:]
    return rows


def shown(default: Any) -> str | None:
    """The default as the table writes it, or None for a default computed at load time (None, empty)."""
    if default is None or default == "":
        return None
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float):
        return f"{default:g}"
    if isinstance(default, time):
        return default.strftime("%H:%M")
    return str(default)


def settings() -> dict[str, tuple[str | None, bool]]:
    """Every setting's variable: its default as shown, and whether ``NAME_FILE`` reads it."""
    found = {}
    for cls in GROUPS:
        for name, info in cls.model_fields.items():
            found[cls.env_name(name)] = (shown(info.default), name in cls.file_fields)
    return found


def test_every_setting_has_one_row_and_every_row_a_setting() -> None:
    """The table's variables are exactly the models' plus the two read elsewhere."""
    rows = deployment_rows()
    expected = set(settings()) | set(OUTSIDE_MODELS)
    assert sorted(expected - set(rows)) == [], "settings missing from the README's deployment table"
    assert sorted(set(rows) - expected) == [], "README rows naming no setting"


def test_each_row_shows_the_models_default() -> None:
    """A value default is shown as that value in backticks; a computed one is described, never given a value."""
    rows = deployment_rows()
    wrong = {}
    for name, (default, _) in settings().items():
        cell = rows.get(name, MISSING)[0]
        if default is None:
            if cell.startswith("`") and cell.endswith("`") and "<" not in cell:
                wrong[name] = f"{cell} (the model computes this default)"
        elif cell != f"`{default}`":
            wrong[name] = f"{cell}, expected `{default}`"
    assert wrong == {}


def test_the_file_column_marks_exactly_the_settings_read_from_name_file() -> None:
    """The file column says yes for the secrets a ``NAME_FILE`` can hold, and nothing otherwise."""
    rows = deployment_rows()
    marks = {name: file_field for name, (_, file_field) in settings().items()} | OUTSIDE_MODELS
    cells = {name: rows.get(name, MISSING)[1] for name in marks}
    wrong = {name: cell for name, cell in cells.items() if (cell == "yes") != marks[name]}
    assert wrong == {}
    assert {cells[1] for cells in rows.values()} <= {"yes", ""}
