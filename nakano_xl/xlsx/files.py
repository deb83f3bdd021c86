"""Outputs written atomically: a temporary file beside the target, renamed over it.

An existing output is only ever replaced by a complete new one. On Windows the rename fails
while Excel holds the target open: that becomes `OutputLocked`, a clear message instead of a
traceback. Apart from `writer` (xlsxwriter) so that a command that only reads returns, or
writes text, does not import xlsxwriter.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import OutputLocked


def _file_mode() -> int:
    # mkstemp makes private (0600) files; an output should get the permissions any new file
    # gets here, e.g. to be served from a web folder. (On Windows only the read-only bit exists.)
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()
# A temporary file is ``.<name>.<random>.tmp`` beside its target (`temporary_beside`). A run
# killed while writing leaves it behind; only names of this form are ever removed as stale.
STALE_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def temporary_beside(target: Path) -> tuple[int, Path]:
    """A new, empty temporary file in ``target``'s folder, named after it: its open descriptor and path."""
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    return fd, Path(name)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_output(path) as f:
        f.write(data)


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` with, piece by piece: a temporary file beside it, renamed
    over ``path`` when the block ends without an error (a large output need not be built in
    memory first: the answers CSV of a nation-wide survey is 200 MB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        try:
            os.replace(tmp, path)
        except PermissionError:
            raise OutputLocked(
                f"{path} を書き換えられません。Excel などで開いている場合は閉じてから、もう一度実行してください。"
            ) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str, *, bom: bool = False) -> None:
    write_atomically(path, (("\ufeff" if bom else "") + text).encode("utf-8"))
