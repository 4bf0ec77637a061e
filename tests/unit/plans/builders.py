"""Builders for plan-folder tests: a small valid folder, edited by text replacement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_daemon.config.errors import ConfigError
from sync_daemon.config.plan_loader import load_plans

if TYPE_CHECKING:
    from pathlib import Path

KNOWN = frozenset(
    {"contract_value", "employees", "tier", "onboarding_start", "close_date", "onboarding_steps", "active_users", "mrr"}
)

PLANS = """\
version: 1
segments:
  - template: big
    when: {field: contract_value, op: gte, value: 100}
default: small
calendar:
  holidays: [2026-12-25]
"""

SMALL = """\
version: 1
id: small
name: Small
revision: 1
target_days: 30
phases:
  - id: start
    name: Start
    tasks:
      - id: kickoff
        title: Kickoff
        side: vendor
        kind: customer_facing
        owner: csm
        duration: 2bd
        done_when: {step: kickoff}
      - id: billing
        title: Billing
        side: vendor
        kind: internal
        category: billing
        owner: billing_ops
        duration: 3d
      - id: adopt
        title: Adopt
        side: customer
        kind: customer_facing
        owner: customer_admin
        duration: 1w
        depends_on: [kickoff, billing]
        done_when:
          when: {field: active_users, op: gte, value: 3}
"""

BIG = SMALL.replace("id: small", "id: big").replace("name: Small", "name: Big")


def write_folder(root: Path, *, plans: str = PLANS, small: str = SMALL, big: str | None = BIG) -> Path:
    """A plan folder under ``root`` with ``plans.yaml``, ``small.yaml`` and (unless None) ``big.yaml``."""
    folder = root / "plans"
    folder.mkdir(exist_ok=True)
    (folder / "plans.yaml").write_text(plans, encoding="utf-8")
    (folder / "small.yaml").write_text(small, encoding="utf-8")
    if big is not None:
        (folder / "big.yaml").write_text(big, encoding="utf-8")
    return folder


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` (which must occur) replaced by ``new``."""
    assert old in text, old
    return text.replace(old, new)


def problems_in(root: Path, **files: str) -> list[str]:
    """The rendered problems of a folder built from the given files, with paths relative to it."""
    folder = write_folder(root, **files)
    try:
        load_plans(folder, KNOWN)
    except ConfigError as exc:
        return [p.render().replace(f"{folder}/", "") for p in exc.problems]
    return []
