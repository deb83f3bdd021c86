"""A worksheet part: its cells within the caps, its merged ranges, whether it is protected.

A sheet holds as many rows and cells as its sender likes, so it is streamed through expat
callbacks (`zipguard.GuardedZip.parse_stream`) and nothing is kept of a cell but the `Cell`
made of it: memory stays flat whatever a row holds. The reading stops at the row cap, and
cells past the column cap are only looked at for content (``truncated`` says either).
Nothing the file says about its own size is trusted (``<dimension>``, ``spans``): a cell's
place comes from its reference, else from the cells and rows before it.

A cell is read as the department saw it: a shared string's text, a number or a date shown
through the cell's number format (`styles`, `numfmt`), a formula's cached value beside the
formula itself, booleans and errors as Excel shows them. Its text is made representable
(`text`); what was replaced, a shared string index that is not in the table and a style
index that names no style are kept in ``Sheet.issues`` for intake to report, never dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from .cells import split_a1
from .numfmt import render, render_general
from .package import NS_MAIN
from .sharedstrings import RichText
from .styles import Styles
from .text import (
    NO_STRING,
    NO_STYLE,
    REPLACED,
    UNREPRESENTABLE,
    ReadIssue,
    decode_escapes,
    representable,
    unrepresentable,
)
from .zipguard import GuardedZip, RefusedFile, StopParse

KEEP_OUTSIDE = 50  # outside-the-area cells kept with their text; the rest are counted
MAX_MERGED = 10_000  # merged ranges kept from one sheet

# The same few hundred references ("C5") come back in every file: each is parsed once.
_split_a1 = functools.lru_cache(maxsize=1 << 16)(split_a1)

# Element names as expat gives them (namespace, "}", local name).
X_C, X_ROW, X_V, X_F, X_IS = (f"{NS_MAIN}}}{n}" for n in ("c", "row", "v", "f", "is"))
X_PROTECTION, X_MERGE = f"{NS_MAIN}}}sheetProtection", f"{NS_MAIN}}}mergeCell"


class Cell(NamedTuple):
    """One cell as read. A named tuple rather than a frozen dataclass: a nation-wide survey
    makes millions of them, and a tuple is the cheapest to make."""

    row: int
    col: int
    text: str  # the value as the person saw it: numbers as displayed, dates as 2022/4/1
    kind: str  # text | number | bool | error | date | formula-text
    formula: str | None = None  # the formula, when the cell holds one (text without "=")
    cached: bool = True  # False for a formula without a cached value
    style: int = 0


@dataclass(slots=True)
class Sheet:
    name: str
    state: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    protected: bool = False
    rows_read: int = 0  # <row> elements iterated
    truncated: bool = False  # more rows (or columns) than the limits allow; the rest was not read
    locked_styles: frozenset[int] = frozenset()
    outside: list[Cell] = field(default_factory=list)  # first cells with content outside the area
    outside_count: int = 0  # all of them
    issues: list[ReadIssue] = field(default_factory=list)  # of the cells kept: texts replaced, unresolved

    def get(self, row: int, col: int) -> Cell | None:
        return self.cells.get((row, col))

    def text(self, row: int, col: int) -> str:
        cell = self.cells.get((row, col))
        return cell.text if cell else ""

    def is_locked(self, row: int, col: int) -> bool:
        cell = self.cells.get((row, col))
        return (cell.style if cell else 0) in self.locked_styles


class CellValues:
    """What turns a ``<c>`` into a `Cell`: the shared strings (read the first time a cell
    refers to them), the number formats, the workbook's date system.

    Every text is made representable (`text.representable`); what was replaced, and a shared
    string that is not in the table, are left in ``pending`` for the sheet to record with the
    cell (`ReadIssue`).
    """

    __slots__ = ("_bad", "_load_strings", "_strings", "date1904", "pending", "styles")

    def __init__(self, strings: Callable[[], list[str]], styles: Styles, date1904: bool) -> None:
        self._load_strings = strings
        self._strings: list[str] | None = None
        self._bad: dict[int, str] = {}  # shared string index → the code points replaced in it
        self.styles = styles
        self.date1904 = date1904
        self.pending: list[tuple[str, str]] = []  # (kind, detail) about the cell just made

    def strings(self) -> list[str]:
        """The shared strings, each made representable once, when the first cell needs them."""
        strings = self._strings
        if strings is None:
            strings = self._strings = self._load_strings()
            # One search over the whole table first: a clean table (nearly every one) costs no loop.
            if UNREPRESENTABLE.search("\n".join(strings)) is None:
                return strings
            for index, text in enumerate(strings):
                points = unrepresentable(text)
                if points is not None:
                    strings[index] = representable(text)
                    self._bad[index] = points
        return strings

    def text(self, text: str) -> str:
        """``text`` made representable; what was replaced is left in ``pending``."""
        if UNREPRESENTABLE.search(text) is None:  # nearly every text: one search, no more
            return text
        self.pending.append((REPLACED, unrepresentable(text) or ""))
        return representable(text)

    def cell(self, row: int, col: int, t: str, style: int, v: str | None, formula: str | None,
             inline: str | None) -> Cell | None:
        """A cell from what its element held: type ``t``, the first ``<v>`` and ``<f>`` texts
        (None: none), the text of its ``<is>`` (None: none). None for a cell with nothing in it."""
        if formula is not None:
            formula = self.text(formula)
        if t == "inlineStr":
            return Cell(row, col, self.text(inline or ""), "text", formula, True, style)
        if v is None or (v == "" and t not in ("str", "s")):
            if formula is None:
                return None  # a styled empty cell
            # openpyxl writes <v/> after a formula it could not compute: no cached value.
            return Cell(row, col, "", "formula-text", formula, False, style)
        if t == "s":
            strings = self._strings if self._strings is not None else self.strings()
            try:
                index = int(v)
                if index < 0:
                    raise IndexError(index)
                text = strings[index]
            except (ValueError, IndexError):
                # Not an index into the table: the text is lost, which intake must say.
                self.pending.append((NO_STRING, self.text(v.strip())))
                text = ""
            else:
                if self._bad and index in self._bad:
                    self.pending.append((REPLACED, self._bad[index]))
            return Cell(row, col, text, "text", formula, True, style)
        if t in ("str", "e"):
            return Cell(row, col, self.text(decode_escapes(v)), "text" if t == "str" else "error", formula, True,
                        style)
        if t == "b":
            return Cell(row, col, "TRUE" if v.strip() in ("1", "true") else "FALSE", "bool", formula, True, style)
        if t == "d":  # ISO 8601 date cells (Strict-ish writers); shown as the date part
            return Cell(row, col, self.text(_iso_date_text(v)), "date", formula, True, style)
        try:
            number = float(v)
        except ValueError:
            return Cell(row, col, self.text(v), "text", formula, True, style)
        code = self.styles.formats.get(style)
        if code is None:
            return Cell(row, col, render_general(number), "number", formula, True, style)
        kind = "date" if style in self.styles.date_styles else "number"
        return Cell(row, col, render(number, code, date1904=self.date1904), kind, formula, True, style)


def _iso_date_text(v: str) -> str:
    date, _, time = v.partition("T")
    try:
        y, m, d = (int(p) for p in date.split("-"))
    except ValueError:
        return v
    text = f"{y}/{m}/{d}"
    if time and time[:5] not in ("00:00", ""):
        text += f" {int(time[:2])}:{time[3:5]}"
    return text


def read_worksheet(parts: GuardedZip, part: str, sheet: Sheet, values: CellValues, *, rows_cap: int,
                   col_cap: int, area: tuple[int, int] | None) -> None:
    """Stream the worksheet ``part`` into ``sheet``: cells up to ``rows_cap`` and ``col_cap``,
    then merges and protection.

    Without ``area`` every cell within the caps is kept. With ``area = (rows, cols)`` only the
    cells inside ``A1`` to that corner are; cells with content outside it (within the caps)
    are listed in ``outside`` (the first `KEEP_OUTSIDE`) and counted.
    """
    handler = _SheetHandler(sheet, values, rows_cap, col_cap, area)
    try:
        parts.parse_stream(part, handler, f"シート「{sheet.name}」を解析できません")
    except KeyError:
        raise RefusedFile("file.corrupt", f"シート「{sheet.name}」の本体（{part}）がありません") from None


class _SheetHandler:
    """A worksheet, streamed: the cells within the caps, then merges and protection.

    A cell's row comes from its own reference ("C5"), so a row past the cap is stopped at its
    first cell.
    """

    def __init__(self, sheet: Sheet, values: CellValues, rows_cap: int, col_cap: int,
                 area: tuple[int, int] | None) -> None:
        self.sheet, self.values, self.rows_cap, self.col_cap, self.area = sheet, values, rows_cap, col_cap, area
        self.last_row = 0  # the last row that ended
        self.row = 0  # the row being read (its r, else the one after the last)
        self.row_no = self.col_no = self.cells_in_row = 0  # where the last cell stood; cells in its row
        # The cell being read:
        self.in_cell = False
        self.beyond = False  # past the column cap: only whether it holds anything counts
        self.t = "n"
        self.style = 0
        self.s: str | None = None  # the style index as written
        self.children = 0
        self.depth = 0  # elements open inside it
        self.v: str | None = None
        self.f: str | None = None
        self.inline: str | None = None
        self.text: list[str] | None = None  # the text of the <v> or <f> being read
        self.rich: RichText | None = None  # inside its <is>

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.depth += 1
            rich = self.rich
            if rich is not None:
                rich.start(name)
            elif self.depth == 1:
                self.children += 1
                if (name == X_V and self.v is None) or (name == X_F and self.f is None):
                    self.text = []
                elif name == X_IS and self.inline is None:
                    self.rich = RichText()
        elif name == X_C:
            self.start_cell(attrs)
        elif name == X_ROW:
            r = attrs.get("r")
            try:
                self.row = int(r) if r else self.last_row + 1
            except ValueError:
                self.row = self.last_row + 1
        elif name == X_PROTECTION:
            self.sheet.protected = attrs.get("sheet") in ("1", "true")
        elif name == X_MERGE:
            if len(self.sheet.merged) < MAX_MERGED and attrs.get("ref"):
                self.sheet.merged.append(attrs["ref"])

    def start_cell(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        try:
            row, col = _split_a1(ref) if ref else (self.row or self.last_row + 1, self.col_no + 1)
        except ValueError:
            row, col = self.row or self.last_row + 1, self.col_no + 1
        if row != self.row_no:
            self.row_no, self.cells_in_row = row, 0
        self.col_no = col
        self.cells_in_row += 1
        if row > self.rows_cap or (self.cells_in_row > self.col_cap * 4 and self.cells_in_row > 1000):
            # Past the row limit, or more cells in one row than any real sheet has.
            self.sheet.truncated = True
            raise StopParse
        self.in_cell, self.beyond, self.depth, self.children = True, col > self.col_cap, 0, 0
        self.t = attrs.get("t", "n")
        s = self.s = attrs.get("s")
        try:
            self.style = int(s) if s else 0
        except ValueError:
            self.style = -1  # resolves to no style
        self.v = self.f = self.inline = None

    def end(self, name: str) -> None:
        if self.in_cell:
            if not self.depth:  # the </c>
                self.in_cell = False
                self.end_cell()
                return
            self.depth -= 1
            rich = self.rich
            if rich is not None:
                if rich.depth:
                    rich.end()
                else:  # the </is>
                    self.inline = rich.text()
                    self.rich = None
            elif self.depth == 0 and self.text is not None:
                text = "".join(self.text)
                self.text = None
                if name == X_V:
                    self.v = text
                else:
                    self.f = text
        elif name == X_ROW:
            sheet = self.sheet
            sheet.rows_read += 1
            self.last_row, self.row, self.col_no = self.row, 0, 0
            if self.last_row > self.rows_cap or sheet.rows_read > self.rows_cap:
                sheet.truncated = True
                raise StopParse

    def end_cell(self) -> None:
        sheet = self.sheet
        if self.beyond:
            if self.v is not None or self.f is not None or self.inline is not None:
                sheet.truncated = True
            return
        if not self.children and self.t != "inlineStr":
            return  # a styled empty cell: no value, no formula (most cells of a blank form)
        row, col = self.row_no, self.col_no
        values = self.values
        cell = values.cell(row, col, self.t, self.style, self.v, self.f, self.inline)
        if cell is None:
            return
        style = self.style
        if style and not 0 < style < values.styles.count:  # no such style (`Styles.count`)
            values.pending.append((NO_STYLE, representable(self.s or "")))
        area = self.area
        if area is None or (row <= area[0] and col <= area[1]):
            sheet.cells[(row, col)] = cell
            kept = True
        elif cell.text or cell.formula is not None:
            sheet.outside_count += 1
            kept = len(sheet.outside) < KEEP_OUTSIDE
            if kept:
                sheet.outside.append(cell)
        else:
            kept = False
        if values.pending:
            if kept:  # a cell not kept is in no output: nothing in it needs a word
                shown = cell.text if cell.text or cell.formula is None else f"={cell.formula}"
                sheet.issues.extend(ReadIssue(kind, "セル", sheet.name, row, col, shown, detail)
                                    for kind, detail in values.pending)
            values.pending.clear()

    def data(self, text: str) -> None:
        captured = self.text
        if captured is not None:
            captured.append(text)
        else:
            rich = self.rich
            if rich is not None and rich.capturing:
                rich.parts.append(text)
