"""The inbox walk: every regular file to read, the name each is shown by, and a finding for
everything else that is there.

Nothing in the inbox is skipped without a finding: a folder or file that cannot be read, a
FIFO, socket or device, a symbolic link, a folder met twice (a bind mount or junction loop), a
folder named like a workbook. Nothing is opened here: the kind of each entry comes from
``lstat`` (a FIFO opened for reading would block the run), and only regular files are handed
on to be read.

Symbolic links are never followed, wherever they point. A department's return arrives as a
file (a mail attachment saved, a copy from a shared folder), never as a link; a link is
something made on the coordinator's machine. A link into the inbox points at a file the walk
reads anyway (following it would read that file twice, as two returns of one department); a
link out of it would read what is not in the inbox (another year's files, ``/dev/zero``). So
each link is named with where it points, and the coordinator copies the file in if it is a
return.

Names are bytes on Linux and macOS. A name that is not UTF-8 (cp932 bytes, as when a zip made
on Japanese Windows is unpacked) is opened by its real path and shown decoded as cp932 where
that works, otherwise with U+FFFD for what cannot be read and the bytes in hex, so two
different names never show the same. Files are ordered by the bytes of their path. On Windows
names are already text, and only characters no report can hold (control characters, a lone
surrogate) are replaced.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WorkspaceError
from ..findings import Finding, Severity, finding
from ..xlsx.text import UNREPRESENTABLE

# What `inbox.unreadable` says is lost, for a folder and for a file.
FOLDER_NOT_READ = "中にある回答票は取り込んでいません（その課は未提出と表示されます）"
FILE_NOT_READ = "このファイルの回答は取り込んでいません"
# A folder with one of these names looks like a workbook to a person reading the list.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


@dataclass(frozen=True, slots=True)
class InboxFile:
    """A regular file to read."""

    path: Path  # what is opened: the real name, whatever its bytes
    rel: str  # what findings, the report, findings.json and status call it ("/" separators)
    notes: tuple[Finding, ...] = ()  # about the name itself (not UTF-8)


@dataclass
class Walk:
    files: list[InboxFile] = field(default_factory=list)  # in the order of their path's bytes
    findings: list[Finding] = field(default_factory=list)  # everything not read, each named


# Windows reparse tags of a symbolic link and a junction (``stat`` names them only on Windows).
LINK_TAGS = (0xA000000C, 0xA0000003)
HOW = ("", "cp932", "replaced")  # how a name is shown, from as it is to the least like it


@dataclass(frozen=True, slots=True)
class _Name:
    shown: str
    how: str  # "" (the name as it is), "cp932" or "replaced"
    raw: bytes


def walk_inbox(inbox: Path) -> Walk:
    """Every regular file under ``inbox`` (subfolders too) and a finding for everything else.

    The inbox folder itself may be a link (a shared drive); what is under it is never followed.
    """
    walk = Walk()
    if not inbox.is_dir():
        return walk
    base = os.path.realpath(inbox)
    top = _identity(os.stat(inbox))
    seen = {top} if top is not None else set()
    found: list[tuple[bytes, InboxFile | Finding]] = []
    todo = [_Folder(os.fspath(inbox), "", b"", "")]
    while todo:
        folder = todo.pop()
        try:
            with os.scandir(folder.path) as listing:
                entries = list(listing)
        except OSError as e:
            if not folder.rel:
                raise WorkspaceError(f"受信フォルダ {inbox} の中を読み取れません（{_why(e)}）。") from e
            found.append((folder.key, finding("inbox.unreadable", file=folder.rel, what="フォルダ", reason=_why(e), effect=FOLDER_NOT_READ)))
            continue
        names = shown_names([e.name for e in entries])
        for entry in entries:
            name = names[entry.name]
            key = folder.key + name.raw
            at = _Folder(entry.path, folder.rel + name.shown, key, max(folder.decoded, name.how, key=HOW.index))
            item = _entry(entry, at, base, seen, todo)
            if item is not None:
                found.append((key, item))
    found.sort(key=lambda pair: pair[0])
    for _, item in found:
        if isinstance(item, InboxFile):
            walk.files.append(item)
        else:
            walk.findings.append(item)
    return walk


@dataclass(frozen=True, slots=True)
class _Folder:
    """An entry on the way: its real path, its shown path, its bytes, how names on the way were shown."""

    path: str
    rel: str  # a folder's ends with "/" (the inbox's is "")
    key: bytes
    decoded: str  # the worst `_Name.how` on the way


def _entry(entry: os.DirEntry[str], at: _Folder, base: str, seen: set[tuple[int, int]],
           todo: list[_Folder]) -> InboxFile | Finding | None:
    """What one directory entry is: a file to read, a finding, or None (a folder, now listed in ``todo``)."""
    rel = at.rel
    try:
        st = os.lstat(entry.path)  # never opens: a FIFO stays unopened
        if _is_link(st):
            return _link(entry.path, rel, base)
        if stat.S_ISDIR(st.st_mode):
            here = _identity(st)
            if here is not None and here in seen:  # the same folder again: a bind mount, a junction
                return finding("inbox.loop", file=rel + "/")
            if here is not None:
                seen.add(here)
            todo.append(_Folder(at.path, rel + "/", at.key + b"/", at.decoded))
            if rel.lower().endswith(WORKBOOK_SUFFIXES):
                return finding("inbox.not_a_file", file=rel, what="フォルダ", then="中のファイルはそれぞれ読み取ります")
            return None
        if not stat.S_ISREG(st.st_mode):
            return finding("inbox.not_a_file", file=rel, what=kind_words(st.st_mode), then="開かずに読み飛ばしました")
        if not os.access(entry.path, os.R_OK):
            return finding("inbox.unreadable", file=rel, what="ファイル", reason="読み取りの権限がありません", effect=FILE_NOT_READ)
    except OSError as e:  # gone since it was listed, or its attributes cannot be read (a folder without x)
        if _listed_as_folder(entry):
            return finding("inbox.unreadable", file=rel + "/", what="フォルダ", reason=_why(e), effect=FOLDER_NOT_READ)
        return finding("inbox.unreadable", file=rel, what="ファイル", reason=_why(e), effect=FILE_NOT_READ)
    notes = (name_note(rel, at.key, at.decoded),) if at.decoded else ()
    return InboxFile(Path(entry.path), rel, notes)


def _listed_as_folder(entry: os.DirEntry[str]) -> bool:
    """What the listing itself says (no stat): used only to word a finding."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def not_a_file(path: Path, rel: str) -> Finding | None:
    """A finding when a path named on the command line is not a regular file (links followed:
    the user named it)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # reading it says why
    if stat.S_ISREG(mode):
        return None
    return finding("inbox.not_a_file", file=rel, what=kind_words(mode), then="開かずに読み飛ばしました",
                   severity=Severity.ERROR)  # named to be checked, and it cannot be: not a mere leftover


def _is_link(st: os.stat_result) -> bool:
    """A symbolic link, or on Windows a junction (not a cloud placeholder, also a reparse point)."""
    if stat.S_ISLNK(st.st_mode):
        return True
    return getattr(st, "st_reparse_tag", 0) in LINK_TAGS


def _link(path: str, rel: str, base: str) -> Finding:
    """A link, never followed: where it points, and whether that is in the inbox."""
    try:
        written = shown_text(os.readlink(path))
    except (OSError, ValueError):  # ValueError: a junction Python cannot read as a link
        written = "?"
    try:
        target = os.stat(path)  # follows the link, opens nothing
    except OSError as e:
        if e.errno == getattr(errno, "ELOOP", None):
            reason = "リンクが循環しています"
        elif isinstance(e, FileNotFoundError):
            reason = "リンク先がありません"
        else:
            reason = f"リンク先を確かめられません（{_why(e)}）"
        return finding("inbox.symlink", file=rel, value=written, reason=reason)
    real = os.path.realpath(path)
    if stat.S_ISDIR(target.st_mode) and _within(os.path.realpath(os.path.dirname(path)), real):
        return finding("inbox.symlink", file=rel, value=written,
                       reason="このリンクのあるフォルダ自身か、その上のフォルダを指しています。たどると循環します")
    if not stat.S_ISDIR(target.st_mode) and not stat.S_ISREG(target.st_mode):
        return finding("inbox.symlink", file=rel, value=written,
                       reason=f"リンク先は{kind_words(target.st_mode)}です。開いていません")
    if _within(real, base):
        return finding("inbox.symlink", file=rel, value=written,
                       reason="リンク先は受信フォルダの中にあり、そこで読み取ります")
    what = "フォルダ" if stat.S_ISDIR(target.st_mode) else "ファイル"
    return finding("inbox.symlink_outside", file=rel, value=written, what=what)


def _within(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # Windows: another drive
        return False


def _identity(st: os.stat_result) -> tuple[int, int] | None:
    """A folder's device and inode; None where the file system has no ids (loops go unseen there)."""
    return (st.st_dev, st.st_ino) if st.st_ino else None


def kind_words(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "名前付きパイプ（FIFO）"
    if stat.S_ISSOCK(mode):
        return "ソケット"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "装置ファイル"
    if stat.S_ISDIR(mode):
        return "フォルダ"
    return "通常のファイルではないもの"


def _why(e: OSError) -> str:
    """The reason without the path (findings must read the same on every machine)."""
    if isinstance(e, PermissionError):
        return "読み取りの権限がありません"
    return e.strerror or type(e).__name__


# -- names ------------------------------------------------------------------------------

def _unprintable(ch: str) -> bool:
    """A character no report can hold (`xlsx.text.UNREPRESENTABLE`), or a tab or line break,
    which would break a name's line in a terminal or a message."""
    return ch in "\t\n\r" or UNREPRESENTABLE.match(ch) is not None


def shown_text(name: str) -> str:
    """A name (or link text) as it is shown: decoded, with nothing a report cannot hold."""
    return shown_name(name).shown


def shown_name(name: str) -> _Name:
    """One path component as shown, before names of one folder are told apart (`shown_names`)."""
    if os.name == "nt":  # names are UTF-16 text already: only lone surrogates can be wrong
        raw = name.encode("utf-8", "surrogatepass")
        text, how = name, ""
    else:
        raw = os.fsencode(name)
        try:
            text, how = raw.decode("utf-8"), ""
        except UnicodeDecodeError:
            decoded = _cp932(raw)
            if decoded is not None:
                text, how = decoded, "cp932"
            else:
                text, how = raw.decode("utf-8", "replace"), "replaced"
    if any(_unprintable(ch) for ch in text):
        text, how = "".join("\ufffd" if _unprintable(ch) else ch for ch in text), "replaced"
    if how == "replaced":
        text = with_bytes(text, raw)  # replacement characters alone could make two names the same
    return _Name(text, how, raw)


def _cp932(raw: bytes) -> str | None:
    """The name as Japanese Windows wrote it, or None when the bytes are no such name.

    Python's cp932 also maps the single bytes 0x80, 0xA0, 0xFD–0xFF (to a control character
    and private-use U+F8F0–U+F8F3); Windows never writes those into a name, so they mean the
    bytes are something else.
    """
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(ch) == "Cc" or "\uf8f0" <= ch <= "\uf8f3" for ch in text):
        return None
    return text


def with_bytes(text: str, raw: bytes) -> str:
    """``text`` with the name's bytes in hex before its extension: unique, since bytes are."""
    stem, dot, suffix = text.rpartition(".")
    if not dot or not stem or not suffix.isascii():
        return f"{text} [{raw.hex()}]"
    return f"{stem} [{raw.hex()}].{suffix}"


def shown_names(names: list[str]) -> dict[str, _Name]:
    """The names of one folder as shown, no two the same.

    A name decoded as cp932 may show like another name in the folder (the same name in UTF-8,
    or another byte sequence cp932 maps to the same character): then its bytes are shown too.
    """
    out = {n: shown_name(n) for n in names}
    taken = {s.shown for s in out.values() if not s.how}
    for n in sorted(names, key=os.fsencode):
        s = out[n]
        if not s.how:
            continue
        text = s.shown
        if text in taken and s.how == "cp932":
            text = with_bytes(text, s.raw)
        while text in taken:  # a UTF-8 name written to look like a shown one
            text += "~"
        taken.add(text)
        out[n] = _Name(text, s.how, s.raw)
    return out


def name_note(rel: str, raw: bytes, how: str) -> Finding:
    """An info finding: this file's name (or a folder's on the way) is not shown as it is."""
    words = "Windowsの日本語の文字コード（cp932）として読んで" if how == "cp932" else \
        "読めない文字を「\ufffd」に置き換え、名前のバイト列を16進で添えて"
    return finding("inbox.name_encoding", file=rel, raw=raw.hex(), how=words)


def shown_path(path: Path) -> str:
    """A path given on the command line (``nakano-xl check``), as findings show it."""
    return str(Path(*(shown_text(part) for part in path.parts))) if path.parts else str(path)
