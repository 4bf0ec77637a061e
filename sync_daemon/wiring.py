"""Build the collaborators of a cycle from settings, once, at the entrypoint.

Configuration flows one way (STYLE.md): settings are read here and passed in as plain values; no module
below this one reads the environment.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from connectors.retry import RetryPolicy
from sync_daemon.logs import register_secret

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from connectors.base import Connector
    from sync_daemon.config.assessment_models import AssessmentPolicy
    from sync_daemon.config.handoff_models import HandoffPolicy
    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.plan_loader import PlanSet
    from sync_daemon.handoff_provider import HandoffSetup
    from sync_daemon.settings import AppSettings, HubSpotSettings, SalesforceSettings
    from sync_daemon.webhooks import ChannelSenders


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value)


def salesforce_login_url(domain: str) -> str:
    """The login base URL for ``SALESFORCE_DOMAIN`` (see :mod:`connectors.salesforce.auth`)."""
    from connectors.salesforce.auth import login_url_for  # noqa: PLC0415 - keeps imports lazy per CRM

    return login_url_for(domain)


def _private_key(s: SalesforceSettings) -> str:
    if s.private_key is not None:
        return s.private_key.get_secret_value()
    path: Path | None = s.private_key_file
    if path is None:  # settings validation guarantees one of them for JWT
        raise ValueError("SALESFORCE_PRIVATE_KEY_FILE is required for the JWT bearer flow")
    return path.read_text(encoding="utf-8")


def salesforce_auth(s: SalesforceSettings) -> object:
    """The auth strategy for the mode the settings select."""
    from connectors.salesforce import auth  # noqa: PLC0415

    mode = s.auth_mode()
    login_url = salesforce_login_url(s.domain)
    if mode == "token":
        return auth.TokenAuth(instance_url=str(s.instance_url), access_token=_secret(s.access_token))
    if mode == "jwt":
        return auth.JwtAuth(
            username=str(s.username),
            consumer_key=str(s.consumer_key),
            private_key_pem=_private_key(s),
            login_url=login_url,
        )
    if mode == "client_credentials":
        return auth.ClientCredentialsAuth(
            consumer_key=str(s.consumer_key),
            consumer_secret=_secret(s.consumer_secret),
            login_url=login_url,
        )
    return auth.PasswordAuth(
        username=str(s.username),
        password=_secret(s.password),
        security_token=_secret(s.security_token) if s.security_token else "",
        login_url=login_url,
        api_version=s.api_version,
    )


def build_salesforce(
    s: SalesforceSettings,
    mapping: MappingFile,
    retry: RetryPolicy,
    *,
    timeout: float,
    page_size: int,
) -> Connector:
    """A Salesforce connector from settings."""
    from connectors.salesforce.connector import SalesforceConnector  # noqa: PLC0415

    return SalesforceConnector(
        mapping,
        salesforce_auth(s),  # type: ignore[arg-type]
        api_version=s.api_version,
        timeout=timeout,
        ca_bundle=s.ca_bundle,
        retry=retry,
        page_size=page_size,
        on_secret=register_secret,
    )


def build_hubspot(
    s: HubSpotSettings,
    mapping: MappingFile,
    retry: RetryPolicy,
    *,
    timeout: float,
    sleep: Callable[[float], None],
) -> Connector:
    """A HubSpot connector from settings, its rate limiter sized to the account's tier."""
    from connectors.hubspot.connector import HubSpotConnector  # noqa: PLC0415
    from connectors.hubspot.ratelimit import RateLimiter  # noqa: PLC0415

    return HubSpotConnector(
        mapping,
        _secret(s.access_token),
        base_url=s.base_url,
        timeout=timeout,
        ca_bundle=s.ca_bundle,
        retry=retry,
        limiter=RateLimiter(s.requests_per_10s, sleep=sleep),
        timezone=s.timezone,
    )


def build_connector(
    settings: AppSettings, mapping: MappingFile, *, sleep: Callable[[float], None] = time.sleep
) -> Connector:
    """The configured CRM's connector."""
    retry = RetryPolicy(settings.retry_settings(), sleep=sleep)
    timeout = settings.sync.http_timeout_seconds
    if mapping.crm == "salesforce":
        return build_salesforce(settings.salesforce, mapping, retry, timeout=timeout, page_size=settings.sync.page_size)
    return build_hubspot(settings.hubspot, mapping, retry, timeout=timeout, sleep=sleep)


def config_path(settings: AppSettings, name: str) -> Path:
    """``<SYNC_CONFIG_DIR>/<name>``, or the shipped one for the unchanged default config directory."""
    from sync_daemon.resources import resolve  # noqa: PLC0415

    return resolve(settings.sync.config_dir / name, f"config/{name}")


def plans_directory(settings: AppSettings) -> Path:
    """The plan templates: ``<SYNC_CONFIG_DIR>/plans``, or the shipped ones for the unchanged default."""
    return config_path(settings, "plans")


def load_plan_set(settings: AppSettings, mapping: MappingFile) -> PlanSet | None:
    """The validated plan folder, or ``None`` when there is none (no plans configured); ConfigError if broken."""
    from sync_daemon.config.plan_loader import known_account_fields, load_plans  # noqa: PLC0415

    directory = plans_directory(settings)
    if not (directory / "plans.yaml").exists():
        return None
    return load_plans(directory, known_account_fields(mapping))


def load_handoff_setup(settings: AppSettings, mapping: MappingFile, plans: PlanSet | None) -> HandoffSetup | None:
    """The validated handoff policy and note template, or ``None`` without a handoff.yaml; ConfigError if broken.

    Both files are checked in full before any CRM call, the policy against the mapping and the plan templates.
    """
    from sync_daemon.config.errors import ConfigError, Problem  # noqa: PLC0415
    from sync_daemon.config.handoff_loader import HANDOFF_FILE, load_handoff, plan_ids  # noqa: PLC0415
    from sync_daemon.config.note_template import NOTE_TEMPLATE_FILE, load_note_template  # noqa: PLC0415
    from sync_daemon.config.plan_loader import known_account_fields  # noqa: PLC0415
    from sync_daemon.handoff_provider import HandoffSetup  # noqa: PLC0415

    path = config_path(settings, HANDOFF_FILE)
    if not path.exists():
        return None
    tasks, phases = plan_ids(plans) if plans is not None else (None, None)
    templates = frozenset(plans.templates) if plans is not None else None
    problems: list[Problem] = []
    try:
        policy = load_handoff(path, known_account_fields(mapping), task_ids=tasks, phase_ids=phases,
                              template_ids=templates)  # fmt: skip
    except ConfigError as exc:
        problems += exc.problems
    try:
        note = load_note_template(config_path(settings, NOTE_TEMPLATE_FILE))
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    name = policy.at_risk.restart_template
    restart = plans.templates.get(name) if plans is not None and name is not None else None
    return HandoffSetup(_with_coverage(policy, settings, mapping), note, restart)


def _with_coverage(policy: HandoffPolicy, settings: AppSettings, mapping: MappingFile) -> HandoffPolicy:
    """The note's expected personas: the handoff file's when it sets them, else the assessment policy's coverage.

    One list of the personas an account should hear from, so the note's persona gaps and the account's
    ``persona_gaps`` field agree unless an admin deliberately says otherwise.
    """
    from sync_daemon.config.assessment_loader import ASSESSMENTS_FILE, load_assessments  # noqa: PLC0415

    path = config_path(settings, ASSESSMENTS_FILE)
    if "expected_personas" in policy.note.model_fields_set or not path.exists():
        return policy
    expected = list(load_assessments(path, mapping).coverage.expected)
    return policy.model_copy(update={"note": policy.note.model_copy(update={"expected_personas": expected})})


def load_assessment_policy(
    settings: AppSettings, mapping: MappingFile, environ: Mapping[str, str]
) -> AssessmentPolicy | None:
    """The validated assessment policy, or ``None`` without an assessments.yaml; ConfigError if broken.

    A webhook channel whose secret is missing from ``environ`` is a configuration error too, found here, before
    any CRM call, rather than as a dead intent after the first send.
    """
    from sync_daemon.config.assessment_loader import ASSESSMENTS_FILE, load_assessments  # noqa: PLC0415
    from sync_daemon.config.assessment_models import WebhookChannel  # noqa: PLC0415
    from sync_daemon.config.errors import ConfigError, Problem  # noqa: PLC0415
    from sync_daemon.webhooks import missing_secrets  # noqa: PLC0415

    path = config_path(settings, ASSESSMENTS_FILE)
    if not path.exists():
        return None
    policy = load_assessments(path, mapping)
    hooks = [k.channel for k in policy.kinds.values() if isinstance(k.channel, WebhookChannel)]
    missing = missing_secrets(hooks, environ)
    if missing:
        hint = "set it in the environment, or set NAME_FILE to a file holding it (a mounted secret)"
        raise ConfigError([Problem(str(path), None, None, f"the webhook channel's secret {name} is not set", hint)
                           for name in missing])  # fmt: skip
    return policy


def webhook_senders(settings: AppSettings, environ: Mapping[str, str]) -> ChannelSenders:
    """The webhook senders of the assessment channels, with the configured retries."""
    from sync_daemon.webhooks import ChannelSenders  # noqa: PLC0415

    bundle = settings.sync.webhook_ca_bundle
    return ChannelSenders(environ, RetryPolicy(settings.retry_settings()), None if bundle is None else str(bundle))
