"""A guarded, streaming reader for the workbooks departments send back.

Returned files are untrusted. This reader looks at the zip directory before it inflates
anything, refuses what no department's spreadsheet program writes (macros, Strict OOXML,
XML with a DOCTYPE), inflates each part under a size cap, and streams sheet rows up to a row
cap. It never trusts ``<dimension>``, ``count`` attributes or ``max_row``.

Why not openpyxl or calamine here (NOTES-clients.md): openpyxl needs ``max_row`` loops and
hangs on bombs; calamine aborts the whole process on some hostile files. A zip +
ElementTree reader is 4× faster than openpyxl read-only and gives what intake needs that
the others hide: formulas *and* cached values, cell protection, merged ranges, validations.

XML safety: the parts are checked for ``<!DOCTYPE``/``<!ENTITY`` on the inflated bytes
before the C parser sees them (no DTD means no entity expansion and no external fetch),
and the small parts go through defusedxml as well. Sheets and shared strings use the C
parser directly because defusedxml's pure-Python path costs 1.2–1.6× on the bulk.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as DET

from .cells import range_contains, split_a1

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
M = f"{{{NS_MAIN}}}"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one returned file may cost. Defaults fit a department's workbook with room to spare.

    They live in the workspace settings (``[limits]``) so a coordinator can raise them.
    """

    max_file_bytes: int = 20_000_000  # the file on disk
    max_inflated_bytes: int = 200_000_000  # all parts together, as declared and as inflated
    max_part_bytes: int = 100_000_000  # one part (a sheet, the shared strings)
    max_entries: int = 500  # zip entries; Excel writes ~15 for our workbooks
    max_ratio: float = 200.0  # inflated / compressed, per entry (our sheets: ~5–20)
    max_rows: int = 10_000  # rows read from one sheet
    max_columns: int = 64  # columns read from one sheet


class RefusedFile(Exception):
    """The file is not read. ``code`` is a finding code, ``reason`` Japanese for the user."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SheetRef:
    name: str
    state: str  # visible | hidden | veryHidden
    part: str  # zip path of the worksheet part


@dataclass(frozen=True, slots=True)
class Cell:
    row: int
    col: int
    text: str  # the value as the person saw it: numbers as displayed, dates as 2022/4/1
    kind: str  # text | number | bool | error | date | formula-text
    formula: str | None = None  # the formula, when the cell holds one (text without "=")
    cached: bool = True  # False for a formula without a cached value
    style: int = 0


@dataclass(frozen=True, slots=True)
class Validation:
    ranges: tuple[str, ...]
    type: str
    formula1: str
    error_style: str  # stop | warning | information


@dataclass(slots=True)
class Sheet:
    name: str
    state: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    protected: bool = False
    rows_read: int = 0
    truncated: bool = False  # more rows (or columns) than the limits allow
    locked_styles: frozenset[int] = frozenset()

    def get(self, row: int, col: int) -> Cell | None:
        return self.cells.get((row, col))

    def text(self, row: int, col: int) -> str:
        cell = self.cells.get((row, col))
        return cell.text if cell else ""

    def is_locked(self, row: int, col: int) -> bool:
        cell = self.cells.get((row, col))
        return (cell.style if cell else 0) in self.locked_styles

    def merged_over(self, row: int, col: int) -> str | None:
        return next((m for m in self.merged if range_contains(m, row, col)), None)

    def validation_at(self, row: int, col: int) -> Validation | None:
        for v in self.validations:
            if any(range_contains(r, row, col) for r in v.ranges):
                return v
        return None

    def last_row(self) -> int:
        return max((r for r, _ in self.cells), default=0)


_UNSAFE_XML = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def decode_escapes(text: str) -> str:
    """Excel writes control characters as ``_xHHHH_`` (and a literal ``_x`` as ``_x005F_x``)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


class XlsxFile:
    """One .xlsx opened for reading, with every limit in force. Use as a context manager."""

    def __init__(self, path: Path, limits: Limits = Limits()) -> None:
        self.path = path
        self.limits = limits
        self._inflated = 0
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise RefusedFile("file.too_large",
                              f"ファイルが大きすぎます（{size:,}バイト、上限{limits.max_file_bytes:,}バイト）")
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise RefusedFile("file.corrupt", f"Excelファイル（zip）として壊れています（{e}）") from None
        try:
            self._check_directory()
            self._read_package()
        except BaseException:
            self._zip.close()
            raise

    # -- the package -------------------------------------------------------------------

    def _check_directory(self) -> None:
        """Refuse a bomb from the zip directory alone, before inflating a byte."""
        infos = self._zip.infolist()
        lim = self.limits
        if len(infos) > lim.max_entries:
            raise RefusedFile("file.bomb", f"zipの項目数が多すぎます（{len(infos):,}個、上限{lim.max_entries:,}個）")
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            if name in seen:
                raise RefusedFile("file.bomb", f"zipに同じ名前の項目が重複しています（{name}）")
            seen.add(name)
            if name.startswith("/") or ".." in name.split("/") or "\\" in name:
                raise RefusedFile("file.bomb", f"zipの項目名が不正です（{name}）")
            total += info.file_size
            if info.file_size > lim.max_part_bytes:
                raise RefusedFile("file.bomb",
                                  f"zipの項目 {name} が大きすぎます（展開後{info.file_size:,}バイト）")
            if info.compress_size > max(info.file_size, 0) + 1024 and info.compress_type != zipfile.ZIP_STORED:
                raise RefusedFile("file.bomb", f"zipの項目 {name} の圧縮サイズが展開後のサイズより大きく、不正です")
            if info.file_size > 1_000_000 and info.file_size > lim.max_ratio * max(info.compress_size, 1):
                raise RefusedFile("file.bomb",
                                  f"zipの項目 {name} の圧縮率が異常です（{info.file_size / max(info.compress_size, 1):,.0f}倍）")
        if total > lim.max_inflated_bytes:
            raise RefusedFile("file.bomb", f"展開後の合計サイズが大きすぎます（{total:,}バイト、上限{lim.max_inflated_bytes:,}バイト）")
        lowered = {n.lower() for n in seen}
        if any(n.endswith("vbaproject.bin") for n in lowered):
            raise RefusedFile("file.macro", "マクロ（VBA）を含むファイルは受け付けません")
        if "[content_types].xml" not in lowered or "xl/workbook.xml" not in lowered:
            raise RefusedFile("file.not_xlsx", "Excelブック（.xlsx）ではありません")
        self._names = {n.lower(): n for n in seen}

    def read_part(self, name: str) -> bytes:
        """Inflate one part, never more than its declared size nor the limits allow."""
        real = self._names.get(name.lower())
        if real is None:
            raise KeyError(name)
        info = self._zip.getinfo(real)
        cap = min(info.file_size, self.limits.max_part_bytes)
        try:
            with self._zip.open(info) as f:
                data = f.read(cap + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
            raise RefusedFile("file.corrupt", f"zipの項目 {name} を展開できません（{e}）") from None
        if len(data) > cap:
            raise RefusedFile("file.bomb", f"zipの項目 {name} が申告より大きく展開されます")
        self._inflated += len(data)
        if self._inflated > self.limits.max_inflated_bytes:
            raise RefusedFile("file.bomb", "展開後の合計サイズが上限を超えました")
        return data

    def _xml(self, name: str) -> bytes:
        data = self.read_part(name)
        m = _XML_ENCODING.match(data[:200])
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (m and m.group(1).lower() not in (b"utf-8", b"utf8")):
            raise RefusedFile("file.unsafe_xml", f"{name} がUTF-8以外の文字コードで書かれています")
        if _UNSAFE_XML.search(data):
            raise RefusedFile("file.unsafe_xml", f"{name} にDOCTYPE宣言があります（XML爆弾などの危険があるため読みません）")
        return data

    def _parse_small(self, name: str) -> ET.Element:
        try:
            return DET.fromstring(self._xml(name))
        except RefusedFile:
            raise
        except Exception as e:  # defusedxml raises its own classes as well as ParseError
            raise RefusedFile("file.corrupt", f"{name} を解析できません（{type(e).__name__}）") from None

    def _read_package(self) -> None:
        types = self._parse_small("[Content_Types].xml")
        for el in types:
            content_type = el.get("ContentType", "")
            if "macroEnabled" in content_type or "vbaProject" in content_type:
                raise RefusedFile("file.macro", "マクロ有効ブック（.xlsm）は受け付けません")
        book = self._parse_small("xl/workbook.xml")
        if book.tag.startswith(f"{{{NS_STRICT}}}"):
            raise RefusedFile("file.strict", "Strict Open XML 形式のブックは読み取れません。通常の「Excel ブック (.xlsx)」で保存してください")
        if book.tag != f"{M}workbook":
            raise RefusedFile("file.not_xlsx", "Excelブックの構造が不正です")
        pr = book.find(f"{M}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904") in ("1", "true")
        rels = self._relationships("xl/workbook.xml")
        self.sheets: list[SheetRef] = []
        sheets_el = book.find(f"{M}sheets")
        for el in sheets_el if sheets_el is not None else ():
            target = rels.get(el.get(f"{{{NS_REL}}}id", ""))
            if target is None:
                continue
            self.sheets.append(SheetRef(el.get("name", ""), el.get("state", "visible"), target))
        self.external_links = [t for t in rels.values() if "externalLink" in t]
        self._shared_part = next((t for t in rels.values() if t.lower().endswith("sharedstrings.xml")), None)
        self._styles_part = next((t for t in rels.values() if t.lower().endswith("styles.xml")), None)
        self._shared: list[str] | None = None
        self._read_styles()

    def _relationships(self, part: str) -> dict[str, str]:
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if rels_name.lower() not in self._names:
            return {}
        out = {}
        for el in self._parse_small(rels_name):
            target = el.get("Target", "")
            if el.get("TargetMode") == "External":
                out[el.get("Id", "")] = "external:" + target
                continue
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[el.get("Id", "")] = path
        return out

    def _read_styles(self) -> None:
        self._locked: set[int] = set()
        self._date_styles: dict[int, str] = {}
        self._percent_styles: dict[int, int] = {}
        if not self._styles_part or self._styles_part.lower() not in self._names:
            self._locked = {0}
            return
        root = self._parse_small(self._styles_part)
        custom = {int(el.get("numFmtId", "0")): el.get("formatCode", "")
                  for el in root.iterfind(f"{M}numFmts/{M}numFmt")}
        xfs = root.find(f"{M}cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else ()):
            prot = xf.find(f"{M}protection")
            if prot is None or prot.get("locked", "1") not in ("0", "false"):
                self._locked.add(index)
            fmt_id = int(xf.get("numFmtId", "0"))
            code = custom.get(fmt_id, "")
            if 14 <= fmt_id <= 22 or 45 <= fmt_id <= 47 or _is_date_format(code):
                self._date_styles[index] = code
            elif fmt_id in (9, 10) or code.endswith("%"):
                self._percent_styles[index] = 0 if fmt_id == 9 else _decimals(code) if code else 2

    def shared_strings(self) -> list[str]:
        if self._shared is None:
            self._shared = []
            if self._shared_part and self._shared_part.lower() in self._names:
                data = self._xml(self._shared_part)
                try:
                    for _, el in ET.iterparse(io.BytesIO(data)):
                        if el.tag == f"{M}si":
                            self._shared.append(_rich_text(el))
                            el.clear()
                except ET.ParseError as e:
                    raise RefusedFile("file.corrupt", f"共有文字列を解析できません（{e}）") from None
        return self._shared

    # -- sheets ------------------------------------------------------------------------

    def sheet(self, name: str) -> SheetRef | None:
        return next((s for s in self.sheets if s.name == name), None)

    def read_sheet(self, ref: SheetRef, *, max_rows: int | None = None, max_col: int | None = None) -> Sheet:
        """Stream a worksheet: cells up to the row and column caps, then merges and validations."""
        rows_cap = min(max_rows or self.limits.max_rows, self.limits.max_rows)
        col_cap = min(max_col or self.limits.max_columns, self.limits.max_columns)
        sheet = Sheet(ref.name, ref.state, locked_styles=frozenset(self._locked))
        data = self._xml(ref.part)
        strings = None
        row_no = 0
        try:
            for _, el in ET.iterparse(io.BytesIO(data)):
                tag = el.tag
                if tag == f"{M}row":
                    sheet.rows_read += 1
                    row_no = int(el.get("r") or row_no + 1)
                    if sheet.rows_read > rows_cap or row_no > rows_cap:
                        sheet.truncated = True
                        break
                    col_no = 0
                    for c in el.iterfind(f"{M}c"):
                        ref_a1 = c.get("r")
                        col_no = split_a1(ref_a1)[1] if ref_a1 else col_no + 1
                        if col_no > col_cap:
                            if _has_content(c):
                                sheet.truncated = True
                            continue
                        if strings is None and c.get("t") == "s":
                            strings = self.shared_strings()
                        cell = self._cell(row_no, col_no, c, strings or [])
                        if cell is not None:
                            sheet.cells[(row_no, col_no)] = cell
                    el.clear()
                elif tag == f"{M}mergeCell":
                    ref_range = el.get("ref")
                    if ref_range:
                        sheet.merged.append(ref_range)
                elif tag == f"{M}dataValidation":
                    sheet.validations.append(Validation(
                        ranges=tuple(el.get("sqref", "").split()),
                        type=el.get("type", ""),
                        formula1=(el.findtext(f"{M}formula1") or ""),
                        error_style=el.get("errorStyle", "stop"),
                    ))
                elif tag == f"{M}sheetProtection":
                    sheet.protected = el.get("sheet") in ("1", "true")
        except ET.ParseError as e:
            raise RefusedFile("file.corrupt", f"シート「{ref.name}」を解析できません（{e}）") from None
        return sheet

    def _cell(self, row: int, col: int, c: ET.Element, strings: list[str]) -> Cell | None:
        t = c.get("t", "n")
        style = int(c.get("s") or 0)
        f_el = c.find(f"{M}f")
        formula = (f_el.text or "") if f_el is not None else None
        v = c.findtext(f"{M}v")
        if t == "inlineStr":
            is_el = c.find(f"{M}is")
            text = _rich_text(is_el) if is_el is not None else ""
            return Cell(row, col, text, "text", formula, True, style)
        if v is None:
            if formula is None:
                return None  # a styled empty cell
            return Cell(row, col, "", "formula-text", formula, False, style)
        if t == "s":
            try:
                text = strings[int(v)]
            except (ValueError, IndexError):
                text = ""
            return Cell(row, col, text, "text", formula, True, style)
        if t in ("str", "e"):
            return Cell(row, col, decode_escapes(v), "text" if t == "str" else "error", formula, True, style)
        if t == "b":
            return Cell(row, col, "TRUE" if v.strip() in ("1", "true") else "FALSE", "bool", formula, True, style)
        try:
            number = float(v)
        except ValueError:
            return Cell(row, col, v, "text", formula, True, style)
        if style in self._date_styles:
            return Cell(row, col, _render_date(number, self.date1904), "date", formula, True, style)
        if style in self._percent_styles:
            return Cell(row, col, f"{number * 100:.{self._percent_styles[style]}f}%", "number", formula, True, style)
        return Cell(row, col, render_number(number), "number", formula, True, style)

    # -- context manager ---------------------------------------------------------------

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> XlsxFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rich_text(el: ET.Element) -> str:
    """The text of a shared or inline string: ``t`` and ``r/t``, without phonetic ``rPh`` runs.

    Japanese Excel stores furigana in ``<rPh>`` inside the same ``<si>``; reading every ``t``
    would glue the reading onto the text.
    """
    parts: list[str] = []
    for child in el:
        if child.tag == f"{M}t":
            parts.append(child.text or "")
        elif child.tag == f"{M}r":
            parts.append(child.findtext(f"{M}t") or "")
    return decode_escapes("".join(parts))


def _has_content(c: ET.Element) -> bool:
    return c.find(f"{M}v") is not None or c.find(f"{M}is") is not None or c.find(f"{M}f") is not None


def render_number(number: float) -> str:
    """A number as Excel's General format shows it: ``46`` not ``46.0``."""
    if number != number or number in (float("inf"), float("-inf")):
        return str(number)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.15g}"


_DATE_CODE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|[yYmMdDhHsSeg]')


def _is_date_format(code: str) -> bool:
    # Quoted literals, [colour]/[locale] blocks and escaped characters are not date parts.
    return any(tok[0] not in '"[\\' for tok in _DATE_CODE.findall(code.replace("General", "")))


def _decimals(code: str) -> int:
    m = re.search(r"\.(0+)", code)
    return len(m.group(1)) if m else 0


def _render_date(serial: float, date1904: bool) -> str:
    """An Excel date serial as a Japanese desk shows it by default: ``2022/4/1``."""
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    try:
        moment = base + dt.timedelta(days=serial)
    except OverflowError:
        return render_number(serial)
    text = f"{moment.year}/{moment.month}/{moment.day}"
    seconds = round((serial % 1) * 86400)
    if seconds:
        h, rem = divmod(seconds, 3600)
        text += f" {h}:{rem // 60:02d}"
    return text


def sniff(head: bytes) -> str:
    """What a file is, from its first bytes: ``zip``, ``ole``, ``html``, ``empty`` or ``unknown``."""
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    lowered = head.lstrip()[:200].lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<table" in lowered:
        return "html"
    return "unknown"


def iter_rows(sheet: Sheet, first_row: int) -> Iterator[int]:
    """Row numbers that hold any cell, from ``first_row`` on, in order."""
    return iter(sorted({r for r, _ in sheet.cells if r >= first_row}))
