"""The CLI as the command tests run it: on the test's own SQLite store, with JSON logs and no secrets dir."""

from __future__ import annotations

from typing import TYPE_CHECKING

from click.testing import CliRunner

from sync_daemon import cli

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conformance.drivers import Driver


def invoke(driver: Driver, tmp_path: Path, *args: str, config: Path | None = None) -> tuple[int, str, str]:
    """Run the CLI on the test's store; returns exit code, stdout and everything printed."""
    env = {
        "SYNC_CRM": driver.crm,
        "SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets"),
        "SYNC_LOG_FORMAT": "json",
    }
    if config is not None:
        env["SYNC_CONFIG_DIR"] = str(config)
    result = CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.output
