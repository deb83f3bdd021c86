"""Writing workbooks: xlsxwriter in memory, fixed document properties, parts deflated ahead.

A workbook is built in memory (`new_workbook`, `finish`) and then written by `files`: to a
temporary file beside the target, renamed over it.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.workbook

# zlib level of the parts. Level 1 deflates our XML 4.5× faster than the default 6 for a file
# ~40% larger (the report of a prefecture: 0.18 s and 4.3 MB against 0.80 s and 3.0 MB),
# and at nation scale the report's XML is half a gigabyte (issue 9). Excel's own files are
# not smaller than level 1's.
COMPRESS_LEVEL = 1


@dataclass(frozen=True, slots=True)
class Deflated:
    """A stretch of a part deflated ahead of the zipping, on its own (on a worker, say): raw
    deflate that ends on a byte boundary and is not final (a sync flush), with the CRC-32 and
    the length of the bytes it holds. Such stretches, one after another, are one deflate
    stream once the last is closed — how pigz compresses on many cores."""

    data: bytes
    crc: int
    size: int


def deflate(raw: bytes, *, final: bool = False) -> Deflated:
    """``raw`` deflated at `COMPRESS_LEVEL` as a `Deflated` stretch (``final``: the last one)."""
    z = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return Deflated(z.compress(raw) + z.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH), zlib.crc32(raw),
                    len(raw))


def crc32_combine(crc1: int, crc2: int, size2: int) -> int:
    """The CRC-32 of A + B from those of A and B and the length of B (zlib's crc32_combine,
    which Python's zlib does not expose): A's CRC carried over B's length, times x^(8·size2)
    modulo the CRC polynomial, then B's added."""
    return _multiply_mod(_x_to_2n_mod(size2, 3), crc1) ^ crc2


_POLY = 0xEDB88320  # the CRC-32 polynomial, bit-reversed as zlib computes


def _multiply_mod(a: int, b: int) -> int:
    """a × b modulo the polynomial, in zlib's reflected bit order."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x_to_2n_mod(n: int, k: int) -> int:
    """x^(n·2^k) modulo the polynomial."""
    p = 1 << 31  # x^0
    while n:
        if n & 1:
            p = _multiply_mod(_x_to_2_to(k & 31), p)
        n >>= 1
        k += 1
    return p


@functools.lru_cache(maxsize=32)
def _x_to_2_to(k: int) -> int:
    """x^(2^k) modulo the polynomial."""
    return 1 << 30 if k == 0 else _multiply_mod(_x_to_2_to(k - 1), _x_to_2_to(k - 1))


_SPLICE = re.compile(rb"<!--nakano-xl:splice:(\d+)-->")


class _AsIs:
    """A "compressor" for data that is deflated already."""

    def compress(self, data: bytes) -> bytes:
        return bytes(data)

    def flush(self) -> bytes:
        return b""


class _FastZipFile(zipfile.ZipFile):
    """xlsxwriter's zip file, with `COMPRESS_LEVEL` for every part (xlsxwriter passes none),
    and stretches deflated ahead (`Workbook.splice`) put in where their markers stand."""

    def __init__(self, *args: Any, spliced: list[list[Deflated]] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("compresslevel", COMPRESS_LEVEL)
        super().__init__(*args, **kwargs)
        self.spliced = spliced if spliced is not None else []  # (filled while the parts are made)

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        if not (self.spliced and self._write_spliced(name, raw)):
            # A ZipInfo (xlsxwriter's in-memory parts) carries its own level, default 6.
            super().writestr(zinfo_or_arcname, raw, compress_type,
                             self.compresslevel if compresslevel is None else compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        """xlsxwriter's parts on disk (a long report), zipped as its in-memory parts are: the
        same entry headers (1980-01-01, mode 0600) instead of the temporary file's time and
        mode, so both paths give the same bytes on every machine. One part is read at a time
        (at nation scale the largest is 集計's, ~35 MB: 別紙1's rows come deflated)."""
        info = zipfile.ZipInfo(arcname, (1980, 1, 1, 0, 0, 0))
        info.compress_type = self.compression
        self.writestr(info, Path(filename).read_bytes(), compress_type, compresslevel)

    def _write_spliced(self, name: str, raw: bytes) -> bool:
        """Write the part ``raw`` with its markers replaced by their stretches; False when it
        has none."""
        stretches, at = [], 0
        for m in _SPLICE.finditer(raw):
            stretches.append(deflate(raw[at:m.start()]))
            stretches.extend(self.spliced[int(m[1])])
            at = m.end()
        if not stretches:
            return False
        stretches.append(deflate(raw[at:], final=True))
        crc = size = 0
        for stretch in stretches:
            crc, size = crc32_combine(crc, stretch.crc, stretch.size), size + stretch.size
        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))  # as xlsxwriter's in-memory parts
        info.compress_type, info.file_size = zipfile.ZIP_DEFLATED, size  # (the size decides zip64)
        with self.open(info, "w") as dest:
            # zipfile's writer, told that the data is deflated, and then what it holds: its
            # `_compressor`, `_crc` and `_file_size` (CPython 3.8–3.13; tests read it back).
            dest._compressor = _AsIs()  # type: ignore[attr-defined]
            for stretch in stretches:
                dest.write(stretch.data)
            dest._crc, dest._file_size = crc, size  # type: ignore[attr-defined]
        return True


class Workbook(xlsxwriter.Workbook):
    """xlsxwriter's workbook, zipped at `COMPRESS_LEVEL`, with `splice`.

    xlsxwriter takes no compression level; its zip file class is swapped for ours only
    while this workbook is being zipped (xlsxwriter opens it by its module's name).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spliced: list[list[Deflated]] = []

    def splice(self, stretches: list[Deflated]) -> str:
        """A marker to write into a part where ``stretches`` go: the zip entry of the part gets
        them as they are, deflated already (`nakano_xl.xlsx.bulk`: rows deflated on workers)."""
        self._spliced.append(stretches)
        return f"<!--nakano-xl:splice:{len(self._spliced) - 1}-->"

    def add_worksheet(self, name: str | None = None, worksheet_class: Any = None) -> Any:
        sheet = super().add_worksheet(name, worksheet_class)
        if hasattr(sheet, "splice"):  # a BulkWorksheet
            sheet.splice = self.splice
        return sheet

    def _store_workbook(self) -> None:
        module = xlsxwriter.workbook
        original = module.ZipFile  # type: ignore[attr-defined]
        module.ZipFile = functools.partial(_FastZipFile, spliced=self._spliced)  # type: ignore[attr-defined]
        try:
            super()._store_workbook()
        finally:
            module.ZipFile = original  # type: ignore[attr-defined]


def new_workbook(created: datetime, *, title: str = "", author: str = "nakano-xl",
                 in_memory: bool = True) -> tuple[xlsxwriter.Workbook, io.BytesIO]:
    """A workbook written into a buffer, whose document properties do not depend on the clock.

    xlsxwriter already fixes the zip entries' timestamps; the ``created`` property is the only
    other thing that changes from run to run, so it is taken from the workspace.
    ``in_memory`` skips xlsxwriter's temporary files (1.35–2.3× faster for small workbooks);
    ``in_memory=False`` writes each part to a temporary file before zipping it, for a workbook
    so large that holding every part in memory at once would double the peak (issue 9).
    """
    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"in_memory": in_memory, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    workbook.set_properties({"title": title, "author": author, "created": created})
    workbook.set_calc_mode("auto")
    return workbook, buffer


def finish(workbook: xlsxwriter.Workbook, buffer: io.BytesIO) -> bytes:
    workbook.close()
    return buffer.getvalue()
