"""A guarded, streaming reader for the workbooks departments send back.

Returned files are untrusted. This reader looks at the zip directory before it inflates
anything (entry count from the end record, then each entry's declared size, the total, the
ratio, names), refuses what no department's spreadsheet program writes (macros, Strict
OOXML, XML with a DOCTYPE anywhere in the package), inflates every part in chunks under a
size cap, and streams sheet rows up to a row cap. What that first pass inflated is kept (up
to `CACHE_BYTES` a file), so reading a part afterwards does not inflate it again. It never trusts ``<dimension>``,
``count`` attributes or ``max_row``.

Why not openpyxl or calamine here (NOTES-clients.md): openpyxl needs ``max_row`` loops and
hangs on bombs; calamine aborts the whole process on some hostile files. A zip + expat
reader is 4× faster than openpyxl read-only and gives what intake needs that the others hide:
formulas *and* cached values, cell protection, merged ranges, comments.

XML safety: every part is scanned for ``<!DOCTYPE``/``<!ENTITY`` chunk by chunk as it is
inflated, before any parser sees it, and must be UTF-8 (the scan reads bytes). No DTD means
no entity to expand and nothing external to fetch: that is what defusedxml would refuse.
So sheets and shared strings go to expat directly (told not to read parameter entities
besides), streamed into callbacks, and the small parts (content types, workbook,
relationships, styles, comments) to ElementTree's C parser.

openpyxl is used elsewhere (feedback copies, tests) on files that passed here; `require_safe_xml`
checks at start-up that it parses through defusedxml too.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol, Self
from xml.etree import ElementTree as ET
from xml.parsers import expat as pyexpat

from ..errors import NakanoError
from .cells import split_a1

# The same few hundred references ("C5") come back in every file: parse each once.
_split_a1 = functools.lru_cache(maxsize=1 << 16)(split_a1)
from .numfmt import format_code, is_date_format, render, render_general

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_DRAWING_MAIN = "http://schemas.openxmlformats.org/drawingml/2006/main"
M = f"{{{NS_MAIN}}}"
CHUNK = 64 * 1024
# Tags compared for every element of a sheet: built once, not per comparison.
T_C, T_ROW, T_V, T_F, T_IS = f"{M}c", f"{M}row", f"{M}v", f"{M}f", f"{M}is"
T_PROTECTION, T_MERGE = f"{M}sheetProtection", f"{M}mergeCell"
T_SI, T_T, T_R = f"{M}si", f"{M}t", f"{M}r"
# The same names as expat gives them (namespace, "}", local name), for the streamed parts.
X_C, X_ROW, X_V, X_F, X_IS, X_T, X_R, X_SI = (t[1:] for t in (T_C, T_ROW, T_V, T_F, T_IS, T_T, T_R, T_SI))
X_PROTECTION, X_MERGE = (t[1:] for t in (T_PROTECTION, T_MERGE))


class UnsafeXmlSetup(NakanoError):
    """defusedxml is missing, or openpyxl does not parse through it."""


def require_safe_xml() -> None:
    """Refuse to start reading returns unless defusedxml is installed and openpyxl uses it.

    openpyxl switches to defusedxml only if it can import it and the environment variable
    ``OPENPYXL_DEFUSEDXML`` is not set to anything but ``True``; without it, openpyxl would
    expand entities in a returned file that reaches it (feedback copies are made with it).

    openpyxl makes that choice once, when it is imported (``openpyxl/xml/__init__.py``), from
    those two facts alone; they are checked here the same way without importing openpyxl,
    whose import (numpy with it) cost 0.2–0.4 s of every ``check`` and ``consolidate`` that
    never uses it (issue 9). Once openpyxl is loaded in this process, its own choice is
    checked as well — `feedback` calls this again after importing it.
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


@dataclass(frozen=True, slots=True)
class Limits:
    """What one returned file may cost. Defaults fit a department's workbook with room to spare.

    They live in the workspace settings (``[limits]``) so a coordinator can raise them.
    """

    max_file_bytes: int = 20_000_000  # the file on disk
    max_inflated_bytes: int = 200_000_000  # all parts together, as declared and as inflated
    max_part_bytes: int = 100_000_000  # one part (a sheet, the shared strings)
    max_entries: int = 500  # zip entries; Excel writes ~15 for our workbooks
    max_ratio: float = 200.0  # inflated / compressed, per entry over 1 MB (our sheets: ~5–20)
    max_rows: int = 10_000  # rows read from one sheet
    max_columns: int = 64  # columns read from one sheet


class RefusedFile(Exception):
    """The file is not read. ``code`` is a finding code, ``reason`` Japanese for the user."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.inflated = 0  # bytes inflated before the file was refused (0: refused from the directory)


@dataclass(frozen=True, slots=True)
class SheetRef:
    name: str
    state: str  # visible | hidden | veryHidden
    part: str  # zip path of the worksheet part


class Cell(NamedTuple):
    """One cell as read. A named tuple rather than a frozen dataclass: a nation-wide survey
    makes millions of them, and a tuple is made 3-4 times faster (issue 9)."""

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

    def get(self, row: int, col: int) -> Cell | None:
        return self.cells.get((row, col))

    def text(self, row: int, col: int) -> str:
        cell = self.cells.get((row, col))
        return cell.text if cell else ""

    def is_locked(self, row: int, col: int) -> bool:
        cell = self.cells.get((row, col))
        return (cell.style if cell else 0) in self.locked_styles



_UNSAFE_XML = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_EXTERNAL_REF = re.compile(r"\[\d+\]|'[^']*\[[^\]]+\][^']*'!|\[[^\]]+\.xls[xmb]?\]", re.IGNORECASE)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
               NotImplementedError, RuntimeError, zlib.error, struct.error)
MAX_MERGED = 10_000  # merged ranges kept from one sheet
# Parts kept inflated after the scan, per file, so that reading a part does not inflate it a
# second time (a department's file inflates to ~100 KB; larger parts are streamed again).
CACHE_BYTES = 16_000_000
KEEP_OUTSIDE = 50  # outside-the-area cells kept with their text; the rest are counted


def decode_escapes(text: str) -> str:
    """Excel writes control characters as ``_xHHHH_`` (and a literal ``_x`` as ``_x005F_x``)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def is_external_formula(formula: str) -> bool:
    """A formula that refers to another workbook (``[1]Sheet1!A1``, ``'C:\\[a.xlsx]S'!A1``)."""
    return bool(_EXTERNAL_REF.search(formula))


def _entry_count_from_end(path: Path) -> int | None:
    """The entry count from the zip's end record (zip64 too), before any directory is parsed."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 65_557))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = struct.unpack_from("<H", tail, at + 10)[0]
    # A zip64 end record is announced by its locator, right before the end record.
    if at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        record = tail.rfind(b"PK\x06\x06", 0, at - 20)
        if record >= 0 and record + 40 <= len(tail):
            return int(struct.unpack_from("<Q", tail, record + 32)[0])
    return int(count)


class XlsxFile:
    """One .xlsx opened for reading, with every limit in force. Use as a context manager.

    ``inflated`` counts the bytes inflated so far; ``rows_read`` the sheet rows iterated.
    """

    def __init__(self, path: Path, limits: Limits = Limits(), *, scan: bool = True) -> None:
        self.path = path
        self.limits = limits
        self.inflated = 0
        self.rows_read = 0
        self._parts: dict[str, bytes] = {}  # zip name → the part as the scan inflated it
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise RefusedFile("file.too_large",
                              f"ファイルが大きすぎます（{size:,}バイト、上限{limits.max_file_bytes:,}バイト）")
        try:
            declared = _entry_count_from_end(path)
        except OSError as e:
            raise RefusedFile("file.corrupt", f"ファイルを開けません（{e}）") from None
        if declared is not None and declared > limits.max_entries:
            raise RefusedFile("file.bomb", f"zipの項目数が多すぎます（{declared:,}個、上限{limits.max_entries:,}個）")
        try:
            self._zip = zipfile.ZipFile(path)
        except _ZIP_ERRORS as e:
            raise RefusedFile("file.corrupt", f"Excelファイル（zip）として壊れています（{e}）") from None
        try:
            self._check_directory()
            if scan:
                self._scan_parts()
            self._read_package()
        except RefusedFile as e:
            e.inflated = self.inflated
            self._zip.close()
            raise
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
        seen_lower: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            if name.lower() in seen_lower:
                raise RefusedFile("file.bomb", f"zipに同じ名前の項目が重複しています（{name}）")
            seen.add(name)
            seen_lower.add(name.lower())
            if name.startswith("/") or ".." in name.split("/") or "\\" in name or "\x00" in name:
                raise RefusedFile("file.bomb", f"zipの項目名が不正です（{name}）")
            if info.flag_bits & 0x1:
                raise RefusedFile("file.encrypted", f"zipの項目 {name} が暗号化されています")
            total += info.file_size
            if info.file_size > lim.max_part_bytes:
                raise RefusedFile("file.bomb", f"zipの項目 {name} が大きすぎます（展開後{info.file_size:,}バイトと申告、"
                                               f"上限{lim.max_part_bytes:,}バイト）")
            if info.compress_type != zipfile.ZIP_STORED and info.compress_size > info.file_size + 1024:
                raise RefusedFile("file.bomb", f"zipの項目 {name} の圧縮サイズが展開後のサイズより大きく、不正です")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise RefusedFile("file.bomb", f"zipの項目 {name} のサイズの申告が食い違っています")
            if info.file_size > 1_000_000 and info.file_size > lim.max_ratio * max(info.compress_size, 1):
                raise RefusedFile("file.bomb",
                                  f"zipの項目 {name} の圧縮率が異常です（{info.file_size / max(info.compress_size, 1):,.0f}倍、"
                                  f"上限{lim.max_ratio:,.0f}倍）")
        if total > lim.max_inflated_bytes:
            raise RefusedFile("file.bomb", f"展開後の合計サイズが大きすぎます（{total:,}バイトと申告、"
                                           f"上限{lim.max_inflated_bytes:,}バイト）")
        lowered = {n.lower() for n in seen}
        self._names = {n.lower(): n for n in seen}
        if any(n.endswith("vbaproject.bin") for n in lowered):
            raise RefusedFile("file.macro", "マクロ（VBA）を含むファイルは受け付けません")
        if "[content_types].xml" not in lowered and "mimetype" in lowered:
            head = self.read_part("mimetype")[:200]
            if b"opendocument" in head:
                raise RefusedFile("file.not_xlsx", "OpenDocument 形式（.ods など）のファイルです")
        if "[content_types].xml" not in lowered or "xl/workbook.xml" not in lowered:
            if "[content_types].xml" in lowered and any(n.startswith(("word/", "ppt/")) for n in lowered):
                raise RefusedFile("file.not_xlsx", "Word や PowerPoint のファイルです")
            raise RefusedFile("file.not_xlsx", "zipファイルですが、Excelブック（.xlsx）の構造ではありません")

    def _stream(self, name: str) -> Iterator[bytes]:
        """Inflate one part in chunks: never past its declared size nor the limits, never a DOCTYPE."""
        real = self._names.get(name.lower())
        if real is None:
            raise KeyError(name)
        cached = self._parts.get(real)
        if cached is not None:  # inflated and scanned once already, under the same limits
            for at in range(0, len(cached), CHUNK):
                yield cached[at:at + CHUNK] if len(cached) > CHUNK else cached
            return
        info = self._zip.getinfo(real)
        cap = min(info.file_size, self.limits.max_part_bytes)
        done = 0
        tail = b""
        try:
            with self._zip.open(info) as f:
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    done += len(chunk)
                    self.inflated += len(chunk)
                    if done > cap:
                        raise RefusedFile("file.bomb", f"zipの項目 {name} が申告より大きく展開されます")
                    if self.inflated > self.limits.max_inflated_bytes:
                        raise RefusedFile("file.bomb", f"展開後の合計サイズが上限（{self.limits.max_inflated_bytes:,}バイト）を超えました")
                    window = tail + chunk
                    if _UNSAFE_XML.search(window):
                        raise RefusedFile("file.unsafe_xml",
                                          f"{name} にDOCTYPE宣言があります（XML爆弾などの危険があるため読みません）")
                    tail = window[-16:]
                    yield chunk
        except RefusedFile:
            raise
        except _ZIP_ERRORS as e:
            raise RefusedFile("file.corrupt", f"zipの項目 {name} を展開できません（{e}）") from None

    def read_part(self, name: str) -> bytes:
        """One part, whole (small parts only: the caps above still apply)."""
        return b"".join(self._stream(name))

    def _scan_parts(self) -> None:
        """Inflate every part once, in chunks, so a DOCTYPE anywhere refuses the whole file.

        openpyxl (feedback copies) would parse parts this reader never looks at.
        """
        room = CACHE_BYTES
        for info in self._zip.infolist():
            # Pictures are never parsed as XML by anyone; an SVG pasted into a sheet may well
            # carry a harmless <!DOCTYPE svg …>. Everything else is scanned.
            if not info.is_dir() and not info.filename.lower().startswith("xl/media/"):
                keep = info.file_size <= room  # never more than declared: _stream refuses that
                chunks = [chunk for chunk in self._stream(info.filename) if keep]
                if keep:
                    self._parts[info.filename] = data = b"".join(chunks)
                    room -= len(data)

    def _xml_chunks(self, name: str) -> Iterator[bytes]:
        first = True
        for chunk in self._stream(name):
            if first:
                first = False
                m = _XML_ENCODING.match(chunk[:200])
                start = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")[:2]
                if chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or (m and m.group(1).lower() not in (b"utf-8", b"utf8")) \
                        or (start[:1] == b"<" and start[1:2] == b"\x00") or start[:1] not in (b"<", b""):
                    raise RefusedFile("file.unsafe_xml", f"{name} がUTF-8のXMLではありません")
            yield chunk

    def _parse_small(self, name: str) -> ET.Element:
        """A small part as a tree: ElementTree's C parser, on bytes `_stream` has scanned (no
        DOCTYPE, hence no entity) and `_xml_chunks` has found UTF-8."""
        data = b"".join(self._xml_chunks(name))
        try:
            return ET.fromstring(data)
        except ET.ParseError as e:
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
            target = rels.get(el.get(f"{{{NS_REL}}}id", ""), ("", ""))[1]
            if not target or target.startswith("external:"):
                continue
            self.sheets.append(SheetRef(el.get("name", ""), el.get("state", "visible"), target))
        self.external_links = self._external_targets(rels)
        self._shared_part = next((t for kind, t in rels.values() if kind.endswith("/sharedStrings")), None)
        self._styles_part = next((t for kind, t in rels.values() if kind.endswith("/styles")), None)
        self._shared: list[str] | None = None
        self._read_styles()

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, target part); external targets as ``external:<target>``."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if rels_name.lower() not in self._names:
            return {}
        out = {}
        for el in self._parse_small(rels_name):
            target = el.get("Target", "")
            kind = el.get("Type", "")
            if el.get("TargetMode") == "External":
                out[el.get("Id", "")] = (kind, "external:" + target)
                continue
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[el.get("Id", "")] = (kind, path)
        return out

    def _external_targets(self, rels: dict[str, tuple[str, str]]) -> list[str]:
        """Where the workbook's external links point. They are reported, never opened."""
        targets: list[str] = []
        for kind, part in rels.values():
            if not kind.endswith("/externalLink"):
                continue
            if part.startswith("external:"):
                targets.append(part[len("external:"):])
                continue
            link_rels = self._relationships(part) if part.lower() in self._names else {}
            found = [t[len("external:"):] for _, t in link_rels.values() if t.startswith("external:")]
            targets.extend(found or [part])
        return targets

    def _read_styles(self) -> None:
        self._locked: set[int] = set()
        self._formats: dict[int, str] = {}  # style index → number format code, when not General
        self._date_styles: set[int] = set()
        if not self._styles_part or self._styles_part.lower() not in self._names:
            self._locked = {0}
            return
        root = self._parse_small(self._styles_part)
        custom = {}
        for el in root.iterfind(f"{M}numFmts/{M}numFmt"):
            try:
                custom[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
            except ValueError:
                continue
        xfs = root.find(f"{M}cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else ()):
            prot = xf.find(f"{M}protection")
            if prot is None or prot.get("locked", "1") not in ("0", "false"):
                self._locked.add(index)
            try:
                code = format_code(int(xf.get("numFmtId", "0")), custom)
            except ValueError:
                code = "General"
            if code not in ("General", "@"):
                self._formats[index] = code
                if is_date_format(code):
                    self._date_styles.add(index)

    def shared_strings(self) -> list[str]:
        if self._shared is None:
            self._shared = []
            part = self._shared_part
            if part and part.lower() in self._names:
                self._parse(part, _StringsHandler(self._shared), "共有文字列を解析できません")
        return self._shared

    def _parse(self, part: str, handler: _Handler, failed: str) -> None:
        """Stream ``part`` through expat into ``handler``'s callbacks.

        expat's callbacks rather than ElementTree: no element is built for the few elements of
        every cell of a sheet. The part has passed the DOCTYPE scan of `_stream`; expat is
        told not to read parameter entities besides. A handler stops the parse early by
        raising `_Stop`.
        """
        parser = pyexpat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartElementHandler = handler.start
        parser.EndElementHandler = handler.end
        parser.CharacterDataHandler = handler.data
        try:
            for chunk in self._xml_chunks(part):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _Stop:
            pass
        except pyexpat.ExpatError as e:
            raise RefusedFile("file.corrupt", f"{failed}（{e}）") from None

    # -- sheets ------------------------------------------------------------------------

    def sheet(self, name: str) -> SheetRef | None:
        return next((s for s in self.sheets if s.name == name), None)

    def read_sheet(self, ref: SheetRef, *, max_rows: int | None = None, max_col: int | None = None,
                   area: tuple[int, int] | None = None) -> Sheet:
        """Stream a worksheet: cells up to the row and column caps, then merges.

        Without ``area`` every cell within the caps is kept. With ``area = (rows, cols)`` only
        the cells inside ``A1`` to that corner are kept; cells with content outside it (up to
        the caps) are listed in ``outside`` (the first `KEEP_OUTSIDE`) and counted, so nothing
        typed there goes unseen. Rows past the cap are never iterated: ``truncated`` says so.
        """
        rows_cap = min(max_rows or self.limits.max_rows, self.limits.max_rows)
        col_cap = min(max_col or self.limits.max_columns, self.limits.max_columns)
        if area is not None:
            # Outside the area we still look, up to the workspace limits, for typed content.
            rows_cap, col_cap = self.limits.max_rows, self.limits.max_columns
        sheet = Sheet(ref.name, ref.state, locked_styles=frozenset(self._locked))
        handler = _SheetHandler(self, sheet, rows_cap, col_cap, area)
        try:
            self._parse(ref.part, handler, f"シート「{ref.name}」を解析できません")
        except KeyError:
            raise RefusedFile("file.corrupt", f"シート「{ref.name}」の本体（{ref.part}）がありません") from None
        return sheet

    def cell(self, row: int, col: int, t: str, style: int, v: str | None, formula: str | None,
             inline: str | None) -> Cell | None:
        """A cell from what its element held: type ``t``, the first ``<v>`` and ``<f>`` texts
        (None: none), the text of its ``<is>`` (None: none)."""
        if t == "inlineStr":
            return Cell(row, col, inline or "", "text", formula, True, style)
        if v is None or (v == "" and t not in ("str", "s")):
            if formula is None:
                return None  # a styled empty cell
            # openpyxl writes <v/> after a formula it could not compute: no cached value.
            return Cell(row, col, "", "formula-text", formula, False, style)
        if t == "s":
            try:
                text = self.shared_strings()[int(v)]
            except (ValueError, IndexError):
                text = ""
            return Cell(row, col, text, "text", formula, True, style)
        if t in ("str", "e"):
            return Cell(row, col, decode_escapes(v), "text" if t == "str" else "error", formula, True, style)
        if t == "b":
            return Cell(row, col, "TRUE" if v.strip() in ("1", "true") else "FALSE", "bool", formula, True, style)
        if t == "d":  # ISO 8601 date cells (Strict-ish writers); shown as the date part
            return Cell(row, col, _iso_date_text(v), "date", formula, True, style)
        try:
            number = float(v)
        except ValueError:
            return Cell(row, col, v, "text", formula, True, style)
        code = self._formats.get(style)
        if code is None:
            return Cell(row, col, render_general(number), "number", formula, True, style)
        kind = "date" if style in self._date_styles else "number"
        return Cell(row, col, render(number, code, date1904=self.date1904), kind, formula, True, style)

    # -- what sits beside the cells ----------------------------------------------------

    def comments(self, ref: SheetRef) -> list[tuple[str, str, str]]:
        """(A1, author, text) of every note on a sheet: typed by someone, so never ignored."""
        rels = self._relationships(ref.part)
        out: list[tuple[str, str, str]] = []
        for kind, part in rels.values():
            if not kind.endswith("/comments") or part.lower() not in self._names:
                continue
            root = self._parse_small(part)
            authors = [a.text or "" for a in root.iterfind(f"{M}authors/{M}author")]
            for el in root.iterfind(f"{M}commentList/{M}comment"):
                text_el = el.find(f"{M}text")
                text = _rich_text(text_el) if text_el is not None else ""
                try:
                    author = authors[int(el.get("authorId", "-1"))]
                except (ValueError, IndexError):
                    author = ""
                out.append((el.get("ref", ""), author, text))
                if len(out) >= KEEP_OUTSIDE:
                    return out
        return out

    def drawing_texts(self, ref: SheetRef) -> list[str]:
        """Texts of the text boxes and shapes drawn on a sheet."""
        rels = self._relationships(ref.part)
        out: list[str] = []
        for kind, part in rels.values():
            if not kind.endswith("/drawing") or part.lower() not in self._names:
                continue
            root = self._parse_small(part)
            for body in root.iter(f"{{{NS_DRAWING_MAIN}}}p"):
                text = "".join(t.text or "" for t in body.iter(f"{{{NS_DRAWING_MAIN}}}t"))
                if text.strip():
                    out.append(text)
                    if len(out) >= KEEP_OUTSIDE:
                        return out
        return out

    # -- context manager ---------------------------------------------------------------

    def close(self) -> None:
        self._parts = {}
        self._zip.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Stop(Exception):
    """Raised by a handler to end a parse early: a limit is reached, the rest is not read."""


class _Handler(Protocol):
    def start(self, name: str, attrs: dict[str, str]) -> None: ...
    def end(self, name: str) -> None: ...
    def data(self, text: str) -> None: ...


class _RichText:
    """The text of a shared or inline string (``<si>``, ``<is>``) as it streams by: its ``t``,
    and the first ``t`` of each run ``r``, without the phonetic ``rPh`` runs — Japanese Excel
    stores furigana in ``<rPh>`` inside the same string; reading every ``t`` would glue the
    reading onto the text. ``depth`` counts the elements open inside the string element."""

    __slots__ = ("capturing", "depth", "parts", "run_has_t", "run_name")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.depth = 0
        self.run_name = ""  # the child of the string element that is open
        self.run_has_t = False
        self.capturing = False

    def text(self) -> str:
        return decode_escapes("".join(self.parts))


class _StringsHandler:
    """The shared strings table, streamed: one text per ``<si>``."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.rich: _RichText | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        rich = self.rich
        if rich is not None:
            _rich_start(rich, name)
        elif name == X_SI:
            self.rich = _RichText()

    def end(self, name: str) -> None:
        rich = self.rich
        if rich is None:
            return
        if rich.depth == 0:  # the </si>
            self.out.append(rich.text())
            self.rich = None
        else:
            rich.depth -= 1
            rich.capturing = False

    def data(self, text: str) -> None:
        rich = self.rich
        if rich is not None and rich.capturing:
            rich.parts.append(text)


def _rich_start(rich: _RichText, name: str) -> None:
    rich.depth += 1
    if rich.depth == 1:
        rich.run_name = name
        rich.run_has_t = False
        rich.capturing = name == X_T
    elif rich.depth == 2 and name == X_T and rich.run_name == X_R and not rich.run_has_t:
        rich.run_has_t = rich.capturing = True
    else:
        rich.capturing = False


class _SheetHandler:
    """A worksheet, streamed: the cells within the caps, then merges and protection.

    A cell's row comes from its own reference ("C5"), so a row past the cap is stopped at its
    first cell; nothing is kept of a cell but the `Cell` made of it, so memory stays flat
    whatever a row holds.
    """

    def __init__(self, book: XlsxFile, sheet: Sheet, rows_cap: int, col_cap: int,
                 area: tuple[int, int] | None) -> None:
        self.book, self.sheet, self.rows_cap, self.col_cap, self.area = book, sheet, rows_cap, col_cap, area
        self.last_row = 0  # the last row that ended
        self.row = 0  # the row being read (its r, else the one after the last)
        self.row_no = self.col_no = self.cells_in_row = 0
        self.in_cell = False
        self.beyond = False  # the cell is past the column cap: only whether it has content counts
        self.t = "n"
        self.style = 0
        self.children = 0
        self.v: str | None = None
        self.f: str | None = None
        self.inline: str | None = None
        self.capture: list[str] | None = None  # the text being collected (of a <v>, <f>)
        self.rich: _RichText | None = None  # inside the cell's <is>
        self.depth = 0  # elements open inside the cell

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.depth += 1
            rich = self.rich
            if rich is not None:
                _rich_start(rich, name)
                return
            if self.depth != 1:
                return
            self.children += 1
            if name == X_V:
                if self.v is None:
                    self.capture = []
            elif name == X_F:
                if self.f is None:
                    self.capture = []
            elif name == X_IS and self.inline is None:
                self.rich = _RichText()
            return
        if name == X_C:
            self.start_cell(attrs.get("r"), attrs.get("t", "n"), attrs.get("s"))
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

    def start_cell(self, ref: str | None, t: str, s: str | None) -> None:
        """A ``<c>`` starts, with its attributes ``r``, ``t`` and ``s`` (None: not there)."""
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
            raise _Stop
        self.in_cell, self.beyond, self.depth, self.children = True, col > self.col_cap, 0, 0
        self.t = t
        try:
            self.style = int(s or 0)
        except ValueError:
            self.style = 0
        self.v = self.f = self.inline = None

    def end(self, name: str) -> None:
        if self.in_cell:
            if self.depth:
                self.depth -= 1
                rich = self.rich
                if rich is not None:
                    if rich.depth:
                        rich.depth -= 1
                        rich.capturing = False
                    else:  # the </is>
                        self.inline = rich.text()
                        self.rich = None
                elif self.depth == 0 and self.capture is not None:
                    text = "".join(self.capture)
                    self.capture = None
                    if name == X_V:
                        self.v = text
                    else:
                        self.f = text
                return
            self.in_cell = False
            self.end_cell()
        elif name == X_ROW:
            sheet = self.sheet
            sheet.rows_read += 1
            self.book.rows_read += 1
            self.last_row, self.row, self.col_no = self.row, 0, 0
            if self.last_row > self.rows_cap or sheet.rows_read > self.rows_cap:
                sheet.truncated = True
                raise _Stop

    def end_cell(self) -> None:
        sheet = self.sheet
        if self.beyond:
            if self.v is not None or self.f is not None or self.inline is not None:
                sheet.truncated = True
            return
        if not self.children and self.t != "inlineStr":
            return  # a styled empty cell: no value, no formula (most cells of a blank form)
        row, col = self.row_no, self.col_no
        cell = self.book.cell(row, col, self.t, self.style, self.v, self.f, self.inline)
        if cell is None:
            return
        area = self.area
        if area is None or (row <= area[0] and col <= area[1]):
            sheet.cells[(row, col)] = cell
        elif cell.text or cell.formula is not None:
            sheet.outside_count += 1
            if len(sheet.outside) < KEEP_OUTSIDE:
                sheet.outside.append(cell)

    def data(self, text: str) -> None:
        capture = self.capture
        if capture is not None:
            capture.append(text)
        else:
            rich = self.rich
            if rich is not None and rich.capturing:
                rich.parts.append(text)


def _rich_text(el: ET.Element) -> str:
    """The text of a comment's ``<text>``, parsed as a tree: ``t`` and ``r/t``, without phonetic
    ``rPh`` runs.

    Japanese Excel stores furigana in ``<rPh>`` inside the same ``<si>``; reading every ``t``
    would glue the reading onto the text.
    """
    parts: list[str] = []
    for child in el:
        tag = child.tag
        if tag == T_T:
            parts.append(child.text or "")
        elif tag == T_R:
            parts.append(child.findtext(T_T) or "")
    return decode_escapes("".join(parts))


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


__all__ = ["Cell", "Limits", "RefusedFile", "Sheet", "SheetRef", "UnsafeXmlSetup", "XlsxFile",
           "decode_escapes", "is_external_formula", "require_safe_xml"]
