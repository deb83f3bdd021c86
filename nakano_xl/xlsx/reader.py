"""The entry point for reading a returned workbook: `XlsxFile`, with every guard in force.

Returned files are untrusted. Each part of the format is read by its own module, all of
them through the zip guard: `zipguard` (the zip directory, the guarded inflating, the
DOCTYPE scan, the UTF-8 check, the parsers parts reach), `package` (content types, the
workbook, its sheets, relationships, external links), `styles` (locked styles, number
formats), `sharedstrings`, `worksheet` (cells, merges, protection) and `notes` (comments,
text boxes). Nothing trusts ``<dimension>``, ``count`` attributes or a sheet's ``max_row``.
Every text it gives can be written (`text`); what it replaced or could not resolve is kept
for intake to report.

Neither openpyxl nor calamine reads returns: openpyxl needs ``max_row`` loops and hangs on
bombs; calamine aborts the whole process on some hostile files. A zip + expat reader also
gives what intake needs and the others hide: formulas *and* cached values, cell
protection, merged ranges, comments. openpyxl is used elsewhere (feedback copies, tests) on
files that passed here, and for feedback only after `footprint` has counted what it would
build; `require_safe_xml` checks that it parses through defusedxml.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Self

from ..errors import NakanoError
from .notes import Notes, comments, drawing_texts
from .package import SheetRef, read_package
from .sharedstrings import read_shared_strings
from .styles import read_styles
from .text import REPLACED, ReadIssue, cleaned
from .worksheet import CellValues, Sheet, read_worksheet
from .zipguard import GuardedZip, Limits, RefusedFile

_DEFAULT_LIMITS = Limits()
# Read issues kept at once (`XlsxFile.issues`); past it they are counted. A sheet typed full
# of escapes holds hundreds of thousands of cells; a real answer sheet a few hundred.
MAX_ISSUES = 10_000
_EXTERNAL_REF = re.compile(r"\[\d+\]|'[^']*\[[^\]]+\][^']*'!|\[[^\]]+\.xls[xmb]?\]", re.IGNORECASE)


class UnsafeXmlSetup(NakanoError):
    """defusedxml is missing, or openpyxl does not parse through it."""


def require_safe_xml() -> None:
    """Refuse to start reading returns unless defusedxml is installed and openpyxl uses it.

    openpyxl switches to defusedxml only if it can import it and the environment variable
    ``OPENPYXL_DEFUSEDXML`` is not set to anything but ``True``; without it, openpyxl would
    expand entities in a returned file that reaches it (feedback copies are made with it).

    openpyxl makes that choice once, when it is imported (``openpyxl/xml/__init__.py``), from
    those two facts alone; they are checked here the same way without importing openpyxl,
    whose import (numpy with it) would weigh on every ``check`` and ``consolidate`` that never
    uses it. Once openpyxl is loaded in this process, its own choice is checked as well —
    `feedback` calls this again after importing it.
    """
    try:
        import defusedxml.ElementTree as _defused  # noqa: F401  (importable is what is checked)
    except ImportError:
        raise UnsafeXmlSetup("defusedxml がインストールされていません。安全に読み取れないため中止します"
                             "（pip install defusedxml で入れてください）。") from None
    refused = UnsafeXmlSetup("openpyxl が defusedxml を使わない設定になっています（環境変数 OPENPYXL_DEFUSEDXML）。"
                             "安全に読み取れないため中止します。この環境変数を外してから実行してください。")
    if os.environ.get("OPENPYXL_DEFUSEDXML", "True") != "True":
        raise refused
    openpyxl = sys.modules.get("openpyxl")
    if openpyxl is not None:
        from openpyxl.xml import functions

        if not getattr(openpyxl, "DEFUSEDXML", False) or not functions.iterparse.__module__.startswith("defusedxml"):
            raise refused


def is_external_formula(formula: str) -> bool:
    """A formula that refers to another workbook (``[1]Sheet1!A1``, ``'C:\\[a.xlsx]S'!A1``)."""
    return bool(_EXTERNAL_REF.search(formula))


class XlsxFile:
    """One .xlsx opened for reading, with every limit in force. Use as a context manager.

    Opening it checks the zip, scans every part and reads the package and the styles; a
    `RefusedFile` says why a file is not read. ``inflated`` counts the bytes inflated so far,
    ``rows_read`` the sheet rows iterated.

    Every text it gives is representable (`text`): sheet names, link targets, cells, notes,
    text boxes. What it replaced or could not resolve is kept in ``issues`` (each once,
    however often a sheet is read) until intake takes it (`take_issues`) to report it.
    """

    def __init__(self, path: Path, limits: Limits = _DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        self.rows_read = 0
        self._parts = GuardedZip(path, limits)
        try:
            package = read_package(self._parts)
            styles = read_styles(self._parts, package.styles)
        except RefusedFile as e:
            e.inflated = self._parts.inflated
            self._parts.close()
            raise
        except BaseException:
            self._parts.close()
            raise
        self.issues: dict[ReadIssue, None] = {}  # in the order found
        self.issues_over: dict[str, int] = {}  # kind → issues past MAX_ISSUES, counted only
        self.sheets: list[SheetRef] = [self._named(ref) for ref in package.sheets]
        self.external_links: list[str] = [self._clean(target, "外部リンク先", None) for target in package.external_links]
        self._locked = styles.locked
        self._values = CellValues(lambda: read_shared_strings(self._parts, package.shared_strings), styles,
                                  package.date1904)

    @property
    def inflated(self) -> int:
        return self._parts.inflated

    @property
    def guarded_zip(self) -> GuardedZip:
        """The zip under its guard, for a reader of parts this class does not read itself
        (`footprint` counts what openpyxl would build from every part)."""
        return self._parts

    def read_part(self, name: str) -> bytes:
        """One part, whole, as the zip guard gives it (small parts only: the caps still apply)."""
        return self._parts.read_part(name)

    def sheet(self, name: str) -> SheetRef | None:
        return next((s for s in self.sheets if s.name == name), None)

    def read_sheet(self, ref: SheetRef, *, max_rows: int | None = None, max_col: int | None = None,
                   area: tuple[int, int] | None = None) -> Sheet:
        """Stream a worksheet: cells up to the row and column caps, then merges.

        Without ``area`` every cell within the caps is kept. With ``area = (rows, cols)`` only
        the cells inside ``A1`` to that corner are kept; cells with content outside it (up to
        the workspace limits) are listed in ``outside`` and counted, so nothing typed there
        goes unseen. Rows past the cap are never iterated: ``truncated`` says so.
        """
        rows_cap = min(max_rows or self.limits.max_rows, self.limits.max_rows)
        col_cap = min(max_col or self.limits.max_columns, self.limits.max_columns)
        if area is not None:
            # Outside the area we still look, up to the workspace limits, for typed content.
            rows_cap, col_cap = self.limits.max_rows, self.limits.max_columns
        sheet = Sheet(ref.name, ref.state, locked_styles=self._locked)
        try:
            read_worksheet(self._parts, ref.part, sheet, self._values, rows_cap=rows_cap, col_cap=col_cap, area=area)
        finally:
            self.rows_read += sheet.rows_read
        for issue in sheet.issues:
            self._note(issue)
        return sheet

    def comments(self, ref: SheetRef) -> Notes:
        """(A1, author, text) of the notes on a sheet: the first ones (``kept``), and ``count``."""
        notes = comments(self._parts, ref.part)
        kept = []
        for at, author, text in notes.kept:
            at = self._clean(at, "コメントのセル", ref.name)
            author = self._clean(author, "コメントの作成者", ref.name, at)
            kept.append((at, author, self._clean(text, "コメント", ref.name, at)))
        notes.kept = kept
        return notes

    def drawing_texts(self, ref: SheetRef) -> Notes:
        """Texts of the text boxes and shapes drawn on a sheet: the first ones (``kept``), and ``count``."""
        notes = drawing_texts(self._parts, ref.part)
        notes.kept = [self._clean(text, "図形の文字", ref.name) for text in notes.kept]
        return notes

    def take_issues(self, sheet: str | None = None) -> list[ReadIssue]:
        """The issues kept so far (only those of ``sheet``, when given), no longer kept."""
        taken = [i for i in self.issues if sheet is None or i.sheet == sheet]
        for issue in taken:
            del self.issues[issue]
        return taken

    def _note(self, issue: ReadIssue) -> None:
        if issue in self.issues:
            return
        if len(self.issues) < MAX_ISSUES:
            self.issues[issue] = None
        else:
            self.issues_over[issue.kind] = self.issues_over.get(issue.kind, 0) + 1

    def _clean(self, text: str, place: str, sheet: str | None, at: str | None = None) -> str:
        text, points = cleaned(text)
        if points is not None:
            self._note(ReadIssue(REPLACED, place, sheet, 0, 0, text, points, at))
        return text

    def _named(self, ref: SheetRef) -> SheetRef:
        name, points = cleaned(ref.name)
        if points is None:
            return ref
        self._note(ReadIssue(REPLACED, "シート名", name, 0, 0, name, points))
        return SheetRef(name, ref.state, ref.part)

    def close(self) -> None:
        self._parts.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
