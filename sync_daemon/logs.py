"""Structured logs, configured once at the entrypoint, every line redacted before it is written.

Both structlog events and stdlib records (urllib3, simple_salesforce, hubspot, alembic) go through
one stdlib handler whose :class:`structlog.stdlib.ProcessorFormatter` runs the same chain: context
(the ``run_id``), level, logger, ISO UTC timestamp, exception formatting, **redaction**, then JSON
lines (not a TTY, or ``json``) or structlog's console renderer (a TTY). Exceptions are formatted to
text *before* redaction, so a traceback that quotes a token is scrubbed like any other string.

Redaction (tokens never reach a log; emails only when asked):

- a value under a secret-looking key (``token``, ``password``, ``authorization``...) at any depth;
- ``Bearer xxx`` / ``Authorization: xxx``, ``access_token=xxx`` query or form fields, JSON-ish
  ``"password": "xxx"`` and SOAP ``<sessionId>xxx</sessionId>`` inside any string;
- every registered secret value (and its URL-encoded form) anywhere in any string.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any, Literal, TextIO
from urllib.parse import quote, quote_plus

import structlog

if TYPE_CHECKING:
    from collections.abc import Iterable, MutableMapping

    from structlog.typing import Processor

REDACTED = "[REDACTED]"
EMAIL_REDACTED = "[EMAIL]"
LIBRARY_LOGGERS = (
    "urllib3",
    "requests",
    "simple_salesforce",
    "hubspot",
    "alembic",
    "sqlalchemy",
    "apscheduler",
)

_KEY_PARTS = (
    "token", "password", "passwd", "secret", "sessionid", "authorization", "apikey", "privatekey",
    "assertion", "cookie", "credential",
)  # fmt: skip
_KEY_EXACT = frozenset({"sid", "pwd", "auth"})
_SECRETISH = (
    r"[\w-]*(?:token|secret|passw(?:or)?d|session_?id|api_?key|private_?key|assertion)[\w-]*"
    r"|sid|sf_sid"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|oauth|token)\s+)?[^\s\"',;}]+"),
     rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(bearer\s+)[\w\-.~+/=!%]+"), rf"\1{REDACTED}"),
    (re.compile(rf"(?i)\b((?:{_SECRETISH})=)[^&\s\"'<>]+"), rf"\1{REDACTED}"),
    (re.compile(rf"(?i)([\"'](?:{_SECRETISH})[\"']\s*:\s*[\"'])[^\"']*"), rf"\1{REDACTED}"),
    (re.compile(r"(?is)(<((?:[\w-]+:)?(?:sessionId|password|securityToken))>).*?(</\2>)"),
     rf"\1{REDACTED}\3"),
)  # fmt: skip
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def is_secret_key(key: str) -> bool:
    """Whether a field name suggests a secret value (``access_token``, ``X-Api-Key``, ``sid``)."""
    normalised = re.sub(r"[\s_\-.]", "", key.lower())
    return normalised in _KEY_EXACT or any(part in normalised for part in _KEY_PARTS)


class Redactor:
    """A structlog processor that scrubs secrets from every value of an event, recursively."""

    def __init__(self, secrets: Iterable[str] = (), *, redact_emails: bool = False) -> None:
        """Redact ``secrets`` (and their URL-encoded forms); emails too when ``redact_emails``."""
        self.redact_emails = redact_emails
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    @property
    def secrets(self) -> frozenset[str]:
        """The registered secret values (with their URL-encoded forms)."""
        return frozenset(self._secrets)

    def add(self, *secrets: str) -> None:
        """Register more secret values (a session id obtained at login, say)."""
        for secret in secrets:
            if secret and secret.strip():
                self._secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})
        ordered = sorted(self._secrets, key=len, reverse=True)  # longest first: no partial leftovers
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def scrub(self, text: str) -> str:
        """``text`` with secret values, credential patterns and (if asked) emails replaced."""
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return _EMAIL.sub(EMAIL_REDACTED, text) if self.redact_emails else text

    def redact(self, value: object) -> object:
        """A redacted copy of ``value``: containers walked, other objects as scrubbed text."""
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(item) for item in value]
        return self.scrub(str(value))

    def _field(self, key: str, value: object) -> object:
        if value is not None and value != "" and is_secret_key(key):
            return REDACTED
        return self.redact(value)

    def __call__(self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
        """Redact the whole event (the processor signature)."""
        del logger, method_name
        return {key: self._field(key, value) for key, value in event_dict.items()}


class _DaemonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installs; a later call replaces it, and only it."""


class _CurrentStderrHandler(_DaemonHandler):
    """Writes to whatever ``sys.stderr`` is at emit time, so rich's live display can redirect it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_ACTIVE: dict[str, Redactor] = {}


def choose_format(fmt: Literal["auto", "json", "console"], *, is_tty: bool) -> Literal["json", "console"]:
    """``auto`` means console on a TTY and JSON lines elsewhere (a container, a pipe, a file)."""
    if fmt == "auto":
        return "console" if is_tty else "json"
    return fmt


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _formatter(renderer: Literal["json", "console"], redactor: Redactor, *, colors: bool) -> logging.Formatter:
    final: Processor = (
        structlog.processors.JSONRenderer() if renderer == "json" else structlog.dev.ConsoleRenderer(colors=colors)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            final,
        ],
    )


def _install_handler(handler: logging.Handler, level: str) -> None:
    """Replace the handler a previous call installed (never anyone else's) and set the levels."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _DaemonHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    library_level = max(logging.WARNING, logging.getLevelName(level))
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)


def configure_logging(
    fmt: Literal["auto", "json", "console"] = "auto",
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    *,
    redact_emails: bool = False,
) -> Redactor:
    """Configure structlog and the stdlib root logger; call once, at the entrypoint.

    ``stream`` defaults to the current ``sys.stderr``. The returned redactor is also reachable
    through :func:`register_secret`, for secrets learnt later (a session id from a login).
    """
    level = level.upper()
    target = stream if stream is not None else sys.stderr
    renderer = choose_format(fmt, is_tty=_isatty(target))
    redactor = Redactor(secrets, redact_emails=redact_emails)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = _DaemonHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.setFormatter(_formatter(renderer, redactor, colors=_isatty(target)))
    _install_handler(handler, level)
    _ACTIVE["redactor"] = redactor
    return redactor


def register_secret(*values: str) -> None:
    """Redact ``values`` from now on (no-op before :func:`configure_logging`)."""
    redactor = _ACTIVE.get("redactor")
    if redactor is not None:
        redactor.add(*values)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` scrubbed like a log line, for messages that bypass logging (the CLI's errors).

    Uses ``secrets`` plus what the configured redactor knows, its email setting included.
    """
    active = _ACTIVE.get("redactor")
    redactor = Redactor(secrets, redact_emails=active.redact_emails if active else False)
    if active is not None:
        redactor.add(*active.secrets)
    return redactor.scrub(text)


def bind_run(run_id: str | int) -> None:
    """Tag every log line of this context (thread or task) with the cycle's ``run_id``."""
    structlog.contextvars.bind_contextvars(run_id=run_id)


def clear_run() -> None:
    """Stop tagging log lines with a ``run_id``."""
    structlog.contextvars.unbind_contextvars("run_id")
