"""An older daemon started on a store a newer one migrated refuses with a clear message (exit 2), changing nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from sync_daemon.cli import main
from sync_daemon.errors import SchemaTooNewError
from sync_daemon.store import Store
from sync_daemon.store.migrate import head_revision

if TYPE_CHECKING:
    from pathlib import Path


def newer_store(tmp_path: Path) -> str:
    """A store whose schema a (pretend) newer version moved to revision 9999."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store.open(url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    return url


def test_opening_a_newer_schema_raises_and_leaves_it(tmp_path: Path) -> None:
    """The error names both revisions; the schema stays at the newer one."""
    url = newer_store(tmp_path)
    with pytest.raises(SchemaTooNewError) as caught:
        Store.open(url)
    assert (caught.value.current, caught.value.head) == ("9999", head_revision())
    assert Store(url).schema_version() == "9999"


def test_the_cli_exits_2_with_the_message(tmp_path: Path) -> None:
    """``status`` on that store: exit 2 and the revisions in words, no traceback."""
    url = newer_store(tmp_path)
    result = CliRunner().invoke(main, ["status", "--database", url], env={"SYNC_LOG_FORMAT": "json"},
                                catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 2
    assert f"schema is at revision 9999, newer than this version knows (its newest is {head_revision()})" in (
        result.output
    )
    assert "Traceback" not in result.output
