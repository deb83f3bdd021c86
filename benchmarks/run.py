"""Time nakano-xl against what users would do instead, side by side, in one run.

    python benchmarks/run.py                                   # ward and prefecture
    python benchmarks/run.py --scales ward,prefecture,nation   # all three
    python benchmarks/run.py --nation 500x200                  # a smaller nation (departments x rows)
    python benchmarks/run.py --keep /tmp/bench --reuse         # keep the generated files, reuse them
    python benchmarks/run.py --scales nation --nation-repeat 2 # every nation step twice (median)
    python benchmarks/run.py --shapes xlsxwriter               # only the generator's files

For each scale it generates a synthetic survey (benchmarks/generate.py) and runs, each as a
fresh process on the same files: ``nakano-xl distribute``, the bare xlsxwriter distribute,
``nakano-xl consolidate`` (as a user runs it, and with ``-j 1``: one process), the user's
pandas script, the calamine + xlsxwriter floor, and ``nakano-xl check`` on one file, with and
without the workspace. The returns come in the shapes they really arrive in (``--shapes``;
benchmarks/resave.py): as the generator wrote them (xlsxwriter), re-saved by LibreOffice, and
re-saved by openpyxl; the consolidating steps run on each. Every step runs ``--repeat`` times,
the steps taking turns, so a busy
moment of a shared machine does not fall on one step only; the table gives the median and the
fastest run. Peak memory is the larger of the step's process's own high-water mark (VmHWM) and
the largest sum of the proportional memory (PSS) of it and its worker processes, sampled every
20 ms (Linux only; elsewhere it reads 0).

The commands run like an installed package: bytecode is compiled once (into a cache of this
run) and reused, as pip does at install time; a first untimed run of each step warms it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate
from resave import SHAPES, resave

SCALES = {"ward": (40, 10), "prefecture": (400, 50), "nation": (2000, 200)}

DISTRIBUTE = "nakano-xl distribute"
BARE = "bare xlsxwriter distribute"
CONSOLIDATE = "nakano-xl consolidate"
SERIAL = "nakano-xl consolidate -j 1"
USERS = "user's script (pandas)"
FLOOR = "floor (calamine + xlsxwriter)"
CHECK = "nakano-xl check ONE.xlsx"
CHECK_WS = "nakano-xl check ONE.xlsx -w WS"


def nakano_xl() -> list[str]:
    return [sys.executable, "-m", "nakano_xl"]


def child_env(cache: Path) -> dict[str, str]:
    """The environment of an installed package: bytecode cached, the worktree importable."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def tree_memory(pid: int) -> tuple[int, int]:
    """(memory of ``pid`` and every descendant, ``pid``'s own high-water mark) in bytes, from
    Linux's /proc; (0, 0) elsewhere. The sum counts each process's proportional share (PSS):
    forked workers share the parent's pages, and their RSS would count those twice. (ru_maxrss
    from wait4 is no use here: Linux carries the forking parent's peak over exec into it.)"""
    total = hwm = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            if p == pid:
                with open(f"/proc/{p}/status", encoding="ascii", errors="replace") as f:
                    hwm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:")), 0)
            with open(f"/proc/{p}/smaps_rollup", encoding="ascii", errors="replace") as f:
                total += next((int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:")), 0)
            with open(f"/proc/{p}/task/{p}/children", encoding="ascii") as f:
                todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total, hwm


def measure(cmd: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of a command run as its own process."""
    peak = 0
    with log.open("ab") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.02):
                total, hwm = tree_memory(proc.pid)
                peak = max(peak, total, hwm)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    return elapsed, peak / 2**20


# The steps that read the returns, run again for every shape of return.
BY_SHAPE = (CONSOLIDATE, SERIAL, USERS, FLOOR)
SHAPE_NAMES = {"xlsxwriter": "as generated (xlsxwriter)", "libreoffice": "re-saved by LibreOffice",
               "openpyxl": "re-saved by openpyxl"}


def steps(ws: Path, work: Path) -> dict[str, list[str]]:
    one = min((ws / "inbox").iterdir())
    base = [sys.executable, str(HERE / "baselines.py")]
    return {
        DISTRIBUTE: nakano_xl() + ["distribute", "-w", str(ws), "-q"],
        BARE: base + ["bare-distribute", str(ws), str(work / "bare_outbox")],
        CONSOLIDATE: nakano_xl() + ["consolidate", "-w", str(ws), "-q"],
        SERIAL: nakano_xl() + ["consolidate", "-w", str(ws), "-q", "-j", "1"],
        USERS: base + ["users-script", str(ws), str(work / "users.xlsx")],
        FLOOR: base + ["floor", str(ws), str(work / "floor.xlsx")],
        CHECK: nakano_xl() + ["check", str(one)],
        CHECK_WS: nakano_xl() + ["check", str(one), "-w", str(ws)],
    }


def run_scale(name: str, departments: int, rows: int, work: Path, repeat: int, reuse: bool,
              env: dict[str, str], shapes: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Every step on the generator's returns, and the reading steps on each other shape of them;
    results by label (``label [shape]`` for the other shapes)."""
    folder = work / name
    ws = folder / "ws"
    if not (reuse and (ws / "inbox").is_dir()):
        print(f"[{name}] generating {departments} departments x {rows} rows …", file=sys.stderr)
        generate(folder, departments, rows)
    todo = steps(ws, folder)
    for shape in shapes:
        if shape == "xlsxwriter":
            continue
        target = folder / f"ws_{shape}"
        done = len(list((target / "inbox").glob("*.xlsx"))) if (target / "inbox").is_dir() else -1
        if not (reuse and done == len(list((ws / "inbox").glob("*.xlsx")))):  # (an interrupted run left fewer)
            print(f"[{name}] re-saving the returns with {shape} …", file=sys.stderr)
            resave(ws, target, shape)
        for label, cmd in steps(target, folder / shape).items():
            if label in BY_SHAPE:
                todo[f"{label} [{shape}]"] = cmd
    if "xlsxwriter" not in shapes:
        todo = {label: cmd for label, cmd in todo.items() if label not in BY_SHAPE}
    log = folder / "stderr.log"
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in todo}
    for n in range(repeat):
        for label, cmd in todo.items():
            print(f"[{name}] {n + 1}/{repeat} {label} … (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
            results[label].append(measure(cmd, env, log))
    return results


# The same ~20,000 answered rows in few large files or many small ones: what consolidate's
# time and peak memory owe to the number of files rather than to the size of the report.
SWEEP = [(100, 200), (400, 50), (2000, 10)]


def run_sweep(work: Path, repeat: int, reuse: bool, env: dict[str, str]) -> None:
    rows_out = []
    for departments, rows in SWEEP:
        folder = work / f"sweep_{departments}x{rows}"
        ws = folder / "ws"
        if not (reuse and (ws / "inbox").is_dir()):
            print(f"[sweep] generating {departments} departments x {rows} rows …", file=sys.stderr)
            generate(folder, departments, rows)
        todo = {label: cmd for label, cmd in steps(ws, folder).items() if label in (CONSOLIDATE, SERIAL)}
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in todo}
        for n in range(repeat):
            for label, cmd in todo.items():
                print(f"[sweep {departments}x{rows}] {n + 1}/{repeat} {label} …", file=sys.stderr)
                runs[label].append(measure(cmd, env, folder / "stderr.log"))
        rows_out.append(f"| {departments} files x {rows} rows | " + " | ".join(cell(runs[k]) for k in todo) + " |")
    print(f"\n| same report, more files | {CONSOLIDATE} | {SERIAL} |\n|---|---|---|")
    print("\n".join(rows_out))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.1f} GB RAM"
    except (OSError, ValueError, IndexError):
        mem = "RAM unknown"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for module in ("xlsxwriter", "openpyxl", "pandas", "python_calamine"):
        try:
            from importlib.metadata import version

            versions.append(f"{module} {version(module.replace('_', '-'))}")
        except Exception:
            continue
    return (f"{cpu}, {cpus} CPUs, {mem}; {platform.platform()}; Python {platform.python_version()}; "
            + ", ".join(versions))


def cell(runs: list[tuple[float, float]]) -> str:
    times = [t for t, _ in runs]
    peak = max(m for _, m in runs)
    if len(times) == 1:
        return f"{times[0]:.2f} s · {peak:.0f} MB"
    return f"{statistics.median(times):.2f} s ({min(times):.2f}) · {peak:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="ward,prefecture")
    parser.add_argument("--nation", default="2000x200", help="departments x rows of the nation scale")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs of every step (default: 5 for ward, 3 for prefecture, 1 for nation)")
    parser.add_argument("--nation-repeat", type=int, default=None,
                        help="runs of every step at nation scale (default: --repeat, else 1)")
    parser.add_argument("--keep", type=Path, help="keep the generated files here")
    parser.add_argument("--reuse", action="store_true", help="reuse the files generated earlier in --keep")
    parser.add_argument("--shapes", default=",".join(SHAPES),
                        help=f"shapes of the returns the reading steps run on ({', '.join(SHAPES)})")
    parser.add_argument("--sweep", action="store_true",
                        help="also consolidate ~20,000 rows as 100, 400 and 2,000 files (time and memory by file count)")
    args = parser.parse_args()
    shapes = args.shapes.split(",")
    if unknown := set(shapes) - set(SHAPES):
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")
    d, r = (int(x) for x in args.nation.split("x"))
    SCALES["nation"] = (d, r)
    work = args.keep or Path(tempfile.mkdtemp(prefix="nakano-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = child_env(work / "pycache")
    # Every step once on a tiny survey, untimed: bytecode compiled, files in the OS cache.
    print("warming up …", file=sys.stderr)
    generate(work / "warmup", 4, 4)
    for cmd in steps(work / "warmup" / "ws", work / "warmup").values():
        measure(cmd, env, work / "warmup" / "stderr.log")
    table: dict[str, dict[str, list[tuple[float, float]]]] = {}
    loads = []
    for name in args.scales.split(","):
        departments, rows = SCALES[name]
        repeat = (args.nation_repeat if name == "nation" else None) or args.repeat or {"ward": 5, "prefecture": 3}.get(name, 1)
        before = os.getloadavg()[0]
        table[f"{name} ({departments} files x {rows} rows)"] = run_scale(name, departments, rows, work, repeat,
                                                                         args.reuse, env, shapes)
        loads.append(f"{name}: load {before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"\nMachine: {machine()}\n")
    print("Command: python benchmarks/run.py " + " ".join(sys.argv[1:]) + "\n")
    scales = list(table)
    print("| step | " + " | ".join(scales) + " |")
    print("|---|" + "---|" * len(scales))
    for label in next(iter(table.values())):
        print(f"| {label} | " + " | ".join(cell(table[s][label]) for s in scales) + " |")
    print("\nMedian wall time (fastest run) · peak memory of the process and its workers.\n")
    for s in scales:
        t = {k: statistics.median(x for x, _ in v) for k, v in table[s].items()}
        if DISTRIBUTE in t:
            print(f"- {s}: distribute {t[DISTRIBUTE] / t[BARE]:.2f}x the bare write")
        for shape in shapes:
            tag = "" if shape == "xlsxwriter" else f" [{shape}]"
            c, one, users, floor = (t[label + tag] for label in BY_SHAPE)
            print(f"- {s}, returns {SHAPE_NAMES[shape]}: consolidate {users / c:.1f}x faster than the user's "
                  f"script ({users / one:.1f}x with one process), {c / floor:.2f}x the floor "
                  f"({one / floor:.2f}x with one process)")
    if args.sweep:
        run_sweep(work, args.repeat or 3, args.reuse, env)
    print("\n" + "; ".join(loads))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
