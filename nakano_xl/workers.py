"""Worker processes for the long loops: reading the inbox, writing the outbox (issue 9).

`pmap` runs one function over a list of tasks on worker processes and yields the results in
the order of the tasks, so whatever is built from them is byte for byte what a loop in this
process builds (tests/test_parallel.py). A function gets the run's shared state (the
workspace, …) and one task; the state reaches each worker once:

- ``fork`` (Linux): a worker inherits it, nothing is copied;
- ``spawn`` (Windows, macOS): it is pickled once here and unpickled by each worker.

Workers only pay when there is enough work: starting a spawned worker (a new interpreter that
imports nakano_xl and unpickles the workspace) costs ~0.3 s, a forked one ~10 ms. Below
`min_tasks` tasks, with one CPU, or where a worker could not start, the loop runs here.

A worker that dies (it should not: every error of a file becomes a finding) breaks the pool;
the tasks without a result are then run here, as without workers.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# At most this many workers by default: the loops are CPU-bound, one worker per core.
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


def min_tasks(method: str | None = None) -> int:
    """Fewer tasks than this run here. Measured on 2 cores: a ward's 40 files are read in 0.2 s,
    about what starting two spawned workers costs; forked ones cost next to nothing."""
    return 16 if (method or start_method()) == "fork" else 100


def default_workers(tasks: int, method: str | None = None, least: int | None = None) -> int:
    """How many processes run ``tasks`` tasks when the caller does not say: one below ``least``
    tasks (default `min_tasks`)."""
    if tasks < (min_tasks(method) if least is None else least):
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


def pmap(func: Callable[[Any, T], R], tasks: Sequence[T], *, state: Any, workers: int | None,
         method: str | None = None, here: bool = False, least: int | None = None,
         meanwhile: Callable[[], None] | None = None) -> Iterator[R]:
    """``func(state, task)`` for every task, results in task order, on ``workers`` processes
    (None: `default_workers` for this many tasks; ``least``: the fewest tasks worth a worker,
    for tasks much longer than reading a file).

    ``here``: this process is one of the ``workers`` and runs the first share of the tasks
    itself while the others run the rest. For work on data this process has just built (the
    report's rows): a forked worker copies every page of it that it touches, so one worker
    fewer means fewer copies at the same speed. Such data is often a closure, or too big to
    send whole to spawned workers, so with ``here`` the tasks run in this process alone
    wherever workers do not fork.

    ``meanwhile``: called once in this process while the workers start on the tasks (when
    they run here, before them; not at all if the pool breaks before), for work of this
    process's own that need not wait for them (`consolidate` imports the report's modules then).

    ``func`` must be a module-level function (workers import it by name).
    """
    method = method or start_method()
    if workers is None:
        workers = default_workers(len(tasks), method, least)
    if workers <= 1 or len(tasks) < 2 or (method != "fork" and (here or not can_spawn())):
        if meanwhile:
            meanwhile()
        for task in tasks:
            yield func(state, task)
        return
    # Imported here: `check` and a small run never start a worker.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    mine = len(tasks) // workers if here else 0
    theirs = tasks[mine:]
    pickled = method != "fork"
    shared = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL) if pickled else state
    # Chunks big enough to keep the pipes quiet, small enough to share the work evenly.
    chunk = max(1, min(16, len(theirs) // (workers * 8)))
    done = 0
    executor = ProcessPoolExecutor(max_workers=min(workers - 1 if here else workers, len(theirs)),
                                   mp_context=multiprocessing.get_context(method),
                                   initializer=_init, initargs=(shared, pickled))
    try:
        # map() hands every task to the pool at once: the workers start while this process
        # runs its own share.
        results = executor.map(_call, [(func, task) for task in theirs], chunksize=chunk)
        if meanwhile:
            meanwhile()
        for task in tasks[:mine]:
            yield func(state, task)
        for result in results:
            done += 1
            yield result
    except BrokenProcessPool:
        pass  # run what is left here, as without workers
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    for task in theirs[done:]:
        yield func(state, task)


@contextmanager
def beside(func: Callable[[Any], None], state: Any, *, enabled: bool = True) -> Iterator[None]:
    """``func(state)`` in a forked process while the ``with`` block runs here; waited for when
    the block ends, its error raised here. Unlike a pool's worker it exits as soon as it is
    done, and the pages of this process it copied are freed at once (issue 9: a nation's
    answers CSV is written this way while the report is made).

    Where workers do not fork, or not ``enabled``, it runs here after the block; a process
    that died without a word is run again here.
    """
    if not enabled or start_method() != "fork" or cpus() < 2:
        yield
        func(state)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_run_beside, args=(func, state, send), daemon=True)
    process.start()
    send.close()
    try:
        yield
    finally:
        try:
            error = receive.recv()
            ran = True
        except EOFError:
            error, ran = None, False
        receive.close()
        process.join()
    if not ran:
        func(state)
    elif error is not None:
        raise error


def _run_beside(func: Callable[[Any], None], state: Any, send: Any) -> None:
    try:
        func(state)
        send.send(None)
    except BaseException as e:  # (sent to the parent, which raises it)
        try:
            send.send(e)
        except Exception:  # an error that does not pickle: its text
            send.send(RuntimeError(f"{type(e).__name__}: {e}"))
    finally:
        send.close()
