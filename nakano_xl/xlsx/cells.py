"""A1 references: 1-based (row, column) as Excel numbers them, never 0-based."""

from __future__ import annotations

import functools
import re

_A1 = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
# Excel's limit for the text of one cell, in UTF-16 code units.
CELL_TEXT_MAX = 32_767


def too_long_for_a_cell(text: str) -> bool:
    """Whether ``text`` is longer than Excel keeps in one cell (a file written by a program can
    hold more; Excel and xlsxwriter cut it)."""
    return len(text) > CELL_TEXT_MAX // 2 and len(text.encode("utf-16-le")) > 2 * CELL_TEXT_MAX


@functools.lru_cache(maxsize=1024)  # a few columns, asked for every cell of every file
def column_letter(col: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 1, AA → 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def a1(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


def split_a1(ref: str) -> tuple[int, int]:
    """"D17" → (17, 4). A range gives its first cell."""
    m = _A1.match(ref)
    if not m:
        raise ValueError(f"not an A1 reference: {ref!r}")
    return int(m.group(2)), column_index(m.group(1))


def split_range(ref: str) -> tuple[int, int, int, int]:
    """"B2:D5" → (2, 2, 5, 4) as (first row, first col, last row, last col)."""
    first, _, last = ref.partition(":")
    r1, c1 = split_a1(first)
    r2, c2 = split_a1(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)

