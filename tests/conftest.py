"""Suite-wide guards.

Secrets: every test's captured stdout, stderr, log records and failure traceback are scanned for the known
secret values the suite uses (the sandboxes' credentials and a fixed test token). A test that lets one through
fails, whatever it asserted. This is how "no log line, output or traceback of any test run contains the
token" is enforced rather than hoped for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sync_daemon.store import Store

pytest_plugins = ["pytester"]

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator
    from pathlib import Path

# A token value the tests configure wherever a secret is needed; it must never be printed.
KNOWN_TOKEN = "tok-KNOWN-SECRET-5f0c2b9e-never-print-me"


def known_secrets() -> list[str]:
    """Every secret value the suite hands to the daemon or the sandboxes."""
    secrets = [KNOWN_TOKEN]
    try:
        from sync_daemon.sandbox import hubspot, salesforce  # noqa: PLC0415
    except ImportError:  # pragma: no cover - sandboxes are part of the package
        return secrets
    secrets += [
        hubspot.ACCESS_TOKEN,
        salesforce.CONSUMER_SECRET,
        salesforce.PASSWORD,
        salesforce.SECURITY_TOKEN,
    ]
    secrets += list(getattr(salesforce, "ISSUED_TOKENS", ()))
    return [s for s in secrets if s]


def _phase_texts(report: pytest.TestReport) -> list[str]:
    """This phase's captured sections (sections accumulate across phases) and its traceback."""
    texts = [text for title, text in report.sections if title.endswith(f" {report.when}")]
    return [*texts, report.longreprtext]


def _leaks(report: pytest.TestReport, secrets: list[str]) -> list[str]:
    texts = _phase_texts(report)
    return [s for s in secrets if any(s in t for t in texts)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    """Fail any test whose output, logs or traceback contain a known secret."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if item.get_closest_marker("leaks_secrets_on_purpose"):
        return
    leaked = _leaks(report, known_secrets())
    if leaked:
        report.outcome = "failed"
        masked = ", ".join(f"{s[:4]}...({len(s)} chars)" for s in leaked)
        report.longrepr = f"secret value(s) leaked into output/logs/traceback: {masked}"
        # The captured sections would show the secret in the failure report: withhold them.
        report.sections = [
            (title, "[withheld: contained a secret]" if any(s in text for s in leaked) else text)
            for title, text in report.sections
        ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in a temporary file (the store's own suite also covers PostgreSQL)."""
    s = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()
