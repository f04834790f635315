"""Terminal escape sequences dropped from text that is read, not obeyed (support/text.py,
`without_escapes`): a job's log as the failure digest shows it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wait_and_dispatch.support.text import without_escapes

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ESCAPE_CHARS = {"\x07", "\x1b", *map(chr, range(0x80, 0xA0))}

# Pieces of escape sequences over-represented, so that the strategy builds whole, cut and nested ones.
PIECES = [
    "\x1b",
    "\x07",
    "\x9b",
    "\x9c",
    "\x9d",
    "[",
    "]",
    "\\",
    "(",
    "0;",
    "31",
    "m",
    "8;;",
    "P",
    "_",
    "\n",
    "x",
    " ",
]
escape_heavy_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from(PIECES), max_size=20).map("".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.characters()), max_size=20).map("".join),
)
plain_text = st.text(alphabet=st.characters(exclude_characters="".join(sorted(ESCAPE_CHARS))))


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("\x1b[31mFAILED\x1b[0m test", "FAILED test"),  # SGR colours
        ("\x1b[?25l\x1b[2K50%", "50%"),  # private CSI: hide the cursor, erase the line
        ("\x9b1;31mred", "red"),  # CSI as one C1 character
        ("a\x1b]0;new title\x07b", "ab"),  # OSC ended by BEL: the window's title
        ("\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink ended by ST
        ("\x9d0;title\x9cafter", "after"),  # OSC and ST as C1 characters
        ("\x1bPq#0;2;0;0;0\x1b\\sixel", "sixel"),  # DCS
        ("\x1b_private\x1b\\x", "x"),  # APC
        ("\x1b(Bascii", "ascii"),  # designate a character set: an escape with an intermediate
        ("\x1bcreset", "reset"),  # RIS, a two-character escape
        ("title \x1b]0;never closed\nnext line", "title \nnext line"),  # an open OSC ends with its line
        ("cut at the end \x1b[", "cut at the end "),
        ("bell\x07 and \x85next line", "bell and next line"),  # BEL, and NEL (a C1 control)
    ],
)
def test_each_kind_of_escape_sequence_is_dropped_and_its_text_kept(text: str, read: str) -> None:
    assert without_escapes(text) == read


@FAST
@given(escape_heavy_text)
@example("\x1b\x1b[31m")
@example("\x1b]\x1b\\\x07")
@example("\x1b[\x9b")
def test_what_is_left_holds_no_esc_bel_or_c1_control(text: str) -> None:
    assert not ESCAPE_CHARS & set(without_escapes(text))


@FAST
@given(plain_text)
@example("50% [====>   ] ü \u202e\t\r\n::error::x")
def test_text_without_escape_characters_passes_unchanged(text: str) -> None:
    assert without_escapes(text) == text


@FAST
@given(escape_heavy_text)
def test_lines_stay_lines(text: str) -> None:
    assert without_escapes(text).count("\n") == text.count("\n")
