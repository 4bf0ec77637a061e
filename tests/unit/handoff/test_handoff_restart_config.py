"""The policy's at-risk restart, status labels and note settings, and one report for a broken policy and note."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from sync_daemon.config.errors import ConfigError
from sync_daemon.config.handoff_loader import load_handoff
from sync_daemon.config.handoff_models import StatusLabels
from sync_daemon.config.loader import load_mapping
from sync_daemon.resources import shipped
from sync_daemon.settings import load_settings
from sync_daemon.wiring import load_handoff_setup, load_plan_set
from tests.unit.handoff.builders import KNOWN, ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from sync_daemon.config.handoff_models import HandoffPolicy
    from sync_daemon.settings import AppSettings

SHIPPED = (ROOT / "config" / "handoff.yaml").read_text(encoding="utf-8")
SHIPPED_LINES = SHIPPED.count("\n")
TEMPLATES = frozenset({"smb", "mid_market", "enterprise", "retention"})


def write(tmp_path: Path, extra: str, base: str = SHIPPED) -> Path:
    """The shipped policy with ``extra`` appended (its first line is SHIPPED_LINES + 1)."""
    path = tmp_path / "handoff.yaml"
    path.write_text(base + extra, encoding="utf-8")
    return path


def problems(path: Path, templates: frozenset[str] | None = TEMPLATES) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_handoff(path, KNOWN, template_ids=templates)
    return [p.render() for p in caught.value.problems]


def load(path: Path, templates: frozenset[str] | None = TEMPLATES) -> HandoffPolicy:
    return load_handoff(path, KNOWN, template_ids=templates)


# --- at_risk.restart_template ----------------------------------------------------------------------------------


def test_the_shipped_policy_restarts_from_the_retention_template_by_hand() -> None:
    """Unset, the restart template is 'retention', started by a person; the shipped plans have it."""
    policy = load(ROOT / "config" / "handoff.yaml")
    assert (policy.at_risk.restart_template, policy.at_risk.automatic) == ("retention", False)


def test_a_misspelt_restart_template_is_reported_at_its_line_with_the_closest_one(tmp_path: Path) -> None:
    """An explicit template no plan file defines is reported where it is written, with 'did you mean'."""
    path = write(tmp_path, "at_risk:\n  restart_template: retension\n")
    line = SHIPPED_LINES + 2
    assert problems(path) == [
        f"{path}:{line}:21: at_risk.restart_template 'retension' is not a plan template; did you mean 'retention'?"
    ]


def test_an_unrelated_restart_template_says_how_to_fix_it(tmp_path: Path) -> None:
    """A name close to nothing asks for the plan file, or for null."""
    path = write(tmp_path, "at_risk:\n  restart_template: zzz\n")
    (found,) = problems(path)
    assert "at_risk.restart_template 'zzz' is not a plan template" in found
    assert "add config/plans/zzz.yaml" in found
    assert "restart_template: null" in found


def test_the_default_restart_template_is_reported_when_the_plan_folder_lacks_it(tmp_path: Path) -> None:
    """Without retention in the plan folder, the unset default is reported, in at_risk if given, as the default."""
    path = write(tmp_path, "")
    (found,) = problems(path, TEMPLATES - {"retention"})
    assert found.startswith(f"{path}:")
    assert "at_risk.restart_template 'retention' (the default) is not a plan template" in found
    with_section = write(tmp_path, "at_risk:\n  automatic: true\n")
    (inside,) = problems(with_section, TEMPLATES - {"retention"})
    assert inside.startswith(f"{with_section}:{SHIPPED_LINES + 2}:3: ")  # the at_risk section's mapping
    assert "(the default)" in inside


def test_restart_template_null_turns_the_restart_path_off(tmp_path: Path) -> None:
    """``restart_template: null`` loads even without a retention template; the policy has no restart template."""
    policy = load(write(tmp_path, "at_risk:\n  restart_template: null\n  automatic: false\n"), frozenset({"smb"}))
    assert policy.at_risk.restart_template is None


def test_the_restart_template_is_not_checked_without_the_plan_folder(tmp_path: Path) -> None:
    """With no template ids given (the plan folder not loaded), any name is accepted."""
    policy = load(write(tmp_path, "at_risk:\n  restart_template: winback\n"), None)
    assert policy.at_risk.restart_template == "winback"


# --- status_labels and note ------------------------------------------------------------------------------------


def test_status_labels_and_note_settings_load(tmp_path: Path) -> None:
    """Labels given replace the defaults one by one; the note's title and expected personas are read."""
    extra = (
        "status_labels:\n  ready: Bereit\n  on_hold: Angehalten\n"
        "note:\n  title: Übergabe\n  expected_personas: [champion, end_user]\n"
    )
    policy = load(write(tmp_path, extra))
    assert policy.status_labels == StatusLabels(ready="Bereit", on_hold="Angehalten")
    assert policy.status_labels.onboarding == "Not ready"
    assert (policy.note.title, policy.note.expected_personas) == ("Übergabe", ["champion", "end_user"])


def test_an_unknown_status_label_key_is_reported_at_its_line(tmp_path: Path) -> None:
    """A misspelt outcome under status_labels is reported at its key, with the closest outcome."""
    path = write(tmp_path, "status_labels:\n  ready: Bereit\n  onbaording: In Arbeit\n")
    assert problems(path) == [
        f"{path}:{SHIPPED_LINES + 3}:3: unknown key 'onbaording' in status_labels; did you mean 'onboarding'?"
    ]


def test_bad_label_and_note_values_are_reported_at_their_lines(tmp_path: Path) -> None:
    """An empty label, an unknown note key and a persona that is no identifier: each at its own line."""
    extra = "status_labels:\n  ready: ''\nnote:\n  tittle: Hi\n  expected_personas: [Champion!]\n"
    path = write(tmp_path, extra)
    found = problems(path)
    assert [p.split(": ", 1)[0] for p in found] == [
        f"{path}:{SHIPPED_LINES + 2}:10",
        f"{path}:{SHIPPED_LINES + 4}:3",
        f"{path}:{SHIPPED_LINES + 5}:23",
    ]
    assert "ready must not be empty" in found[0]
    assert "unknown key 'tittle' in note; did you mean 'title'?" in found[1]
    assert "'Champion!' is not a valid name" in found[2]


# --- wiring: the policy and the note template in one report -----------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of the shipped config folder: plans, handoff policy and note template."""
    folder = tmp_path / "config"
    shutil.copytree(shipped("config"), folder)
    return folder


def settings_for(folder: Path) -> AppSettings:
    return load_settings({"SYNC_CONFIG_DIR": str(folder), "SYNC_CRM": "hubspot"}, default_secrets_dir=None)


def setup_problems(folder: Path) -> list[str]:
    settings = settings_for(folder)
    mapping = load_mapping(shipped("mappings/hubspot.yaml"))
    with pytest.raises(ConfigError) as caught:
        load_handoff_setup(settings, mapping, load_plan_set(settings, mapping))
    return [p.render() for p in caught.value.problems]


def test_the_shipped_config_folder_sets_up_the_handoff_with_its_restart_template(config: Path) -> None:
    """A clean copy loads: the policy, the note template, and the retention template for restarts."""
    settings = settings_for(config)
    mapping = load_mapping(shipped("mappings/hubspot.yaml"))
    plans = load_plan_set(settings, mapping)
    assert plans is not None
    setup = load_handoff_setup(settings, mapping, plans)
    assert setup is not None
    assert setup.restart_template is plans.templates["retention"]
    assert setup.template.origin == str(config / "handoff_note.txt.j2")
    (config / "handoff.yaml").unlink()
    assert load_handoff_setup(settings, mapping, plans) is None


def test_a_broken_policy_and_a_broken_note_template_are_reported_together(config: Path) -> None:
    """Both files' problems come in one ConfigError, each at its file and line, before anything runs."""
    policy = config / "handoff.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("at_least: partial_utilization", "at_least: partial_utilisation"), encoding="utf-8")
    note = config / "handoff_note.txt.j2"
    note.write_text(note.read_text(encoding="utf-8").replace("csm.email", "csm.emial", 1), encoding="utf-8")
    found = setup_problems(config)
    at_least_line = text.splitlines().index("      at_least: partial_utilization") + 1
    note_lines = note.read_text(encoding="utf-8").splitlines()
    note_line = next(n for n, line in enumerate(note_lines, start=1) if "csm.emial" in line)
    policy_found = [p for p in found if p.startswith(f"{policy}:")]
    note_found = [p for p in found if p.startswith(f"{note}:")]
    assert len(policy_found) == 1
    assert policy_found[0].startswith(f"{policy}:{at_least_line}:")
    assert "unknown adoption status 'partial_utilisation'" in policy_found[0]
    assert "did you mean 'partial_utilization'?" in policy_found[0]
    assert note_found
    assert all(p.startswith(f"{note}:{note_line}:") for p in note_found)
    assert "unknown attribute 'emial' of csm; did you mean 'email'?" in note_found[0]
    assert len(found) == len(policy_found) + len(note_found)


def test_the_restart_template_is_checked_against_the_config_folder_plans(config: Path) -> None:
    """Removing retention.yaml from the plan folder makes the default restart template a problem."""
    (config / "plans" / "retention.yaml").unlink()
    (found,) = setup_problems(config)
    assert found.startswith(f"{config / 'handoff.yaml'}:")
    assert "'retention' (the default) is not a plan template" in found
