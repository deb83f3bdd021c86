"""A worksheet whose many data rows are serialised by us, straight into xlsxwriter's part.

xlsxwriter spends ~8 µs of Python per string cell (a cell object in its table, a shared
strings lookup, attribute escaping, then a second pass that writes the XML and the shared
strings table). For 別紙1 of a nation-wide survey that is 4 million cells and most of the
report's time (issue 9). `BulkWorksheet` lets xlsxwriter write everything else about the sheet
(the rows above, columns, merges, page setup, print titles) and writes the data rows itself,
in order, as inline strings (``t="inlineStr"``, as xlsxwriter's own ``constant_memory`` mode
does: no shared strings table to build or hold). The rows are produced when the part is
written, at ``workbook.close()``, in stretches of `CHUNK_ROWS` rows, each deflated on its own
— here and on a worker for a long sheet — so they are never held as XML in memory; the part
holds a marker where they go, and nakano_xl's `Workbook` (`xlsx.writer`) puts the deflated
stretches into the part's zip entry as they are.

The hooks are two of xlsxwriter's own worksheet methods (`_write_rows`) and attributes
(``merge``, the dimension): tested by reading the report back (tests/test_bulk.py,
tests/test_report.py), so an xlsxwriter that changed them fails the tests, not a user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import xlsxwriter.format
import xlsxwriter.worksheet
from xlsxwriter.utility import xl_col_to_name

from ..workers import pmap
from .cells import CELL_TEXT_MAX, too_long_for_a_cell
from .writer import Deflated, deflate

# One data row: its height in points, and its cells in column order as (column, value, style).
# The style is a number from `BulkWorksheet.style`.
Row = tuple[float, Sequence[tuple[int, str | float, int]]]

# What needs more than copying: XML's three, the control characters Excel writes as _xHHHH_
# (and a literal _xHHHH_, whose underscore it escapes), the two non-characters.
_SPECIAL = re.compile("[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_ESCAPE_LIKE = re.compile("_x[0-9a-fA-F]{4}_")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def cell_text(text: str) -> str:
    """``text`` as the content of an inline string's ``<t>``, escaped as Excel escapes it."""
    if too_long_for_a_cell(text):  # (intake reported it: cell.too_long)
        text = truncate_utf16(text)
    if not _SPECIAL.search(text):
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def truncate_utf16(text: str) -> str:
    """The longest start of ``text`` that fits in a cell (never half a surrogate pair)."""
    data = text.encode("utf-16-le")[: 2 * CELL_TEXT_MAX]
    return data.decode("utf-16-le", errors="ignore")


class BulkWorksheet(xlsxwriter.worksheet.Worksheet):
    """A worksheet some of whose row ranges come from `add_rows` instead of cells written one
    by one. Make it with ``workbook.add_worksheet(name, worksheet_class=BulkWorksheet)``; the
    rows around those ranges are written with xlsxwriter as usual (never inside them)."""

    def __init__(self) -> None:
        super().__init__()
        self._blocks: list[tuple[int, int, Callable[[int, int], Iterable[Row]], int | None]] = []
        self._styles: dict[int, int] = {}
        self._shared: dict[str, int] = {}
        # Given by nakano_xl's `Workbook` (`xlsx.writer`), whose zip takes the rows deflated.
        self.splice: Callable[[list[Deflated]], str] | None = None

    def style(self, fmt: xlsxwriter.format.Format | None) -> int:
        """The style number of ``fmt`` for the cells of `add_rows` (0: none).

        Taken now, not when the rows are written: xlsxwriter collects the styles a workbook
        uses from the formats that have a number."""
        if fmt is None:
            return 0
        found = self._styles.get(id(fmt))
        if found is None:
            found = self._styles[id(fmt)] = fmt._get_xf_index()
        return found

    def share(self, text: str) -> None:
        """Write ``text`` as a shared string wherever it appears in the rows, not inline.

        For a text with a literal ``_xHHHH_`` in it: Excel reads ``_x005F_xHHHH_`` back as
        that literal in both forms, but openpyxl (and so pandas) undoes the escape only in
        shared strings and would show a department's ``_x000D_`` as ``_x005F_x000D_``.
        Call it before the workbook is closed, once per cell that holds ``text``."""
        if _ESCAPE_LIKE.search(text):
            self._shared[text] = self.str_table._get_shared_string_index(text)

    def add_rows(self, first_row: int, last_row: int, last_col: int, rows: Callable[[int, int], Iterable[Row]],
                 *, workers: int | None = 1) -> None:
        """Rows ``first_row``…``last_row`` (0-based) come from ``rows(start, stop)``, the rows
        ``start``…``stop - 1`` of the range counted from 0, called when the workbook is
        closed; together the calls give exactly that many rows. A cell's value is a text or a
        number. Ranges are added top to bottom.

        ``workers``: processes that serialise and deflate the rows (`nakano_xl.workers`; None:
        as many as there are CPUs for a long range), this one among them (`pmap` with
        ``here``, so only where workers fork: ``rows`` is a closure over the report's data).
        The bytes are the same whatever the number: the rows are deflated in fixed stretches.
        """
        if last_row < first_row:
            return
        if self._blocks and self._blocks[-1][1] >= first_row:
            raise ValueError(f"bulk rows from {first_row} overlap or precede rows added before")
        self._check_dimensions(first_row, 0)
        self._check_dimensions(last_row, last_col)
        self._blocks.append((first_row, last_row, rows, workers))

    def merge_cells(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """Merge a range of the bulk rows; its cells' text and style come from the rows (the
        first cell's text shows, the others should be empty with the same style)."""
        self.merge.append([first_row, first_col, last_row, last_col])

    def _write_rows(self) -> None:
        if not self._blocks:
            super()._write_rows()
            return
        inside = [r for r in (*self.table, *self.row_info) if any(a <= r <= b for a, b, *_ in self._blocks)]
        if inside:
            raise ValueError(f"row {min(inside)} was written with xlsxwriter inside bulk rows")
        # xlsxwriter's loop runs from dim_rowmin to dim_rowmax: it is given the ranges between
        # the blocks, one at a time.
        low: int = self.dim_rowmin  # type: ignore[has-type]  # (set by add_rows; untyped in xlsxwriter)
        high: int = self.dim_rowmax  # type: ignore[has-type]
        at = low
        try:
            for first, last, rows, workers in self._blocks:
                if at < first:
                    self.dim_rowmin, self.dim_rowmax = at, first - 1
                    super()._write_rows()
                self._write_block(first, last, rows, workers)
                at = last + 1
            if at <= high:
                self.dim_rowmin, self.dim_rowmax = at, high
                super()._write_rows()
        finally:
            self.dim_rowmin, self.dim_rowmax = low, high

    def _write_block(self, first: int, last: int, rows: Callable[[int, int], Iterable[Row]],
                     workers: int | None) -> None:
        if self.splice is None:
            raise TypeError("BulkWorksheet needs nakano_xl.xlsx.writer.Workbook (its zip takes the rows)")
        count = last - first + 1
        state = _Serializer(rows, first, [xl_col_to_name(c) for c in range(self.dim_colmax + 1)], self._shared)
        spans = [(start, min(start + CHUNK_ROWS, count)) for start in range(0, count, CHUNK_ROWS)]
        # Serialised and deflated here and on a worker, stretch by stretch; the zip puts the
        # stretches where the marker stands. Only the few bytes of deflated XML come back
        # from the worker, and half the deflating is done there (issue 9).
        # A stretch takes ~50 ms, a forked worker ~10 ms to start: two stretches are worth one
        # (a prefecture's 20,000 rows are 10; with the inbox's threshold they ran here alone).
        self.fh.write(self.splice(list(pmap(_deflate_rows, spans, state=state, workers=1))))


# Rows serialised and deflated at a time: ~2.5 MB of XML, never the whole sheet in memory.
CHUNK_ROWS = 2000


@dataclass(frozen=True, slots=True)
class _Serializer:
    rows: Callable[[int, int], Iterable[Row]]
    first: int  # the 0-based sheet row of the range's first row
    names: list[str]  # column letters
    shared: dict[str, int]  # texts written as shared strings (see share)

    def xml(self, start: int, stop: int) -> str:
        """Rows ``start``…``stop - 1`` of the range as ``<row>`` elements."""
        shared, names = self.shared, self.names
        special = _SPECIAL.search
        short = CELL_TEXT_MAX // 2  # this many characters always fit a cell
        out: list[str] = []
        written = start
        for height, cells in self.rows(start, stop):
            written += 1
            n = str(self.first + written)
            out.append(f'<row r="{n}" ht="{height:.16g}" customHeight="1">')
            for col, value, style in cells:
                if not isinstance(value, str):
                    out.append(f'<c r="{names[col]}{n}" s="{style}"><v>{_number(value)}</v></c>')
                elif not value:
                    out.append(f'<c r="{names[col]}{n}" s="{style}"/>')
                elif value in shared:
                    out.append(f'<c r="{names[col]}{n}" s="{style}" t="s"><v>{shared[value]}</v></c>')
                else:
                    body = value if len(value) <= short and special(value) is None else cell_text(value)
                    space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
                    out.append(f'<c r="{names[col]}{n}" s="{style}" t="inlineStr"><is><t{space}>{body}</t></is></c>')
            out.append("</row>")
        if written != stop:
            raise ValueError(f"bulk rows: {written - start} written, {stop - start} announced")
        return "".join(out)


def _deflate_rows(state: _Serializer, span: tuple[int, int]) -> Deflated:
    return deflate(state.xml(*span).encode("utf-8"))


def _number(value: float) -> str:
    return str(value) if value.__class__ is int else f"{value:.16G}"
