"""Trimming the note for the long-text account field: whole lines, a marker, never over the limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_daemon.domain.handoff_note import TRIM_MARKER, render, trimmed
from tests.unit.handoff_note.builders import default_template, full

TEXT = "Heading\n- first bullet\n- second bullet\n\nNext heading\n- third\n" + "- more\n" * 20


def test_text_that_fits_is_returned_unchanged() -> None:
    """Nothing is cut, and no marker added, when the text fits exactly."""
    assert trimmed(TEXT, len(TEXT)) == TEXT


def test_a_long_text_is_cut_after_the_last_whole_line_that_fits() -> None:
    """The cut falls at a line boundary and the marker follows."""
    limit = len("Heading\n- first bullet\n- second b") + len(TRIM_MARKER)
    assert trimmed(TEXT, limit) == "Heading\n- first bullet\n" + TRIM_MARKER


def test_trailing_blank_lines_before_the_cut_are_dropped() -> None:
    """A cut just after a paragraph does not leave an empty line before the marker."""
    limit = len("Heading\n- first bullet\n- second bullet\n\nNe") + len(TRIM_MARKER)
    assert trimmed(TEXT, limit) == "Heading\n- first bullet\n- second bullet\n" + TRIM_MARKER


def test_a_first_line_longer_than_the_limit_is_cut_at_a_space() -> None:
    """With no line boundary in reach, the cut falls between words."""
    limit = len("Handoff to Customer") + len(TRIM_MARKER)
    assert trimmed("Handoff to Customer Success: Acme Rockets Incorporated\n", limit) == "Handoff to " + TRIM_MARKER


def test_a_limit_smaller_than_the_marker_gives_a_bare_prefix() -> None:
    """No room for the marker: the text is simply cut."""
    assert trimmed(TEXT, 5) == "Headi"
    with pytest.raises(ValueError, match="negative"):
        trimmed(TEXT, -1)


def test_the_rendered_note_trims_to_a_field_length() -> None:
    """A real note trimmed to 255 characters ends with the marker after a whole line."""
    text = render(default_template(), full())
    short = trimmed(text, 255)
    assert len(short) <= 255
    assert short.endswith("\n" + TRIM_MARKER)
    assert text.startswith(short.removesuffix(TRIM_MARKER))


@given(st.text(alphabet=st.sampled_from("ab é\n-")), st.integers(min_value=0, max_value=80))
def test_trimmed_is_never_longer_than_the_limit_and_is_a_prefix(text: str, limit: int) -> None:
    """For any text and limit: at most `limit` characters, and the text's prefix up to the marker."""
    short = trimmed(text, limit)
    assert len(short) <= limit
    kept = short.removesuffix(TRIM_MARKER) if short != text else short
    assert text.startswith(kept)
    assert short == text or len(text) > limit
