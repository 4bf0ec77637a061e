"""The suite's secret guard fires: a test that prints a known secret fails even though it asserted nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (
    (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8").replace('pytest_plugins = ["pytester"]', "")
)


@pytest.mark.leaks_secrets_on_purpose  # the inner run's log records reach this test's log capture too
def test_guard_fails_a_test_that_prints_a_secret(pytester: pytest.Pytester) -> None:
    """Printing the known token, logging it or raising with it makes the test fail."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        import logging
        from conftest import KNOWN_TOKEN

        def test_prints():
            print("token is", KNOWN_TOKEN)

        def test_logs():
            logging.getLogger("x").warning("Authorization: Bearer %s", KNOWN_TOKEN)

        def test_raises():
            raise RuntimeError("refused " + KNOWN_TOKEN)

        def test_clean():
            print("nothing to see")
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)
    assert "leaked" in result.stdout.str()
    assert "tok-KNOWN-SECRET" not in result.stdout.str()
