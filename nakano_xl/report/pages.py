"""The printed page: column widths as programs draw them, row heights, page breaks, page setup.

別紙1's page breaks are ours (`paginate`): a section starts on a new page rather than being
cut, and a section longer than a page is split at the break with its label repeated on the
next page, as the FY R3 report prints 2-3-①. Row heights are set explicitly
(`fitted_height`): LibreOffice does not grow a row for wrapped text or a larger font.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import xlsxwriter.worksheet

from ..xlsx.measure import height_of, max_lines
from .styles import FONT_SIZE

# The printed page, in points. Margins in inches, as Excel's page setup takes them.
A4_LANDSCAPE = (841.89, 595.28)
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.5, "bottom": 0.6}
# Plan pages a little short of full: Excel rounds its fit-to-width scale to a whole percent
# and row heights to its own units.
PAGE_FILL = 0.97


@dataclass(frozen=True, slots=True)
class ColumnMetrics:
    """How a spreadsheet program sizes a column of width ``w`` (in characters, as given to
    xlsxwriter): ``per_char * w + extra`` pixels (of 1/96 inch).

    Excel takes the digit width of the workbook's default font, Calibri 11 in an xlsxwriter
    workbook: 7 pixels, plus 5 of padding. LibreOffice does the same with the font it has for
    Calibri; without Calibri or Carlito that is a wider one (DejaVu Sans: 9.3 pixels), so its
    columns come out a third wider, the fit-to-width scale a quarter smaller, and the text
    prints at 5.5 points. The workbook is laid out for Excel; the PDF export measures the
    LibreOffice that prints it (`nakano_xl.export.measure_columns`) and gives its copy the
    widths that draw every column exactly as wide as Excel does, so it prints like Excel.
    """

    per_char: float = 7.0
    extra: float = 5.0

    def pixels(self, width: float) -> float:
        return int(width * self.per_char + 0.5) + self.extra

    def width_like_excel(self, width: float) -> float:
        """The width to store for this program to draw a column as wide as Excel draws ``width``."""
        if self == EXCEL:
            return width
        return round((EXCEL.pixels(width) - self.extra) / self.per_char, 2)


EXCEL = ColumnMetrics()


def page_room(widths: list[float], page: tuple[float, float] = A4_LANDSCAPE) -> float:
    """Sheet points of rows that fit on one page when the columns are fitted to its width."""
    printable_w = page[0] - 72 * (MARGINS["left"] + MARGINS["right"])
    printable_h = page[1] - 72 * (MARGINS["top"] + MARGINS["bottom"])
    scale = min(1.0, printable_w / sum(EXCEL.pixels(w) * 0.75 for w in widths))
    return printable_h / scale * PAGE_FILL


def fitted_height(cells: list[tuple[str, float]], font_size: float = FONT_SIZE) -> float:
    """The row height wrapped ``cells`` need (`xlsx.measure`), rounded up to whole pixels: a
    spreadsheet stores heights in pixels of 3/4 point and would round a fraction down."""
    return _pixel_height(max_lines(cells), font_size)


@functools.lru_cache(maxsize=1024)
def _pixel_height(lines: int, font_size: float) -> float:
    return math.ceil(round(height_of(lines, font_size) / 0.75, 6)) * 0.75


def fit_row(sheet: xlsxwriter.worksheet.Worksheet, row: int, values: list[str], widths: Sequence[float]) -> None:
    """Give a row of wrapped cells the height its longest text needs (LibreOffice does not)."""
    sheet.set_row(row, fitted_height(list(zip(values, widths))))


@dataclass(frozen=True, slots=True)
class Layout:
    """Where 別紙1's data rows go on the printed pages.

    Indexes count data rows from 0. ``blocks`` are the section cells: one per section, or one
    per page a section spans, each merged over its rows when it has more than one.
    """

    heights: list[float]  # points per data row
    breaks: list[int]  # rows that start a new page
    blocks: list[tuple[int, int]]  # (first, last) rows of each section cell


def paginate(sections: list[tuple[list[float], float]], room: float) -> Layout:
    """Place sections on pages of ``room`` points: (row heights, label height) per section.

    A section that does not fit in what is left of a page starts on the next one. A section
    taller than a page starts on the current page when a quarter of it is left, and is cut
    where the page ends; each part gets its own section cell. A section cell shorter than its
    label grows its last row, so the label is never cut off.
    """
    heights: list[float] = []
    breaks: list[int] = []
    blocks: list[tuple[int, int]] = []
    used = 0.0
    for rows, label in sections:
        start = len(heights)
        total = max(sum(rows), label)
        left = room - used
        if used > 0 and total > left and (total <= room or left < max(room / 4, label, rows[0])):
            breaks.append(start)
            used = 0.0
        first, block = start, 0.0
        for n, h in enumerate(rows):
            index = start + n
            if index > first and used + h > room:  # the page is full: close this part here
                grow = max(0.0, label - block)
                heights[-1] += grow
                blocks.append((first, index - 1))
                breaks.append(index)
                used, first, block = 0.0, index, 0.0
            heights.append(h)
            used += h
            block += h
        grow = max(0.0, label - block)
        heights[-1] += grow
        used += grow
        blocks.append((first, start + len(rows) - 1))
    return Layout(heights, breaks, blocks)


def page_setup(sheet: xlsxwriter.worksheet.Worksheet, footer: str, repeat_to: int | None, *,
               landscape: bool = True) -> None:
    """A4, one page wide, the footer centred, rows 0…``repeat_to`` printed on every page."""
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.set_paper(9)  # A4
    # One page wide, as many pages tall as needed. With "tall" left automatic (0) the manual
    # row breaks still apply: Excel and LibreOffice ignore them only when the height is fixed.
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(**MARGINS)
    sheet.set_footer(f"&C{footer}")
    if repeat_to is not None:
        sheet.repeat_rows(0, repeat_to)
