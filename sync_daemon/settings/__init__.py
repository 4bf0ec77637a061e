"""Settings from ``SYNC_*``, ``SALESFORCE_*`` and ``HUBSPOT_*``, loaded once at the entrypoint.

:func:`load_settings` is pure over the mapping it is given (tests pass dicts): it reads
``os.environ`` only when given none, a ``.env`` file only when ``SYNC_ENV_FILE`` names one, and
the files that ``NAME_FILE`` variables and the secrets directory point to. It reports every
problem at once in one :class:`SettingsError`, each line starting with the variable to fix;
secrets never appear in a message or a ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.retry import RetrySettings
from sync_daemon.settings.checks import hubspot_problems, salesforce_problems, sync_problems
from sync_daemon.settings.models import (
    AuthMode,
    Crm,
    HubSpotSettings,
    LogFormat,
    SalesforceSettings,
    SyncSettings,
)
from sync_daemon.settings.sources import build, read_environment, resolve_secrets_dir

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "AppSettings",
    "AuthMode",
    "Crm",
    "HubSpotSettings",
    "LogFormat",
    "SalesforceSettings",
    "SettingsError",
    "SyncSettings",
    "load_settings",
]

DEFAULT_SECRETS_DIR = Path("/run/secrets")


class SettingsError(ValueError):
    """Bad settings: every problem found, each naming its environment variable."""

    def __init__(self, problems: list[str]) -> None:
        """Keep ``problems`` (for the CLI) and list them all in the message."""
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{count} settings problem{'s' if count != 1 else ''}:\n{lines}")


@dataclass(frozen=True, slots=True)
class AppSettings:
    """The three groups, built together so that cross-group checks (the CRM's credentials) hold."""

    sync: SyncSettings
    salesforce: SalesforceSettings
    hubspot: HubSpotSettings

    def require_crm(self) -> Crm:
        """The configured CRM, or a :class:`SettingsError` naming ``SYNC_CRM``."""
        if self.sync.crm is None:
            raise SettingsError(["SYNC_CRM: required for this command (salesforce or hubspot)"])
        return self.sync.crm

    def mapping_path(self) -> Path:
        """The mapping file: ``SYNC_MAPPING_FILE``, else ``mappings/<crm>.yaml``.

        Raises:
            SettingsError: naming both variables, when neither says which file.
        """
        path = self.sync.mapping_path()
        if path is None:
            raise SettingsError(["SYNC_CRM: required to find the mapping file (or set SYNC_MAPPING_FILE)"])
        return path

    def secret_values(self) -> list[str]:
        """Every secret value set (tokens, passwords, the database password), for the redactor."""
        values = self.salesforce.secret_values() + self.hubspot.secret_values()
        password = self.sync.database_password()
        return [*values, password] if password else values

    def retry_settings(self) -> RetrySettings:
        """The bounds of the one retry policy."""
        return RetrySettings(attempts=self.sync.retry_attempts, max_total_seconds=self.sync.retry_max_seconds)


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    require_crm: bool = False,
    default_secrets_dir: Path | None = DEFAULT_SECRETS_DIR,
) -> AppSettings:
    """The settings from ``environ`` (default ``os.environ``), or one :class:`SettingsError`.

    ``require_crm`` is for the commands that talk to a CRM (``sync``, ``run``, ``validate
    --remote``): SYNC_CRM and complete credentials for it are then required. ``demo`` and
    ``validate`` of files need neither; contradictions are reported either way.
    ``default_secrets_dir`` is used when ``SYNC_SECRETS_DIR`` is unset and the directory exists
    (tests pass None, to stay independent of the machine).
    """
    problems: list[str] = []
    env = read_environment(os.environ if environ is None else environ, problems)
    secrets_dir = resolve_secrets_dir(env, default_secrets_dir, problems)
    env = {k: v for k, v in env.items() if k != "SYNC_SECRETS_DIR"}  # record the one in effect
    if secrets_dir is not None:
        env["SYNC_SECRETS_DIR"] = str(secrets_dir)
    sync = build(SyncSettings, env, secrets_dir, problems)
    salesforce = build(SalesforceSettings, env, secrets_dir, problems)
    hubspot = build(HubSpotSettings, env, secrets_dir, problems)
    problems += _cross_problems(problems, sync, salesforce, hubspot, require_crm=require_crm)
    if problems or sync is None or salesforce is None or hubspot is None:
        raise SettingsError(problems)
    return AppSettings(sync=sync, salesforce=salesforce, hubspot=hubspot)


def _cross_problems(
    found: list[str],
    sync: SyncSettings | None,
    salesforce: SalesforceSettings | None,
    hubspot: HubSpotSettings | None,
    *,
    require_crm: bool,
) -> list[str]:
    """The checks' problems, less those about a variable that already has one (no echoes)."""
    crm = sync.crm if sync is not None else None
    problems = []
    if sync is not None:
        problems += sync_problems(sync, require_crm=require_crm)
    if salesforce is not None:
        problems += salesforce_problems(salesforce, chosen=require_crm and crm == "salesforce")
    if hubspot is not None:
        problems += hubspot_problems(hubspot, chosen=require_crm and crm == "hubspot")
    already = _names(found)
    return [problem for problem in problems if problem.split(":", 1)[0] not in already]


def _names(problems: list[str]) -> set[str]:
    return {problem.split(":", 1)[0] for problem in problems}
