"""Reading the inbox on several processes: the same results, in the same order, sooner.

Each file is read by `inbox.read_file_safely` as in the serial loop, only in a worker process,
and the results come back in the inbox's sorted order: everything downstream (findings, the
report, findings.json) is byte for byte what the serial path gives (tests/test_parallel.py).

Workers start the cheapest safe way the platform has: ``fork`` on Linux (a worker inherits the
opened workspace), ``spawn`` elsewhere (Windows, macOS), where each worker gets the workspace
once, pickled. Below `MIN_FILES` files, or with one CPU, files are read in this process:
starting workers costs more than a ward's 40 files take to read (≈ 0.2 s).

A worker that dies (it should not: the reader turns every error into a finding) breaks the
pool; the files it had not answered are then read in this process, as without workers.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ..workspace import Workspace
from ..xlsx.reader import Limits
from .identify import Facts

# Fewer files than this are read here. Measured on 2 cores: 40 files of 10 rows read in
# 0.2 s, while two spawned workers need ~0.3 s to start.
MIN_FILES = 100
# At most this many workers by default: intake is CPU-bound, one per core, and the main
# process has the report to write afterwards.
MAX_WORKERS = 8

Task = tuple[Path, str]

_state: dict[str, Any] = {}


def default_workers(files: int) -> int:
    """How many processes read ``files`` files when the caller does not say."""
    if files < MIN_FILES:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, MAX_WORKERS))


def start_method() -> str:
    """``fork`` where it is available and safe (Linux), else ``spawn`` (Windows, macOS)."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def can_spawn() -> bool:
    """Whether a spawned worker can start: it imports the main script again, so a main
    program read from stdin (``python - <<EOF``) would make every worker fail (and the
    standard library wait for them forever)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or getattr(main, "__spec__", None) is not None or Path(path).is_file()


def _init(state: bytes | tuple[Workspace | None, Limits, Facts | None]) -> None:
    # Spawned workers get the state pickled once, by the main process, for all of them.
    ws, limits, facts = pickle.loads(state) if isinstance(state, bytes) else state
    _state.update(ws=ws, limits=limits, facts=facts)


def _read(task: Task) -> Any:
    from .inbox import read_file_safely

    path, rel = task
    return read_file_safely(path, rel, ws=_state["ws"], limits=_state["limits"], facts=_state["facts"])


def read_files(tasks: Sequence[Task], *, ws: Workspace | None, limits: Limits, facts: Facts | None,
               workers: int, method: str | None = None) -> Iterator[Any]:
    """`read_file_safely` of every (path, name) task, in order, on ``workers`` processes."""
    from .inbox import read_file_safely

    method = method or start_method()
    if workers <= 1 or len(tasks) < 2 or (method != "fork" and not can_spawn()):
        for path, rel in tasks:
            yield read_file_safely(path, rel, ws=ws, limits=limits, facts=facts)
        return
    context = multiprocessing.get_context(method)
    state: Any = (ws, limits, facts)
    if method != "fork":
        state = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    # Chunks big enough to keep the pipes quiet, small enough to share the work evenly.
    chunk = max(1, min(16, len(tasks) // (workers * 8)))
    done = 0
    executor = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                                   initializer=_init, initargs=(state,))
    try:
        for result in executor.map(_read, tasks, chunksize=chunk):
            done += 1
            yield result
    except BrokenProcessPool:
        pass  # read what is left here, as the serial path would
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    for path, rel in tasks[done:]:
        yield read_file_safely(path, rel, ws=ws, limits=limits, facts=facts)
