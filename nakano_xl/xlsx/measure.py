"""Row heights for wrapped text, estimated the way a spreadsheet lays it out.

LibreOffice does not grow the rows of an xlsxwriter file to fit wrapped text when it opens
it (Excel does, on screen), so a row left at the default height shows one line of a long
answer and prints it cut off. We set each row's height from its longest cell instead.
"""

from __future__ import annotations

import math

# Excel measures column widths in widths of "0"; a full-width (CJK) character takes about two.


def text_width(text: str, narrow: float = 1.1) -> float:
    """Width of one line of text in widths of "0": 2 for a full-width (CJK) character,
    ``narrow`` for any other (a spreadsheet's proportional font: about 1.1; a terminal: 1).

    Counted from the UTF-8 length rather than character by character: the report of a
    nation-wide survey measures millions of characters. CJK characters take 3 bytes, ASCII 1,
    so (bytes - chars) / 2 counts the wide ones exactly for text made of those two kinds
    (and takes ○ ◎ — for wide, as a Japanese terminal and font draw them).
    """
    if text.isascii():
        return narrow * len(text)
    chars = len(text)
    wide = min(chars, (len(text.encode("utf-8")) - chars) // 2)
    return 2.0 * wide + narrow * (chars - wide)


def line_count(text: str, column_width: float) -> int:
    """Lines a wrapped cell of ``column_width`` needs for ``text``."""
    if not text:
        return 1
    usable = max(column_width - 1.0, 1.0)  # cell padding
    # No character is wider than 2: a text that fits even so is one line, without measuring.
    # (The report of a nation-wide survey asks this for millions of cells; most are short.)
    if "\n" not in text:
        if 2.0 * len(text) <= usable:
            return 1
        return max(1, math.ceil(text_width(text) / usable))
    return sum(max(1, math.ceil(text_width(line) / usable)) for line in text.split("\n"))


# Lines of wrapped Japanese text are about 1.42 em apart in LibreOffice, which sets them in
# Noto Sans CJK JP; Excel's Japanese fonts set them closer. A little more than LibreOffice's
# spacing, so that its print never cuts the last line off (docs/design.md).
LINE_SPACING = 1.45


def row_height(cells: list[tuple[str, float]], font_size: float = 10.0, *, min_lines: int = 1) -> float:
    """Points for a row whose cells are (text, column width) pairs."""
    return height_of(max_lines(cells, min_lines), font_size)


def max_lines(cells: list[tuple[str, float]], min_lines: int = 1) -> int:
    """The most lines any of the (text, column width) cells needs, at least ``min_lines``."""
    most = min_lines
    for text, width in cells:
        # line_count's one-line shortcut, without the call: most cells of a report are short
        # (the report of a nation-wide survey asks this for 3 million cells).
        if 2 * len(text) <= width - 1.0 and "\n" not in text:
            continue
        lines = line_count(text, width)
        most = max(most, lines)
    return most


def height_of(lines: int, font_size: float = 10.0) -> float:
    """Points for ``lines`` wrapped lines of ``font_size``."""
    return round(lines * font_size * LINE_SPACING + 3.0, 1)
