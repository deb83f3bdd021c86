"""What openpyxl would build from a returned file, counted before it is allowed to open it.

`feedback` copies a department's return with openpyxl, which loads a whole workbook into
objects and trusts what the file says. Most of what it builds is in proportion to the XML it
parses, but some of it is not: one ``<mergeCell ref="J20:XFD1048576"/>`` makes it create a
cell object for every cell of the range (17 billion), and so does a hyperlink or a comment
whose ``ref`` is a range. So before openpyxl sees a file, `check_footprint` opens it with the
intake's reader (`XlsxFile`: the zip directory, the DOCTYPE scan, the package, the styles, all
under the workspace's limits) and streams every XML part through the same guard, counting:

- every element of every part (openpyxl makes an object of nearly each one): at most
  `ELEMENTS_PER_CELL` times the cells one sheet may hold (``max_rows`` × ``max_columns``);
- the cells, rows and every cell a merge, a hyperlink or a comment covers: together at most
  ``max_rows`` × ``max_columns`` for the whole workbook;
- rows past ``max_rows``, and cells with content past ``max_columns``: what intake stopped
  reading at (``file.too_many_rows``) is not handed to openpyxl either.

``<dimension>`` is not a bound: openpyxl loading a whole workbook does not use it (only its
read-only mode does), and nothing here trusts it. Pictures (``xl/media/``) are not XML and
not counted; openpyxl keeps their bytes (their size is under the zip limits already). A part is
counted when its bytes begin XML, whatever its name.
"""

from __future__ import annotations

import re
from pathlib import Path

from .cells import column_index
from .reader import XlsxFile
from .zipguard import Limits, RefusedFile

ELEMENTS_PER_CELL = 4  # a typed cell is <c><v/></c>; a formula or rich text a few more
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
# One end of a range as openpyxl accepts it: "B7", "$B$7", "B" (whole column), "7" (whole row).
_END = re.compile(r"\$?([A-Za-z]{1,3})?\$?(\d{1,7})?")
_RANGED = ("mergeCell", "hyperlink", "comment")  # elements whose ref openpyxl fills cell by cell


class TooBigForCopy(RefusedFile):
    """The file passed intake but is more than openpyxl may be given (see `check_footprint`)."""

    def __init__(self, reason: str) -> None:
        super().__init__("feedback.not_copied", reason)


def area(ref: str) -> int:
    """Cells a ``ref`` covers as openpyxl fills it ("B2:D5" → 12, "A:B" → 2 × 1,048,576).

    Several ranges separated by spaces add up. A reference that is not a range raises ValueError.
    """
    total = 0
    for part in ref.split():
        first, colon, last = part.partition(":")
        (c1, r1), (c2, r2) = _end(first), _end(last if colon else first)
        if (c1 is None) != (c2 is None) or (r1 is None) != (r2 is None) or (c1 is None and r1 is None):
            raise ValueError(ref)
        cols = abs(c2 - c1) + 1 if c1 is not None and c2 is not None else EXCEL_COLUMNS
        rows = abs(r2 - r1) + 1 if r1 is not None and r2 is not None else EXCEL_ROWS
        total += rows * cols
    if not total:
        raise ValueError(ref)
    return total


def _end(text: str) -> tuple[int | None, int | None]:
    m = _END.fullmatch(text)
    if not m or not text:
        raise ValueError(text)
    letters, digits = m.groups()
    return column_index(letters) if letters else None, int(digits) if digits else None


class _Counter:
    """Expat callbacks counting what openpyxl would build from one part."""

    def __init__(self, tally: _Tally, part: str) -> None:
        self.tally, self.part = tally, part  # ``part``: how messages name it (a sheet by its name)
        self.cell_col = 0  # the column of the cell being read, 0 outside a cell
        self.depth = 0  # elements open inside that cell

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tally = self.tally
        tally.elements += 1
        if tally.elements > tally.max_elements:
            raise TooBigForCopy(f"要素の数が上限（{tally.max_elements:,}個）を超えています")
        local = name.rpartition("}")[2]
        if self.cell_col:
            self.depth += 1
            if self.cell_col > tally.limits.max_columns and local in ("v", "f", "is"):
                raise TooBigForCopy(f"{self.part}の{tally.limits.max_columns}列目より右に記入があります")
            return
        if local == "c":
            tally.add(1, self.part)
            row, col = _position(attrs.get("r", ""))
            self.check_row(row)
            self.cell_col, self.depth = max(col, 1), 0
        elif local == "row":
            tally.add(1, self.part)
            self.check_row(_position(f"A{attrs.get('r', '')}")[0])
        elif local in _RANGED and "ref" in attrs:
            try:
                covered = area(attrs["ref"])
            except ValueError:
                raise TooBigForCopy(f"{self.part}の範囲「{attrs['ref'][:40]}」が不正です") from None
            tally.add(covered, self.part, what=f"範囲「{attrs['ref'][:40]}」（{covered:,}セル）")

    def check_row(self, row: int) -> None:
        limit = self.tally.limits.max_rows
        if row > limit:
            raise TooBigForCopy(f"{self.part}に{limit:,}行目より下の行があります")

    def end(self, name: str) -> None:
        if self.cell_col:
            if self.depth:
                self.depth -= 1
            else:
                self.cell_col = 0

    def data(self, text: str) -> None:
        pass


def _position(ref: str) -> tuple[int, int]:
    """(row, column) of a cell reference; (0, 0) when it has none that can be read."""
    try:
        col, row = _end(ref)
    except ValueError:
        return 0, 0
    return row or 0, col or 0


class _Tally:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cells = 0
        self.max_cells = limits.max_rows * limits.max_columns
        self.elements = 0
        self.max_elements = ELEMENTS_PER_CELL * self.max_cells

    def add(self, cells: int, part: str, what: str = "") -> None:
        self.cells += cells
        if self.cells > self.max_cells:
            where = f"{part}の{what}を含めると" if what else f"{part}までで"
            raise TooBigForCopy(f"{where}、セルの数が上限（{self.max_cells:,}個＝{self.limits.max_rows:,}行×"
                                f"{self.limits.max_columns}列）を超えます")


def _looks_like_xml(head: bytes) -> bool:
    """Whether a part's first bytes begin XML, in UTF-8 or not (a UTF-16 part is XML too, and the
    guard's parse refuses it)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:2]
    return start[:1] == b"<" or head[:2] in (b"\xff\xfe", b"\xfe\xff") or start == b"\x00<"


def check_footprint(path: Path, limits: Limits) -> None:
    """Raise `RefusedFile` (the intake's reason, or `TooBigForCopy`) unless openpyxl may open ``path``."""
    tally = _Tally(limits)
    with XlsxFile(path, limits) as book:
        parts = book.guarded_zip
        sheets = {ref.part: f"シート「{ref.name}」" for ref in book.sheets}
        for name in parts.names():
            # A part is XML by its bytes, not its name: openpyxl follows the relationships to
            # whatever part they name. Pictures and printer settings are not parsed by anyone.
            if name.lower().startswith("xl/media/") or not _looks_like_xml(next(parts.stream(name), b"")):
                continue
            parts.parse_stream(name, _Counter(tally, sheets.get(name, name)), f"{name}を解析できません")
