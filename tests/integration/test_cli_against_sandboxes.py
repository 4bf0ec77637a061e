"""The CLI end to end against both sandboxes: `sync`, `validate --remote`, `status`, and failures.

Logs run at DEBUG (libraries included) so that the suite's secret guard sees everything a verbose run
would print; the sandboxes' credentials are among the secrets it looks for.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from sync_daemon.cli import main
from sync_daemon.demo import SandboxHandle, running_sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(params=["salesforce", "hubspot"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    with running_sandbox(request.param, accounts=120, contacts=400) as handle:
        yield handle


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


def cli_env(handle: SandboxHandle, tmp_path: Path) -> dict[str, str]:
    return handle.env() | {
        "SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "SYNC_LOG_FORMAT": "json",
        "SYNC_LOG_LEVEL": "DEBUG",
        "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets"),
        "HUBSPOT_TIER": "enterprise",
    }


def test_sync_then_status(sandbox: SandboxHandle, tmp_path: Path) -> None:
    """`sync` pulls everything, a second `sync` stores nothing, and `status` shows both runs."""
    env = cli_env(sandbox, tmp_path)
    code, output = invoke(["sync", "--output", "json"], env)
    assert code == 0, output
    first = json.loads(output[output.index("{\n") :])
    assert first["status"] == "ok"
    assert first["objects"]["contacts"]["stored"] == 400
    code, output = invoke(["sync", "--output", "json"], env)
    second = json.loads(output[output.index("{\n") :])
    assert second["objects"]["contacts"]["stored"] == 0
    assert "sync.cycle_finished" in output
    code, output = invoke(["status", "--output", "json"], env)
    runs = json.loads(output[output.index("{\n") :])["runs"]
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert runs[0]["api_calls"] == second["api_calls"]


def test_validate_remote_accepts_the_shipped_mapping(sandbox: SandboxHandle, tmp_path: Path) -> None:
    """The shipped mapping matches the sandbox CRM's schema (fields exist, types fit, push fields updateable)."""
    code, output = invoke(["validate", "--remote"], cli_env(sandbox, tmp_path))
    assert code == 0, output
    assert "matches the CRM's schema" in output


def test_refused_credentials_exit_1_without_the_secret(sandbox: SandboxHandle, tmp_path: Path) -> None:
    """Credentials the CRM refuses end the run with exit 1 and a message that names no secret."""
    env = cli_env(sandbox, tmp_path)
    if sandbox.crm == "salesforce":
        env["SALESFORCE_CONSUMER_SECRET"] = "wrong-secret-value"
    else:
        sandbox.app.expire_token()  # type: ignore[attr-defined]
    code, output = invoke(["sync"], env)
    assert code == 1, output
    assert "AuthError" in output
    assert "wrong-secret-value" not in output
