"""Safe open: what a file is (from its bytes), and the workbook opened under the limits.

Every file of the inbox comes through here whatever its name. OS and editor litter is an
info finding; anything that is not a usable .xlsx is an error finding naming the file and
the reason in plain Japanese. Nothing here parses a spreadsheet: that starts only once
`XlsxFile` has checked the zip directory and scanned every part.
"""

from __future__ import annotations

from pathlib import Path

from ..findings import Finding, finding
from ..xlsx.reader import XlsxFile
from ..xlsx.sniff import HEAD_BYTES, KIND_WORDS, ole_kind, sniff
from ..xlsx.zipguard import Limits, RefusedFile

# What operating systems leave in a folder; never a department's answer.
LITTER_NAMES = {".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".localized"}
# Excel's owner file (~$Book.xlsx) is 165 bytes: a user name, nothing else.
LOCK_FILE_MAX_BYTES = 4096


def litter_reason(name: str, size: int) -> str | None:
    """Why a file is litter, or None. Lock files are recognised by name and size together."""
    lowered = name.lower()
    if lowered in LITTER_NAMES:
        return "OSが作る管理用ファイル"
    if name.startswith("._"):
        return "macOSが作る管理用ファイル"
    if name.startswith("~$") and size <= LOCK_FILE_MAX_BYTES:
        return "Excelが編集中に作る一時ファイル（~$）"
    if name.startswith(".~lock.") and name.endswith("#") and size <= LOCK_FILE_MAX_BYTES:
        return "LibreOfficeが編集中に作るロックファイル"
    return None


Opened = tuple[XlsxFile | None, str, list[Finding], int]


def open_workbook(path: Path, rel: str, limits: Limits) -> Opened:
    """The workbook opened with every limit in force, or None and the finding why not.

    Returns ``(book, kind, findings, inflated)`` where ``inflated`` counts the bytes a refused
    file inflated before it was refused; the caller closes ``book``.
    """
    size = path.stat().st_size
    why = litter_reason(path.name, size)
    if why:
        return None, "litter", [finding("file.ignored", file=rel, reason=why)], 0
    if size == 0:
        return None, "empty", [finding("file.empty", file=rel)], 0
    if size > limits.max_file_bytes:
        return None, "refused", [finding("file.too_large", file=rel,
                                         reason=f"ファイルが大きすぎます（{size:,}バイト、上限{limits.max_file_bytes:,}バイト）")], 0
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    kind = sniff(head)
    if kind == "ole":
        kind = ole_kind(path, limits.max_file_bytes)
        if kind == "encrypted":
            return None, kind, [finding("file.encrypted", file=rel, reason=KIND_WORDS[kind])], 0
    if kind != "zip":
        return None, kind, [finding("file.not_xlsx", file=rel, reason=KIND_WORDS[kind])], 0
    try:
        return XlsxFile(path, limits), "xlsx", [], 0
    except RefusedFile as e:
        return None, "refused", [finding(e.code, file=rel, reason=e.reason)], e.inflated
