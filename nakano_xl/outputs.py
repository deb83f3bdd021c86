"""Several outputs committed as one set: all new or all old, whatever stops the run.

`consolidate` writes 別紙1, findings.json and the answers CSV; each read alone must agree with
the others (rollover carries the answers CSV and counts findings.json's errors; ``--dry-run``
compares against the answers CSV). Each file written atomically is not enough: a kill, a full
disk or a file held open by Excel between two renames leaves a mix of two runs. So the set is
committed in steps, each of which can stop without losing the old set:

1. stage: every file is written completely to a temporary file beside its target;
2. journal: ``.commit.json`` in the same folder records the set (targets, staged files, backups);
3. swap: target by target, the old file is renamed to its backup, the staged file to the target;
4. done: the journal is removed, then the backups.

A failure in step 3 (on Windows, ``PermissionError`` while Excel holds a target) puts the
backups back at once and names the file (`OutputLocked`). A run killed in any step leaves the
journal; `recover` — run by the next command that takes the workspace lock, or reads the
outputs — puts the old set back (or, when every target was already swapped, keeps the new one)
and removes the temporary files a killed run left (``.<name>.<random>.tmp``). All renames stay in
one folder, where a rename is atomic on every platform.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import NakanoError, OutputLocked
from .xlsx.files import STALE_TEMPORARY, temporary_beside, write_text_atomically

JOURNAL = ".commit.json"

Writer = Callable[[Path], None]  # writes a complete file at the path it is given


@dataclass(frozen=True)
class Entry:
    target: str  # file names within the set's folder
    staged: str
    backup: str
    existed: bool

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "staged": self.staged, "backup": self.backup, "existed": self.existed}


def commit_outputs(folder: Path, writers: Iterable[tuple[Path, Writer]]) -> list[Path]:
    """Write every ``(target, writer)`` and put them in place as one set; the targets.

    Every target must be in ``folder``. On any failure the old set stays (or is put back) and
    the staged files are removed: `OutputLocked` when a target cannot be replaced, a
    `NakanoError` when a file cannot be written (a full disk), else the error itself.
    """
    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)  # a set a killed run left half swapped is put back before a new one starts
    entries: list[Entry] = []
    try:
        for target, write in writers:
            if target.parent != folder:
                raise ValueError(f"{target} is not in {folder}")
            staged, backup = _reserve(target), _reserve(target)
            backup.unlink()  # only the name is kept: the old file is renamed to it
            entries.append(Entry(target.name, staged.name, backup.name, target.exists()))
            write(staged)
        write_text_atomically(folder / JOURNAL, json.dumps([e.to_json() for e in entries], ensure_ascii=False) + "\n")
        _sync_folder(folder)
    except OSError as e:
        _discard(folder, entries)
        raise NakanoError(f"{folder} に出力を書き出せませんでした（{e.strerror or e}）。"
                          "前回の出力はそのままです。空き容量などを確かめて、もう一度実行してください。") from None
    except (Exception, KeyboardInterrupt):
        _discard(folder, entries)
        raise
    swapped: list[Entry] = []
    for entry in entries:
        try:
            _swap(folder, entry, swapped)
        except (Exception, KeyboardInterrupt) as e:
            _roll_back(folder, entries)
            if isinstance(e, PermissionError):
                raise OutputLocked(
                    f"{folder / entry.target} を書き換えられません。Excel などで開いている場合は閉じてから、"
                    "もう一度実行してください（出力はすべて前回のままです）。") from None
            if isinstance(e, OSError):
                raise NakanoError(f"{folder / entry.target} を書き換えられませんでした（{e.strerror or e}）。"
                                  "出力はすべて前回のままです。") from None
            raise
    _finish(folder, entries)
    return [folder / e.target for e in entries]


def _reserve(target: Path) -> Path:
    fd, path = temporary_beside(target)
    os.close(fd)
    return path


def _swap(folder: Path, entry: Entry, swapped: list[Entry]) -> None:
    if entry.existed:
        os.replace(folder / entry.target, folder / entry.backup)
    swapped.append(entry)
    os.replace(folder / entry.staged, folder / entry.target)


def _finish(folder: Path, entries: list[Entry]) -> None:
    """The set is in place: the journal goes first (the commit), then the backups. What cannot be
    removed now is removed by the next run's `recover`: the set itself is done."""
    try:
        (folder / JOURNAL).unlink(missing_ok=True)
        _sync_folder(folder)
        for e in entries:
            (folder / e.backup).unlink(missing_ok=True)
            (folder / e.staged).unlink(missing_ok=True)
    except OSError:
        pass


def _discard(folder: Path, entries: list[Entry]) -> None:
    """Nothing was swapped yet: the staged files go, and the journal if it was written."""
    for e in entries:
        (folder / e.staged).unlink(missing_ok=True)
    (folder / JOURNAL).unlink(missing_ok=True)


def _roll_back(folder: Path, entries: list[Entry]) -> None:
    """Every target as it was before the set, whatever step each one reached; repeatable."""
    for e in reversed(entries):
        target, backup, staged = folder / e.target, folder / e.backup, folder / e.staged
        if backup.exists():
            os.replace(backup, target)  # the old file back, over the new one if it is there
        elif not e.existed and not staged.exists():
            target.unlink(missing_ok=True)  # a target the set created: the new file is its only content
    _sync_folder(folder)
    # Only once every target is old again: a staged file left tells `recover` that the set was
    # not complete, so it must roll back rather than keep what is there.
    for e in entries:
        (folder / e.staged).unlink(missing_ok=True)
    (folder / JOURNAL).unlink(missing_ok=True)


def recover(folder: Path) -> bool:
    """Put a set a killed run left behind in ``folder`` back in order; True when there was one.

    Every target already swapped: the new set stays. Else: the old set comes back. Then the
    temporary files of killed runs go. Only for a caller holding the workspace lock (no run of
    ours writes there meanwhile).
    """
    journal = folder / JOURNAL
    found = journal.exists()
    if found:
        try:
            entries = [Entry(str(d["target"]), str(d["staged"]), str(d["backup"]), bool(d["existed"]))
                       for d in json.loads(journal.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError, KeyError):
            entries = []  # written atomically, so unreadable only when hand-edited: the files speak
        if entries and not any((folder / e.staged).exists() for e in entries):
            _finish(folder, entries)
        else:
            try:
                _roll_back(folder, entries)
            except PermissionError as e:
                raise OutputLocked(f"前回中断した出力を元に戻せません（{e.filename}）。Excel などで開いている"
                                   "場合は閉じてから、もう一度実行してください。") from None
    remove_stale(folder)
    return found


def remove_stale(folder: Path) -> list[Path]:
    """Remove the temporary files (``.<name>.<random>.tmp``) killed runs left in ``folder``."""
    removed: list[Path] = []
    if (folder / JOURNAL).exists():  # a set not yet recovered: its staged files are still needed
        return removed
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return removed
    for name in names:
        path = folder / name
        if STALE_TEMPORARY.match(name) and path.is_file():
            try:
                path.unlink()
            except OSError:
                continue  # still open elsewhere (Windows): the next run tries again
            removed.append(path)
    return removed


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (POSIX; Windows has no directory handle to sync)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
