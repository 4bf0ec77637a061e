"""The cursor arithmetic of incremental pulls: pure functions over saved state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync_daemon.pull import next_watermark, start_point
from sync_daemon.store import CursorState

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIVE_MIN = timedelta(minutes=5)


def test_first_pull_reads_everything() -> None:
    """With no saved cursor the pull starts from the beginning."""
    assert start_point(CursorState(None, None, None), FIVE_MIN) == (None, None)


def test_incremental_pull_overlaps_the_watermark() -> None:
    """An incremental pull re-reads the overlap window behind the saved watermark."""
    assert start_point(CursorState(T0, None, None), FIVE_MIN) == (T0 - FIVE_MIN, None)


def test_interrupted_pull_resumes_with_its_original_since() -> None:
    """A pull cut short resumes after its last committed page, with the same lower bound."""
    cursor = CursorState(T0, T0 - FIVE_MIN, '["2026-03-01T12:01:00+00:00","001"]')
    assert start_point(cursor, FIVE_MIN) == (T0 - FIVE_MIN, cursor.resume)


def test_interrupted_full_pull_resumes_from_its_page() -> None:
    """A first pull cut short resumes without a lower bound."""
    assert start_point(CursorState(None, None, "search:42"), FIVE_MIN) == (None, "search:42")


def test_watermark_is_capped_at_the_signpost() -> None:
    """A CRM clock running ahead cannot move the watermark past the pull's start."""
    assert next_watermark(T0, T0 + timedelta(hours=1), signpost=T0 + FIVE_MIN) == T0 + FIVE_MIN


def test_watermark_stays_when_nothing_was_seen() -> None:
    """A pull that saw no record keeps the old watermark."""
    assert next_watermark(T0, None, signpost=T0 + FIVE_MIN) == T0


@given(
    old=st.none() | st.datetimes(timezones=st.just(UTC)),
    seen=st.none() | st.datetimes(timezones=st.just(UTC)),
    signpost=st.datetimes(timezones=st.just(UTC)),
)
def test_watermark_never_passes_signpost_nor_goes_back(
    old: datetime | None, seen: datetime | None, signpost: datetime
) -> None:
    """The watermark never exceeds the signpost and never drops below the old one unless capped."""
    new = next_watermark(old, seen, signpost)
    if old is None and seen is None:
        assert new is None
        return
    assert new is not None
    assert new <= signpost
    if old is not None and old <= signpost:
        assert new >= old
