"""Pulls report how many records match, so a terminal can show time left; the engine feeds it to progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.conformance.drivers import Driver, start_driver

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(params=["salesforce", "hubspot"])
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=40, contacts=700)
    yield d
    d.server.stop()


def test_first_page_carries_the_total(driver: Driver) -> None:
    """The first page says how many contacts match the pull; later pages leave it unset."""
    pages = list(driver.connector().pull("contacts", None))
    assert pages[0].total == 700
    assert all(p.total is None for p in pages[1:])


class Recorder:
    """A PullProgress that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []

    def start(self, kind: str, total: int | None) -> None:
        """A pull began."""
        self.events.append(("start", kind, total))

    def advance(self, kind: str, n: int) -> None:
        """Records arrived."""
        self.events.append(("advance", kind, n))

    def finish(self, kind: str) -> None:
        """A pull ended."""
        self.events.append(("finish", kind, None))

    def close(self) -> None:
        """The display closed."""
        self.events.append(("close", "", None))


def test_cycle_feeds_totals_and_counts_to_progress(driver: Driver, store: object) -> None:
    """Progress starts with the CRM's total and advances by every record pulled."""
    from datetime import timedelta  # noqa: PLC0415

    from sync_daemon.engine import CycleOptions, run_cycle  # noqa: PLC0415

    recorder = Recorder()
    run_cycle(
        driver.connector(),
        store,  # type: ignore[arg-type]
        options=CycleOptions(overlap=timedelta(minutes=5)),
        clock=driver.time.now,
        progress=recorder,
    )
    starts = [e for e in recorder.events if e[0] == "start"]
    assert starts[1] == ("start", "contacts", 700)
    advanced = sum(n or 0 for e, kind, n in recorder.events if e == "advance" and kind == "contacts")
    assert advanced == 700
