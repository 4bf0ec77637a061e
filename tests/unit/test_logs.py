"""Logging: redaction of keys, patterns and registered secrets; JSON or console; stdlib routing."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import structlog

if TYPE_CHECKING:
    from collections.abc import Iterator

from sync_daemon.logs import (
    REDACTED,
    Redactor,
    bind_run,
    choose_format,
    clear_run,
    configure_logging,
    is_secret_key,
    redact_text,
    register_secret,
)

SECRET = "00Dxx!AQcQAHsEcReTsEsSiOn"


class _TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def redact(event: dict[str, Any], *secrets: str, emails: bool = False) -> Any:
    return Redactor(secrets, redact_emails=emails)(None, "info", event)


def _fail(exc: Exception) -> None:
    raise exc


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secret_looking_keys() -> None:
    """Values under token/password/authorization/... keys are replaced, whatever the key's case."""
    keys = ["token", "access_token", "Password", "client_secret", "sessionId", "session_id",
            "Authorization", "X-Api-Key", "private_key", "assertion", "sid"]  # fmt: skip
    out = redact(dict.fromkeys(keys, "value-1") | {"event": "x", "records": 3, "account": "Acme"})
    assert all(out[key] == REDACTED for key in keys)
    assert (out["event"], out["records"], out["account"]) == ("x", 3, "Acme")
    assert not is_secret_key("account_id")


def test_nested_dicts_and_lists() -> None:
    """Secret keys are found at any depth, inside dicts and lists."""
    out = redact(
        {
            "request": {
                "headers": {"Authorization": "Bearer abc"},
                "body": [{"password": "p", "n": 1}],
            }
        }
    )
    assert out["request"]["headers"]["Authorization"] == REDACTED
    assert out["request"]["body"] == [{"password": REDACTED, "n": 1}]


def test_none_under_a_secret_key_is_kept() -> None:
    """A missing secret (None) stays visible: it tells the reader the value was absent."""
    assert redact({"token": None})["token"] is None


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("sent Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("headers={'Authorization': 'Bearer abc123xyz'}", "abc123xyz"),
        ("Authorization: OAuth 00Dabc!def", "00Dabc"),
        ("retrying with bearer abc.def-ghi", "abc.def-ghi"),
        ("GET https://x/services/oauth2/token?access_token=tok123&grant_type=y", "tok123"),
        ("body grant_type=password&client_secret=cs-999&password=pw-888", "cs-999"),
        ("body grant_type=password&client_secret=cs-999&password=pw-888", "pw-888"),
        ('{"access_token": "tok-json", "instance_url": "https://x"}', "tok-json"),
        ("<soapenv:Body><sessionId>00D!SOAPSID</sessionId></soapenv:Body>", "SOAPSID"),
        ("<n1:password>soap-pw</n1:password>", "soap-pw"),
    ],
)
def test_patterns_in_strings(text: str, leaked: str) -> None:
    """Bearer headers, query/form secrets, JSON-ish fields and SOAP session ids are scrubbed."""
    out = redact({"event": text})["event"]
    assert leaked not in out
    assert REDACTED in out


def test_patterns_keep_the_rest() -> None:
    """Scrubbing leaves harmless parts of the string intact."""
    out = redact({"event": "GET /query?q=SELECT+Id&access_token=tok123&batch=200"})["event"]
    assert out == f"GET /query?q=SELECT+Id&access_token={REDACTED}&batch=200"


def test_registered_secret_anywhere() -> None:
    """A registered secret is replaced in any string, also URL-encoded, also inside objects."""
    out = redact(
        {
            "event": f"login failed for {SECRET}!",
            "url": "https://x/?sid=" + SECRET.replace("!", "%21"),
            "items": ("a", f"x{SECRET}y"),
            "path": Path(f"/srv/{SECRET}"),
        },
        SECRET,
    )
    assert SECRET not in json.dumps(out)
    assert "%21" not in out["url"]
    assert out["items"] == ["a", f"x{REDACTED}y"]
    assert out["path"] == f"/srv/{REDACTED}"


def test_emails_only_when_asked() -> None:
    """Emails are kept by default and replaced when redact_emails is set."""
    event = {"event": "contact bob.smith+x@acme.co.uk synced"}
    assert redact(event)["event"] == event["event"]
    assert redact(event, emails=True)["event"] == "contact [EMAIL] synced"


def test_choose_format() -> None:
    """Format auto is console on a TTY and JSON elsewhere; explicit choices win."""
    assert choose_format("auto", is_tty=True) == "console"
    assert choose_format("auto", is_tty=False) == "json"
    assert choose_format("json", is_tty=True) == "json"
    assert choose_format("console", is_tty=False) == "console"


def test_json_lines_with_run_id() -> None:
    """Off a TTY, events are JSON lines with level, UTC timestamp, logger and the bound run_id."""
    stream = io.StringIO()
    configure_logging("auto", "info", stream=stream)
    log = structlog.get_logger("sync_daemon.test")
    bind_run("run-42")
    log.info("crm.page_pulled", kind="accounts", records=200)
    clear_run()
    log.debug("hidden.debug")
    log.info("after.run")
    first, second = json_lines(stream)
    assert first["event"] == "crm.page_pulled"
    assert (first["level"], first["logger"], first["run_id"], first["records"]) == (
        "info", "sync_daemon.test", "run-42", 200,
    )  # fmt: skip
    assert first["timestamp"].endswith("Z")
    assert "run_id" not in second


def test_console_on_a_tty() -> None:
    """On a TTY (auto), the console renderer writes human lines, not JSON, still redacted."""
    stream = _TtyStream()
    configure_logging("auto", "INFO", [SECRET], stream=stream)
    structlog.get_logger("sync_daemon.test").info("crm.login", detail=f"sid {SECRET}", token="t")
    text = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())
    assert "crm.login" in text
    assert not text.lstrip().startswith("{")
    assert SECRET not in text
    assert f"token={REDACTED}" in text


def test_traceback_with_a_secret() -> None:
    """A formatted traceback that quotes a secret is scrubbed like any other string."""
    stream = io.StringIO()
    configure_logging("json", "INFO", [SECRET], stream=stream)
    log = structlog.get_logger("sync_daemon.test")
    try:
        _fail(RuntimeError(f"refused session {SECRET} <sessionId>other-sid</sessionId>"))
    except RuntimeError:
        log.exception("crm.failed")
    (line,) = json_lines(stream)
    assert "RuntimeError: refused session" in line["exception"]
    assert SECRET not in stream.getvalue()
    assert "other-sid" not in stream.getvalue()


def test_stdlib_records_share_the_pipeline() -> None:
    """A library's stdlib record is rendered as JSON and redacted, exception included."""
    stream = io.StringIO()
    configure_logging("json", "INFO", [SECRET], stream=stream)
    bind_run("run-7")
    lib = logging.getLogger("simple_salesforce.api")
    try:
        _fail(ValueError(SECRET))
    except ValueError:
        lib.warning("request failed, header Authorization: Bearer %s", "abc-bearer", exc_info=True)
    (line,) = json_lines(stream)
    assert line["logger"] == "simple_salesforce.api"
    assert (line["level"], line["run_id"]) == ("warning", "run-7")
    assert "abc-bearer" not in stream.getvalue()
    assert SECRET not in stream.getvalue()
    assert "ValueError" in line["exception"]


def test_libraries_default_to_warning() -> None:
    """Chatty libraries log WARNING and up even when the daemon logs DEBUG."""
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream=stream)
    logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection")
    logging.getLogger("hubspot").warning("slow down")
    structlog.get_logger("sync_daemon.test").debug("daemon.debug")
    assert [line["event"] for line in json_lines(stream)] == ["slow down", "daemon.debug"]


def test_reconfiguring_replaces_only_our_handler() -> None:
    """A second configure_logging call does not duplicate lines."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", "INFO", stream=first)
    configure_logging("json", "INFO", stream=second)
    structlog.get_logger("sync_daemon.test").info("once")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1


def test_register_secret_after_configuration() -> None:
    """A secret learnt later (a session id from a login) is redacted from then on."""
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    register_secret("late-session-id-123")
    structlog.get_logger("sync_daemon.test").info("crm.session", note="got late-session-id-123")
    assert "late-session-id-123" not in stream.getvalue()


def test_emails_redacted_through_configuration() -> None:
    """configure_logging(redact_emails=True) hides contact emails in every line."""
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream, redact_emails=True)
    structlog.get_logger("sync_daemon.test").info("contact.synced", email="ann@acme.com")
    assert json_lines(stream)[0]["email"] == "[EMAIL]"


def test_redact_text_for_messages_outside_logging() -> None:
    """Function redact_text scrubs given and configured secrets and credential patterns."""
    configure_logging("json", "INFO", ["configured-secret"], stream=io.StringIO())
    text = "failed: configured-secret, given-secret, Authorization: Bearer zzz123"
    out = redact_text(text, ["given-secret"])
    assert out == f"failed: {REDACTED}, {REDACTED}, Authorization: {REDACTED}"
