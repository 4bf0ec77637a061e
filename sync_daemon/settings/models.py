"""The three groups of environment settings, one pydantic-settings class per prefix.

Values reach these classes as init arguments built from an explicit environ mapping (see
:mod:`sync_daemon.settings.sources`) or from a secrets directory; they never read ``os.environ``
themselves, so a test can build them from a dict. Secrets are :class:`~pydantic.SecretStr`, so a
``repr`` or a log of the settings shows ``'**********'`` instead of the value.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sync_daemon.resources import resolve

Crm = Literal["salesforce", "hubspot"]
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
AuthMode = Literal["token", "jwt", "client_credentials", "password"]
HubSpotTier = Literal["free", "starter", "professional", "enterprise"]

AUTH_MODES: tuple[AuthMode, ...] = ("token", "jwt", "client_credentials", "password")
DATABASE_FILE = "sync-daemon.db"
_API_VERSION = re.compile(r"^v?(\d{2}\.\d)$")
_DOMAIN = re.compile(r"^[A-Za-z0-9.\-]+(:\d+)?$")


class _EnvSettings(BaseSettings):
    """Shared behaviour: frozen, and fed only by init arguments and the secrets directory."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=False, extra="forbid")

    # Fields whose value may also come from ``NAME_FILE`` (secrets, and URLs that embed one).
    file_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields whose environment name is not ``PREFIX + FIELD``.
    env_overrides: ClassVar[dict[str, str]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Drop the os.environ and .env sources: the loader passes the environment in explicitly."""
        del settings_cls, env_settings, dotenv_settings
        return (init_settings, file_secret_settings)

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets ``field`` (``SALESFORCE_ACCESS_TOKEN``)."""
        prefix = str(cls.model_config.get("env_prefix", ""))
        return (prefix + cls.env_overrides.get(field, field)).upper()

    def secret_values(self) -> list[str]:
        """Every secret value that is set, for the log redactor."""
        values = [getattr(self, name) for name in type(self).model_fields]
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]


class SyncSettings(_EnvSettings):
    """``SYNC_*``: what the daemon talks to, where it keeps state, how it logs and retries."""

    model_config = SettingsConfigDict(env_prefix="SYNC_")
    file_fields: ClassVar[frozenset[str]] = frozenset({"database_url"})

    crm: Crm | None = None
    data_dir: Path = Path("data")
    database_url: str = ""
    config_dir: Path = Path("config")
    mapping_file: Path | None = None
    log_format: LogFormat = "auto"
    log_level: LogLevel = "INFO"
    log_emails: bool = False
    overlap_seconds: int = Field(default=300, ge=0)
    http_timeout_seconds: float = Field(default=30.0, gt=0)
    retry_attempts: int = Field(default=6, ge=1)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    page_size: int = Field(default=2000, ge=200, le=2000)
    secrets_dir: Path | None = None
    progress_interval_seconds: float = Field(default=10.0, ge=0)
    safety_max_share: float = Field(default=0.30, gt=0, le=1)
    safety_min_records: int = Field(default=50, ge=1)
    api_reserve_share: float = Field(default=0.20, ge=0, lt=1)
    webhook_ca_bundle: Path | None = None  # a survey tool behind a private CA (the assessment webhook channel)
    # `sync-daemon run`: when cycles and assessment sends run, how it stops, how replicas share the work.
    schedule_interval_seconds: int = Field(default=900, ge=1, le=86_400)
    schedule_cron: str | None = None  # a crontab line (minute hour day month weekday); wins over the interval
    schedule_timezone: str = "UTC"  # the cron line's and the assessment time's zone
    assessment_time: time = time(10, 0)  # the daily assessment sends, in schedule_timezone
    misfire_grace_seconds: int = Field(default=300, ge=1)
    shutdown_grace_seconds: float = Field(default=60.0, gt=0, le=3600)
    lease_ttl_seconds: float = Field(default=30.0, ge=3, le=3600)
    outbox_lease_seconds: float = Field(default=300.0, ge=1, le=86_400)  # a claimed intent's hold (a dead claimer's)
    health_host: str = "0.0.0.0"  # noqa: S104 - a container's health port listens on every interface
    health_port: int = Field(default=8080, ge=0, le=65535)  # 0: no health server
    ready_max_age_seconds: float | None = Field(default=None, gt=0)  # default: 3 intervals (or a day with cron)

    @model_validator(mode="before")
    @classmethod
    def _default_database_url(cls, data: Any) -> Any:
        """Default to a SQLite file inside ``data_dir``, which is why this needs the raw data."""
        if isinstance(data, dict) and not data.get("database_url"):
            data_dir = data.get("data_dir") or "data"
            data = {**data, "database_url": f"sqlite:///{Path(data_dir) / DATABASE_FILE}"}
        return data

    @field_validator("schedule_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA zone name such as Europe/Berlin, checked now rather than at the first scheduled run."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("schedule_cron")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        """Five crontab fields, checked by APScheduler's own parser."""
        if value is None or not value.strip():
            return None
        from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 - only when a cron line is set

        try:
            CronTrigger.from_crontab(value.strip())
        except ValueError as exc:
            raise ValueError(f"not a crontab line (minute hour day month weekday): {exc}") from None
        return value.strip()

    @field_validator("log_level", "log_format", "crm", mode="before")
    @classmethod
    def _normalise_case(cls, value: Any) -> Any:
        """Accept ``info`` or ``Salesforce``: people type environment variables by hand."""
        if not isinstance(value, str):
            return value
        return value.upper() if value.lower() in {"debug", "info", "warning", "error"} else value.lower()

    def mapping_path(self) -> Path | None:
        """The mapping file: ``SYNC_MAPPING_FILE``, else ``mappings/<crm>.yaml``, else None.

        The unchanged default falls back to the shipped example when the working directory has no ``mappings/``
        (an installed package, a container without a mounted mapping); an explicit path never does.
        """
        if self.mapping_file is not None:
            return self.mapping_file
        if not self.crm:
            return None
        default = f"mappings/{self.crm}.yaml"
        return resolve(Path(default), default)

    def database_password(self) -> str | None:
        """The password embedded in ``database_url``, so the redactor can hide it."""
        password = urlsplit(self.database_url).password
        return password or None

    def __repr_args__(self) -> Any:
        """Show the database URL with its password masked."""
        for name, value in super().__repr_args__():
            yield name, (_mask_url_password(value) if name == "database_url" else value)


def _mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class SalesforceSettings(_EnvSettings):
    """``SALESFORCE_*``: the org and one of four ways to authenticate to it."""

    model_config = SettingsConfigDict(env_prefix="SALESFORCE_")
    file_fields: ClassVar[frozenset[str]] = frozenset(
        {"access_token", "password", "security_token", "consumer_secret"}
    )  # not private_key: SALESFORCE_PRIVATE_KEY_FILE is its own setting, with the same meaning
    env_overrides: ClassVar[dict[str, str]] = {"requested_auth_mode": "auth_mode"}

    instance_url: str | None = None
    access_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    private_key_file: Path | None = None
    private_key: SecretStr | None = None
    domain: str = "login"
    api_version: str = "62.0"
    ca_bundle: Path | None = None
    requested_auth_mode: AuthMode | None = None

    @field_validator("api_version")
    @classmethod
    def _check_api_version(cls, value: str) -> str:
        """Pin a real version (``62.0``): simple-salesforce's default is years old."""
        match = _API_VERSION.match(value.strip())
        if not match:
            raise ValueError("must look like 62.0 (two digits, a dot, one digit)")
        return match.group(1)

    @field_validator("domain")
    @classmethod
    def _check_domain(cls, value: str) -> str:
        """``login``, ``test``, a My Domain (``acme.my``), or a test server (URL, host:port)."""
        value = value.strip().rstrip("/")
        if value.startswith("https://"):
            return value
        if "://" in value or not _DOMAIN.match(value):
            raise ValueError("must be login, test, a My Domain like acme.my, or an https:// URL")
        return value

    @field_validator("instance_url")
    @classmethod
    def _check_instance_url(cls, value: str | None) -> str | None:
        """simple-salesforce forces https, so an http URL would silently change scheme."""
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL (Salesforce speaks TLS only)")
        return value

    def complete_auth_modes(self) -> list[AuthMode]:
        """Every auth mode whose settings are all present, in preference order."""
        return [mode for mode in AUTH_MODES if not self.missing_for(mode)]

    def missing_for(self, mode: AuthMode) -> list[str]:
        """The environment variables that ``mode`` still needs (empty when it is complete)."""
        needs: dict[AuthMode, list[tuple[str, bool]]] = {
            "token": [
                ("instance_url", bool(self.instance_url)),
                ("access_token", bool(self.access_token)),
            ],
            "jwt": [
                ("username", bool(self.username)),
                ("consumer_key", bool(self.consumer_key)),
                ("private_key_file", bool(self.private_key_file or self.private_key)),
            ],
            "client_credentials": [
                ("consumer_key", bool(self.consumer_key)),
                ("consumer_secret", bool(self.consumer_secret)),
                ("domain", self.domain not in {"login", "test"}),
            ],
            "password": [("username", bool(self.username)), ("password", bool(self.password))],
        }
        names = {"private_key_file": "SALESFORCE_PRIVATE_KEY_FILE or SALESFORCE_PRIVATE_KEY"}
        return [names.get(name, self.env_name(name)) for name, present in needs[mode] if not present]

    def auth_mode(self) -> AuthMode:
        """The mode to authenticate with: ``SALESFORCE_AUTH_MODE``, else the one complete mode.

        Raises:
            ValueError: when no mode, or several, are complete and none was chosen; the loader
                reports this as a settings problem first, so a loaded settings object never raises.
        """
        if self.requested_auth_mode is not None:
            return self.requested_auth_mode
        complete = self.complete_auth_modes()
        if len(complete) != 1:
            raise ValueError(f"SALESFORCE_AUTH_MODE: {len(complete)} complete auth modes, expected 1")
        return complete[0]


class HubSpotSettings(_EnvSettings):
    """``HUBSPOT_*``: a private app's token, the API host, and the account's limits."""

    model_config = SettingsConfigDict(env_prefix="HUBSPOT_")
    file_fields: ClassVar[frozenset[str]] = frozenset({"access_token"})

    access_token: SecretStr | None = None
    base_url: str = "https://api.hubapi.com"
    tier: HubSpotTier = "professional"
    daily_limit: int | None = Field(default=None, ge=1)
    timezone: str = "UTC"
    ca_bundle: Path | None = None

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """EU data centres and test servers differ; a typo would fail only at the first call."""
        value = value.strip().rstrip("/")
        if urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).netloc:
            raise ValueError("must be an http(s) URL such as https://api.hubapi.com")
        return value

    @field_validator("tier", mode="before")
    @classmethod
    def _lower_tier(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        """The daily budget resets at midnight in the account's zone, so it must be a real zone."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Paris)") from None
        return value

    @property
    def requests_per_10s(self) -> int:
        """The private-app burst limit of the account's tier (CRM_NOTES: 100 or 190 per 10 s)."""
        return 100 if self.tier in {"free", "starter"} else 190

    def zone(self) -> ZoneInfo:
        """The account's time zone."""
        return ZoneInfo(self.timezone)
