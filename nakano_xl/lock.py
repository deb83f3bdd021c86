"""The workspace lock: one writing command at a time on a workspace.

Two runs at once on one workspace could interleave their outputs, or a slower run that read an
older inbox could overwrite a newer result. So every writing command — `consolidate` (not
``--dry-run``), `distribute`, `feedback`, `rollover`, `export`, ``init --force`` — holds
``.nakano-xl/lock`` from start to end: a small JSON file (host, process id, command, start
time) created with ``O_CREAT | O_EXCL``, which only one process can do. A second command stops
with `WorkspaceLocked` naming the holder. A lock whose process is gone (same host, no such
process) is stale and taken over; a lock from another host (a shared folder) cannot be checked,
so the message gives its host and age and says how to remove it.

The library functions that write take the lock themselves (`locked`), so a script calling
them is protected as the command is; a function that holds it may call another that takes it
again (the same thread re-enters). Taking the lock also puts in order what a killed run left
in ``output/`` (`outputs.recover`). Commands that only read take no lock; the ones that read
outputs first recover them if no run holds the lock (`recover_if_idle`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from .errors import NakanoError
from .outputs import recover, remove_stale

LOCK_FILE = "lock"
PRIVATE_DIR = ".nakano-xl"  # the same as workspace.PRIVATE_DIR, which imports this module
# A lock file still empty or unreadable after this long was left by a process that died while
# creating it (creation and writing are two steps).
HALF_WRITTEN_AGE = dt.timedelta(seconds=30)

P = ParamSpec("P")
R = TypeVar("R")


class WorkspaceLocked(NakanoError):
    """Another command is writing in the workspace (``str(e)`` names it)."""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    command: str
    started: dt.datetime | None
    token: str


# Locks this process holds: lock path → (token, thread, depth). Only this module's own record,
# so that a function holding the lock may call another that takes it.
_held: dict[Path, tuple[str, int, int]] = {}
_guard = threading.Lock()


def lock_path(root: Path) -> Path:
    return root / PRIVATE_DIR / LOCK_FILE


@contextmanager
def workspace_lock(root: Path, command: str) -> Iterator[None]:
    """Hold the lock of the workspace at ``root`` for the block; `WorkspaceLocked` if another
    command holds it. Recovers an interrupted output set once the lock is taken."""
    path = lock_path(root).absolute()
    me = threading.get_ident()
    with _guard:
        mine = _held.get(path)
        if mine is not None and mine[1] == me and _token_of(path) == mine[0]:
            _held[path] = (mine[0], me, mine[2] + 1)
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                token, thread, depth = _held[path]
                _held[path] = (token, thread, depth - 1)
        return
    token = _acquire(path, command)
    with _guard:
        _held[path] = (token, me, 1)
    try:
        recover_outputs(root)
        yield
    finally:
        with _guard:
            _held.pop(path, None)
        if _token_of(path) == token:
            path.unlink(missing_ok=True)


def locked(command: str, *, when: Callable[..., bool] | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function under the lock of the workspace it gets first (a `Workspace`
    or a root folder); ``when`` (called with the same arguments) can leave the lock out."""
    def wrap(f: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(f)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            if when is not None and not when(*args, **kwargs):
                return f(*args, **kwargs)
            target: Any = args[0] if args else next(iter(kwargs.values()))
            root = Path(target) if isinstance(target, (str, os.PathLike)) else target.root  # a Workspace
            with workspace_lock(root, command):
                return f(*args, **kwargs)
        return run
    return wrap


# Folders the writing commands write into with temporary files (besides output/): the settings,
# the workbooks to send, the marked copies (the bundled template's feedback folder), the records.
SWEPT = (".", "outbox", "feedback", PRIVATE_DIR)


def recover_outputs(root: Path) -> None:
    """What a killed run left: an output set half swapped, temporary files."""
    recover(root / "output")
    for sub in SWEPT:
        remove_stale(root / sub)


def recover_if_idle(root: Path) -> None:
    """For a command that only reads outputs: recover them, unless a run holds the lock (it
    recovers them itself, and its set is not to be touched while it swaps), or the workspace
    cannot be written (a read-only copy is read as it is)."""
    try:
        with workspace_lock(root, "recover"):
            pass
    except (WorkspaceLocked, OSError):
        pass


def _acquire(path: Path, command: str) -> str:
    token = secrets.token_hex(8)
    record = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "command": command,
                         "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "token": token},
                        ensure_ascii=False).encode("utf-8")
    for _ in range(2):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o644)
        except FileExistsError:
            holder = read_holder(path)
            if not _is_stale(path, holder):
                raise WorkspaceLocked(_held_message(path, holder)) from None
            path.unlink(missing_ok=True)  # the process is gone: its lock is taken over
            continue
        except OSError as e:
            raise WorkspaceLocked(f"作業フォルダのロック {path} を作成できません（{e.strerror or e}）。"
                                  "作業フォルダに書き込めるか確かめてください。") from None
        try:
            os.write(fd, record)
            os.fsync(fd)
        finally:
            os.close(fd)
        return token
    raise WorkspaceLocked(_held_message(path, read_holder(path)))


def read_holder(path: Path) -> Holder | None:
    """Who holds the lock at ``path``; None when its file is empty or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        started = dt.datetime.fromisoformat(data["started"]) if data.get("started") else None
        return Holder(str(data["host"]), int(data["pid"]), str(data.get("command", "")), started,
                      str(data.get("token", "")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _token_of(path: Path) -> str | None:
    holder = read_holder(path)
    return holder.token if holder else None


def _is_stale(path: Path, holder: Holder | None) -> bool:
    if holder is None:
        try:
            age = dt.datetime.now() - dt.datetime.fromtimestamp(path.stat().st_mtime)
        except OSError:
            return True  # removed meanwhile
        return age > HALF_WRITTEN_AGE
    return holder.host == socket.gethostname() and not pid_alive(holder.pid)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (a reused id counts as running)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False
    return True


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    def _windows_pid_alive(pid: int) -> bool:
        # os.kill(pid, 0) on Windows sends CTRL_C_EVENT: ask the kernel instead.
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
        kernel32.OpenProcess.restype = wintypes.HANDLE
        kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
        kernel32.GetExitCodeProcess.restype = wintypes.BOOL
        kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = wintypes.DWORD()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
else:
    def _windows_pid_alive(pid: int) -> bool:
        raise NotImplementedError


def _age_words(started: dt.datetime | None) -> str:
    if started is None:
        return "開始時刻不明"
    now = dt.datetime.now(started.tzinfo or dt.UTC)
    minutes = max(0, int((now - started).total_seconds() // 60))
    local = started.astimezone().strftime("%Y-%m-%d %H:%M")
    if minutes < 60:
        return f"{local} 開始、{minutes}分前"
    return f"{local} 開始、{minutes // 60}時間{minutes % 60}分前"


def _held_message(path: Path, holder: Holder | None) -> str:
    root = path.parent.parent
    if holder is None:
        return (f"作業フォルダ {root} は別の nakano-xl の処理が使用中です（ロック {path}）。終わるのを待ってから、"
                "もう一度実行してください。その処理がもう動いていないことが確かなら、このファイルを削除してください。")
    who = f"{holder.command or '不明なコマンド'}、{holder.host} のプロセス {holder.pid}、{_age_words(holder.started)}"
    if holder.host == socket.gethostname():
        return (f"作業フォルダ {root} は別の nakano-xl（{who}）が使用中です。終わるのを待ってから、もう一度実行してください"
                f"（ロック {path}）。")
    return (f"作業フォルダ {root} は別のコンピュータの nakano-xl（{who}）が使用中の可能性があります。"
            f"その処理が終わっていることが確かなら、ロック {path} を削除してから、もう一度実行してください。")
