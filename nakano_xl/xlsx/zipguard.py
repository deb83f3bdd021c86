"""The zip container of a workbook, opened under limits: every part goes through here.

Returned files are untrusted, so the zip directory is checked before anything is inflated:
the entry count from the end record (before the directory itself is parsed), then each
entry's declared size, the total, the ratio, the names, encryption. A bomb is refused from
its directory alone. What no department's spreadsheet program writes is refused from the
names as well: macros, and packages that are not workbooks (OpenDocument, Word, PowerPoint).

Every part is then inflated once, in chunks, never past its declared size nor the caps, and
scanned for ``<!DOCTYPE``/``<!ENTITY`` as it is inflated, across chunk boundaries, before any
parser sees it. No DTD means no entity to expand and nothing external to fetch: what
defusedxml would refuse, for the cost of a scan of the bytes. A part in another encoding
than UTF-8 (a UTF-16 byte order mark or its NUL pattern, an ``encoding=`` declaration) is
decoded by that encoding as it is inflated and the text scanned as well, so UTF-16 or UTF-7
hides no DOCTYPE; an encoding no codec knows, or EBCDIC, is refused. What this first pass
inflated is kept, up to `CACHE_BYTES` a file, so reading a part afterwards does not inflate
it again; every byte handed out counts against ``max_inflated_bytes`` all the same, kept or
inflated again, so a part read many times costs as much as many parts.

Parts reach a parser only through `GuardedZip.parse_small` (ElementTree's C parser, for the
small parts, refused over `SMALL_PART_BYTES`) and `GuardedZip.parse_stream` (expat callbacks,
for sheets, shared strings, comments and drawings, and feedback's count of every part;
expat told not to read parameter entities besides). `Limits` are the workspace's
``[limits]``, checked as they are read (`Limits.from_settings`).
"""

from __future__ import annotations

import codecs
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol
from xml.etree import ElementTree as ET
from xml.parsers import expat as pyexpat

CHUNK = 64 * 1024
# Parts kept inflated after the scan, per file, so that reading a part does not inflate it a
# second time (a department's file inflates to ~100 KB; larger parts are inflated again).
CACHE_BYTES = 16_000_000

# Parts parsed whole into a tree (`GuardedZip.parse_small`): the package's own small parts. A
# tree costs ~10 times its bytes; larger parts are refused rather than parsed.
SMALL_PART_BYTES = 16_000_000

_UNSAFE_XML = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_UNSAFE_TEXT = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
# What zipfile and zlib raise on a damaged zip: all of it means the file is corrupt.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
               NotImplementedError, RuntimeError, zlib.error, struct.error)


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

    @classmethod
    def from_settings(cls, table: object) -> Limits:
        """The limits of the settings' ``[limits]`` table; the defaults for what it leaves out.

        A value that is not a positive finite number of the limit's kind — NaN would turn the
        check off, as would a negative or zero one refuse everything — raises ValueError
        naming the setting, in Japanese; so does a name that is no limit (a misspelt limit
        would otherwise leave the default silently in force).
        """
        if not isinstance(table, dict):
            raise ValueError(f"[limits] は表（キー = 値 の並び）にしてください（{table!r}）")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(str(k) for k in table if k not in known)
        if unknown:
            raise ValueError(f"limits.{unknown[0]} という上限はありません（{' / '.join(known)}）")
        defaults = cls()
        values: dict[str, int | float] = {}
        for name, value in table.items():
            whole = isinstance(getattr(defaults, name), int)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or (whole and not isinstance(value, int)):
                kind = "正の整数" if whole else "正の数"
                raise ValueError(f"limits.{name} は{kind}で指定してください（{value!r}）")
            # An int is finite, however large; a float may be nan or inf.
            if isinstance(value, float) and not math.isfinite(value) or value <= 0:
                raise ValueError(f"limits.{name} は0より大きい有限の数で指定してください（{value!r}）")
            values[name] = value if whole else float(min(value, 2**1000))  # float() of a huge int overflows
        return cls(**values)  # type: ignore[arg-type]


class RefusedFile(Exception):
    """The file is not read. ``code`` is a finding code, ``reason`` Japanese for the user."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.inflated = 0  # bytes inflated before the file was refused (0: refused from the directory)


class StopParse(Exception):
    """Raised by a handler to end a streamed parse early: a limit is reached, the rest is not read."""


class Handler(Protocol):
    """The callbacks `GuardedZip.parse_stream` gives a part to: element names as expat gives
    them (namespace, ``}``, local name)."""

    def start(self, name: str, attrs: dict[str, str]) -> None: ...
    def end(self, name: str) -> None: ...
    def data(self, text: str) -> None: ...


def xml_encoding(head: bytes) -> str | None:
    """The codec a part's text is in, when it is not UTF-8 and its bytes alone cannot be scanned.

    From the byte order mark, else the pattern of NULs around the first ``<`` (XML 1.0,
    appendix F), else the ``encoding=`` declaration. None for UTF-8 — and for a part that is
    not XML at all (a printer's settings), whose bytes are scanned as they are. Raises
    `RefusedFile` for an encoding no codec here knows, and for EBCDIC.
    """
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    four = head[:4]
    if len(four) == 4:
        if four[:3] == b"\x00\x00\x00" and four[3]:
            return "utf-32-be"
        if four[0] and four[1:] == b"\x00\x00\x00":
            return "utf-32-le"
        if four[0] == 0 and four[1] and four[2] == 0:
            return "utf-16-be"
        if four[0] and four[1] == 0 and four[2] and four[3] == 0:
            return "utf-16-le"
        if four == b"\x4c\x6f\xa7\x94":  # "<?xm" in EBCDIC
            raise RefusedFile("file.unsafe_xml", "EBCDICで書かれたXMLの部品があります")
    m = _XML_ENCODING.match(head[:400])
    if m is None or m.group(1).lower() in (b"utf-8", b"utf8"):
        return None
    name = m.group(1).decode("ascii")
    try:
        "<".encode(name)  # a text encoding: not a codec such as "zlib" or "rot13", which str.encode refuses
        return codecs.lookup(name).name
    except LookupError:
        raise RefusedFile("file.unsafe_xml", f"XMLの文字コード「{name}」を解釈できません") from None


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


class GuardedZip:
    """A workbook's zip with every limit in force; ``inflated`` counts the bytes inflated so far.

    Opening it checks the directory, then inflates and scans every part; a `RefusedFile` raised
    while opening carries the bytes inflated before it in ``inflated``.
    """

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        self.inflated = 0
        self.served = 0  # bytes handed out from what the scan kept (not inflated again)
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
            self._scan_parts()
        except RefusedFile as e:
            e.inflated = self.inflated
            self._zip.close()
            raise
        except BaseException:
            self._zip.close()
            raise

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

    def names(self) -> list[str]:
        """Every entry's name, in the zip's order (the directory checked when the zip was opened)."""
        return self._zip.namelist()

    def has(self, name: str) -> bool:
        """Whether the zip holds ``name`` (part names are compared without case, as the package format has it)."""
        return name.lower() in self._names

    def stream(self, name: str) -> Iterator[bytes]:
        """Inflate one part in chunks: never past its declared size nor the limits, never a DOCTYPE.

        Every byte handed out counts against ``max_inflated_bytes``, from what the scan kept
        or inflated again: a part referred to many times costs each time.
        """
        real = self._names.get(name.lower())
        if real is None:
            raise KeyError(name)
        cached = self._parts.get(real)
        if cached is not None:  # inflated and scanned once already, under the same limits
            for at in range(0, len(cached), CHUNK):
                chunk = cached[at:at + CHUNK] if len(cached) > CHUNK else cached
                self.served += len(chunk)
                self._check_total()
                yield chunk
            return
        info = self._zip.getinfo(real)
        cap = min(info.file_size, self.limits.max_part_bytes)
        done = 0
        tail = b""
        decoder: codecs.IncrementalDecoder | None = None
        text_tail = ""
        try:
            with self._zip.open(info) as f:
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    if not done:
                        codec = xml_encoding(chunk)
                        if codec is not None:
                            decoder = codecs.getincrementaldecoder(codec)(errors="replace")
                    done += len(chunk)
                    self.inflated += len(chunk)
                    if done > cap:
                        raise RefusedFile("file.bomb", f"zipの項目 {name} が申告より大きく展開されます")
                    self._check_total()
                    # The end of the last chunk goes with this one: a DOCTYPE cut in two is still seen.
                    window = tail + chunk
                    unsafe = _UNSAFE_XML.search(window) is not None
                    if decoder is not None:
                        text = text_tail + decoder.decode(chunk)
                        unsafe = unsafe or _UNSAFE_TEXT.search(text) is not None
                        text_tail = text[-16:]
                    if unsafe:
                        raise RefusedFile("file.unsafe_xml",
                                          f"{name} にDOCTYPE宣言があります（XML爆弾などの危険があるため読みません）")
                    tail = window[-16:]
                    yield chunk
        except RefusedFile:
            raise
        except _ZIP_ERRORS as e:
            raise RefusedFile("file.corrupt", f"zipの項目 {name} を展開できません（{e}）") from None

    def _check_total(self) -> None:
        if self.inflated + self.served > self.limits.max_inflated_bytes:
            raise RefusedFile("file.bomb", f"展開後の合計サイズが上限（{self.limits.max_inflated_bytes:,}バイト）を超えました")

    def read_part(self, name: str) -> bytes:
        """One part, whole (small parts only: the caps above still apply)."""
        return b"".join(self.stream(name))

    def _scan_parts(self) -> None:
        """Inflate every part once, in chunks, so a DOCTYPE anywhere refuses the whole file.

        openpyxl (feedback copies) parses parts this reader never looks at.
        """
        room = CACHE_BYTES
        for info in self._zip.infolist():
            # Pictures are never parsed as XML by anyone; an SVG pasted into a sheet may well
            # carry a harmless <!DOCTYPE svg …>. Everything else is scanned.
            if not info.is_dir() and not info.filename.lower().startswith("xl/media/"):
                keep = info.file_size <= room  # never more than declared: `stream` refuses that
                chunks = [chunk for chunk in self.stream(info.filename) if keep]
                if keep:
                    self._parts[info.filename] = data = b"".join(chunks)
                    room -= len(data)

    def xml_chunks(self, name: str) -> Iterator[bytes]:
        """`stream`, refusing a part that is not UTF-8 XML: the DOCTYPE scan reads bytes."""
        first = True
        for chunk in self.stream(name):
            if first:
                first = False
                m = _XML_ENCODING.match(chunk[:400].removeprefix(b"\xef\xbb\xbf"))
                start = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")[:2]
                if chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or (m and m.group(1).lower() not in (b"utf-8", b"utf8")) \
                        or (start[:1] == b"<" and start[1:2] == b"\x00") or start[:1] not in (b"<", b""):
                    raise RefusedFile("file.unsafe_xml", f"{name} がUTF-8のXMLではありません")
            yield chunk

    def parse_small(self, name: str) -> ET.Element:
        """A small part as a tree: ElementTree's C parser, on bytes `stream` has scanned (no
        DOCTYPE, hence no entity) and `xml_chunks` has found UTF-8."""
        real = self._names.get(name.lower())
        size = self._zip.getinfo(real).file_size if real is not None else 0
        if size > SMALL_PART_BYTES:
            raise RefusedFile("file.bomb", f"zipの項目 {name} が大きすぎます（展開後{size:,}バイト、"
                                           f"この部品の上限{SMALL_PART_BYTES:,}バイト）")
        data = b"".join(self.xml_chunks(name))
        try:
            return ET.fromstring(data)
        except ET.ParseError as e:
            raise RefusedFile("file.corrupt", f"{name} を解析できません（{type(e).__name__}）") from None

    def parse_stream(self, name: str, handler: Handler, failed: str) -> None:
        """Stream a part through expat into ``handler``'s callbacks; ``failed`` begins the reason
        a malformed part is refused with.

        Callbacks rather than a tree: no element is built for the few elements of every cell
        of a sheet. The part has passed the DOCTYPE scan of `stream`; expat is told not to read
        parameter entities besides. A handler stops the parse early by raising `StopParse`.
        """
        parser = pyexpat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartElementHandler = handler.start
        parser.EndElementHandler = handler.end
        parser.CharacterDataHandler = handler.data
        try:
            for chunk in self.xml_chunks(name):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except StopParse:
            pass
        except pyexpat.ExpatError as e:
            raise RefusedFile("file.corrupt", f"{failed}（{e}）") from None

    def close(self) -> None:
        self._parts = {}
        self._zip.close()
