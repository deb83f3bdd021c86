"""What a file is, from its first bytes — never from its extension.

A department may send back anything with ``.xlsx`` on it: the workbook saved as
"Excel 97-2003" (an OLE container), the same workbook with a password to open (an OLE
container too, holding an encrypted OOXML package), a page saved from a browser, an ODS
from LibreOffice, a PDF. pandas would silently read some of these (docs/design.md), so
intake decides here, before any spreadsheet library sees a byte.

The OLE check reads the container's directory (names of its streams) with every step
bounded: ``EncryptionInfo``/``EncryptedPackage`` mean a password-protected workbook,
``Workbook``/``Book`` a legacy .xls.
"""

from __future__ import annotations

import struct
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
HEAD_BYTES = 512

# kind → plain Japanese for the finding; "zip" needs no words (it is opened next).
KIND_WORDS = {
    "empty": "空のファイル（0バイト）です",
    "encrypted": "パスワードで保護（暗号化）されたブックです",
    "xls": "古い形式（Excel 97-2003 ブック .xls）のファイルです",
    "ole": "Excelブック以外の古いOffice形式のファイルです",
    "html": "HTMLファイル（Webページとして保存されたもの）です",
    "mht": "単一ファイルWebページ（.mht）です",
    "xml2003": "XMLスプレッドシート 2003 形式のファイルです",
    "ods": "OpenDocument スプレッドシート（.ods）です",
    "pdf": "PDFファイルです",
    "unknown": "Excelブックではありません",
}


def sniff(head: bytes) -> str:
    """The kind of a file from its first bytes.

    ``zip``, ``ods``, ``ole`` (look closer with `ole_kind`), ``html``, ``mht``, ``xml2003``,
    ``pdf``, ``empty`` or ``unknown``.
    """
    if not head:
        return "empty"
    if head.startswith(ZIP_MAGICS):
        # An ODS stores its mimetype uncompressed as the very first entry (ODF 1.2 §3.3).
        if head[30:38] == b"mimetype" and ODS_MIMETYPE in head[38:120]:
            return "ods"
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:HEAD_BYTES].lower()
    if text.startswith(b"mime-version") or b"multipart/related" in text:
        return "mht"
    if text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in text:
        return "xml2003"
    if text.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<table" in text or b"<html" in text:
        return "html"
    return "unknown"


class NotOle(ValueError):
    """The container's structure is broken; the file is treated as unreadable."""


def ole_stream_names(data: bytes, *, max_sectors: int = 100_000) -> set[str]:
    """The names in an OLE (Compound File Binary) container's directory.

    Follows the directory's sector chain through the FAT (found through the DIFAT); every
    loop is bounded by ``max_sectors`` and every offset checked against the data, so a
    crafted container ends in `NotOle`, never in a hang.
    """
    if len(data) < 512 or not data.startswith(OLE_MAGIC):
        raise NotOle("header")

    def u32(buf: bytes, at: int) -> int:
        if at + 4 > len(buf):
            raise NotOle("offset")
        return int(struct.unpack_from("<I", buf, at)[0])

    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise NotOle("sector size")
    size = 1 << shift
    per_sector = size // 4
    fat_count, dir_start = u32(data, 0x2C), u32(data, 0x30)
    difat_start, difat_count = u32(data, 0x44), u32(data, 0x48)

    def sector(n: int) -> bytes:
        at = (n + 1) * size
        if n >= 0xFFFFFFFA or at >= len(data):  # a short last sector is tolerated; u32 checks offsets
            raise NotOle("sector")
        return data[at:at + size]

    fat_sectors = [u32(data, 0x4C + 4 * i) for i in range(109)]
    n, steps = difat_start, 0
    while n < 0xFFFFFFFA and steps < min(difat_count, max_sectors):
        block = sector(n)
        fat_sectors += [u32(block, 4 * i) for i in range(per_sector - 1)]
        n = u32(block, size - 4)
        steps += 1
    fat_sectors = [s for s in fat_sectors[:fat_count] if s < 0xFFFFFFFA]

    def next_sector(n: int) -> int:
        index, offset = divmod(n, per_sector)
        if index >= len(fat_sectors):
            raise NotOle("fat")
        return u32(sector(fat_sectors[index]), 4 * offset)

    names: set[str] = set()
    seen: set[int] = set()
    n = dir_start
    while n < 0xFFFFFFFA:
        if n in seen or len(seen) >= max_sectors:
            raise NotOle("directory chain")
        seen.add(n)
        block = sector(n)
        for at in range(0, len(block) - 127, 128):
            entry = block[at:at + 128]
            length = struct.unpack_from("<H", entry, 64)[0]
            if entry[66] in (1, 2, 5) and 2 <= length <= 64 and length % 2 == 0:
                names.add(entry[:length - 2].decode("utf-16-le", "replace"))
        n = next_sector(n)
    return names


def ole_kind(path: Path, max_bytes: int) -> str:
    """``encrypted``, ``xls`` or ``ole`` for an OLE container (read up to ``max_bytes``)."""
    with path.open("rb") as f:
        data = f.read(max_bytes)
    try:
        names = ole_stream_names(data)
    except (NotOle, struct.error):
        return "ole"
    if {"EncryptionInfo", "EncryptedPackage"} & names:
        return "encrypted"
    if {"Workbook", "Book"} & names:
        return "xls"
    return "ole"
