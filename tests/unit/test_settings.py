"""Settings from environ mappings: defaults, auth modes, secret files, one error for all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync_daemon.settings import AppSettings, SettingsError, load_settings

TOKEN = "00Dxx0000001gPL!AQ4AQFfake.session.token"
HS_TOKEN = "pat-eu1-11111111-2222-3333-4444-555555555555"
SF_TOKEN_ENV = {
    "SYNC_CRM": "salesforce",
    "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
    "SALESFORCE_ACCESS_TOKEN": TOKEN,
}


def load(env: dict[str, str], **kwargs: Any) -> AppSettings:
    return load_settings(env, default_secrets_dir=None, **kwargs)


def problems(env: dict[str, str], **kwargs: Any) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load(env, **kwargs)
    return info.value.problems


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "server.key"
    path.write_text("-----BEGIN PRIVATE KEY-----\nfake\n-----END PRIVATE KEY-----\n")
    return path


def test_defaults() -> None:
    """An empty environment gives the documented defaults and no CRM."""
    s = load({})
    assert s.sync.crm is None
    assert s.sync.database_url == "sqlite:///data/sync-daemon.db"
    assert (s.sync.log_format, s.sync.log_level, s.sync.page_size) == ("auto", "INFO", 2000)
    assert (s.sync.overlap_seconds, s.sync.retry_attempts) == (300, 6)
    assert s.salesforce.api_version == "62.0"
    assert s.salesforce.domain == "login"
    assert s.hubspot.base_url == "https://api.hubapi.com"
    assert s.hubspot.requests_per_10s == 190
    assert s.secret_values() == []


def test_database_url_follows_data_dir() -> None:
    """Without SYNC_DATABASE_URL the SQLite file lives inside SYNC_DATA_DIR."""
    s = load({"SYNC_DATA_DIR": "/var/lib/sync"})
    assert s.sync.database_url == "sqlite:////var/lib/sync/sync-daemon.db"


def test_mapping_path_defaults_to_the_crm() -> None:
    """The mapping file defaults to mappings/<crm>.yaml and SYNC_MAPPING_FILE overrides it."""
    assert load({"SYNC_CRM": "hubspot", "HUBSPOT_ACCESS_TOKEN": HS_TOKEN}).sync.mapping_path() == Path(
        "mappings/hubspot.yaml"
    )
    assert load({}).sync.mapping_path() is None


def test_mapping_file_that_does_not_exist(tmp_path: Path) -> None:
    """A SYNC_MAPPING_FILE that points nowhere is named with its path."""
    missing = tmp_path / "nope.yaml"
    assert problems({"SYNC_MAPPING_FILE": str(missing)}) == [f"SYNC_MAPPING_FILE: no such file: {missing}"]


def test_values_are_case_insensitive_where_people_type_them() -> None:
    """SYNC_CRM=Salesforce, SYNC_LOG_LEVEL=debug and HUBSPOT_TIER=Starter are accepted."""
    s = load(
        {
            **SF_TOKEN_ENV,
            "SYNC_CRM": "Salesforce",
            "SYNC_LOG_LEVEL": "debug",
            "HUBSPOT_TIER": "Starter",
        }
    )
    assert (s.sync.crm, s.sync.log_level, s.hubspot.requests_per_10s) == (
        "salesforce",
        "DEBUG",
        100,
    )


def test_empty_values_count_as_unset() -> None:
    """NAME= (as in a compose file) means the default, not an empty value."""
    s = load({"SYNC_CRM": "", "SALESFORCE_DOMAIN": "", "SALESFORCE_ACCESS_TOKEN": ""})
    assert (s.sync.crm, s.salesforce.domain, s.salesforce.access_token) == (None, "login", None)


def test_token_auth() -> None:
    """An instance URL and an access token select token auth."""
    s = load(SF_TOKEN_ENV)
    assert s.salesforce.auth_mode() == "token"
    assert s.secret_values() == [TOKEN]


def test_jwt_auth_with_a_key_file(key_file: Path) -> None:
    """A username, a consumer key and a private key file select the JWT bearer flow."""
    env = {
        "SYNC_CRM": "salesforce",
        "SALESFORCE_USERNAME": "integration@acme.com",
        "SALESFORCE_CONSUMER_KEY": "3MVG9key",
        "SALESFORCE_PRIVATE_KEY_FILE": str(key_file),
    }
    assert load(env).salesforce.auth_mode() == "jwt"


def test_jwt_auth_with_an_inline_key() -> None:
    """SALESFORCE_PRIVATE_KEY (the PEM itself) replaces the key file, and is a secret."""
    pem = "-----BEGIN PRIVATE KEY-----\nsecretkeymaterial\n-----END PRIVATE KEY-----"
    env = {
        "SYNC_CRM": "salesforce",
        "SALESFORCE_USERNAME": "integration@acme.com",
        "SALESFORCE_CONSUMER_KEY": "3MVG9key",
        "SALESFORCE_PRIVATE_KEY": pem,
    }
    s = load(env)
    assert s.salesforce.auth_mode() == "jwt"
    assert pem in s.secret_values()
    assert "secretkeymaterial" not in repr(s)


def test_client_credentials_auth_needs_a_my_domain() -> None:
    """Consumer key and secret with a My Domain select the client-credentials flow."""
    env = {
        "SYNC_CRM": "salesforce",
        "SALESFORCE_CONSUMER_KEY": "3MVG9key",
        "SALESFORCE_CONSUMER_SECRET": "consumer-secret-value",
        "SALESFORCE_DOMAIN": "acme.my",
    }
    assert load(env).salesforce.auth_mode() == "client_credentials"
    found = problems({**env, "SALESFORCE_DOMAIN": "login"}, require_crm=True)
    assert len(found) == 1
    assert found[0].startswith("SALESFORCE_DOMAIN: required when SYNC_CRM=salesforce with client_credentials")


def test_password_auth_with_security_token() -> None:
    """A username and password (plus security token) select password auth; both are secrets."""
    env = {
        "SYNC_CRM": "salesforce",
        "SALESFORCE_USERNAME": "integration@acme.com",
        "SALESFORCE_PASSWORD": "hunter2-password",
        "SALESFORCE_SECURITY_TOKEN": "sectok123",
    }
    s = load(env)
    assert s.salesforce.auth_mode() == "password"
    assert sorted(s.secret_values()) == ["hunter2-password", "sectok123"]


def test_two_complete_modes_need_a_choice() -> None:
    """Two complete auth modes without SALESFORCE_AUTH_MODE are contradictory until chosen."""
    env = {**SF_TOKEN_ENV, "SALESFORCE_USERNAME": "u@acme.com", "SALESFORCE_PASSWORD": "pw-value"}
    found = problems(env, require_crm=True)
    assert len(found) == 1
    assert found[0].startswith("SALESFORCE_AUTH_MODE:")
    assert "token, password" in found[0]
    assert load({**env, "SALESFORCE_AUTH_MODE": "password"}).salesforce.auth_mode() == "password"


def test_chosen_mode_reports_what_it_lacks() -> None:
    """SALESFORCE_AUTH_MODE=jwt names every missing JWT variable."""
    found = problems({"SYNC_CRM": "salesforce", "SALESFORCE_AUTH_MODE": "jwt"}, require_crm=True)
    assert found == [
        "SALESFORCE_USERNAME: required when SYNC_CRM=salesforce with jwt auth",
        "SALESFORCE_CONSUMER_KEY: required when SYNC_CRM=salesforce with jwt auth",
        ("SALESFORCE_PRIVATE_KEY_FILE or SALESFORCE_PRIVATE_KEY: required when SYNC_CRM=salesforce with jwt auth"),
    ]


def test_half_configured_token_auth() -> None:
    """An instance URL without a token asks for the token, in the brief's words."""
    found = problems(
        {"SYNC_CRM": "salesforce", "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com"},
        require_crm=True,
    )
    assert found == ["SALESFORCE_ACCESS_TOKEN: required when SYNC_CRM=salesforce with token auth"]


def test_no_salesforce_credentials_lists_the_recipes() -> None:
    """With nothing set, the one problem lists every way to authenticate."""
    (found,) = problems({"SYNC_CRM": "salesforce"}, require_crm=True)
    assert found.startswith("SALESFORCE_ACCESS_TOKEN: required when SYNC_CRM=salesforce")
    for var in ("SALESFORCE_PRIVATE_KEY_FILE", "SALESFORCE_CONSUMER_SECRET", "SALESFORCE_PASSWORD"):
        assert var in found


def test_salesforce_credentials_not_checked_for_hubspot() -> None:
    """Salesforce completeness matters only when Salesforce is the CRM."""
    env = {"SYNC_CRM": "hubspot", "HUBSPOT_ACCESS_TOKEN": HS_TOKEN}
    assert load(env, require_crm=True).sync.crm == "hubspot"


def test_credentials_not_checked_without_require_crm() -> None:
    """Commands that never call the CRM (validate, demo) load without credentials."""
    assert load({"SYNC_CRM": "hubspot"}).sync.crm == "hubspot"
    assert load({"SYNC_CRM": "salesforce", "SALESFORCE_AUTH_MODE": "jwt"}).sync.crm == "salesforce"
    assert problems({"SYNC_CRM": "salesforce", "SALESFORCE_CONSUMER_SECRET": "x"}) == [
        "SALESFORCE_CONSUMER_SECRET: set without SALESFORCE_CONSUMER_KEY"
    ]


def test_hubspot_without_token() -> None:
    """SYNC_CRM=hubspot without HUBSPOT_ACCESS_TOKEN is a problem naming it."""
    assert problems({"SYNC_CRM": "hubspot"}, require_crm=True) == [
        "HUBSPOT_ACCESS_TOKEN: required when SYNC_CRM=hubspot"
    ]


def test_require_crm() -> None:
    """Commands that talk to a CRM need SYNC_CRM, both at load time and through require_crm()."""
    assert problems({}, require_crm=True) == ["SYNC_CRM: required for this command (salesforce or hubspot)"]
    with pytest.raises(SettingsError, match="SYNC_CRM"):
        load({}).require_crm()
    assert load(SF_TOKEN_ENV, require_crm=True).require_crm() == "salesforce"


def test_every_problem_in_one_error(tmp_path: Path) -> None:
    """Problems across the three groups, fields and checks, arrive together in one SettingsError."""
    env = {
        "SYNC_CRM": "salesforce",
        "SYNC_PAGE_SIZE": "50",
        "SYNC_OVERLAP_SECONDS": "-1",
        "SALESFORCE_API_VERSION": "62",
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_CONSUMER_SECRET": "orphan-secret",
        "SALESFORCE_PRIVATE_KEY_FILE": str(tmp_path / "missing.key"),
        "HUBSPOT_TIMEZONE": "Mars/Olympus",
        "HUBSPOT_TIER": "platinum",
    }
    found = problems(env, require_crm=True)
    names = [p.split(":", 1)[0] for p in found]
    assert sorted(names) == sorted(
        [
            "SYNC_PAGE_SIZE",
            "SYNC_OVERLAP_SECONDS",
            "SALESFORCE_API_VERSION",
            "SALESFORCE_CONSUMER_SECRET",
            "SALESFORCE_PRIVATE_KEY_FILE",
            "SALESFORCE_ACCESS_TOKEN",
            "HUBSPOT_TIER",
            "HUBSPOT_TIMEZONE",
        ]
    )
    with pytest.raises(SettingsError) as info:
        load(env, require_crm=True)
    assert str(info.value).startswith("8 settings problems:\n  - SYNC_")
    assert all(f"  - {problem}" in str(info.value) for problem in found)


def test_invalid_field_is_not_reported_twice() -> None:
    """An http instance URL is reported once, not also as missing for token auth."""
    found = problems(
        {**SF_TOKEN_ENV, "SALESFORCE_INSTANCE_URL": "http://acme.my.salesforce.com"},
        require_crm=True,
    )
    assert found == ["SALESFORCE_INSTANCE_URL: must be an https:// URL (Salesforce speaks TLS only)"]


def test_contradictions(key_file: Path) -> None:
    """A secret without its key, a PEM given twice, a security token without password are errors."""
    env = {
        "SALESFORCE_CONSUMER_SECRET": "s3",
        "SALESFORCE_PRIVATE_KEY": "pem",
        "SALESFORCE_PRIVATE_KEY_FILE": str(key_file),
        "SALESFORCE_SECURITY_TOKEN": "st",
    }
    assert [p.split(":", 1)[0] for p in problems(env)] == [
        "SALESFORCE_CONSUMER_SECRET",
        "SALESFORCE_PRIVATE_KEY",
        "SALESFORCE_SECURITY_TOKEN",
    ]


def test_known_token_never_shown() -> None:
    """A token appears neither in str/repr of the settings nor in the text of an error."""
    s = load(SF_TOKEN_ENV)
    for text in (str(s), repr(s), str(s.salesforce), repr(s.salesforce)):
        assert TOKEN not in text
    env = {
        **SF_TOKEN_ENV,
        "SALESFORCE_AUTH_MODE": TOKEN,
        "SYNC_CRM": TOKEN,
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
    }
    with pytest.raises(SettingsError) as info:
        load({**env, "SYNC_PAGE_SIZE": TOKEN, "HUBSPOT_DAILY_LIMIT": TOKEN})
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)


def test_database_password_is_masked_and_registered() -> None:
    """The password inside SYNC_DATABASE_URL is masked in repr and listed among the secrets."""
    url = "postgresql+psycopg://sync:db-pass-123@db:5432/sync"
    s = load({"SYNC_DATABASE_URL": url})
    assert s.sync.database_url == url
    assert "db-pass-123" not in repr(s)
    assert "postgresql+psycopg://sync:***@db:5432/sync" in repr(s)
    assert s.secret_values() == ["db-pass-123"]


def test_secret_from_name_file(tmp_path: Path) -> None:
    """NAME_FILE is read and exactly one trailing newline is stripped."""
    (tmp_path / "sf_token").write_text(TOKEN + "\n")
    (tmp_path / "hs_token").write_text("tok-with-blank-line\n\n")
    env = {
        "SYNC_CRM": "salesforce",
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_ACCESS_TOKEN_FILE": str(tmp_path / "sf_token"),
        "HUBSPOT_ACCESS_TOKEN_FILE": str(tmp_path / "hs_token"),
    }
    s = load(env)
    assert s.salesforce.access_token is not None
    assert s.salesforce.access_token.get_secret_value() == TOKEN
    assert s.hubspot.access_token is not None
    assert s.hubspot.access_token.get_secret_value() == "tok-with-blank-line\n"


def test_name_file_pointing_nowhere(tmp_path: Path) -> None:
    """A NAME_FILE that points nowhere names the variable and the path."""
    missing = tmp_path / "absent"
    found = problems({"HUBSPOT_ACCESS_TOKEN_FILE": str(missing)})
    assert found == [f"HUBSPOT_ACCESS_TOKEN_FILE: no such file: {missing}"]


def test_name_and_name_file_together(tmp_path: Path) -> None:
    """Setting both NAME and NAME_FILE is contradictory, and the message shows neither value."""
    (tmp_path / "t").write_text("file-token")
    found = problems({"SALESFORCE_PASSWORD": "env-pw", "SALESFORCE_PASSWORD_FILE": str(tmp_path / "t")})
    assert len(found) == 1
    assert found[0].startswith("SALESFORCE_PASSWORD: both SALESFORCE_PASSWORD and SALESFORCE_PASSWORD_FILE")
    assert "env-pw" not in found[0]
    assert "file-token" not in found[0]


def test_secrets_directory(tmp_path: Path) -> None:
    """Files in SYNC_SECRETS_DIR named like salesforce_access_token provide values."""
    (tmp_path / "salesforce_access_token").write_text(TOKEN)
    (tmp_path / "salesforce_instance_url").write_text("https://acme.my.salesforce.com")
    s = load({"SYNC_CRM": "salesforce", "SYNC_SECRETS_DIR": str(tmp_path)})
    assert s.salesforce.auth_mode() == "token"
    assert s.secret_values() == [TOKEN]
    assert s.sync.secrets_dir == tmp_path


def test_default_secrets_directory_used_when_present(tmp_path: Path) -> None:
    """Without SYNC_SECRETS_DIR, the default directory is used when it exists, else ignored."""
    (tmp_path / "hubspot_access_token").write_text(HS_TOKEN)
    env = {"SYNC_CRM": "hubspot"}
    assert load_settings(env, default_secrets_dir=tmp_path).hubspot.requests_per_10s == 190
    with pytest.raises(SettingsError):
        load_settings(env, default_secrets_dir=tmp_path / "absent", require_crm=True)


def test_secrets_dir_that_is_a_file(tmp_path: Path) -> None:
    """SYNC_SECRETS_DIR naming a file is a mistake; naming nothing opts out of secret files."""
    (tmp_path / "x").write_text("")
    assert problems({"SYNC_SECRETS_DIR": str(tmp_path / "x")}) == [
        f"SYNC_SECRETS_DIR: not a directory: {tmp_path / 'x'}"
    ]
    assert load({"SYNC_SECRETS_DIR": str(tmp_path / "absent")}).sync.secrets_dir is None


def test_given_environ_ignores_os_environ_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With an explicit mapping, neither os.environ nor a .env in the working directory is read."""
    monkeypatch.setenv("SYNC_CRM", "hubspot")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SYNC_LOG_LEVEL=ERROR\n")
    s = load({})
    assert (s.sync.crm, s.sync.log_level) == (None, "INFO")


def test_env_file_when_asked(tmp_path: Path) -> None:
    """SYNC_ENV_FILE is read, and the real environment wins over it."""
    env_file = tmp_path / "sync.env"
    env_file.write_text("SYNC_LOG_LEVEL=ERROR\nSYNC_PAGE_SIZE=500\nSYNC_LOG_FORMAT=${HOME}\n")
    s = load({"SYNC_ENV_FILE": str(env_file), "SYNC_PAGE_SIZE": "1000", "SYNC_LOG_FORMAT": "json"})
    assert (s.sync.log_level, s.sync.page_size, s.sync.log_format) == ("ERROR", 1000, "json")
    assert problems({"SYNC_ENV_FILE": str(tmp_path / "none")}) == [f"SYNC_ENV_FILE: no such file: {tmp_path / 'none'}"]


def test_api_version_and_domain_validation() -> None:
    """API versions look like 62.0 (a leading v is dropped); domains are names, hosts or URLs."""
    s = load({"SALESFORCE_API_VERSION": "v61.0", "SALESFORCE_DOMAIN": "https://127.0.0.1:8443/"})
    assert (s.salesforce.api_version, s.salesforce.domain) == ("61.0", "https://127.0.0.1:8443")
    assert load({"SALESFORCE_DOMAIN": "127.0.0.1:8443"}).salesforce.domain == "127.0.0.1:8443"
    found = problems({"SALESFORCE_API_VERSION": "latest", "SALESFORCE_DOMAIN": "http://x"})
    assert [p.split(":", 1)[0] for p in found] == ["SALESFORCE_DOMAIN", "SALESFORCE_API_VERSION"]


def test_hubspot_settings() -> None:
    """Tier sets the 10-second budget, the time zone must exist, the base URL loses its slash."""
    s = load(
        {
            "HUBSPOT_TIER": "free",
            "HUBSPOT_TIMEZONE": "Europe/Paris",
            "HUBSPOT_BASE_URL": "http://127.0.0.1:9/",
        }
    )
    assert s.hubspot.requests_per_10s == 100
    assert s.hubspot.zone().key == "Europe/Paris"
    assert s.hubspot.base_url == "http://127.0.0.1:9"
    assert problems({"HUBSPOT_BASE_URL": "api.hubapi.com"})[0].startswith("HUBSPOT_BASE_URL: must be")


def test_ca_bundle_must_exist(tmp_path: Path) -> None:
    """A CA bundle path that does not exist is a problem for either CRM."""
    found = problems(
        {
            "SALESFORCE_CA_BUNDLE": str(tmp_path / "a.pem"),
            "HUBSPOT_CA_BUNDLE": str(tmp_path / "b.pem"),
        }
    )
    assert [p.split(":", 1)[0] for p in found] == ["SALESFORCE_CA_BUNDLE", "HUBSPOT_CA_BUNDLE"]


def test_retry_settings() -> None:
    """SYNC_RETRY_* become the retry policy's bounds."""
    r = load({"SYNC_RETRY_ATTEMPTS": "3", "SYNC_RETRY_MAX_SECONDS": "12.5"}).retry_settings()
    assert (r.attempts, r.max_total_seconds) == (3, 12.5)


def test_settings_are_frozen() -> None:
    """Settings are built once and cannot be changed afterwards."""
    s = load({})
    with pytest.raises(ValueError, match="frozen"):
        s.sync.page_size = 5  # type: ignore[misc]


def test_env_example_loads_and_documents_every_setting() -> None:
    """config/.env.example loads as is and names every setting's variable."""
    example = Path(__file__).parents[2] / "config" / ".env.example"
    s = load({"SYNC_ENV_FILE": str(example)})
    assert s.sync.crm is None
    assert s.sync.database_url == "sqlite:///data/sync-daemon.db"
    text = example.read_text()
    for group in (s.sync, s.salesforce, s.hubspot):
        for field in type(group).model_fields:
            assert f"\n{type(group).env_name(field)}=" in text


def test_app_mapping_path() -> None:
    """AppSettings.mapping_path() is the sync group's mapping path, or an error naming SYNC_CRM."""
    assert load({"SYNC_MAPPING_FILE": str(Path(__file__))}).mapping_path() == Path(__file__)
    with pytest.raises(SettingsError, match="SYNC_CRM: required to find the mapping file"):
        load({}).mapping_path()


def test_default_mapping_falls_back_to_the_shipped_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a checkout the unchanged default finds the shipped mapping; an explicit path is taken as given."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"SYNC_CRM": "hubspot"}, default_secrets_dir=None)
    assert settings.mapping_path().is_file()
    assert settings.mapping_path().name == "hubspot.yaml"
    (tmp_path / "mine.yaml").write_text("version: 1\n", encoding="utf-8")
    explicit = load_settings({"SYNC_CRM": "hubspot", "SYNC_MAPPING_FILE": "mine.yaml"}, default_secrets_dir=None)
    assert explicit.mapping_path() == Path("mine.yaml")
