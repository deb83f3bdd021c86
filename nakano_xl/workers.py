"""Worker processes for the long loops: reading the inbox, writing the outbox.

`pmap` runs one function over a list of tasks on worker processes and yields the results in
the order of the tasks, so whatever is built from them is byte for byte what a loop in this
process builds. A function gets the run's shared state (the workspace, …) and one task; the
state reaches each worker once:

- ``fork`` (Linux): a worker inherits it, nothing is copied;
- ``spawn`` (Windows, macOS): it is pickled once here and unpickled by each worker.

The library runs on workers only when its caller asks (``workers=N``); the command line
chooses with `auto_workers` (``-j`` overrides it): workers pay only when there is enough work,
since a spawned worker starts a new interpreter that imports nakano_xl and unpickles the
workspace (docs/design.md has the measurements).

A worker that dies (it should not: every error of a file becomes a finding) breaks the pool;
the tasks without a result are then run here, as without workers.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# At most this many workers chosen by default: the loops are CPU-bound, one worker per core.
MAX_WORKERS = 8

_state: list[Any] = []


def cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def start_method() -> str:
    """``fork`` where it is available and safe (Linux), else ``spawn`` (Windows, macOS)."""
    # (os.fork rather than multiprocessing's list: multiprocessing is imported only when a pool
    # starts, which `check` and a small consolidation never do.)
    if sys.platform.startswith("linux") and hasattr(os, "fork"):
        return "fork"
    return "spawn"


def auto_workers(tasks: int, method: str | None = None) -> int:
    """How many processes the command line gives ``tasks`` tasks when ``-j`` is not given: one
    per CPU when there are enough of them to pay for starting the workers, else one."""
    least = 16 if (method or start_method()) == "fork" else 100
    if tasks < least:
        return 1
    return max(1, min(cpus(), MAX_WORKERS))


def can_spawn() -> bool:
    """Whether a spawned worker can start: it imports the main script again, so a main
    program read from stdin (``python - <<EOF``) would make every worker fail (and the
    standard library wait for them forever)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or getattr(main, "__spec__", None) is not None or Path(path).is_file()


def _init(state: Any, pickled: bool) -> None:
    _state[:] = [pickle.loads(state) if pickled else state]


def _call(job: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    func, task = job
    return func(_state[0], task)


def pmap(func: Callable[[Any, T], R], tasks: Sequence[T], *, state: Any, workers: int = 1,
         method: str | None = None) -> Iterator[R]:
    """``func(state, task)`` for every task, results in task order, on ``workers`` processes
    (1: here, in this process).

    ``func`` must be a module-level function (workers import it by name).
    """
    method = method or start_method()
    if workers <= 1 or len(tasks) < 2 or (method != "fork" and not can_spawn()):
        for task in tasks:
            yield func(state, task)
        return
    # Imported here: `check` and a small run never start a worker.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pickled = method != "fork"
    shared = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL) if pickled else state
    # Chunks big enough to keep the pipes quiet, small enough to share the work evenly.
    chunk = max(1, min(16, len(tasks) // (workers * 8)))
    done = 0
    executor = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context(method),
                                   initializer=_init, initargs=(shared, pickled))
    try:
        for result in executor.map(_call, [(func, task) for task in tasks], chunksize=chunk):
            done += 1
            yield result
    except BrokenProcessPool:
        pass  # run what is left here, as without workers
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    for task in tasks[done:]:
        yield func(state, task)
