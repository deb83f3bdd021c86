"""A worksheet whose many data rows are serialised by us, straight into xlsxwriter's part.

xlsxwriter spends ~8 µs of Python per string cell (a cell object in its table, a shared
strings lookup, attribute escaping, then a second pass that writes the XML and the shared
strings table). For 別紙1 of a nation-wide survey that is 4 million cells and most of the
report's time (issue 9). `BulkWorksheet` lets xlsxwriter write everything else about the sheet
(the rows above, columns, merges, page setup, print titles) and writes the data rows itself,
in order, as inline strings (``t="inlineStr"``, as xlsxwriter's own ``constant_memory`` mode
does: no shared strings table to build or hold). The rows are produced when the part is
written, at ``workbook.close()``, so they are never held as XML in memory.

The hooks are two of xlsxwriter's own worksheet methods (`_write_rows`) and attributes
(``merge``, the dimension): tested by reading the report back (tests/test_bulk.py,
tests/test_report.py), so an xlsxwriter that changed them fails the tests, not a user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import xlsxwriter.format
import xlsxwriter.worksheet
from xlsxwriter.utility import xl_col_to_name

# One data row: its height in points, and its cells in column order as (column, text, style).
# The style is a number from `BulkWorksheet.style`.
Row = tuple[float, Sequence[tuple[int, str, int]]]

# What needs more than copying: XML's three, the control characters Excel writes as _xHHHH_
# (and a literal _xHHHH_, whose underscore it escapes), the two non-characters.
_SPECIAL = re.compile("[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_ESCAPE_LIKE = re.compile("_x[0-9a-fA-F]{4}_")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
# Excel's limit for the text of one cell, in UTF-16 code units.
CELL_TEXT_MAX = 32_767


def cell_text(text: str) -> str:
    """``text`` as the content of an inline string's ``<t>``, escaped as Excel escapes it."""
    if len(text) > CELL_TEXT_MAX // 2 and len(text.encode("utf-16-le")) > 2 * CELL_TEXT_MAX:
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
    """A worksheet that takes its rows from ``first_row`` on from `set_rows` instead of cells
    written one by one. Make it with ``workbook.add_worksheet(name, worksheet_class=BulkWorksheet)``;
    rows above ``first_row`` are written with xlsxwriter as usual."""

    def __init__(self) -> None:
        super().__init__()
        self._bulk_first: int | None = None
        self._bulk_rows: Callable[[], Iterable[Row]] | None = None
        self._styles: dict[int, int] = {}
        self._shared: dict[str, int] = {}

    def style(self, fmt: xlsxwriter.format.Format | None) -> int:
        """The style number of ``fmt`` for the cells of `set_rows` (0: none).

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

    def set_rows(self, first_row: int, last_row: int, last_col: int,
                 rows: Callable[[], Iterable[Row]]) -> None:
        """Rows ``first_row``…``last_row`` (0-based) come from ``rows()``, called once when the
        workbook is closed; it must give exactly that many rows."""
        written: int | None = self.dim_rowmax  # type: ignore[has-type]  # (untyped in xlsxwriter)
        if written is not None and written >= first_row:
            raise ValueError(f"rows up to {written} are already written; bulk rows start at {first_row}")
        self._check_dimensions(first_row, 0)
        self._check_dimensions(last_row, last_col)
        self._bulk_first, self._bulk_last = first_row, last_row
        self._bulk_rows = rows

    def merge_cells(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """Merge a range of the bulk rows; its cells' text and style come from the rows (the
        first cell's text shows, the others should be empty with the same style)."""
        self.merge.append([first_row, first_col, last_row, last_col])

    def _write_rows(self) -> None:
        if self._bulk_rows is None:
            super()._write_rows()
            return
        first = self._bulk_first
        assert first is not None
        last: int = self.dim_rowmax  # type: ignore[has-type]  # (set by set_rows)
        if first > 0 and self.dim_rowmin is not None and self.dim_rowmin < first:
            # xlsxwriter's own rows: its loop runs to dim_rowmax, which must not reach ours.
            self.dim_rowmax = first - 1
            try:
                super()._write_rows()
            finally:
                self.dim_rowmax = last
        self._write_bulk(first)

    def _write_bulk(self, first: int) -> None:
        write = self.fh.write
        shared = self._shared
        names = [xl_col_to_name(c) for c in range(self.dim_colmax + 1)]
        expected = self._bulk_last - first + 1
        written = 0
        assert self._bulk_rows is not None
        for written, (height, cells) in enumerate(self._bulk_rows(), 1):
            n = str(first + written)
            parts = [f'<row r="{n}" ht="{height:.16g}" customHeight="1">']
            for col, text, style in cells:
                if text in shared:
                    parts.append(f'<c r="{names[col]}{n}" s="{style}" t="s"><v>{shared[text]}</v></c>')
                elif text:
                    space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
                    parts.append(f'<c r="{names[col]}{n}" s="{style}" t="inlineStr"><is><t{space}>'
                                 f'{cell_text(text)}</t></is></c>')
                else:
                    parts.append(f'<c r="{names[col]}{n}" s="{style}"/>')
            parts.append("</row>")
            write("".join(parts))
        if written != expected:
            raise ValueError(f"bulk rows: {written} written, {expected} announced")
