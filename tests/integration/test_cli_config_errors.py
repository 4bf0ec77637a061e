"""Bad configuration stops the CLI with exit 2 and every problem listed, before any CRM call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from sync_daemon.cli import main
from sync_daemon.sandbox.hubspot import ACCESS_TOKEN, HubSpotSandbox
from sync_daemon.sandbox.server import SandboxServer
from tests.conftest import KNOWN_TOKEN

if TYPE_CHECKING:
    from collections.abc import Iterator

BROKEN = Path(__file__).parents[1] / "fixtures" / "cli" / "broken_hubspot.yaml"


@pytest.fixture
def hubspot() -> Iterator[tuple[HubSpotSandbox, SandboxServer]]:
    app = HubSpotSandbox(accounts=5, contacts=10)
    with SandboxServer(app, tls=False) as server:
        yield app, server


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    runner = CliRunner()
    base = {"SYNC_LOG_FORMAT": "json", "SYNC_SECRETS_DIR": "/nonexistent-secrets-dir"}
    result = runner.invoke(main, args, env=base | env, catch_exceptions=False)
    return result.exit_code, result.output  # click 8.2+: stdout and stderr interleaved


def test_broken_mapping_lists_every_mistake_and_calls_no_crm(
    hubspot: tuple[HubSpotSandbox, SandboxServer], tmp_path: Path
) -> None:
    """Five mistakes in one mapping file: exit 2, each with file:line and a suggestion, zero CRM calls."""
    app, server = hubspot
    env = {
        "SYNC_CRM": "hubspot",
        "HUBSPOT_BASE_URL": server.url,
        "HUBSPOT_ACCESS_TOKEN": ACCESS_TOKEN,
        "SYNC_MAPPING_FILE": str(BROKEN),
        "SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }
    code, output = invoke(["sync"], env)
    assert code == 2, output
    expected = {
        12: "did you mean 'name'",
        20: "found a list",
        48: "keep",
        53: "did you mean 'scope'",
        71: "did you mean 'decision_maker'",
    }
    for line, hint in expected.items():
        matching = [row for row in output.splitlines() if f"broken_hubspot.yaml:{line}:" in row]
        assert matching, f"no problem reported at line {line}:\n{output}"
        assert any(hint in row for row in matching), f"line {line} lacks {hint!r}:\n{output}"
    assert app.calls == []


def test_validate_reports_the_same_mistakes(tmp_path: Path) -> None:
    """`validate` checks the files without credentials and exits 2 on the broken file."""
    code, output = invoke(["validate"], {"SYNC_CRM": "hubspot", "SYNC_MAPPING_FILE": str(BROKEN)})
    assert code == 2
    assert output.count("broken_hubspot.yaml:") >= 5


def test_validate_accepts_the_shipped_files() -> None:
    """The shipped mapping files validate cleanly."""
    code, output = invoke(["validate"], {})
    assert code == 0, output


def test_missing_secret_names_the_setting(tmp_path: Path) -> None:
    """SYNC_CRM=hubspot without a token exits 2 naming HUBSPOT_ACCESS_TOKEN."""
    code, output = invoke(["sync"], {"SYNC_CRM": "hubspot", "SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"})
    assert code == 2
    assert "HUBSPOT_ACCESS_TOKEN" in output


def test_salesforce_settings_problems_are_reported_together(tmp_path: Path) -> None:
    """Several settings problems come in one report, and a secret given is never echoed."""
    env = {
        "SYNC_CRM": "salesforce",
        "SALESFORCE_ACCESS_TOKEN": KNOWN_TOKEN,  # a token without its instance URL
        "SALESFORCE_API_VERSION": "sixty",
        "SYNC_OVERLAP_SECONDS": "-5",
    }
    code, output = invoke(["sync"], env)
    assert code == 2
    for name in ("SALESFORCE_INSTANCE_URL", "SALESFORCE_API_VERSION", "SYNC_OVERLAP_SECONDS"):
        assert name in output, output
    assert KNOWN_TOKEN not in output


def test_validate_lists_every_plan_template_mistake(tmp_path: Path) -> None:
    """Broken plan templates exit 2 with each mistake at its line: a cycle, an unknown dependency, a bad duration."""
    import shutil  # noqa: PLC0415

    plans = tmp_path / "config" / "plans"
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "plans" / "broken", plans)
    code, output = invoke(["validate"], {"SYNC_CONFIG_DIR": str(tmp_path / "config")})
    assert code == 2
    assert "basic.yaml:17:22: dependency cycle: kickoff -> setup -> configure -> kickoff" in output
    assert "basic.yaml:24:33: task 'setup' depends on unknown task 'kickof'; did you mean 'kickoff'?" in output
    assert "basic.yaml:16:19: duration of task 'kickoff': '5 days' is not a duration" in output
    assert (
        "plans.yaml:5:19: unknown field 'contract_valeu' in segments[0].when; did you mean 'contract_value'?" in output
    )


def test_sync_with_a_broken_plan_template_exits_2_before_any_crm_call(
    hubspot: tuple[HubSpotSandbox, SandboxServer], tmp_path: Path
) -> None:
    """A template with a dependency cycle stops `sync` with exit 2 and its line, having made no CRM call."""
    import shutil  # noqa: PLC0415

    app, server = hubspot
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "plans" / "broken", tmp_path / "config" / "plans")
    env = {
        "SYNC_CRM": "hubspot",
        "HUBSPOT_BASE_URL": server.url,
        "HUBSPOT_ACCESS_TOKEN": ACCESS_TOKEN,
        "SYNC_CONFIG_DIR": str(tmp_path / "config"),
        "SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }
    code, output = invoke(["sync"], env)
    assert code == 2, output
    assert "dependency cycle: kickoff -> setup -> configure -> kickoff" in output
    assert app.calls == []


def test_validate_reports_handoff_policy_and_note_template_mistakes(tmp_path: Path) -> None:
    """A broken handoff policy and a note template with a typo both exit 2 with their lines and suggestions."""
    import shutil  # noqa: PLC0415

    from sync_daemon.resources import shipped  # noqa: PLC0415

    config = tmp_path / "config"
    shutil.copytree(shipped("config/plans"), config / "plans")
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "handoff" / "broken.yaml", config / "handoff.yaml")
    note = shipped("config/handoff_note.txt.j2").read_text(encoding="utf-8")
    (config / "handoff_note.txt.j2").write_text(note.replace("csm.email", "csm.emial", 1), encoding="utf-8")
    code, output = invoke(["validate"], {"SYNC_CONFIG_DIR": str(config)})
    assert code == 2
    assert "handoff.yaml:" in output
    note_lines = [row for row in output.splitlines() if "handoff_note.txt.j2:" in row]
    assert note_lines
    assert any("unknown attribute 'emial' of csm; did you mean 'email'?" in row for row in note_lines)
