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


def _json(output: str) -> dict:  # type: ignore[type-arg]
    return json.loads(output[output.index("{\n") :])


def test_first_backfill_flow_dry_run_stop_force_then_quiet(sandbox: SandboxHandle, tmp_path: Path) -> None:
    """Dry run shows the plan; the first real sync stops at the safety valve; --force writes; then nothing to do."""
    env = cli_env(sandbox, tmp_path)
    code, output = invoke(["sync", "--dry-run", "--output", "json"], env)
    assert code == 0, output
    dry = _json(output)
    assert dry["objects"]["contacts"]["stored"] == 400
    assert dry["push"]["planned"] == {"accounts": 109, "contacts": 400}  # every customer account gets a plan
    fields = {c["field"] for c in dry["plan"]}
    assert {"persona", "onboarding_plan", "onboarding_progress", "health", "plan_summary"} <= fields
    assert sum(c["field"] == "persona" for c in dry["plan"]) == 400
    sandbox.app.reset_calls()

    code, output = invoke(["sync"], env)
    assert code == 1
    assert "first backfill" in output
    assert "--force" in output

    code, output = invoke(["sync", "--force", "--output", "json"], env)
    assert code == 0, output
    forced = _json(output)
    assert forced["push"]["written"] == {"accounts": 109, "contacts": 400}
    # The dry run's plan is what the forced run wrote: checked in the CRM for personas and plan names.
    personas = [(c["record_id"], c["new"]) for c in dry["plan"] if c["field"] == "persona"]
    for record_id, persona in personas[:25]:
        assert sandbox_value(sandbox, record_id) == persona
    plans = [(c["record_id"], c["new"]) for c in dry["plan"] if c["field"] == "onboarding_plan"]
    assert len(plans) == 109
    for record_id, plan in plans[:25]:
        assert account_value(sandbox, record_id, "onboarding_plan") == plan

    code, output = invoke(["sync", "--output", "json"], env)
    again = _json(output)
    assert code == 0, output
    assert again["push"]["planned"] == {"accounts": 0, "contacts": 0}
    assert again["push"]["write_calls"] == 0

    code, output = invoke(["status", "--output", "json"], env)
    state = _json(output)
    assert [r["status"] for r in state["runs"]] == ["ok", "ok", "stopped", "ok"]
    assert state["safety"] == {}


def account_value(handle: SandboxHandle, account_id: str, name: str) -> object:
    field = {"salesforce": "Onboarding_Plan__c", "hubspot": "onboarding_plan"}[handle.crm]
    assert name == "onboarding_plan"
    if handle.crm == "salesforce":
        return handle.app.record("Account", account_id)[field]  # type: ignore[attr-defined]
    return handle.app.get("companies", account_id)[field]  # type: ignore[attr-defined]


def sandbox_value(handle: SandboxHandle, contact_id: str) -> object:
    if handle.crm == "salesforce":
        return handle.app.record("Contact", contact_id)["Persona__c"]  # type: ignore[attr-defined]
    return handle.app.get("contacts", contact_id)["persona"]  # type: ignore[attr-defined]


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
